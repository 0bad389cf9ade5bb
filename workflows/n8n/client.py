"""A small client for n8n's public REST API (`/api/v1`, header `X-N8N-API-KEY`).

Written against n8n 2.41.1 (recordings in the fixtures README): workflows are published with
`POST /workflows/{id}/publish` and unpublished with `/unpublish`; n8n 1.x only knows
`/activate` and `/deactivate`, so a 404/405 on the 2.x route falls back to the 1.x one (an
unknown workflow is a 404 on both). Executions are listed newest first, one page at a time,
following `nextCursor`.

Only 429 and 5xx answers are retried (with exponential backoff, honouring `Retry-After`);
400/401/404/409 raise typed errors at once because repeating them cannot help.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from django.conf import settings

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_PAGE_SIZE = 250  # n8n rejects larger pages


class N8nError(Exception):
    """An n8n call failed; `status` is the HTTP status (None: no answer), `message` n8n's text."""

    status: int | None = None

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.status
        self.method, self.path = method, path

    def __str__(self) -> str:
        where = f" ({self.method} {self.path} → {self.status})" if self.method else ""
        return f"{self.message}{where}"


class N8nBadRequest(N8nError):
    status = 400


class N8nUnauthorized(N8nError):
    status = 401


class N8nNotFound(N8nError):
    status = 404


class N8nConflict(N8nError):
    status = 409


class N8nUnavailable(N8nError):
    """No usable answer: connection failure, timeout, or 429/5xx after every retry."""


class N8nNotConfigured(N8nError):
    """N8N_BASE_URL (or the API key) is not set."""


_TYPED = {400: N8nBadRequest, 401: N8nUnauthorized, 404: N8nNotFound, 409: N8nConflict}


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(body)[:500]


class N8nClient:
    """Synchronous client; one instance may be reused for many calls (it keeps a connection pool)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 retries: int = 3, backoff: float = 0.5, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not base_url:
            raise N8nNotConfigured("N8N_BASE_URL is not set")
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff, self._sleep = retries, backoff, sleep
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v1", headers={"X-N8N-API-KEY": api_key, "Accept": "application/json"},
            timeout=timeout, transport=transport,
        )
        # Becomes False once this n8n answered that it has no /publish route (n8n 1.x).
        self._has_publish: bool | None = None

    @classmethod
    def from_settings(cls, **kwargs) -> N8nClient:
        kwargs.setdefault("timeout", httpx.Timeout(settings.N8N_TIMEOUT_SECONDS,
                                                   connect=min(3.0, settings.N8N_TIMEOUT_SECONDS)))
        return cls(settings.N8N_BASE_URL, settings.N8N_API_KEY, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> N8nClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs) -> Any:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                raise N8nUnavailable(f"n8n did not answer in time: {exc}", method=method, path=path) from exc
            except httpx.TransportError as exc:
                raise N8nUnavailable(f"n8n is unreachable: {exc}", method=method, path=path) from exc
            status = response.status_code
            if status < 400:
                return response.json() if response.content else None
            retryable = status == 429 or status >= 500
            if retryable and attempt < self.retries:
                self._sleep(self._delay(attempt, response))
                attempt += 1
                continue
            error_class = _TYPED.get(status, N8nUnavailable if retryable else N8nError)
            raise error_class(_message_of(response), status=status, method=method, path=path)

    def _delay(self, attempt: int, response: httpx.Response) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), 30.0)
        return self.backoff * (2 ** attempt)

    # --- workflows ------------------------------------------------------------------------
    def get_workflow(self, workflow_id: str) -> dict:
        return self._request("GET", f"/workflows/{workflow_id}")

    def active_workflow_ids(self, *, limit: int = MAX_PAGE_SIZE) -> set[str]:
        """Ids of every published (active) workflow: `GET /workflows?active=true`, page by page
        (one request for up to 250 workflows; what the reconcile pass compares)."""
        ids: set[str] = set()
        params: dict[str, Any] = {"active": "true", "limit": min(max(limit, 1), MAX_PAGE_SIZE)}
        while True:
            page = self._request("GET", "/workflows", params=params) or {}
            ids.update(str(item["id"]) for item in page.get("data") or [])
            if not page.get("nextCursor"):
                return ids
            params["cursor"] = page["nextCursor"]

    def delete_workflow(self, workflow_id: str, *, attempts: int = 10) -> dict | None:
        """Delete a workflow; n8n 2.41.1 answers 409 "Workflow is still being unpublished…" right
        after an unpublish, so a 409 is retried with backoff (None: already gone)."""
        for attempt in range(attempts):
            try:
                return self._request("DELETE", f"/workflows/{workflow_id}")
            except N8nNotFound:
                return None
            except N8nConflict:
                if attempt == attempts - 1:
                    raise
                self._sleep(self.backoff * (2 ** min(attempt, 4)))
        return None

    def publish_workflow(self, workflow_id: str) -> dict:
        """Publish (activate) a workflow; 400 no trigger node, 404 unknown id, 409 webhook conflict."""
        return self._toggle(workflow_id, "publish", "activate")

    def unpublish_workflow(self, workflow_id: str) -> dict:
        return self._toggle(workflow_id, "unpublish", "deactivate")

    def _toggle(self, workflow_id: str, route_2x: str, route_1x: str) -> dict:
        if self._has_publish is not False:
            try:
                result = self._request("POST", f"/workflows/{workflow_id}/{route_2x}")
                self._has_publish = True
                return result
            except N8nError as exc:
                # 404/405 on the 2.x route of an n8n we have not confirmed as 2.x: try 1.x.
                if self._has_publish or exc.status not in (404, 405):
                    raise
        result = self._request("POST", f"/workflows/{workflow_id}/{route_1x}")
        self._has_publish = False
        return result

    # --- executions -----------------------------------------------------------------------
    def list_executions(self, *, workflow_id: str | None = None, status: str | None = None,
                        limit: int = 100, cursor: str | None = None, include_data: bool = False) -> dict:
        """One page: `{"data": [...], "nextCursor": str | None}`. Running ones only with status=running."""
        params: dict[str, Any] = {"limit": min(max(limit, 1), MAX_PAGE_SIZE)}
        if workflow_id:
            params["workflowId"] = workflow_id
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        if include_data:
            params["includeData"] = "true"
        return self._request("GET", "/executions", params=params)

    def iter_execution_pages(self, **filters) -> Iterator[list[dict]]:
        """Every page in turn, following `nextCursor` until n8n returns none."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.list_executions(cursor=cursor, **filters)
            yield page.get("data") or []
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def get_execution(self, execution_id: str, *, include_data: bool = True) -> dict:
        params = {"includeData": "true"} if include_data else {}
        return self._request("GET", f"/executions/{execution_id}", params=params)
