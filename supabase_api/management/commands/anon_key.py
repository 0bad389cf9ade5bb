"""`manage.py anon_key`: print the project's anon key (the last line is the key alone)."""

from django.core.management.base import BaseCommand

from echelon.auth.tokens import anon_key


class Command(BaseCommand):
    help = "Print the anon key that Supabase clients pass to createClient(url, key)."

    def handle(self, *args, **options):
        self.stdout.write("Anon key (supabase-js: createClient('<url>', '<key>')):")
        self.stdout.write(anon_key())
