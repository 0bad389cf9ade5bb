"""What an unsigned 1 MB callback costs the server (issue 12, point 4).

`python -m echelon.embedded_pg -- python -m bench.hook_unsigned [--runs N]`: in-process (Django's
test client, the whole middleware stack, the development database, one workflow created in a
transaction that is rolled back), median milliseconds per `POST /api/v1/hooks/n8n/` of:

- `tiny`: an unsigned 60-byte body, the baseline of the same run;
- `wide`: an unsigned 1 MB callback whose `output` holds ~40,000 small objects, the costly shape
  to parse and walk (deep nesting is cheap: the parser gives up at once);
- `forged`: `wide` with a well-formed but wrong signature (the workflow lookup and the HMAC run).

Run it on two checkouts to compare before and after; the ratio to `tiny` is what to compare
(machines drift). The failure cap is lifted, so every answer is the plain refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def wide_body(limit: int = 1024 * 1024) -> bytes:
    """A valid callback just under `limit` bytes whose `output` is many small objects."""
    def body(count: int) -> bytes:
        items = [{"i": i, "v": "x" * 5} for i in range(count)]
        return json.dumps({"n8n_workflow_id": "bench-hook", "n8n_execution_id": "1", "ts": 1,
                           "output": items}).encode()

    count = limit // 24
    while len(body(count)) > limit:
        count -= 500
    return body(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    os.environ["ECHELON_METERING"] = "0"
    os.environ["ECHELON_HOOK_FAILURES"] = str(10**9)
    import django

    django.setup()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # one "Unauthorized" line per request
    from django.db import transaction
    from django.test import Client

    from tests.factories import AgentFactory, WorkflowFactory

    client = Client()
    tiny, wide = b'{"n8n_workflow_id": "bench-hook", "n8n_execution_id": "1"}', wide_body()
    cases = [("tiny", tiny, {}), ("wide", wide, {}), ("forged", wide, {"X-Echelon-Signature": "sha256=" + "0" * 64})]
    with transaction.atomic():
        WorkflowFactory(agent=AgentFactory(), n8n_workflow_id="bench-hook")
        print(f"{'body':8} {'bytes':>9} {'status':>6} {'median ms':>10} {'x tiny':>7}")
        baseline = None
        for name, raw, headers in cases:
            timings, status = [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.post("/api/v1/hooks/n8n/", raw, content_type="application/json",
                                       headers={"X-Echelon-Workflow": "bench-hook", **headers})
                timings.append((time.perf_counter() - started) * 1000)
                status = response.status_code
            median = statistics.median(timings)
            baseline = baseline or median
            print(f"{name:8} {len(raw):9d} {status:6d} {median:10.2f} {median / baseline:7.1f}")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
