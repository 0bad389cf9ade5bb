"""Issue 17: realtime through `make serve`'s topology (nginx → daphne × cores, Redis).

1. Fan-out of one change to 1,000 sockets connected through the front: p99 against the bare
   `websockets` broadcast floor measured in the same run (target ≤ 2x).
2. Capacity ramp: changes of team agents (each authorized for the 100 sockets of one team) are
   offered at rising rates for BENCH_RAMP_SECONDS each; a step passes while every authorized
   delivery arrives and p95 ≤ 250 ms. The knee (highest passing step, in authorized deliveries
   per second) must be ≥ 20,000/s; the steps go on to 130,000/s (BENCH_RAMP_STEPS), and the
   row says when none failed (then the knee is a lower bound). The changes are published on
   the realtime bus exactly as the publisher frames them (one real write's message, with fresh
   `updated_at`s), so the ramp measures the websocket side, not how fast one Python process
   can write rows (the writer's cost is `bench_realtime`'s publisher row).
3. 10,000 open sockets (BENCH_SOCKETS): resident memory per socket of the websocket processes,
   and the fan-out p50/p99 of one change to all of them.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import orjson
import psutil
from django.conf import settings

from bench.bench_realtime import (
    AGENTS_PER_TEAM, SOCKETS_PER_USER, TEAMS, USERS, Child, _latencies, _make_data, bench_environment, floor_latencies,
    percentile, subscribers,
)
from bench.servers import TopologyServer

RAMP_SECONDS = float(os.environ.get("BENCH_RAMP_SECONDS", "8"))
RAMP_STEPS = [int(x) for x in os.environ.get(
    "BENCH_RAMP_STEPS", "6000,10000,15000,20000,25000,30000,40000,60000,80000,100000,130000").split(",")]
MANY_SOCKETS = int(os.environ.get("BENCH_SOCKETS", "10000"))
KNEE_TARGET = 20_000


def websocket_rss(topology: TopologyServer) -> int:
    total = 0
    for pid in topology.pids():
        try:
            process = psutil.Process(pid)
            if "echelon.serving.websockets" in " ".join(process.cmdline()):
                total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class BusPublisher:
    """Agent UPDATE messages as the relay frames them (without positions: the dispatcher then
    neither deduplicates nor fills gaps), straight onto the Redis channel."""

    def __init__(self, agents, redis_url: str) -> None:
        import redis

        from echelon.policy import policy_for
        from realtime.changes import audience_json, change_data, record_of

        self.client = redis.Redis.from_url(redis_url)
        self.channel = settings.REALTIME_REDIS_CHANNEL
        self.templates = [{"data": change_data(type(a), "UPDATE", record=record_of(a), old_record=None),
                           "audience": audience_json(policy_for(type(a)).audience(a))} for a in agents]
        self.sequence = 0
        self.base = datetime(2030, 1, 1, tzinfo=UTC)

    def publish_one(self) -> None:
        from realtime.changes import commit_timestamp

        template = self.templates[self.sequence % len(self.templates)]
        self.sequence += 1
        data = dict(template["data"])
        data["record"] = dict(data["record"], updated_at=(self.base + timedelta(microseconds=self.sequence)).isoformat())
        data["commit_timestamp"] = commit_timestamp()
        variant = {"audience": template["audience"], "operator": False, "data": data}
        self.client.publish(self.channel, orjson.dumps(
            {"changes": [{"table": data["table"], "type": "UPDATE", "variants": [variant]}]}))

    def offer(self, changes_per_second: float, seconds: float) -> tuple[int, float]:
        """Publish at a steady rate (every 5 ms what is due); → (changes, elapsed)."""
        count = int(changes_per_second * seconds)
        start = time.monotonic()
        sent = 0
        while sent < count:
            due = min(count, int((time.monotonic() - start) * changes_per_second) + 1)
            while sent < due:
                self.publish_one()
                sent += 1
            time.sleep(0.005)
        return sent, time.monotonic() - start


def ramp(subs: Child, publisher: BusPublisher, per_change: int) -> tuple[list[dict], float, bool]:
    """→ the steps' rows, the knee, and whether a step failed (else the knee is only a lower bound)."""
    rows, knee = [], 0.0
    for offered in RAMP_STEPS:
        subs.ask("RESET")
        changes, elapsed = publisher.offer(offered / per_change, RAMP_SECONDS)
        time.sleep(3)
        result = orjson.loads(subs.ask("DUMP"))
        authorized = sum(result["per_agent"].values())
        expected = changes * per_change
        p95 = percentile(result["latencies"], 95)
        ok = authorized == expected and p95 <= 250 and result["unauthorized"] == 0 and result["duplicates"] == 0
        rows.append({"name": f"[serve] ramp: {offered:,} authorized deliveries/s offered", "value": authorized / elapsed,
                     "unit": "deliv/s", "baseline": expected / elapsed, "ratio": authorized / expected,
                     "target": f"report (p95 {p95:.0f} ms, lost {expected - authorized})", "passed": True})
        if not ok:
            return rows, knee, True
        knee = authorized / elapsed
    return rows, knee, False


def run() -> list[dict]:
    rows: list[dict] = []
    topology = None
    with bench_environment() as (db_url, redis_url, children):
        try:
            users, agents, template, tokens, user_teams, agent_teams = _make_data()
            env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="echelon.settings")
            sockets = [{"token": tokens[str(u.pk)], "user": str(u.pk)} for u in users for _ in range(SOCKETS_PER_USER)]
            expected_lat = 40 * len(sockets)

            # 1a. the floor, same frames, same Redis hop
            floor_lat, _ = floor_latencies(redis_url, env, sockets, template, children)
            floor_p99 = percentile(floor_lat, 99)

            # 1b. the same through the topology's front
            topology = TopologyServer(DATABASE_URL=db_url, REDIS_URL=redis_url,
                                      LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                                      # the subscriber process heartbeats once all its sockets are open,
                                      # which takes longer than the 60 s idle close for 10,000 of them
                                      REALTIME_IDLE_TIMEOUT="600",
                                      websocket_processes=os.cpu_count() or 1)
            url = topology.url.replace("http://", "ws://") + "/realtime/v1/websocket"
            bindings = [{"event": "*", "schema": "public", "table": "agents"},
                        {"event": "UPDATE", "schema": "public", "table": "agent_templates"}]
            subs = subscribers({"url": url, "sockets": sockets, "bindings": bindings, "user_teams": user_teams,
                                "agent_teams": agent_teams})
            children.append(subs)
            lat, lat_n = _latencies(subs, template)
            p99 = percentile(lat, 99)
            rows.append({"name": f"[serve] fan-out {len(sockets)} sockets through nginx p99 (p50 {percentile(lat, 50):.1f})",
                         "value": p99, "unit": "ms", "baseline": floor_p99, "ratio": p99 / floor_p99,
                         "target": "<= 2x floor", "passed": p99 <= 2 * floor_p99 and lat_n == expected_lat})

            # 2. capacity ramp
            per_change = (USERS // TEAMS) * SOCKETS_PER_USER
            ramp_rows, knee, found = ramp(subs, BusPublisher(agents, redis_url), per_change)
            rows += ramp_rows
            bound = "" if found else "; every step passed: the knee is above the last"
            rows.append({"name": f"[serve] realtime capacity knee ({len(sockets)} sockets, {TEAMS} teams, "
                                 f"{AGENTS_PER_TEAM * TEAMS} agents{bound})", "value": knee, "unit": "deliv/s",
                         "baseline": KNEE_TARGET, "ratio": knee / KNEE_TARGET, "target": f">= {KNEE_TARGET:,}/s",
                         "passed": knee >= KNEE_TARGET})
            subs.stop()

            # 3. many open sockets: memory per socket, fan-out of one change to all of them
            time.sleep(2)
            before = websocket_rss(topology)
            many = [sockets[i % len(sockets)] for i in range(MANY_SOCKETS)]
            many_subs = subscribers({"url": url, "sockets": many, "bindings": bindings[1:]})
            children.append(many_subs)
            time.sleep(2)
            after = websocket_rss(topology)
            many_subs.ask("RESET")
            for i in range(10):
                template.description = f"many {i}"
                template.save(update_fields=["description"])
                time.sleep(1.5)
            time.sleep(3)
            result = orjson.loads(many_subs.ask("DUMP"))
            many_subs.stop()
            delivered = result["deliveries"] == 10 * MANY_SOCKETS
            rows.append({"name": f"[serve] {MANY_SOCKETS:,} open sockets: websocket processes' RSS per socket",
                         "value": (after - before) / MANY_SOCKETS / 1024, "unit": "KiB", "baseline": None, "ratio": None,
                         "target": f"report ({after / 2**20:.0f} MiB in all)", "passed": delivered})
            rows.append({"name": f"[serve] {MANY_SOCKETS:,} sockets: fan-out of one change p99 (p50 "
                                 f"{percentile(result['latencies'], 50):.0f})",
                         "value": percentile(result["latencies"], 99), "unit": "ms", "baseline": None, "ratio": None,
                         "target": f"report, all delivered ({result['deliveries']:,} of {10 * MANY_SOCKETS:,}, "
                                   f"{result['closed']} closed)",
                         "passed": delivered and result["closed"] == 0})
            exit_code = topology.stop()
            rows.append({"name": "[serve] graceful stop with sockets open: exit status", "value": exit_code, "baseline": 0,
                         "ratio": None, "target": "0", "passed": exit_code == 0, "unit": "code"})
        finally:
            if topology is not None:
                topology.kill()
    return rows
