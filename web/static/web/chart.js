// A tiny SVG line chart for metric aggregates: the average per bucket as a line over the
// min–max band, three y ticks, first/last time on the x axis, a <title> on each point.

import { svg } from "./dom.js";

const W = 400;
const H = 170;
const PAD = { top: 10, right: 10, bottom: 24, left: 46 };

function formatValue(value) {
  const abs = Math.abs(value);
  if (abs >= 1000) return `${(value / 1000).toFixed(abs >= 10_000 ? 0 : 1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 1) return value.toFixed(1);
  return value.toFixed(abs === 0 ? 0 : 3);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** Draw `buckets` ([{bucket, avg, min, max, count}]) into `container`, replacing its content. */
export function lineChart(container, buckets, { label, unit }) {
  container.replaceChildren();
  const points = buckets.filter((b) => b.avg !== null && b.avg !== undefined);
  if (points.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No data in this range.";
    container.append(empty);
    return;
  }
  const times = points.map((b) => new Date(b.bucket).getTime());
  let lo = Math.min(...points.map((b) => b.min ?? b.avg));
  let hi = Math.max(...points.map((b) => b.max ?? b.avg));
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (t) => PAD.left + (t1 === t0 ? (W - PAD.left - PAD.right) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);

  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "line-chart", role: "img",
    "aria-label": `${label}: ${points.length} points, from ${formatValue(lo)} to ${formatValue(hi)}${unit ? " " + unit : ""}` });
  for (let i = 0; i < 3; i += 1) {
    const v = lo + ((hi - lo) * i) / 2;
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, formatValue(v)));
  }
  root.append(svg("text", { x: PAD.left, y: H - 6, class: "tick" }, timeFormat.format(t0)));
  if (t1 !== t0) root.append(svg("text", { x: W - PAD.right, y: H - 6, class: "tick", "text-anchor": "end" }, timeFormat.format(t1)));

  const upper = points.map((b, i) => `${x(times[i])},${y(b.max ?? b.avg)}`);
  const lower = points.map((b, i) => `${x(times[i])},${y(b.min ?? b.avg)}`).reverse();
  root.append(svg("polygon", { points: [...upper, ...lower].join(" "), class: "band" }));
  root.append(svg("polyline", { points: points.map((b, i) => `${x(times[i])},${y(b.avg)}`).join(" "), class: "line" }));
  points.forEach((b, i) => {
    const dot = svg("circle", { cx: x(times[i]), cy: y(b.avg), r: points.length > 60 ? 1.5 : 3, class: "dot" });
    dot.append(svg("title", {}, `${timeFormat.format(times[i])}: avg ${formatValue(b.avg)}${unit ? " " + unit : ""} (min ${formatValue(b.min ?? b.avg)}, max ${formatValue(b.max ?? b.avg)}, ${b.count} samples)`));
    root.append(dot);
  });
  container.append(root);
}
