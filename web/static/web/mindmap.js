// Execution mind map: the thoughts of one execution as a tree in SVG, laid out by d3-hierarchy's
// tidy tree (Reingold–Tilford: subtrees never overlap, parents centred over their children) and
// moved by d3-zoom (wheel, pinch, drag, keyboard buttons). Both come from npm (package.json) and
// are served from our static files; our own layered layout needed a canvas as tall as the
// leaves (35 nodes: 2,751 px) and had no zoom at all.
//
// - On load the tree is fitted to the view, never below a readable scale: when it is too big
//   (200 nodes) the root is put at the view's left edge, at a scale where text stays legible.
// - New thoughts (INSERT on agent_thoughts filtered by execution_id) are added live; with
//   "Follow" on, the view pans to each new node. After a reconnect the tree is re-read.
// - A node with children has a toggle that collapses its subtree (the count of hidden nodes shown).
// - Text stays inside its box: lines are cut to the box and every node is clipped.
// - Narrow screens (phones) lay the tree out top to bottom, which fits their tall view.

import { el, svg } from "./dom.js";
import { api, coalesce, errorToast, showViewers, socket, userId, userName } from "./live.js";

// d3's browser bundle (node_modules/d3/dist/d3.min.js, a classic script loaded before this
// module): its ES build imports bare package names, which a browser cannot resolve unbundled.
const { d3 } = window;
const WIDE = { w: 220, h: 78, gapX: 56, gapY: 18 };
const NARROW = { w: 160, h: 84, gapX: 14, gapY: 40 };
const MIN_READABLE = 0.7;
// A whole tree that fits at this scale or more is shown whole (12 nodes: about 0.68); below it,
// the root at MIN_READABLE instead of a speck-sized overview.
const FIT_FLOOR = 0.5;
const MAX_SCALE = 2;

const wrap = document.getElementById("mindmap");
const executionId = wrap.dataset.executionId;
const loading = document.getElementById("mindmap-loading");
const empty = document.getElementById("mindmap-empty");
const counter = document.getElementById("thought-count");
const followBox = document.getElementById("mindmap-follow");

/** node_id -> thought {node_id, parent_node_id, type, content, confidence, processing_time_ms, metadata} */
const thoughts = new Map();
const collapsed = new Set();
const fresh = new Set();
let selected = null;
let remoteSelected = null; // the node another viewer selected (relayed by broadcast)
let fitted = false;
let lastLayout = null;

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

const narrow = () => wrap.clientWidth < 600;
const box = () => (narrow() ? NARROW : WIDE);

// --- the SVG scaffold: one <svg> filling the wrap, a zoomed <g> inside ------------------------
const root = svg("svg", { class: "mindmap", role: "group", width: "100%", height: "100%" });
const defs = svg("defs");
const clip = svg("clipPath", { id: "node-clip" });
const clipRect = svg("rect", { x: 6, y: 0 });
clip.append(clipRect);
defs.append(clip);
const scene = svg("g", { class: "scene" });
const edgeLayer = svg("g", { class: "edges" });
const nodeLayer = svg("g", { class: "nodes" });
scene.append(edgeLayer, nodeLayer);
root.append(defs, scene);
wrap.append(root);

const zoom = d3.zoom().scaleExtent([0.1, MAX_SCALE]).on("zoom", (event) => {
  scene.setAttribute("transform", event.transform.toString());
  root.dataset.scale = event.transform.k.toFixed(3);
});
const selection = d3.select(root).call(zoom).on("dblclick.zoom", null);

function hierarchy() {
  const known = new Set(thoughts.keys());
  const rows = [...thoughts.values()].map((t) => ({
    ...t, parent: t.parent_node_id && t.parent_node_id !== t.node_id && known.has(t.parent_node_id)
      ? t.parent_node_id : "__root__",
  }));
  rows.push({ node_id: "__root__", parent: null });
  let tree;
  try {
    tree = d3.stratify().id((d) => d.node_id).parentId((d) => d.parent)(rows);
  } catch (err) { // a cycle among parents (never stored by ingestion): show every thought as a root
    tree = d3.stratify().id((d) => d.node_id).parentId((d) => (d.node_id === "__root__" ? null : "__root__"))(rows);
  }
  const hiddenCount = new Map();
  tree.eachAfter((node) => {
    if (collapsed.has(node.id) && node.children) {
      hiddenCount.set(node.id, node.descendants().length - 1);
      node._children = node.children;
      node.children = null;
    }
  });
  return { tree, hiddenCount };
}

function textLines(text, chars, count) {
  const words = text.replace(/\s+/g, " ").trim().split(" ");
  const out = [""];
  for (const word of words) {
    const current = out[out.length - 1];
    const joined = (current + " " + word).trim();
    if (joined.length <= chars) out[out.length - 1] = joined;
    else if (out.length < count) out.push(word.length > chars ? word.slice(0, chars - 1) + "…" : word);
    else {
      out[out.length - 1] = current.slice(0, chars - 1) + "…";
      break;
    }
  }
  return out;
}

const cut = (text, chars) => (text.length <= chars ? text : text.slice(0, chars - 1) + "…");

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
  root.setAttribute("aria-label", `${thoughts.size} thoughts; drag to pan, wheel or pinch to zoom`);
  edgeLayer.replaceChildren();
  nodeLayer.replaceChildren();
  if (thoughts.size === 0) return;
  const b = box();
  const vertical = narrow();
  clipRect.setAttribute("width", b.w - 12);
  clipRect.setAttribute("height", b.h);
  const { tree, hiddenCount } = hierarchy();
  const along = vertical ? b.w + b.gapX : b.h + b.gapY;
  const across = vertical ? b.h + b.gapY : b.w + b.gapX;
  d3.tree().nodeSize([along, across]).separation((a, c) => (a.parent === c.parent ? 1 : 1.15))(tree);
  const position = new Map();
  for (const node of tree.descendants()) {
    if (node.id === "__root__") continue;
    // the virtual root sits at depth 0: real roots start one step in, shifted back
    const depth = (node.depth - 1) * across;
    position.set(node.id, vertical ? { x: node.x - b.w / 2, y: depth } : { x: depth, y: node.x - b.h / 2 });
  }
  const chars = Math.floor((b.w - 24) / 7);
  for (const node of tree.descendants()) {
    if (!node.parent || node.parent.id === "__root__") continue;
    const from = position.get(node.parent.id);
    const to = position.get(node.id);
    const d = vertical
      ? `M${from.x + b.w / 2},${from.y + b.h} C${from.x + b.w / 2},${(from.y + b.h + to.y) / 2} ${to.x + b.w / 2},${(from.y + b.h + to.y) / 2} ${to.x + b.w / 2},${to.y}`
      : `M${from.x + b.w},${from.y + b.h / 2} C${(from.x + b.w + to.x) / 2},${from.y + b.h / 2} ${(from.x + b.w + to.x) / 2},${to.y + b.h / 2} ${to.x},${to.y + b.h / 2}`;
    edgeLayer.append(svg("path", { class: "edge", d, "data-from": node.parent.id, "data-to": node.id }));
  }
  for (const node of tree.descendants()) {
    if (node.id === "__root__") continue;
    const t = node.data;
    const { x, y } = position.get(node.id);
    const classes = ["node", `node-${t.type}`];
    if (fresh.has(t.node_id)) classes.push("fresh");
    if (selected === t.node_id) classes.push("selected");
    if (remoteSelected === t.node_id) classes.push("remote-selected");
    if (node.parent && node.parent.id === "__root__") classes.push("root");
    const g = svg("g", { class: classes.join(" "), transform: `translate(${x},${y})`, tabindex: "0", role: "button",
      "data-node-id": t.node_id, "aria-label": `${t.type} thought ${t.node_id}: ${t.content}` });
    g.append(svg("rect", { width: b.w, height: b.h, rx: 8 }));
    g.append(svg("rect", { width: 6, height: b.h, rx: 3, class: "stripe" }));
    const text = svg("g", { "clip-path": "url(#node-clip)" });
    text.append(svg("text", { x: 14, y: 18, class: "node-type" }, cut(`${t.type} · ${t.node_id}`, chars)));
    textLines(t.content, chars, 2).forEach((line, i) => text.append(svg("text", { x: 14, y: 37 + i * 15, class: "node-content" }, line)));
    text.append(svg("text", { x: b.w - 10, y: b.h - 8, class: "node-meta", "text-anchor": "end" }, cut(meta(t), chars)));
    g.append(text);
    const kids = (node.children || node._children || []).length;
    if (kids) {
      const hidden = hiddenCount.get(node.id);
      const toggle = svg("g", { class: "toggle", role: "button", tabindex: "0", "data-toggle": t.node_id,
        "aria-label": hidden ? `Expand ${hidden} hidden thoughts` : `Collapse ${kids} branch${kids === 1 ? "" : "es"}`,
        transform: vertical ? `translate(${b.w / 2},${b.h})` : `translate(${b.w},${b.h / 2})` });
      toggle.append(svg("circle", { r: 9 }));
      toggle.append(svg("text", { "text-anchor": "middle", y: 4 }, hidden ? `+${hidden}` : "−"));
      g.append(toggle);
    }
    g.append(svg("title", {}, t.content));
    nodeLayer.append(g);
  }
  lastLayout = { position, b };
  if (!fitted) {
    fitted = true;
    fit({ readable: true });
  }
}

/** The transform showing the whole tree; with `readable`, when that would be below FIT_FLOOR,
 * the first root at the view's start edge at MIN_READABLE instead. */
function fit({ readable = false } = {}) {
  if (!lastLayout || !lastLayout.position.size) return;
  const { position, b } = lastLayout;
  const xs = [...position.values()].map((p) => p.x);
  const ys = [...position.values()].map((p) => p.y);
  const minX = Math.min(...xs); const maxX = Math.max(...xs) + b.w;
  const minY = Math.min(...ys); const maxY = Math.max(...ys) + b.h;
  const width = wrap.clientWidth; const height = wrap.clientHeight;
  const pad = 16;
  let k = Math.min((width - 2 * pad) / (maxX - minX), (height - 2 * pad) / (maxY - minY), 1);
  let transform;
  if (readable && k < FIT_FLOOR) {
    k = MIN_READABLE;
    const first = position.get(firstRootId());
    transform = narrow()
      ? d3.zoomIdentity.translate(width / 2 - (first.x + b.w / 2) * k, pad - first.y * k).scale(k)
      : d3.zoomIdentity.translate(pad - first.x * k, height / 2 - (first.y + b.h / 2) * k).scale(k);
  } else {
    transform = d3.zoomIdentity.translate((width - (maxX - minX) * k) / 2 - minX * k,
      (height - (maxY - minY) * k) / 2 - minY * k).scale(k);
  }
  selection.call(zoom.transform, transform);
}

function firstRootId() {
  for (const t of thoughts.values()) {
    if (!t.parent_node_id || !thoughts.has(t.parent_node_id)) return t.node_id;
  }
  return thoughts.keys().next().value;
}

/** Pan (keeping the scale) so `nodeId` is in view, if it is not already. */
function follow(nodeId) {
  if (!lastLayout) return;
  let target = nodeId;
  // a node inside a collapsed subtree: show its nearest visible ancestor
  while (target && !lastLayout.position.has(target)) target = thoughts.get(target)?.parent_node_id;
  const p = target && lastLayout.position.get(target);
  if (!p) return;
  const { b } = lastLayout;
  const t = d3.zoomTransform(root);
  const [sx, sy] = t.apply([p.x, p.y]);
  const width = wrap.clientWidth; const height = wrap.clientHeight;
  if (sx >= 0 && sy >= 0 && sx + b.w * t.k <= width && sy + b.h * t.k <= height) return;
  selection.transition().duration(250).call(zoom.translateTo, p.x + b.w / 2, p.y + b.h / 2);
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

function toggle(nodeId) {
  if (collapsed.has(nodeId)) collapsed.delete(nodeId);
  else collapsed.add(nodeId);
  draw();
}

wrap.addEventListener("click", (event) => {
  const t = event.target.closest("g.toggle");
  if (t) {
    event.stopPropagation();
    toggle(t.dataset.toggle);
    return;
  }
  const g = event.target.closest("g.node");
  if (g) {
    showDetail(g.dataset.nodeId);
    relaySelection(g.dataset.nodeId);
  }
});
wrap.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" && event.key !== " ") return;
  const t = event.target.closest && event.target.closest("g.toggle");
  const g = event.target.closest && event.target.closest("g.node");
  if (t || g) event.preventDefault();
  if (t) toggle(t.dataset.toggle);
  else if (g) {
    showDetail(g.dataset.nodeId);
    relaySelection(g.dataset.nodeId);
  }
});

document.getElementById("mindmap-zoom-in")?.addEventListener("click", () => selection.transition().duration(150).call(zoom.scaleBy, 1.3));
document.getElementById("mindmap-zoom-out")?.addEventListener("click", () => selection.transition().duration(150).call(zoom.scaleBy, 1 / 1.3));
document.getElementById("mindmap-fit")?.addEventListener("click", () => fit());

let wasNarrow = narrow();
window.addEventListener("resize", coalesce(() => {
  if (narrow() !== wasNarrow) {
    wasNarrow = narrow();
    draw();
    fit({ readable: true });
  }
}, 150));

const pendingFollow = [];
const redraw = coalesce(() => {
  draw();
  if (followBox?.checked) for (const id of pendingFollow.splice(0)) follow(id);
  else pendingFollow.length = 0;
}, 50);

socket.channel(`web-mind-map-${executionId}`, [
  { event: "*", schema: "public", table: "agent_thoughts", filter: `execution_id=eq.${executionId}` },
], (change) => {
  if (change.eventType === "DELETE") {
    thoughts.delete(change.old.node_id);
  } else {
    add(change.new);
    if (change.eventType === "INSERT") {
      fresh.add(change.new.node_id);
      pendingFollow.push(change.new.node_id);
    }
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

// Who else views this agent (presence on agent:<id>), and the node a viewer selects, relayed to
// the others by broadcast (the agent's writers may send; everyone on the channel receives).
const agentChannel = socket.channel(`agent:${wrap.dataset.agentId}`, [], () => {}, {
  private: true,
  presence: { key: userId, meta: { name: userName }, onSync: showViewers(document.getElementById("viewers")) },
  onBroadcast: (event, payload) => {
    if (event !== "mind-map-selected" || payload.execution !== executionId || !thoughts.has(payload.node)) return;
    remoteSelected = payload.node;
    wrap.querySelectorAll("g.node.remote-selected").forEach((g) => g.classList.remove("remote-selected"));
    wrap.querySelector(`g.node[data-node-id="${CSS.escape(payload.node)}"]`)?.classList.add("remote-selected");
  },
});

function relaySelection(nodeId) {
  socket.broadcast(agentChannel, "mind-map-selected", { execution: executionId, node: nodeId, by: userName });
}
