"""`manage.py relay`: run the change relay in the foreground (one leads; others wait to take over).

Server processes run one each already (echelon/asgi.py); this is for a deployment that wants it
apart, or `--once` to hand on what is pending now and exit (a data fix applied by hand, tests).
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from realtime import relay


class Command(BaseCommand):
    help = "Hand captured changes on to realtime and the seed's trigger receivers."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="hand on what is pending, then exit")

    def handle(self, *args, once, **options):
        if once:
            self.stdout.write(f"{relay.drain()} changes handed on")
            return
        worker = relay.Relay()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: worker.stop())
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
