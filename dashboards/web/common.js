// Shared by the dashboard's modules: API reads, DOM building and formatting.

/** The colours of the density levels, as in style.css (`unknown`: no fresh sensor covers the zone). */
export const LEVEL_COLOURS = {
  normal: "#237032", elevated: "#fab005", high: "#e8590c", critical: "#c92a2a", unknown: "#6c757d",
};

/**
 * The colours of the sensor statuses, as in style.css (`.status-*`, the sensor table's dots and the map's markers).
 * Unregistered sensors have no configured position, so only the sensor table ever shows their colour.
 */
export const STATUS_COLOURS = {
  active: "#237032", stale: "#e8590c", waiting: "#6c757d", unregistered: "#7048e8",
};

/** GET a JSON document of the API; throws an Error naming the path and status otherwise. */
export async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch { /* not a problem document */ }
    throw new Error(`${path}: ${response.status} ${detail}`.trim());
  }
  return response.json();
}

/** An element with attributes (`class`, `data-*`, properties such as `textContent`) and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name in node && !name.startsWith("data-") && name !== "class") node[name] = value;
    else node.setAttribute(name === "class" ? "class" : name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The level a zone shows: its level, or `unknown` when nothing measures its density. */
export function shownLevel(zone) {
  return zone.density_ppm2 === null ? "unknown" : zone.level;
}

export function formatNumber(value, decimals = 2) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(decimals);
}

/** Local wall-clock time (24 h) of an RFC 3339 time. */
export function formatTime(text) {
  if (!text) return "–";
  return new Date(text).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** "12 s ago", "5 min ago", "3 h ago" from an RFC 3339 time. */
export function formatAgo(text, now = Date.now()) {
  if (!text) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(text)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** Calls `task` now and then every `intervalMs` after each run ends (a slow API never stacks requests). */
export function every(intervalMs, task) {
  const run = async () => {
    try { await task(); } finally { setTimeout(run, intervalMs); }
  };
  run();
}
