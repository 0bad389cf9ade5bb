// The dashboard's "New agent" dialog: a blank agent (POST /api/v1/agents/) or one made from a
// template (POST /api/v1/agent-templates/{id}/instantiate/); the API's 400 is shown in the form
// naming the field; on success the new agent's page opens.

import { api } from "./live.js";

const dialog = document.getElementById("new-agent");
const form = document.getElementById("new-agent-form");
const template = document.getElementById("new-agent-template");
const type = document.getElementById("new-agent-type");
const errorBox = document.getElementById("new-agent-error");
const create = document.getElementById("new-agent-create");

document.getElementById("new-agent-open").addEventListener("click", () => {
  errorBox.hidden = true;
  dialog.showModal();
  document.getElementById("new-agent-name").focus();
});
document.getElementById("new-agent-cancel").addEventListener("click", () => dialog.close());

template.addEventListener("change", () => {
  const option = template.selectedOptions[0];
  type.disabled = Boolean(template.value);  // a template decides the type
  if (option && option.dataset.type) type.value = option.dataset.type;
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const body = { name: (data.get("name") || "").trim(), description: data.get("description") || "" };
  if (data.get("team")) body.team = data.get("team");
  create.disabled = true;
  errorBox.hidden = true;
  try {
    const agent = template.value
      ? await api("POST", `/api/v1/agent-templates/${template.value}/instantiate/`, body)
      : await api("POST", "/api/v1/agents/", { ...body, type: type.value });
    location.assign(`/agents/${agent.id}/`);
  } catch (err) {
    errorBox.textContent = err.message || "Could not create the agent";
    errorBox.hidden = false;
    create.disabled = false;
  }
});
