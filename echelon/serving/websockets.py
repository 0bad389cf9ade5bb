"""The websocket process of the topology: daphne (the design's server) with a graceful drain.

`python -m echelon.serving.websockets --port P` serves `echelon.asgi` with daphne; behind the
front it receives only `/realtime/v1/websocket`. (Due scheduled deployments and the other
periodic work run on the task queue's workers, `workflows/tasks.py`.)

SIGTERM or SIGINT: every open realtime socket is closed with code 4012 ("service restart": the
1012 of RFC 6455 moved into the 4000 range, since daphne lets applications send only 1000 and
3000-4999), so clients reconnect — to another process or machine — and re-fetch what they
missed; the process waits up to `--drain-seconds` (10) for the sockets to go, then stops.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time

log = logging.getLogger("echelon.serving.websockets")
CLOSE_SERVICE_RESTART = 4012


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m echelon.serving.websockets")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    return parser.parse_args(argv)


def open_sockets() -> list:
    from realtime.dispatcher import dispatchers

    return [socket for dispatcher in dispatchers() for socket in list(dispatcher.sockets)]


async def drain(seconds: float) -> int:
    """Close every socket with 4012; wait until they are gone (or `seconds`); → sockets left."""
    sockets = open_sockets()
    log.warning("websockets: draining %d socket(s) with close code %d", len(sockets), CLOSE_SERVICE_RESTART)
    for socket in sockets:
        try:
            await socket.close(CLOSE_SERVICE_RESTART)
        except Exception:  # noqa: BLE001 - a socket already going away
            pass
    deadline = time.monotonic() + seconds
    while open_sockets() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return len(open_sockets())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    from daphne.endpoints import build_endpoint_description_strings

    from echelon.management.commands.serve import daphne_cli

    cli = daphne_cli()  # the access log redacts tokens in query strings
    server_class = cli.server_class
    state = {"stopping": False}

    class DrainingServer(server_class):
        def __init__(self, *a, **kw):
            kw["signal_handlers"] = False  # ours, below: drain first, then stop the reactor
            super().__init__(*a, **kw)

        def run(self):
            from twisted.internet import reactor

            def on_signal(signum, frame):
                if state["stopping"]:
                    return
                state["stopping"] = True
                reactor.callFromThread(start_drain)

            def start_drain():
                loop = asyncio.get_event_loop()
                task = loop.create_task(drain(args.drain_seconds))
                task.add_done_callback(lambda _: reactor.stop())

            def install():
                signal.signal(signal.SIGTERM, on_signal)
                signal.signal(signal.SIGINT, on_signal)

            reactor.callWhenRunning(install)
            super().run()

    cli.server_class = DrainingServer
    endpoints = build_endpoint_description_strings(host=args.host, port=args.port)
    cli.run(["-v", "0", "--proxy-headers", *sum((["-e", e] for e in endpoints), []), "echelon.asgi:application"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
