// Dashboard: filters applied in the browser, activate / pause through the REST API (Deploy opens
// the agent's page, which asks for a confirmation first),
// and rows kept current by the realtime socket. An agent UPDATE patches its row at once;
// anything else (new or deleted agents, deployments, workflow counters) re-renders the rows
// from the server, so the policy and the template stay the only source of what is shown.

import { api, coalesce, errorToast, refreshSections, socket, userId } from "./live.js";
import { setTime } from "./time.js";

const filters = document.getElementById("filters");
const total = document.getElementById("agent-total");

function rows() {
  return [...document.querySelectorAll("#agent-rows tr.agent-row")];
}

function applyFilters() {
  const wanted = Object.fromEntries(new FormData(filters));
  let shown = 0;
  const all = rows();
  for (const row of all) {
    const visible = (!wanted.status || row.dataset.status === wanted.status)
      && (!wanted.type || row.dataset.type === wanted.type)
      && (!wanted.team || row.dataset.team === wanted.team);
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  document.getElementById("agents-empty").hidden = all.length > 0;
  document.getElementById("agents-filtered-empty").hidden = !(all.length > 0 && shown === 0);
  const filtered = Object.values(wanted).some(Boolean);
  total.textContent = filtered
    ? `${shown} of ${all.length} agent${all.length === 1 ? "" : "s"} match`
    : `${all.length} agent${all.length === 1 ? "" : "s"} you can see`;
}

filters.addEventListener("change", () => {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(filters)) if (value) params.set(key, value);
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
  applyFilters();
});

function patchRow(record) {
  const row = document.getElementById(`agent-${record.id}`);
  if (!row) return false;
  if (record.status) {
    row.dataset.status = record.status;
    const badge = row.querySelector("[data-field=status]");
    badge.textContent = record.status;
    badge.className = `status status-${record.status}`;
    const activate = row.querySelector("[data-action=activate]");
    const pause = row.querySelector("[data-action=pause]");
    if (activate) activate.disabled = record.status === "active";
    if (pause) pause.disabled = record.status !== "active";  // only an active agent can be paused
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("flash");
  }
  if (record.type) {
    row.dataset.type = record.type;
    row.querySelector("[data-field=type]").textContent = record.type;
  }
  if (record.name) row.querySelector(".agent-name").textContent = record.name;
  if (record.updated_at) {
    setTime(row.querySelector("[data-field=updated_at]"), record.updated_at);
  }
  return true;
}

const section = document.getElementById("agents-section");
const refreshRows = coalesce(async () => {
  section.setAttribute("aria-busy", "true");
  try {
    await refreshSections(["agent-rows"]);
    applyFilters();
  } catch (err) {
    errorToast("Could not refresh the agents", err);
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}, 250);

socket.channel("web-dashboard", [
  { event: "*", schema: "public", table: "agents" },
  { event: "*", schema: "public", table: "deployments" },
  { event: "*", schema: "public", table: "workflows" },
  // Joining or leaving a team changes which agents this user may see.
  { event: "*", schema: "public", table: "user_roles", filter: `user_id=eq.${userId}` },
], (change) => {
  const known = change.table === "agents" && change.eventType === "UPDATE" && patchRow(change.new);
  // A team change can make an agent appear or leave; counters and deployments need the server.
  const teamMoved = known && change.old && "team_id" in change.old && change.old.team_id !== change.new.team_id;
  if (!known || teamMoved || change.table !== "agents") refreshRows();
  else applyFilters();
});
socket.onReconnect(refreshRows);

document.getElementById("agent-rows").parentElement.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("tr");
  const id = row.dataset.agentId;
  const action = button.dataset.action;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    patchRow(await api("POST", `/api/v1/agents/${id}/${action}/`));
  } catch (err) {
    errorToast(`Could not ${action} ${row.querySelector(".agent-name").textContent}`, err);
  } finally {
    button.removeAttribute("aria-busy");
    const status = row.dataset.status;
    button.disabled = (action === "activate" && status === "active") || (action === "pause" && status !== "active");
  }
});

applyFilters();
