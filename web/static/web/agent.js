// Agent detail: metric charts (server-rendered data first, then the aggregate endpoint for
// another range or new samples), activate / pause / deploy, and live sections: the status badge
// is patched from the change itself; deployments, workflows and executions are re-rendered by
// the server when one of them changes.

import { lineChart } from "./chart.js";
import { api, coalesce, errorToast, refreshSections, showViewers, socket, toast, userId, userName } from "./live.js";

const head = document.getElementById("agent");
const agentId = head.dataset.agentId;
const chartsBox = document.getElementById("charts");
const range = document.getElementById("metric-range");
const RANGES = { "6h": [6 * 3600, "minute"], "24h": [24 * 3600, "hour"], "7d": [7 * 86400, "hour"] };

function figures() {
  return [...chartsBox.querySelectorAll("figure.chart")];
}

function draw(figure, buckets) {
  lineChart(figure.querySelector(".chart-body"), buckets, {
    label: figure.querySelector("figcaption").textContent.trim(), unit: figure.dataset.unit,
  });
}

const initial = JSON.parse(document.getElementById("charts-data").textContent);
for (const figure of figures()) {
  const chart = initial.find((c) => c.metric_type === figure.dataset.metric);
  draw(figure, chart ? chart.buckets : []);
}
chartsBox.setAttribute("aria-busy", "false");

async function loadCharts() {
  const [seconds, bucket] = RANGES[range.value];
  const to = new Date();
  const from = new Date(to.getTime() - seconds * 1000);
  chartsBox.setAttribute("aria-busy", "true");
  try {
    await Promise.all(figures().map(async (figure) => {
      const params = new URLSearchParams({ metric_type: figure.dataset.metric, agent: agentId, bucket,
        from: from.toISOString(), to: to.toISOString() });
      const data = await api("GET", `/api/v1/agent-metrics/aggregate/?${params}`);
      draw(figure, data.buckets);
    }));
  } catch (err) {
    errorToast("Could not load the metrics", err);
  } finally {
    chartsBox.setAttribute("aria-busy", "false");
  }
}
range.addEventListener("change", loadCharts);

function setStatus(status) {
  head.dataset.status = status;
  const badge = document.getElementById("agent-status");
  badge.textContent = status;
  badge.className = `status status-${status}`;
  const activate = head.querySelector("[data-action=activate]");
  const pause = head.querySelector("[data-action=pause]");
  if (activate) activate.disabled = status === "active";
  if (pause) pause.disabled = status !== "active";  // only an active agent can be paused
}

const LIVE_SECTIONS = ["deployments-section", "workflows-section", "executions-section"];
const refreshLive = coalesce(() => refreshSections(LIVE_SECTIONS).catch((err) => errorToast("Could not refresh", err)), 300);
// Metrics arrive in bursts (bulk ingestion): redraw at most every few seconds.
const refreshCharts = coalesce(loadCharts, 3_000);

const bindings = [
  { event: "*", schema: "public", table: "agents", filter: `id=eq.${agentId}` },
  { event: "*", schema: "public", table: "deployments", filter: `agent_id=eq.${agentId}` },
  { event: "*", schema: "public", table: "workflows", filter: `agent_id=eq.${agentId}` },
  { event: "INSERT", schema: "public", table: "agent_metrics", filter: `agent_id=eq.${agentId}` },
];
const workflowIds = [...document.querySelectorAll("[data-workflow-id]")].map((row) => row.dataset.workflowId);
if (workflowIds.length && workflowIds.length <= 100) {
  bindings.push({ event: "*", schema: "public", table: "workflow_executions", filter: `workflow_id=in.(${workflowIds.join(",")})` });
}

socket.channel(`web-agent-${agentId}`, bindings, (change) => {
  if (change.table === "agents") {
    if (change.eventType === "DELETE") {
      errorToast("Agent deleted", new Error("This agent no longer exists."));
      head.classList.add("gone");
    } else if (change.new.status) {
      setStatus(change.new.status);
    }
  } else if (change.table === "agent_metrics") {
    refreshCharts();
  } else {
    refreshLive();
  }
});
socket.onReconnect(() => {
  refreshLive();
  loadCharts();
});

// Who else has this agent's page open: presence on the private channel agent:<id> (its readers).
const viewers = document.getElementById("viewers");
socket.channel(`agent:${agentId}`, [], () => {}, {
  private: true,
  presence: {
    key: userId,
    meta: { name: userName },
    onSync: showViewers(viewers),
  },
});

// --- actions: activate / pause at once; deploy after a confirmation; stop a deployment -------
// Deploy and stop answer 201/200, or 202 once they run in the background (issue 18): either is
// accepted, and the outcome arrives as a realtime change of the deployment row.
const confirmDeploy = document.getElementById("confirm-deploy");

async function deploy(button) {
  confirmDeploy.returnValue = "";
  confirmDeploy.showModal();
  const choice = await new Promise((resolve) => confirmDeploy.addEventListener("close", () => resolve(confirmDeploy.returnValue), { once: true }));
  if (choice !== "deploy") return;
  button.disabled = true;
  try {
    await api("POST", `/api/v1/agents/${agentId}/deploy/`, {});
    toast({ title: "Deployment started", message: "Its status appears under Deployments.", kind: "info" });
    refreshLive();
  } catch (err) {
    errorToast("Could not deploy the agent", err);
  } finally {
    button.disabled = false;
  }
}

head.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const action = button.dataset.action;
  if (action === "deploy") {
    deploy(button);
    return;
  }
  button.disabled = true;
  try {
    const result = await api("POST", `/api/v1/agents/${agentId}/${action}/`);
    setStatus(result.status);
  } catch (err) {
    errorToast(`Could not ${action} the agent`, err);
    setStatus(head.dataset.status);
  }
});

// The dashboard's Deploy… links here with #deploy: ask at once.
const deployButton = head.querySelector("[data-action=deploy]");
if (location.hash === "#deploy" && deployButton && !deployButton.disabled && confirmDeploy) {
  history.replaceState(null, "", location.pathname);
  deploy(deployButton);
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-stop]");
  if (!button) return;
  button.disabled = true;
  try {
    await api("POST", `/api/v1/deployments/${button.dataset.stop}/stop/`);
    refreshLive();
  } catch (err) {
    errorToast("Could not stop the deployment", err);
    button.disabled = false;
  }
});

// --- configuration: edit both JSON objects, saved with one PATCH ----------------------------
const configForm = document.getElementById("config-form");
if (configForm) {
  const view = document.getElementById("config-view");
  const edit = document.getElementById("config-edit");
  const errorBox = document.getElementById("config-error");
  const show = (editing) => {
    configForm.hidden = !editing;
    view.hidden = editing;
    edit.hidden = editing;
    errorBox.hidden = true;
  };
  edit.addEventListener("click", () => {
    show(true);
    document.getElementById("config-input").focus();
  });
  document.getElementById("config-cancel").addEventListener("click", () => show(false));
  configForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const [field, id] of [["config", "config-input"], ["deployment_config", "deployment-config-input"]]) {
      try {
        body[field] = JSON.parse(document.getElementById(id).value);
      } catch (err) {
        errorBox.textContent = `${field}: not valid JSON (${err.message})`;
        errorBox.hidden = false;
        return;
      }
    }
    const save = document.getElementById("config-save");
    save.disabled = true;
    try {
      const agent = await api("PATCH", `/api/v1/agents/${agentId}/`, body);
      document.getElementById("config-shown").textContent = JSON.stringify(agent.config, null, 2);
      document.getElementById("deployment-config-shown").textContent = JSON.stringify(agent.deployment_config, null, 2);
      show(false);
      toast({ title: "Configuration saved", message: agent.name, kind: "info" });
    } catch (err) {
      errorBox.textContent = err.message;
      errorBox.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
}
