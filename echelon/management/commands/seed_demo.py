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

    def handle(self, *args, admin_url, **options):
        started = time.monotonic()
        result = seed_demo()
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
