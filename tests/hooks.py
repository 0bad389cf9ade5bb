"""The signed n8n callback as the tests send it (tests/lifecycle/test_hooks.py, tests/hardening):
its URL, the test workflow's ids and secret, the payload and the signed POST. The fixtures
(`workflow`, `legacy_global_secret`) are in tests/conftest.py."""

from __future__ import annotations

import json
import time

from workflows.services.hooks import sign

URL = "/api/v1/hooks/n8n/"
SECRET = "workflow-test-secret"
N8N_ID = "9qAE7S1t2kkV2PNZ"
LEGACY_SECRET = "legacy-global-secret"



def payload(**fields) -> dict:
    """What wf-hmac.json's "Build payload" node sends, plus any extra fields."""
    return {"event": "execution.finished", "status": "success", "n8n_execution_id": "13",
            "n8n_workflow_id": "9qAE7S1t2kkV2PNZ", "ts": int(time.time()), "output": {"answer": 42}, **fields}


def post(client, body, *, secret=SECRET, signature=None, headers=None, n8n_id=N8N_ID, **extra):
    """What wf-hmac.json's "Callback" node sends: the raw body, its signature and the workflow."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Echelon-Signature": signature or sign(raw, secret), "X-Echelon-Workflow": n8n_id,
               **(headers or {})}
    return client.post(URL, raw, content_type="application/json", headers=headers, **extra)
