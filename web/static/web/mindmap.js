// Execution mind map: the thoughts of one execution as a left-to-right tree in SVG. Layered
// layout: x by depth; leaves take consecutive rows and a parent sits midway between its first
// and last child. Nodes are coloured by node_type (CSS), show content, confidence and
// processing time; edges go parent → child. Thoughts inserted while the page is open are added
// live (INSERT on agent_thoughts filtered by execution_id); after a reconnect the tree is
// re-read from the mind-map endpoint.

import { el, svg } from "./dom.js";
import { api, coalesce, errorToast, socket } from "./live.js";

const NODE_W = 220;
const NODE_H = 78;
const GAP_X = 56;
const GAP_Y = 18;
const MARGIN = 16;
const CHARS_PER_LINE = 30;

const wrap = document.getElementById("mindmap");
const executionId = wrap.dataset.executionId;
const loading = document.getElementById("mindmap-loading");
const empty = document.getElementById("mindmap-empty");
const counter = document.getElementById("thought-count");

/** node_id -> thought {node_id, parent_node_id, type, content, confidence, processing_time_ms, metadata} */
const thoughts = new Map();
let selected = null;
const fresh = new Set();

function add(thought) {
  thoughts.set(thought.node_id, {
    node_id: thought.node_id,
    parent_node_id: thought.parent_node_id || null,
    type: thought.type || thought.node_type,
    content: thought.content || "",
    confidence: thought.confidence ?? (thought.confidence_score === null || thought.confidence_score === undefined
      ? null : Number(thought.confidence_score)),
    processing_time_ms: thought.processing_time_ms ?? null,
    metadata: thought.metadata || {},
  });
}

function layout() {
  const children = new Map();
  const roots = [];
  for (const t of thoughts.values()) {
    const parent = t.parent_node_id && t.parent_node_id !== t.node_id ? thoughts.get(t.parent_node_id) : null;
    if (parent) {
      if (!children.has(parent.node_id)) children.set(parent.node_id, []);
      children.get(parent.node_id).push(t);
    } else {
      roots.push(t);
    }
  }
  const position = new Map();
  let row = 0;
  let maxDepth = 0;
  // Iterative post-order walk (chains of thousands of thoughts must not overflow the stack).
  for (const root of roots) {
    const stack = [[root, 0, false]];
    while (stack.length) {
      const [node, depth, expanded] = stack.pop();
      const kids = children.get(node.node_id) || [];
      maxDepth = Math.max(maxDepth, depth);
      if (kids.length && !expanded) {
        stack.push([node, depth, true]);
        for (let i = kids.length - 1; i >= 0; i -= 1) stack.push([kids[i], depth + 1, false]);
        continue;
      }
      let y;
      if (kids.length) {
        y = (position.get(kids[0].node_id).y + position.get(kids[kids.length - 1].node_id).y) / 2;
      } else {
        y = row * (NODE_H + GAP_Y);
        row += 1;
      }
      position.set(node.node_id, { x: depth * (NODE_W + GAP_X), y });
    }
  }
  return { position, children, width: (maxDepth + 1) * (NODE_W + GAP_X) - GAP_X, height: Math.max(row, 1) * (NODE_H + GAP_Y) - GAP_Y };
}

function lines(text, count) {
  const words = text.replace(/\s+/g, " ").trim().split(" ");
  const out = [""];
  for (const word of words) {
    const current = out[out.length - 1];
    if ((current + " " + word).trim().length <= CHARS_PER_LINE) out[out.length - 1] = (current + " " + word).trim();
    else if (out.length < count) out.push(word.slice(0, CHARS_PER_LINE));
    else {
      out[out.length - 1] = current.slice(0, CHARS_PER_LINE - 1) + "…";
      break;
    }
  }
  return out;
}

function meta(t) {
  const parts = [];
  if (t.confidence !== null && !Number.isNaN(t.confidence)) parts.push(`conf ${t.confidence.toFixed(2)}`);
  if (t.processing_time_ms !== null) parts.push(`${t.processing_time_ms} ms`);
  return parts.join(" · ") || t.type;
}

function draw() {
  loading.hidden = true;
  empty.hidden = thoughts.size > 0;
  counter.textContent = `${thoughts.size} thought${thoughts.size === 1 ? "" : "s"}`;
  wrap.querySelector("svg.mindmap")?.remove();
  if (thoughts.size === 0) return;
  const { position, children, width, height } = layout();
  const root = svg("svg", { class: "mindmap", width: width + 2 * MARGIN, height: height + 2 * MARGIN,
    viewBox: `${-MARGIN} ${-MARGIN} ${width + 2 * MARGIN} ${height + 2 * MARGIN}`, role: "group",
    "aria-label": `${thoughts.size} thoughts` });
  const edges = svg("g", { class: "edges" });
  const nodes = svg("g", { class: "nodes" });
  for (const [parentId, kids] of children) {
    const from = position.get(parentId);
    for (const kid of kids) {
      const to = position.get(kid.node_id);
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      edges.append(svg("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
        "data-from": parentId, "data-to": kid.node_id }));
    }
  }
  for (const t of thoughts.values()) {
    const { x, y } = position.get(t.node_id);
    const g = svg("g", { class: `node node-${t.type}${fresh.has(t.node_id) ? " fresh" : ""}${selected === t.node_id ? " selected" : ""}`,
      transform: `translate(${x},${y})`, tabindex: "0", role: "button", "data-node-id": t.node_id,
      "aria-label": `${t.type} thought ${t.node_id}: ${t.content}` });
    g.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 8 }));
    g.append(svg("rect", { width: 6, height: NODE_H, rx: 3, class: "stripe" }));
    g.append(svg("text", { x: 14, y: 18, class: "node-type" }, `${t.type} · ${t.node_id}`.slice(0, 34)));
    lines(t.content, 2).forEach((line, i) => g.append(svg("text", { x: 14, y: 38 + i * 16, class: "node-content" }, line)));
    g.append(svg("text", { x: NODE_W - 10, y: NODE_H - 8, class: "node-meta", "text-anchor": "end" }, meta(t)));
    g.append(svg("title", {}, t.content));
    nodes.append(g);
  }
  root.append(edges, nodes);
  wrap.append(root);
}

function showDetail(nodeId) {
  const t = thoughts.get(nodeId);
  if (!t) return;
  selected = nodeId;
  wrap.querySelectorAll("g.node.selected").forEach((g) => g.classList.remove("selected"));
  wrap.querySelector(`g.node[data-node-id="${CSS.escape(nodeId)}"]`)?.classList.add("selected");
  const rows = [
    ["Node", t.node_id], ["Type", t.type], ["Parent", t.parent_node_id || "—"],
    ["Confidence", t.confidence === null ? "—" : t.confidence.toFixed(2)],
    ["Processing time", t.processing_time_ms === null ? "—" : `${t.processing_time_ms} ms`],
  ];
  const list = el("dl", { class: "kv" });
  for (const [k, v] of rows) list.append(el("dt", {}, k), el("dd", {}, String(v)));
  const body = el("div", { id: "node-detail-body" }, el("p", { class: "thought-content" }, t.content), list);
  if (Object.keys(t.metadata).length) body.append(el("pre", { class: "json" }, JSON.stringify(t.metadata, null, 2)));
  document.getElementById("node-detail-body").replaceWith(body);
}

wrap.addEventListener("click", (event) => {
  const g = event.target.closest("g.node");
  if (g) showDetail(g.dataset.nodeId);
});
wrap.addEventListener("keydown", (event) => {
  const g = event.target.closest && event.target.closest("g.node");
  if (g && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    showDetail(g.dataset.nodeId);
  }
});

const redraw = coalesce(draw, 50);

socket.channel(`web-mind-map-${executionId}`, [
  { event: "*", schema: "public", table: "agent_thoughts", filter: `execution_id=eq.${executionId}` },
], (change) => {
  if (change.eventType === "DELETE") {
    thoughts.delete(change.old.node_id);
  } else {
    add(change.new);
    if (change.eventType === "INSERT") fresh.add(change.new.node_id);
  }
  redraw();
});

socket.onReconnect(async () => {
  try {
    const data = await api("GET", `/api/v1/workflow-executions/${executionId}/mind-map/`);
    thoughts.clear();
    const stack = [...data.nodes];
    while (stack.length) {
      const node = stack.shift();
      add(node);
      stack.push(...(node.children || []));
    }
    draw();
  } catch (err) {
    errorToast("Could not reload the mind map", err);
  }
});

for (const t of JSON.parse(document.getElementById("thoughts-data").textContent)) add(t);
draw();
