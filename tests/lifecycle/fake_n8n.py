"""A fake n8n 2.41.1 public API, served by pytest-httpserver, built from the real recordings in
tests/fixtures/n8n-2.41.1 (copied from the shared fixtures).

What it reproduces (each is exercised by a test):
- every `/api/v1` call without the right `X-N8N-API-KEY` → 401 {"message":"Unauthorized"};
- `GET /executions`: newest first, default limit 100, max 250, running executions left out
  unless `status=running`, `workflowId`/`status` filters, `nextCursor` = base64 of
  {"lastId": "<id>", "limit": n} whenever a page is full (so the last full page is followed by an
  empty one, as n8n does), a cursor that does not decode → 400 "An invalid cursor was provided";
- `GET /executions/{id}` (with `includeData=true` the recorded `data` when there is one),
  unknown id → 404 {"message":"Not Found"};
- `GET /workflows/{id}`; `POST /workflows/{id}/publish|unpublish` (and the deprecated
  `/activate|/deactivate`): 404 unknown id, 400 no trigger node, 409 webhook path conflict
  with another published workflow, with the messages a real 2.41.1 gave;
- `limit` that is not an integer → 400; an unknown route → 405 "POST method not allowed";
- `legacy=True`: an n8n 1.x without `/publish` (its unknown-route 405 on that route);
- `fail_next`: the next requests answer with given statuses (429/5xx) to drive retries;
  `fail_workflow`: every execution list of that workflow id answers 500;
- `GET /workflows` (`active=true`, `limit`, `cursor`), what the reconcile pass reads;
- behaviours seen on the real 2.41.1 (issue 18): `freeze()` holds every request until `resume()`
  and then carries it out, as n8n did with a publish whose client had timed out (the answer goes
  to a closed connection); `DELETE /workflows/{id}` right after an unpublish → 409 "Workflow is
  still being unpublished…" (once: the retry succeeds); `reset()` forgets every execution, so
  ids restart as after an n8n reset.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from pathlib import Path

from werkzeug import Request, Response

RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "n8n-2.41.1"
API_KEY = "test-n8n-key"
SUMMARY_FIELDS = ("id", "finished", "mode", "retryOf", "retrySuccessId", "status", "startedAt", "stoppedAt",
                  "workflowId", "waitTill")
# Messages observed on a real n8n 2.41.1 (see test_n8n_live.py, which checks them).
NO_TRIGGER = ("Workflow cannot be activated because it has no trigger node. At least one trigger, webhook, or "
              "polling node is required.")
WEBHOOK_CONFLICT = "There is a conflict with one of the webhooks."
UNKNOWN_WORKFLOW = "You do not have permission to {verb} this workflow. Ask the owner to share it with you."
STILL_UNPUBLISHING = "Workflow is still being unpublished. Please try again in a few moments."


def recording(name: str):
    text = (RECORDINGS / name).read_text()
    return json.loads(text.splitlines()[0]) if name.endswith(".txt") else json.loads(text)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def encode_cursor(last_id: str, limit: int) -> str:
    return base64.b64encode(json.dumps({"lastId": last_id, "limit": limit}, separators=(",", ":")).encode()).decode()


def _is_trigger(node: dict) -> bool:
    kind = node.get("type", "")
    return kind == "n8n-nodes-base.webhook" or (kind.endswith("Trigger") and kind != "n8n-nodes-base.manualTrigger")


class FakeN8n:
    def __init__(self, *, api_key: str = API_KEY, legacy: bool = False):
        self.api_key, self.legacy = api_key, legacy
        self.executions: dict[int, dict] = {}
        self.details: dict[int, dict] = {}
        self.workflows: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_next: list[tuple[int, dict]] = []
        self.fail_workflow: str | None = None
        self._running = threading.Event()
        self._running.set()
        self.held = threading.Event()  # set once a request waits in a frozen n8n

    # --- behaviours of the real server --------------------------------------------------
    def freeze(self) -> None:
        """Like SIGSTOP: requests are received but held, and carried out at `resume()`."""
        self.held.clear()
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def reset(self) -> None:
        """n8n's execution history is gone; ids start again from where the test adds them."""
        self.executions.clear()
        self.details.clear()

    # --- data ---------------------------------------------------------------------------
    def load_recordings(self) -> FakeN8n:
        """The executions and workflows the recordings show (ids 1, 2, 5, 9-14)."""
        for name in ("executions_list_page1_limit3.json", "executions_list_page2.json",
                     "executions_list_status_error.json"):
            for item in recording(name)["data"]:
                self.add_execution(item)
        for name in ("execution_success_includeData.json", "execution_error_includeData.json",
                     "execution_canceled.json", "execution_crashed.json"):
            self.add_execution(recording(name))
        for name, wf_id in (("wf1.json", "ci8N7gTduket1YpF"), ("wf-hmac.json", "9qAE7S1t2kkV2PNZ"),
                            ("wf-auth.json", "AuTh0000000000wf"), ("wf-errhandler.json", "ErrHandler00000w")):
            self.add_workflow(recording(name), wf_id)
        return self

    def add_execution(self, payload: dict) -> None:
        ident = int(payload["id"])
        self.executions[ident] = {key: payload.get(key) for key in SUMMARY_FIELDS}
        if "data" in payload:
            self.details[ident] = copy.deepcopy(payload)

    def set_status(self, ident: int, status: str, **fields) -> None:
        self.executions[ident].update(status=status, finished=status == "success", **fields)
        if ident in self.details:
            self.details[ident].update(status=status, finished=status == "success", **fields)

    def add_workflow(self, definition: dict, wf_id: str, *, active: bool = False) -> dict:
        workflow = {**copy.deepcopy(definition), "id": wf_id, "active": active}
        self.workflows[wf_id] = workflow
        return workflow

    # --- HTTP ---------------------------------------------------------------------------
    def install(self, httpserver) -> FakeN8n:
        httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_handler(self.handle)
        return self

    def handle(self, request: Request) -> Response:
        self.requests.append((request.method, request.path, dict(request.args)))
        if not self._running.is_set():
            self.held.set()
            self._running.wait(60)
        if self.fail_next:
            status, headers = self.fail_next.pop(0)
            return Response(json.dumps({"message": "Service unavailable"}), status=status, headers=headers,
                            content_type="application/json")
        if request.headers.get("X-N8N-API-KEY") != self.api_key:
            return _json(recording("executions_no_key_401.txt"), 401)
        path = request.path[len("/api/v1"):]
        if request.method == "GET" and path == "/executions":
            if self.fail_workflow and request.args.get("workflowId") == self.fail_workflow:
                return _json({"message": "Internal Server Error"}, 500)
            return self._list(request.args)
        if request.method == "GET" and path == "/workflows":
            return self._workflows(request.args)
        match = re.fullmatch(r"/executions/([^/]+)", path)
        if request.method == "GET" and match:
            return self._execution(match.group(1), request.args.get("includeData") == "true")
        match = re.fullmatch(r"/workflows/([^/]+)", path)
        if request.method == "GET" and match:
            workflow = self.workflows.get(match.group(1))
            return _json(workflow) if workflow else _json({"message": "Not Found"}, 404)
        if request.method == "DELETE" and match:
            workflow = self.workflows.get(match.group(1))
            if workflow is None:
                return _json({"message": "Not Found"}, 404)
            if workflow.pop("_unpublishing", False):
                return _json({"message": STILL_UNPUBLISHING}, 409)
            return _json(self.workflows.pop(match.group(1)))
        match = re.fullmatch(r"/workflows/([^/]+)/(publish|unpublish|activate|deactivate)", path)
        if request.method == "POST" and match:
            if self.legacy and match.group(2) in ("publish", "unpublish"):
                return _json({"message": "POST method not allowed"}, 405)
            return self._toggle(match.group(1), match.group(2) in ("publish", "activate"))
        return _json({"message": f"{request.method} method not allowed"}, 405)

    def _list(self, args) -> Response:
        try:
            limit = int(args.get("limit", 100))
        except ValueError:
            return _json({"message": "request/query/limit Param `limit` must be a valid integer"}, 400)
        limit = min(limit, 250)
        last_id = None
        if args.get("cursor"):
            try:
                cursor = json.loads(base64.b64decode(args["cursor"], validate=True))
                last_id, limit = int(cursor["lastId"]), int(cursor["limit"])
            except (ValueError, KeyError, TypeError):
                return _json({"message": "An invalid cursor was provided"}, 400)
        status = args.get("status")
        rows = [
            row for ident, row in sorted(self.executions.items(), reverse=True)
            if (last_id is None or ident < last_id)
            and (row["status"] == status if status else row["status"] != "running")
            and (not args.get("workflowId") or row["workflowId"] == args["workflowId"])
        ]
        page = rows[:limit]
        cursor = encode_cursor(page[-1]["id"], limit) if len(page) == limit else None
        return _json({"data": page, "nextCursor": cursor})

    def _workflows(self, args) -> Response:
        limit = min(int(args.get("limit", 100)), 250)
        rows = [wf for wf_id, wf in sorted(self.workflows.items())
                if args.get("active") is None or wf["active"] == (args["active"] == "true")]
        if args.get("cursor"):
            last = json.loads(base64.b64decode(args["cursor"]))["lastId"]
            rows = [wf for wf in rows if wf["id"] > last]
        page = rows[:limit]
        cursor = encode_cursor(page[-1]["id"], limit) if len(page) == limit else None
        clean = [{key: value for key, value in wf.items() if not key.startswith("_")} for wf in page]
        return _json({"data": clean, "nextCursor": cursor})

    def _execution(self, ident: str, include_data: bool) -> Response:
        if not ident.isdigit() or int(ident) not in self.executions:
            return _json(recording("execution_missing_404.txt"), 404)
        ident = int(ident)
        if include_data and ident in self.details:
            return _json(self.details[ident])
        return _json(self.executions[ident])

    def _toggle(self, wf_id: str, publish: bool) -> Response:
        workflow = self.workflows.get(wf_id)
        if workflow is None:
            return _json({"message": UNKNOWN_WORKFLOW.format(verb="activate" if publish else "deactivate")}, 404)
        if publish:
            if not any(_is_trigger(node) for node in workflow["nodes"]):
                return _json({"message": NO_TRIGGER}, 400)
            paths = {n["parameters"].get("path") for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.webhook"}
            for other in self.workflows.values():
                if other is workflow or not other["active"]:
                    continue
                taken = {n["parameters"].get("path") for n in other["nodes"] if n["type"] == "n8n-nodes-base.webhook"}
                if paths & taken:
                    return _json({"message": WEBHOOK_CONFLICT}, 409)
        if workflow["active"] and not publish:
            workflow["_unpublishing"] = True
        workflow["active"] = publish
        return _json({key: value for key, value in workflow.items() if not key.startswith("_")})
