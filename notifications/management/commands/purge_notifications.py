"""`manage.py purge_notifications`: delete notifications whose `expires_at` has passed."""

from django.core.management.base import BaseCommand

from notifications.services import notifications_purge_expired


class Command(BaseCommand):
    help = "Delete expired notifications (expires_at in the past)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {notifications_purge_expired()} expired notification(s).")
