"""Load helper process: many websocket subscribers that check every push as it arrives.

`python -m bench.load_sockets SPEC_FILE`; SPEC: {"url", "sockets": [{"token", "user"}],
"user_teams": {user: team}, "agents": {agent: [owner, team or null]}}. Each socket joins
`agents` changes (every event, no filter: the server's policy alone decides what arrives).
Prints READY when every socket is joined, then obeys stdin lines:
- `CHECK <writes file>`: the file holds [[agent_id, updated_at], ...] acknowledged by the API;
  prints one JSON line: expected deliveries (one per socket allowed to read the agent), received,
  lost, unauthorized, duplicates, closed sockets, push latency percentiles;
- `QUIT`.
Frames are handled on arrival and only (agent, updated_at) keys are kept, so the helper's own
memory stays small over a 10-minute run. Socket plumbing comes from bench.realtime_subscribers.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

import orjson

from bench.realtime_subscribers import command_loop, epoch, open_all


def canonical(stamp: str) -> str:
    """One spelling for a timestamp ('…Z' from the API, '…+00:00' elsewhere)."""
    return datetime.fromisoformat(stamp).isoformat()


def allowed(user: str, agent: list, user_teams: dict) -> bool:
    owner, team = agent
    return user == owner or (team is not None and user_teams.get(user) == team)


class Checker:
    """The sink of one socket: parses each frame at once and keeps only what the check needs."""

    def __init__(self, user: str, spec: dict, totals: dict) -> None:
        self.user, self.spec, self.totals = user, spec, totals
        self.keys: set = set()

    def append(self, item) -> None:
        arrived, payload = item
        frame = orjson.loads(payload)
        if frame[3] != "postgres_changes":
            if frame[3] in ("system", "phx_error", "phx_close") and frame[4].get("status") != "ok":
                self.totals["errors"].append(frame[4])
            return
        data = frame[4]["data"]
        record = data.get("record") or data.get("old_record") or {}
        self.totals["latencies"].append((arrived - epoch(data["commit_timestamp"])) * 1000)
        self.totals["received"] += 1
        agent = self.spec["agents"].get(record.get("id"))
        if agent is None or not allowed(self.user, agent, self.spec["user_teams"]):
            self.totals["unauthorized"] += 1
            return
        key = (record["id"], canonical(record["updated_at"]))
        if key in self.keys:
            self.totals["duplicates"] += 1
        self.keys.add(key)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def check(spec: dict, sinks: list[Checker], sockets: list, totals: dict, writes_file: str) -> dict:
    with open(writes_file, "rb") as handle:
        writes = [(agent, canonical(stamp)) for agent, stamp in orjson.loads(handle.read())]
    expected = lost = 0
    for sink in sinks:
        for agent_id, stamp in writes:
            if allowed(sink.user, spec["agents"][agent_id], spec["user_teams"]):
                expected += 1
                lost += (agent_id, stamp) not in sink.keys
    latencies = totals["latencies"]
    return {"expected": expected, "received": totals["received"], "lost": lost,
            "unauthorized": totals["unauthorized"], "duplicates": totals["duplicates"],
            "closed": sum(1 for s in sockets if s.closed), "errors": totals["errors"][:5],
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


async def main(spec: dict) -> None:
    totals = {"received": 0, "unauthorized": 0, "duplicates": 0, "latencies": [], "errors": []}
    sinks = [Checker(s["user"], spec, totals) for s in spec["sockets"]]
    spec["bindings"] = [{"event": "*", "schema": "public", "table": "agents"}]
    try:
        sockets = await open_all(spec, sinks)
    except Exception as exc:  # noqa: BLE001 - reported to the orchestrator
        print(orjson.dumps({"error": repr(exc)}).decode(), flush=True)
        return

    def on_line(line: str) -> str | None:
        if line.startswith("CHECK "):
            return orjson.dumps(check(spec, sinks, sockets, totals, line[6:])).decode()
        return None

    await command_loop(sockets, on_line)


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as spec_file:
        loaded = orjson.loads(spec_file.read())
    asyncio.run(main(loaded))
