"""Resume and raw-SQL writes for the realtime benchmark (issue 14), run by bench_realtime.

- `raw_sql_updates`: changes written as an outside writer would (psql, n8n's Postgres node):
  UPDATEs over a psycopg connection of their own, no app code, so a push can only come from
  the capture triggers and the relay.
- `resume`: one client reads a change, goes away for `AWAY_SECONDS` while `RATE` changes/s are
  written, comes back joining with `config.since` = the last position it saw, and must get every
  change it missed, in order, none twice, then a live one after them.
"""

from __future__ import annotations

import time

import orjson
import psycopg
from websockets.sync.client import connect

RATE, AWAY_SECONDS = 500, 10.0
CATCH_UP_TIMEOUT = 120.0


def raw_sql_updates(db_url: str, template_id, count: int, interval: float, label: str = "raw") -> None:
    """`count` UPDATEs of the template's description, one transaction each, `interval` s apart."""
    with psycopg.connect(_libpq(db_url), autocommit=True) as conn:
        for i in range(count):
            conn.execute("UPDATE agent_templates SET description = %s WHERE id = %s", [f"{label} {i}", template_id])
            time.sleep(interval)


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _join(ws_url: str, token: str, since: int | None = None):
    socket = connect(f"{ws_url}?apikey={token}&vsn=2.0.0", max_size=None, open_timeout=60)
    config = {"postgres_changes": [{"event": "UPDATE", "schema": "public", "table": "agent_templates"}]}
    if since is not None:
        config["since"] = since
    socket.send(orjson.dumps(["1", "1", "realtime:resume", "phx_join", {"config": config}]).decode())
    return socket


def _changes(socket, until, timeout: float) -> list[dict]:
    """The `data` of postgres_changes frames received until `until(datas)` holds or `timeout`."""
    datas: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until(datas):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            frame = orjson.loads(socket.recv(timeout=min(left, 5)))
        except TimeoutError:
            continue
        if frame[3] == "postgres_changes":
            datas.append(frame[4]["data"])
        elif frame[3] == "system" and frame[4].get("status") == "error":
            raise RuntimeError(f"resume: {frame[4]}")
    return datas


def paced_updates(db_url: str, template_id, rate: float, seconds: float, label: str = "resume",
                  pad: int = 0) -> tuple[int, float]:
    """`rate` UPDATEs per second for `seconds` (each its own transaction; → count, elapsed); the
    description is "<label> <k>", then `pad` more characters (a larger change)."""
    count = int(rate * seconds)
    with psycopg.connect(_libpq(db_url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")  # the load generator's fsyncs are not the server's cost
        start = time.monotonic()
        for k in range(count):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            conn.execute("UPDATE agent_templates SET description = %s WHERE id = %s",
                         [f"{label} {k}" + "x" * pad, template_id])
        return count, time.monotonic() - start


def resume(ws_url: str, db_url: str, token: str, template_id) -> list[dict]:
    socket = _join(ws_url, token)
    _changes(socket, lambda d: False, 1.0)  # the join settles
    raw_sql_updates(db_url, template_id, 1, 0.0, "before")
    seen = _changes(socket, lambda d: any(x["record"]["description"] == "before 0" for x in d), 30)
    last = max(d["position"] for d in seen)
    socket.close()

    written, elapsed = paced_updates(db_url, template_id, RATE, AWAY_SECONDS)
    began = time.monotonic()
    socket = _join(ws_url, token, since=last)
    expected = [f"resume {k}" for k in range(written)]
    missed = _changes(socket, lambda d: len(d) >= written, CATCH_UP_TIMEOUT)
    caught_up = time.monotonic() - began
    raw_sql_updates(db_url, template_id, 1, 0.0, "live")
    after = _changes(socket, lambda d: any(x["record"]["description"] == "live 0" for x in d), 30)
    socket.close()

    got = [d["record"]["description"] for d in missed]
    positions = [d["position"] for d in missed + after]
    in_order = got == expected and positions == sorted(set(positions)) and \
        [d["record"]["description"] for d in after] == ["live 0"]
    paced = written / elapsed >= 0.95 * RATE  # the writer kept the offered rate
    return [
        {"name": f"resume after {AWAY_SECONDS:.0f} s away at {written / elapsed:.0f} changes/s: missed changes "
                 f"received in order, then a live one", "value": len(got), "baseline": written, "ratio": None,
         "target": f"all, in order, none twice (>= {0.95 * RATE:.0f}/s offered)", "unit": "changes",
         "passed": in_order and paced},
        {"name": "  resume: rejoin to the last missed change", "value": caught_up * 1000, "baseline": None,
         "ratio": None, "target": "report", "unit": "ms", "passed": in_order},
    ]
