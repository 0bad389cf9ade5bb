"""Broadcast, presence and slow consumers on one daphne server (issue 15): `python -m bench channels`.

Same set-up as bench_realtime (its bench database, data and Redis; clients in processes of their
own, bench/realtime_channel_clients.py and bench/realtime_subscribers.py):

1. Broadcast to 1,000 sockets in one channel: one socket sends a broadcast every 0.15 s, the
   other 999 receive it (binary kind 4, vsn 2.0.0); send → receive p99 against the floor, a bare
   `websockets` server that publishes each received message on Redis and sends what it reads
   back to every client (bench/realtime_floor.py `echo`), in this run. Target ≤ 2x the floor.
2. Presence: 1,000 sockets join one channel with presence and track, spread over 10 s; each
   socket's presence_state and diffs are replayed: the moment it first held all 1,000 keys,
   after the last track. Target: every member, within 2 s of the last track.
3. Slow consumers: 20 reading sockets get 10,000 changes of a public table (raw-SQL UPDATEs,
   ~1 kB each, 100/s), once beside 100 more sockets that read (the baseline: the same delivery
   work) and once beside 100 sockets that never read. The server runs with
   REALTIME_MAX_SEND_BUFFER_BYTES = 1 MiB: each stalled socket must be closed with 4008, the
   server's RSS must grow by less than 100 x that bound (without it, the backlog of 10,000
   changes for each of them), and the readers' p99 beside the stalled sockets must stay within
   1.5x of their p99 beside the reading ones. (Compared with the readers alone instead, the
   baseline would lack the cost of feeding 100 more sockets until the bound closes them.)
"""

from __future__ import annotations

import os
import sys
import time

import orjson
import psutil

from bench.bench_realtime import (
    SOCKETS_PER_USER, Child, _free_port, client_process, _make_data, _server_command, _wait_port, bench_environment, percentile,
    subscribers,
)
from bench.realtime_resume import paced_updates
from bench.servers import wait_for_relay

BROADCASTS, BROADCAST_INTERVAL = 40, 0.15
PRESENCE_SECONDS, PRESENCE_SETTLE_MS = 10.0, 2000
SEND_BUFFER = 1024 * 1024
SLOW_CHANGES, SLOW_RATE, SLOW_PAD, READERS = int(os.environ.get("BENCH_SLOW_CHANGES", "10000")), 100, 1000, 20
STALLED = int(os.environ.get("BENCH_STALLED_SOCKETS", "100"))
SOCKETS = int(os.environ.get("BENCH_CHANNEL_SOCKETS", "1000"))  # fewer: a quick try of the bench itself
FLOOR_CHANNEL = "bench-floor-echo"


def channel_clients(spec: dict) -> Child:
    return client_process("bench.realtime_channel_clients", spec)


def _broadcast_latencies(clients: Child) -> tuple[list[float], int]:
    clients.ask(f"SEND {BROADCASTS} {BROADCAST_INTERVAL}")  # warm-up: first-use costs stay out
    clients.ask("RESET")
    clients.ask(f"SEND {BROADCASTS} {BROADCAST_INTERVAL}")
    result = orjson.loads(clients.ask("DUMP"))
    return result["latencies"], result["deliveries"]


def broadcast_rows(url: str, floor_url: str, sockets: list, children: list) -> list[dict]:
    expected = BROADCASTS * (len(sockets) - 1)
    floor = channel_clients({"url": floor_url, "mode": "floor", "sockets": sockets})
    children.append(floor)
    floor_lat, floor_n = _broadcast_latencies(floor)
    floor.stop()
    clients = channel_clients({"url": url, "mode": "broadcast", "sockets": sockets})
    children.append(clients)
    lat, n = _broadcast_latencies(clients)
    clients.stop()
    floor_p99, p99 = percentile(floor_lat, 99), percentile(lat, 99)
    return [
        {"name": f"[floor] websockets echo via Redis to {len(sockets)} sockets p50 (p99 in baseline)",
         "value": percentile(floor_lat, 50), "baseline": floor_p99, "ratio": None, "unit": "ms",
         "target": "baseline", "passed": floor_n >= expected},
        {"name": f"broadcast to {len(sockets)} sockets in one channel p99 (p50 {percentile(lat, 50):.1f} ms)",
         "value": p99, "baseline": floor_p99, "ratio": p99 / floor_p99, "unit": "ms",
         "target": f"<= 2x floor, all {expected:,} delivered", "passed": p99 <= 2 * floor_p99 and n == expected},
    ]


def presence_rows(url: str, sockets: list, children: list) -> list[dict]:
    members = [{**sock, "key": f"member-{i}"} for i, sock in enumerate(sockets)]
    clients = channel_clients({"url": url, "mode": "presence", "topic": "realtime:bench-lobby", "sockets": members})
    children.append(clients)
    clients.ask(f"JOIN {PRESENCE_SECONDS}")
    result = orjson.loads(clients.ask("DUMP"))
    clients.stop()
    settled = result["settled_ms"]
    complete = len(settled) == len(members) and result["errors"] == 0
    worst = max(settled) if settled else float("nan")
    return [{"name": f"presence: {len(members)} joins in {PRESENCE_SECONDS:.0f} s, the last member to hold the full "
                     f"state, after the last track ({len(settled)} of {len(members)} did; p50 in baseline)",
             "value": worst, "baseline": percentile(settled, 50), "ratio": None, "unit": "ms",
             "target": f"<= {PRESENCE_SETTLE_MS} ms, every member",
             "passed": complete and worst <= PRESENCE_SETTLE_MS}]


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss  # the server's own (its relay child works alike either way)


def _reader_latencies(readers: Child, db_url: str, template_id, label: str) -> tuple[list[float], int, float]:
    readers.ask("RESET")
    written, elapsed = paced_updates(db_url, template_id, SLOW_RATE, SLOW_CHANGES / SLOW_RATE, label, SLOW_PAD)
    time.sleep(2)
    result = orjson.loads(readers.ask("DUMP"))
    return result["latencies"], result["deliveries"], written / elapsed


def slow_consumer_rows(url: str, db_url: str, template_id, server_pid: int, sockets: list,
                       children: list) -> list[dict]:
    bindings = [{"event": "UPDATE", "schema": "public", "table": "agent_templates"}]
    readers = subscribers({"url": url, "sockets": sockets[:READERS], "bindings": bindings})
    children.append(readers)
    others = sockets[READERS:READERS + STALLED]
    reading = subscribers({"url": url, "sockets": others, "bindings": bindings})
    children.append(reading)
    baseline, baseline_n, baseline_rate = _reader_latencies(readers, db_url, template_id, "reading")
    reading.stop()
    stalled = subscribers({"url": url, "sockets": others, "bindings": bindings, "stall": True})
    children.append(stalled)
    before = _rss(server_pid)
    beside, beside_n, beside_rate = _reader_latencies(readers, db_url, template_id, "beside")
    growth = _rss(server_pid) - before
    stalled.ask("RESUME")  # read what the server sent before it closed them
    time.sleep(5)
    ended = orjson.loads(stalled.ask("DUMP"))
    stalled.stop()
    readers.stop()
    expected = SLOW_CHANGES * READERS
    # daphne drops a stalled connection when its close handshake times out, often before the
    # close frame (4008) got through the full buffer: the server's log says which code it sent
    closed = ended["closed"]
    p99_baseline, p99_beside = percentile(baseline, 99), percentile(beside, 99)
    delivered = baseline_n == expected and beside_n == expected
    return [
        {"name": f"slow consumers: {READERS} readers' p99 beside {STALLED} sockets that never read "
                 f"({SLOW_CHANGES:,} changes at {beside_rate:.0f}/s), vs beside {STALLED} that read "
                 f"(p50 {percentile(beside, 50):.1f} vs {percentile(baseline, 50):.1f} ms)", "value": p99_beside,
         "baseline": p99_baseline, "ratio": p99_beside / p99_baseline, "unit": "ms",
         "target": "<= 1.5x, every change delivered (both)",
         "passed": p99_beside <= 1.5 * p99_baseline and delivered
         and min(baseline_rate, beside_rate) >= 0.9 * SLOW_RATE},
        {"name": f"  slow consumers: stalled sockets the server closed (close frames seen: {ended['close_codes']})",
         "value": closed,
         "baseline": STALLED, "ratio": None, "unit": "sockets", "target": "all", "passed": closed == STALLED},
        {"name": f"  slow consumers: server RSS growth meanwhile (bound {SEND_BUFFER // 1024} KiB per socket)",
         "value": growth / 2**20, "baseline": STALLED * SEND_BUFFER / 2**20, "ratio": growth / (STALLED * SEND_BUFFER),
         "unit": "MiB", "target": f"< {STALLED} x the bound", "passed": growth < STALLED * SEND_BUFFER},
    ]


def run() -> list[dict]:
    rows: list[dict] = []
    with bench_environment() as (db_url, redis_url, children):
        users, _, template, tokens, _, _ = _make_data()
        env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="echelon.settings",
                   REALTIME_MAX_SEND_BUFFER_BYTES=str(SEND_BUFFER))
        sockets = [{"token": tokens[str(u.pk)], "user": str(u.pk)}
                   for u in users for _ in range(SOCKETS_PER_USER)][:SOCKETS]

        floor_port = _free_port()
        floor = Child([sys.executable, "-m", "bench.realtime_floor", str(floor_port), redis_url, FLOOR_CHANNEL,
                       "echo"], env=env)
        children.append(floor)
        floor.expect_ready()
        port = _free_port()
        server = Child(_server_command("daphne", port), env=env, quiet=True)
        children.append(server)
        _wait_port(port, server.proc, "daphne")
        wait_for_relay(db_url)
        url = f"ws://127.0.0.1:{port}/realtime/v1/websocket"
        rows += broadcast_rows(url, f"ws://127.0.0.1:{floor_port}/", sockets, children)
        floor.stop()
        rows += presence_rows(url, sockets, children)
        rows += slow_consumer_rows(url, db_url, template.pk, server.proc.pid, sockets, children)
        server.stop()
    return rows
