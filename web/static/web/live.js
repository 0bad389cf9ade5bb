// Shared by every signed-in page: the page's realtime socket, the bell's unread count, toasts
// for new notifications, the connection badge, and `api()` for same-origin REST calls with the
// session cookie and the CSRF token.

import { el } from "./dom.js";
import { RealtimeSocket } from "./realtime.js";
import { localizeTimes } from "./time.js";

const config = JSON.parse(document.getElementById("live-config").textContent);
export const userId = config.user_id;
export const userName = config.user_name;

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** fetch() a JSON endpoint of this site; throws ApiError with the server's message. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    // the API's error shape first ({"error": {"message", ...}}: one sentence naming the field)
    const detail = (data && ((data.error && data.error.message) || data.detail || data.message || data.error))
      || response.statusText;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

// --- connection state -----------------------------------------------------------------------
const stateBadge = document.getElementById("live-state");
const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  "signed-out": "Signed out: reload",
};

function showState(state, detail) {
  document.body.dataset.live = state;
  if (!stateBadge) return;
  stateBadge.dataset.state = state;
  let text = STATE_TEXT[state] || state;
  if (state === "reconnecting" && detail.retryInMs) text = `Reconnecting in ${Math.round(detail.retryInMs / 1000)} s…`;
  stateBadge.textContent = text;
  stateBadge.title = state === "live" ? "Changes appear as they happen" : "Live updates paused; what you see may be out of date";
}

export const socket = new RealtimeSocket({
  path: config.socket_path,
  token: config.token,
  expiresAt: config.expires_at,
  renew: () => api("POST", config.token_url),
  onState: showState,
});

// --- formatting: one time format (time.js) for rendered, patched and charted times -----------
localizeTimes(document);


// --- toasts and the bell --------------------------------------------------------------------
const toasts = document.getElementById("toasts");

export function toast({ title, message, priority = "medium", kind = "notification" }) {
  const close = el("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const box = el("div", { class: `toast priority-${priority} toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    el("strong", { class: "toast-title" }, title), el("p", { class: "toast-message" }, message || ""), close);
  close.addEventListener("click", () => box.remove());
  toasts.prepend(box);
  setTimeout(() => box.remove(), kind === "error" ? 10_000 : 8_000);
  while (toasts.children.length > 4) toasts.lastElementChild.remove();
  return box;
}

export function errorToast(title, err) {
  toast({ title, message: err && err.message ? err.message : String(err), priority: "high", kind: "error" });
}

const bell = document.getElementById("bell");
const countBadge = document.getElementById("unread-count");

export function setUnread(count) {
  if (!countBadge) return;
  const value = Math.max(0, count);
  countBadge.dataset.count = String(value);
  countBadge.textContent = value > 99 ? "99+" : String(value);
  countBadge.classList.toggle("badge-zero", value === 0);
  bell.setAttribute("aria-label", `Notifications: ${value} unread`);
  document.dispatchEvent(new CustomEvent("echelon:unread", { detail: value }));
}

export function unread() {
  return Number(countBadge ? countBadge.dataset.count : 0);
}

export async function refreshUnread() {
  try {
    const data = await api("GET", "/api/v1/notifications/unread-count/");
    setUnread(data.unread);
  } catch {
    /* the badge keeps its last value; the next change or reconnect tries again */
  }
}


/** Re-render the page's sections named by id from a fresh server render (row policies apply). */
export async function refreshSections(ids) {
  const response = await fetch(location.pathname + location.search, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ids) {
    const fresh = doc.getElementById(id);
    const current = document.getElementById(id);
    if (fresh && current) {
      const node = document.importNode(fresh, true);
      localizeTimes(node);
      current.replaceWith(node);
    }
  }
}

/** Coalesce bursts of changes: the first call schedules `fn` after `ms`; calls meanwhile join
 * that run; a call during a run schedules one more. Never starves under a steady stream. */
export function coalesce(fn, ms) {
  let scheduled = false;
  let running = false;
  let again = false;
  const run = async () => {
    scheduled = false;
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  function schedule() {
    if (running) {
      again = true;
    } else if (!scheduled) {
      scheduled = true;
      setTimeout(run, ms);
    }
  }
  return schedule;
}

// The server's count is the truth: every change is followed by a re-read. Coalescing also
// orders them, so a read that started before a newer change never has the last word.
const rereadUnread = coalesce(refreshUnread, 300);

socket.channel("web-notifications", [
  { event: "*", schema: "public", table: "notifications", filter: `user_id=eq.${userId}` },
], (change) => {
  if (change.eventType === "INSERT") {
    const n = change.new;
    if (!n.read_at) setUnread(unread() + 1); // at once; the re-read confirms it
    toast({ title: n.title, message: n.message, priority: n.priority || "medium" });
  }
  rereadUnread();
  document.dispatchEvent(new CustomEvent("echelon:notification", { detail: change }));
});

socket.onReconnect(rereadUnread);

// Connect after the page modules have registered their channels (same task as their imports).
queueMicrotask(() => socket.connect());

/** A presence `onSync` that writes "Also viewing: …" (the other users' names) into `element`. */
export function showViewers(element) {
  return (state) => {
    const names = Object.entries(state).filter(([key]) => key !== userId)
      .map(([, metas]) => (metas[0] && metas[0].name) || "someone").sort();
    element.hidden = names.length === 0;
    element.textContent = names.length ? `Also viewing: ${names.join(", ")}` : "";
  };
}
