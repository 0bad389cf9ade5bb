// Metric charts: the average per bucket as a line over its min–max band, with d3's scales and
// axes (ticks on both axes, times in the page's one format, time.js), a legend, and a tooltip
// that follows the pointer (or the arrow keys) to the nearest bucket. d3 comes from npm
// (package.json) as one browser bundle served from our static files; our own chart had three
// y ticks, two x labels, <title> tooltips and a band too faint to see.

import { formatTick, formatTime } from "./time.js";

const { d3 } = window;
const W = 420;
const H = 200;
const PAD = { top: 12, right: 14, bottom: 28, left: 52 };

export function formatValue(value) {
  const abs = Math.abs(value);
  if (abs >= 1000) return `${(value / 1000).toFixed(abs >= 10_000 ? 0 : 1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 1) return value.toFixed(1);
  return value.toFixed(abs === 0 ? 0 : 3);
}

function legend(unit) {
  const box = document.createElement("ul");
  box.className = "chart-legend";
  box.innerHTML = `<li><span class="key key-line"></span>average${unit ? ` (${unit})` : ""}</li>`
    + "<li><span class=\"key key-band\"></span>min – max</li>";
  return box;
}

/** Draw `buckets` ([{bucket, avg, min, max, count}]) into `container`, replacing its content. */
export function lineChart(container, buckets, { label, unit }) {
  container.replaceChildren();
  const points = buckets.filter((b) => b.avg !== null && b.avg !== undefined)
    .map((b) => ({ ...b, t: new Date(b.bucket), min: b.min ?? b.avg, max: b.max ?? b.avg }));
  if (points.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No data in this range.";
    container.append(empty);
    return;
  }
  let [lo, hi] = [d3.min(points, (p) => p.min), d3.max(points, (p) => p.max)];
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const [t0, t1] = d3.extent(points, (p) => p.t);
  const x = d3.scaleTime().domain(t0.getTime() === t1.getTime() ? [new Date(+t0 - 3.6e6), new Date(+t1 + 3.6e6)] : [t0, t1])
    .range([PAD.left, W - PAD.right]);
  const y = d3.scaleLinear().domain([lo, hi]).nice(5).range([H - PAD.bottom, PAD.top]);

  const svgNode = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("class", "line-chart")
    .attr("role", "img").attr("tabindex", "0")
    .attr("aria-label", `${label}: ${points.length} points from ${formatTime(t0)} to ${formatTime(t1)}, `
      + `values ${formatValue(lo)} to ${formatValue(hi)}${unit ? " " + unit : ""}`);
  svgNode.append("g").attr("class", "axis axis-y").attr("transform", `translate(${PAD.left},0)`)
    .call(d3.axisLeft(y).ticks(5).tickFormat(formatValue).tickSize(-(W - PAD.left - PAD.right)))
    .call((g) => g.select(".domain").remove());
  svgNode.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${H - PAD.bottom})`)
    .call(d3.axisBottom(x).ticks(Math.min(5, points.length + 1)).tickFormat(formatTick));
  svgNode.append("path").attr("class", "band").attr("d",
    d3.area().x((p) => x(p.t)).y0((p) => y(p.min)).y1((p) => y(p.max))(points));
  svgNode.append("path").attr("class", "line").attr("d", d3.line().x((p) => x(p.t)).y((p) => y(p.avg))(points));
  if (points.length <= 60) {
    svgNode.append("g").selectAll("circle").data(points).join("circle")
      .attr("class", "dot").attr("cx", (p) => x(p.t)).attr("cy", (p) => y(p.avg)).attr("r", 2.5);
  }
  const focus = svgNode.append("g").attr("class", "focus").style("display", "none");
  focus.append("line").attr("class", "rule").attr("y1", PAD.top).attr("y2", H - PAD.bottom);
  focus.append("circle").attr("r", 4);

  const wrapper = document.createElement("div");
  wrapper.className = "chart-area";
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.hidden = true;
  tip.setAttribute("role", "status");
  wrapper.append(svgNode.node(), tip);
  container.append(wrapper, legend(unit));

  const bisect = d3.bisector((p) => p.t).center;
  let current = -1;
  function show(index) {
    current = Math.max(0, Math.min(points.length - 1, index));
    const p = points[current];
    focus.style("display", null).attr("transform", `translate(${x(p.t)},0)`);
    focus.select("circle").attr("cy", y(p.avg));
    tip.hidden = false;
    tip.innerHTML = "";
    const when = document.createElement("strong");
    when.textContent = formatTime(p.t);
    const what = document.createElement("span");
    what.textContent = `avg ${formatValue(p.avg)}${unit ? " " + unit : ""} · min ${formatValue(p.min)} · max ${formatValue(p.max)} · ${p.count} samples`;
    tip.append(when, what);
    const share = (x(p.t) - PAD.left) / (W - PAD.left - PAD.right);
    tip.style.left = `${((x(p.t) / W) * 100).toFixed(1)}%`;
    tip.classList.toggle("flip", share > 0.6);
  }
  function hide() {
    focus.style("display", "none");
    tip.hidden = true;
  }
  svgNode.on("pointermove", (event) => {
    const [px] = d3.pointer(event);
    show(bisect(points, x.invert(px)));
  }).on("pointerleave", hide).on("blur", hide)
    .on("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        show(current < 0 ? points.length - 1 : current + (event.key === "ArrowRight" ? 1 : -1));
      } else if (event.key === "Escape") hide();
    });
}
