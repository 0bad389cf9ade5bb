"""Bounded mixed load against one Echelon server: `python -m bench.load [--seconds 600]`
(`make load`, docs/operations.md).

The server under test, on the bench database, 127.0.0.1 only: `make serve`'s topology (nginx,
gunicorn workers, daphne, Redis; `--server topology`, the default) or one daphne process
(`--server daphne`, what `make run` serves). At fixed rates (the defaults are 4x those of the
first version of this load: issue 17), for `--seconds`:
- REST reads: agent list pages, the dashboard, unread counts (random users);
- REST writes: PATCH of an agent's description by its owner (each one must be pushed);
- metric ingestion: `POST /api/v1/agent-metrics/bulk/` of `--metric-rows` rows;
- n8n callbacks: signed `POST /api/v1/hooks/n8n/`, one new execution each;
while `--sockets` websockets (bench/load_sockets.py, another process) receive the agent changes
of 50 users in 5 teams, every socket subscribed to the whole `agents` table so that only the
server's row policy decides what each one gets.

Reports per kind throughput and p50/p99, errors (any unexpected status or failure), lost pushes
(an acknowledged write that a socket allowed to read the agent did not receive), unauthorized
pushes, and the server's resident memory (summed over the topology's processes): growth after warm-up (the first 20 %, at least 30 s)
must stay ≤ 10 % (checked for runs of 120 s or more; shorter runs report it). Exit status 0
when every check passes. Prints one JSON line (prefix `LOAD-RESULT `) for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

USERS_PER_TEAM, TEAMS, TEAM_AGENTS_PER_TEAM = 10, 5, 4
NO_LIMITS = json.dumps({tier: {"requests": 1_000_000_000, "window_seconds": 60}
                        for tier in ("anonymous", "free", "pro", "enterprise")})
EMAIL_DOMAIN = "load.bench.local"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="load duration (default 600)")
    parser.add_argument("--sockets", type=int, default=500, help="open websockets (default 500)")
    parser.add_argument("--server", choices=("topology", "daphne"), default="topology",
                        help="make serve's topology (default) or one daphne process")
    parser.add_argument("--read-rate", type=float, default=80, help="REST reads per second (80)")
    parser.add_argument("--write-rate", type=float, default=16, help="agent PATCHes per second (16)")
    parser.add_argument("--metric-rate", type=float, default=4, help="bulk metric requests per second (4)")
    parser.add_argument("--metric-rows", type=int, default=100, help="rows per bulk metric request (100)")
    parser.add_argument("--callback-rate", type=float, default=16, help="n8n callbacks per second (16)")
    return parser.parse_args(argv)


# --- data --------------------------------------------------------------------------------------
def make_data(sockets: int) -> dict:
    """50 users in 5 teams: per team one admin owning 4 team agents (with an n8n workflow each),
    and a private agent per user. Rows of a previous run are deleted first (cascade)."""
    from accounts.models import Role, Team, User, UserRole
    from agents.models import Agent
    from echelon.auth.tokens import access_token_for
    from workflows.models import Workflow

    User.objects.filter(email__endswith="@" + EMAIL_DOMAIN).delete()
    Team.objects.filter(slug__startswith="load-team-").delete()
    users, user_teams, agents, workflows, owned = [], {}, {}, [], {}
    for t in range(TEAMS):
        members = [User.objects.create_user(email=f"load-{t}-{u}@{EMAIL_DOMAIN}", password=None,
                                            subscription_tier="enterprise") for u in range(USERS_PER_TEAM)]
        admin = members[0]
        team = Team.objects.create(name=f"Load team {t}", slug=f"load-team-{t}", created_by=admin)
        for member in members:
            role = Role.ADMIN if member is admin else Role.VIEWER
            UserRole.objects.get_or_create(user=member, team=team, defaults={"role": role, "granted_by": admin})
            user_teams[str(member.pk)] = str(team.pk)
        for a in range(TEAM_AGENTS_PER_TEAM):
            agent = Agent.objects.create(name=f"load team {t} agent {a}", type="market", status="inactive",
                                         created_by=admin, team=team)
            agents[str(agent.pk)] = [str(admin.pk), str(team.pk)]
            owned.setdefault(str(admin.pk), []).append(str(agent.pk))
            workflow = Workflow.objects.create(agent=agent, name=f"load wf {t}.{a}", n8n_workflow_id=f"load{t}x{a}",
                                               webhook_secret=f"load-secret-{t}-{a}")
            workflows.append((workflow.n8n_workflow_id, workflow.webhook_secret))
        for member in members:
            agent = Agent.objects.create(name=f"load private {member.email}", type="websearch", status="inactive",
                                         created_by=member)
            agents[str(agent.pk)] = [str(member.pk), None]
            owned.setdefault(str(member.pk), []).append(str(agent.pk))
        users.extend(members)
    tokens = {str(u.pk): access_token_for(u) for u in users}
    socket_specs = [{"token": tokens[str(users[i % len(users)].pk)], "user": str(users[i % len(users)].pk)}
                    for i in range(sockets)]
    return {"tokens": tokens, "user_teams": user_teams, "agents": agents, "owned": owned,
            "workflows": workflows, "sockets": socket_specs}


# --- load ----------------------------------------------------------------------------------------
class Kind:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def summary(self, seconds: float) -> dict:
        ordered = sorted(self.latencies)

        def pct(p):
            return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else None

        return {"requests": len(ordered) + len(self.errors), "ok": len(ordered), "errors": len(self.errors),
                "per_second": len(ordered) / seconds, "p50_ms": pct(50), "p99_ms": pct(99),
                "first_errors": self.errors[:3]}


async def paced(rate: float, deadline: float, launch, limit: int = 64) -> None:
    """Start `launch()` `rate` times a second until `deadline` (open loop, at most `limit` in flight)."""
    if rate <= 0:
        return
    gate = asyncio.Semaphore(limit)
    interval, tasks = 1.0 / rate, set()
    next_at = time.monotonic()

    async def one():
        async with gate:
            await launch()

    while next_at < deadline:
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += interval
    if tasks:
        await asyncio.gather(*tasks)


async def timed(kind: Kind, request, expected: tuple[int, ...]):
    started = time.perf_counter()
    try:
        response = await request()
    except Exception as exc:  # noqa: BLE001 - a failed request is an error of the run
        kind.errors.append(f"{type(exc).__name__}: {exc}")
        return None
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in expected:
        kind.errors.append(f"{response.status_code} {response.text[:200]}")
        return None
    kind.latencies.append(elapsed)
    return response


async def drive(base_url: str, data: dict, args, writes: list) -> tuple[dict[str, Kind], float]:
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    kinds = {name: Kind(name) for name in ("read", "write", "metrics", "callback")}
    users = list(data["tokens"])
    headers = {user: {"Authorization": f"Bearer {token}"} for user, token in data["tokens"].items()}
    rng = random.Random(42)
    execution_ids = iter(range(1, 10**9))
    run_id = int(time.time())
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        async def read():
            user = rng.choice(users)
            path = rng.choice(["/api/v1/agents/?page_size=50", "/api/v1/agents/dashboard/",
                               "/api/v1/notifications/unread-count/", "/api/v1/workflows/?page_size=20"])
            await timed(kinds["read"], lambda: http.get(path, headers=headers[user]), (200,))

        async def write():
            user = rng.choice(users)
            agent = rng.choice(data["owned"][user])
            body = {"description": f"load write {rng.random():.9f}"}
            response = await timed(kinds["write"], lambda: http.patch(f"/api/v1/agents/{agent}/", json=body,
                                                                      headers=headers[user]), (200,))
            if response is not None:
                writes.append([agent, response.json()["updated_at"]])

        async def metrics():
            user = rng.choice(users)
            agent = rng.choice(data["owned"][user])
            now = datetime.now(UTC).isoformat()
            rows = [{"agent_id": agent, "metric_type": "response_time", "value": round(rng.uniform(1, 900), 2),
                     "unit": "ms", "recorded_at": now} for _ in range(args.metric_rows)]
            await timed(kinds["metrics"], lambda: http.post("/api/v1/agent-metrics/bulk/", json=rows,
                                                            headers=headers[user]), (201,))

        async def callback():
            workflow_id, secret = rng.choice(data["workflows"])
            body = json.dumps({"n8n_workflow_id": workflow_id, "n8n_execution_id": f"{run_id}-{next(execution_ids)}",
                               "status": "success", "ts": int(time.time()), "output": {"ok": True}}).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            await timed(kinds["callback"], lambda: http.post("/api/v1/hooks/n8n/", content=body, headers={
                "Content-Type": "application/json", "X-Echelon-Signature": signature,
                "X-Echelon-Workflow": workflow_id}), (201,))

        started = time.monotonic()
        deadline = started + args.seconds
        await asyncio.gather(
            paced(args.read_rate, deadline, read), paced(args.write_rate, deadline, write),
            paced(args.metric_rate, deadline, metrics), paced(args.callback_rate, deadline, callback),
        )
        return kinds, time.monotonic() - started


async def sample_memory(pids, samples: list, stop: asyncio.Event) -> None:
    """RSS summed over `pids()` (the server's processes) every 5 s."""
    import psutil

    while not stop.is_set():
        total = 0
        for pid in pids():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                pass
        samples.append((time.monotonic(), total))
        try:
            await asyncio.wait_for(stop.wait(), 5)
        except TimeoutError:
            pass


def memory_figures(samples: list, started: float, seconds: float) -> dict:
    warmup_end = started + max(30.0, 0.2 * seconds)
    after = [rss for at, rss in samples if at >= warmup_end]
    if len(after) < 2:
        return {"checked": False, "warm_mb": None, "end_mb": None, "max_mb": None, "growth": None}
    warm = after[0]
    end = statistics.median(after[-3:])
    return {"checked": seconds >= 120, "warm_mb": warm / 2**20, "end_mb": end / 2**20,
            "max_mb": max(after) / 2**20, "growth": (end - warm) / warm}


# --- main ------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("JWT_ACCESS_MINUTES", str(int(args.seconds // 60) + 60))  # no token expires mid-run
    from bench.database import use_bench_database

    bench_url = use_bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.servers import PROJECT_ROOT, DaphneServer, TopologyServer

    call_command("migrate", verbosity=0)
    print(f"load: preparing data and a server; {args.sockets} sockets, {args.seconds:.0f} s", flush=True)
    data = make_data(args.sockets)
    server_env = {"DATABASE_URL": bench_url, "ECHELON_RATE_LIMITS": NO_LIMITS, "LOG_LEVEL": "WARNING",
                  "JWT_ACCESS_MINUTES": os.environ["JWT_ACCESS_MINUTES"]}
    if args.server == "topology":
        server = TopologyServer(**server_env)
        server_pids = server.pids
    else:
        server = DaphneServer(**server_env)
        server_pids = lambda: [server.process.pid]  # noqa: E731
    spec_file = tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False)
    spec_file.write(json.dumps({"url": server.url.replace("http://", "ws://") + "/realtime/v1/websocket",
                                "sockets": data["sockets"], "user_teams": data["user_teams"],
                                "agents": data["agents"]}).encode())
    spec_file.close()
    sockets = subprocess.Popen([sys.executable, "-m", "bench.load_sockets", spec_file.name], cwd=PROJECT_ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    writes: list = []
    try:
        ready = sockets.stdout.readline().strip()
        if ready != "READY":
            raise RuntimeError(f"the socket process did not start: {ready or sockets.poll()}")

        async def run_all():
            samples, stop = [], asyncio.Event()
            sampler = asyncio.create_task(sample_memory(server_pids, samples, stop))
            started = time.monotonic()
            kinds, elapsed = await drive(server.url, data, args, writes)
            await asyncio.sleep(5)  # the last pushes
            stop.set()
            await sampler
            return kinds, elapsed, memory_figures(samples, started, args.seconds)

        kinds, elapsed, memory = asyncio.run(run_all())
        writes_file = tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False)
        writes_file.write(json.dumps(writes).encode())
        writes_file.close()
        sockets.stdin.write(f"CHECK {writes_file.name}\n")
        sockets.stdin.flush()
        pushes = json.loads(sockets.stdout.readline())
        os.unlink(writes_file.name)
        server_alive = server.process.poll() is None
    finally:
        if sockets.poll() is None:
            sockets.stdin.write("QUIT\n")
            sockets.stdin.flush()
            try:
                sockets.wait(15)
            except subprocess.TimeoutExpired:
                sockets.kill()
        os.unlink(spec_file.name)
        exit_code = server.stop() if server.process.poll() is None else server.process.returncode
        server.kill()

    summaries = {name: kind.summary(elapsed) for name, kind in kinds.items()}
    errors = sum(s["errors"] for s in summaries.values())
    checks = {
        "0 errors": errors == 0,
        "0 lost pushes": pushes["lost"] == 0 and pushes["expected"] > 0,
        "0 unauthorized pushes": pushes["unauthorized"] == 0,
        "0 duplicate pushes": pushes["duplicates"] == 0,
        "every socket open": pushes["closed"] == 0 and not pushes["errors"],
        "server alive, clean stop": server_alive and exit_code == 0,
        "memory growth <= 10 % after warm-up": (not memory["checked"]) or memory["growth"] <= 0.10,
    }
    print_report(args, elapsed, summaries, pushes, memory, checks)
    print("LOAD-RESULT " + json.dumps({"seconds": elapsed, "kinds": summaries, "pushes": pushes, "memory": memory,
                                       "checks": checks, "writes": len(writes)}), flush=True)
    return 0 if all(checks.values()) else 1


def print_report(args, elapsed, summaries, pushes, memory, checks) -> None:
    def ms(value):
        return "-" if value is None else f"{value:.1f}"

    server = "make serve's topology" if args.server == "topology" else "one daphne process"
    print(f"\nMixed load: {elapsed:.0f} s, {args.sockets} sockets, {server}, 127.0.0.1")
    print(f"{'kind':<10} {'requests':>9} {'errors':>7} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, s in summaries.items():
        print(f"{name:<10} {s['requests']:>9} {s['errors']:>7} {s['per_second']:>8.1f} {ms(s['p50_ms']):>8} "
              f"{ms(s['p99_ms']):>8}")
        for error in s["first_errors"]:
            print(f"    error: {error}")
    print(f"{'pushes':<10} {pushes['received']:>9} expected {pushes['expected']}, lost {pushes['lost']}, "
          f"unauthorized {pushes['unauthorized']}, duplicates {pushes['duplicates']}, closed sockets "
          f"{pushes['closed']}; push latency p50 {ms(pushes['p50_ms'])} ms, p99 {ms(pushes['p99_ms'])} ms")
    if memory["warm_mb"] is not None:
        print(f"server RSS after warm-up {memory['warm_mb']:.1f} MB, at the end {memory['end_mb']:.1f} MB "
              f"(max {memory['max_mb']:.1f} MB): growth {memory['growth'] * 100:+.1f} %"
              + ("" if memory["checked"] else " (not checked: run shorter than 120 s)"))
    for name, passed in checks.items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
