"""`manage.py seed_demo`: load the idempotent demo data and print the demo logins."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from echelon.demo import ADMIN_EMAIL, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Create the demo users, teams, agents, workflows, metrics and notifications (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--admin-url", default="http://127.0.0.1:8000/admin/",
                            help="admin URL printed with the login")
        parser.add_argument("--link-n8n", action="store_true",
                            help="link the demo workflows to made-up n8n ids (not with a real n8n)")

    def handle(self, *args, admin_url, link_n8n=False, **options):
        started = time.monotonic()
        result = seed_demo(link_n8n=link_n8n)
        created = sum(result.created.values())
        self.stdout.write(
            f"Demo data ready in {time.monotonic() - started:.2f}s "
            f"({created} rows created{'' if created else ', all already there'})."
        )
        self.stdout.write(self.style.SUCCESS("Demo admin login"))
        self.stdout.write(f"  URL:      {admin_url}")
        self.stdout.write(f"  Email:    {ADMIN_EMAIL}")
        self.stdout.write(f"  Password: {result.password}   (from {result.password_source})")
        self.stdout.write(
            f"Demo users (same password): {', '.join(email for email, *_ in DEMO_USERS)}"
        )
