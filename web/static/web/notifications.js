// Notifications page: mark one / all read through the REST API; new notifications (pushed on
// the socket by live.js) are added to the top of the list as they arrive.

import { api, errorToast, setUnread, unread } from "./live.js";
import { setTime } from "./time.js";

const list = document.getElementById("notification-list");
const markAll = document.getElementById("mark-all-read");
const template = document.getElementById("notification-template");

function markShownRead(item) {
  item.classList.remove("unread");
  item.querySelector("[data-action=mark-read]").hidden = true;
  item.querySelector(".read-label").hidden = false;
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action=mark-read]");
  if (!button) return;
  const item = button.closest("li");
  button.disabled = true;
  try {
    await api("POST", `/api/v1/notifications/${item.dataset.id}/mark-read/`);
    markShownRead(item);
    setUnread(unread() - 1);
  } catch (err) {
    errorToast("Could not mark the notification read", err);
  } finally {
    button.disabled = false;
  }
});

markAll.addEventListener("click", async () => {
  markAll.disabled = true;
  try {
    await api("POST", "/api/v1/notifications/mark-all-read/");
    list.querySelectorAll("li.unread").forEach(markShownRead);
    setUnread(0);
  } catch (err) {
    errorToast("Could not mark notifications read", err);
    markAll.disabled = false;
  }
});

document.addEventListener("echelon:unread", (event) => {
  markAll.disabled = event.detail === 0;
});

document.addEventListener("echelon:notification", (event) => {
  const change = event.detail;
  if (change.eventType === "INSERT") {
    const n = change.new;
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = n.id;
    item.className = `notification priority-${n.priority || "medium"}${n.read_at ? "" : " unread"} arrived`;
    item.querySelector("[data-field=priority]").textContent = n.priority || "medium";
    item.querySelector("[data-field=title]").textContent = n.title;
    item.querySelector("[data-field=message]").textContent = n.message;
    item.querySelector("[data-field=type]").textContent = (n.type || "").replaceAll("_", " ");
    setTime(item.querySelector("[data-field=created_at]"), n.created_at);
    const link = item.querySelector("[data-field=agent]");
    const agentId = n.data && n.data.agent_id;
    if (link && agentId && /^[0-9a-f-]{36}$/i.test(agentId)) {
      link.href = `/agents/${agentId}/`;
      link.textContent = n.data.agent_name || "Open the agent";
      link.hidden = false;
    }
    item.querySelector("[data-action=mark-read]").setAttribute("aria-label", `Mark “${n.title}” read`);
    list.prepend(item);
    document.getElementById("notifications-empty").hidden = true;
  } else if (change.eventType === "UPDATE" && change.new.read_at) {
    const item = list.querySelector(`li[data-id="${change.new.id}"]`);
    if (item) markShownRead(item);
  } else if (change.eventType === "DELETE") {
    const item = list.querySelector(`li[data-id="${change.old.id}"]`);
    if (item) item.remove();
  }
});
