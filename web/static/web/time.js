// The one time format of the web pages, chosen by the browser's locale (Intl): server-rendered
// times (<time datetime="…"> elements, written in UTC by the `local_time` filter as a fallback),
// live patches and chart axes all go through these formatters, so a row patched live reads
// exactly like the rows rendered with the page.

const withMinutes = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const withSeconds = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

function parse(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A timestamp as the page shows it: "Dec 2, 6:35 PM" (en-US), "2 déc., 18:35" (fr) ... */
export function formatTime(value, { seconds = false } = {}) {
  if (!value) return "—";
  const date = parse(value);
  if (!date) return String(value);
  return (seconds ? withSeconds : withMinutes).format(date);
}

/** An axis tick: the clock time, or the day at midnight. */
export function formatTick(value) {
  const date = parse(value);
  if (!date) return "";
  return date.getHours() === 0 && date.getMinutes() === 0 ? day.format(date) : clock.format(date);
}

/** Show `value` in the <time> inside `container` (a live patch), as the page rendered it. */
export function setTime(container, value, options = {}) {
  let node = container.matches("time") ? container : container.querySelector("time");
  if (!node) {
    node = document.createElement("time");
    container.replaceChildren(node);
  }
  const date = parse(value);
  node.dateTime = date ? date.toISOString() : "";
  node.textContent = formatTime(value, options);
}

/** Format every <time datetime> under `root` (server-rendered or freshly swapped in). */
export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]")) {
    const date = parse(node.getAttribute("datetime"));
    if (!date) continue;
    node.textContent = formatTime(date, { seconds: node.dataset.precision === "seconds" });
    node.title = date.toISOString();
  }
}
