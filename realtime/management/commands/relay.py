"""`manage.py relay`: run the change relay in the foreground (one leads; others wait to take over).

Server processes start one each already, as a child process with `--with-parent` (it stops when
its server closes its stdin or dies); run it by hand for a deployment that wants it apart, or
with `--once` to hand on what is pending now and exit (a data fix applied by hand, tests).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from django.core.management.base import BaseCommand

from realtime import relay


class Command(BaseCommand):
    help = "Hand captured changes on to realtime and the seed's trigger receivers."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="hand on what is pending, then exit")
        parser.add_argument("--with-parent", action="store_true",
                            help="stop when stdin closes (the server process that started it ended)")

    def handle(self, *args, once, with_parent, **options):
        if once:
            self.stdout.write(f"{relay.drain()} changes handed on")
            return
        worker = relay.Relay()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: worker.stop())
        worker.start()
        if with_parent:
            threading.Thread(target=_stop_at_eof, args=(worker,), daemon=True, name="relay-parent").start()
        while worker.is_alive():
            worker.join(0.5)


def _stop_at_eof(worker) -> None:
    """Block on stdin until the parent closes it or dies (EOF), then exit at once: a batch cut
    off here is rolled back with the connection and handed on by the next relay (as after a
    SIGKILL), and waiting for the loop would keep the lead from the server that replaces it."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
