// StreetSense operator dashboard: wires the map, the alert feed, the zone panel and the sensor table to the
// API. Plain ES modules, no build step; the service serves this folder at /dashboard/ and index.html at /.
import { getJSON, every, formatTime } from "./common.js";
import { ZoneMap } from "./zonemap.js";
import { AlertFeed } from "./alertfeed.js";
import { ZonePanel } from "./zonepanel.js";
import { SensorTable } from "./sensortable.js";

const $ = (id) => document.getElementById(id);

let zones = [];
const sensorsByKey = new Map();
const summary = $("summary");

const panel = new ZonePanel({
  title: $("zone-title"), empty: $("zone-empty"), detail: $("zone-detail"), facts: $("zone-facts"),
  canvas: $("zone-chart"), sensors: $("zone-sensors"),
});
const zoneMap = new ZoneMap($("map"), (id) => selectZone(id));
const table = new SensorTable({ body: document.querySelector("#sensors tbody"), pilotSelect: $("pilot-filter"), rejectsOnly: $("rejects-only") });
const feed = new AlertFeed({
  list: $("feed"), empty: $("feed-empty"), count: $("feed-count"), banner: $("feed-banner"), error: $("feed-error"),
  dialog: $("token-dialog"), zoneName: (id) => zones.find((zone) => zone.id === id)?.name,
});

function selectZone(id) {
  const zone = zones.find((candidate) => candidate.id === id);
  if (!zone) return;
  zoneMap.select(id);
  const url = new URL(location.href);
  url.searchParams.set("zone", id);
  history.replaceState(null, "", url);
  panel.show(zone, sensorsByKey).catch(report);
}

function report(error) {
  summary.textContent = `The API did not answer: ${error.message}`;
  summary.classList.add("error");
}

function renderSummary(asOf) {
  summary.classList.remove("error");
  const sensors = [...sensorsByKey.values()];
  const byStatus = (status) => sensors.filter((sensor) => sensor.status === status).length;
  const messages = sensors.reduce((sum, sensor) => sum + sensor.counts.messages, 0);
  const rejected = sensors.reduce((sum, sensor) => sum + sensor.counts.rejected, 0);
  summary.textContent = `As of ${formatTime(asOf)} · ${zones.length} zones · ${sensors.length} sensors `
    + `(${byStatus("active")} active, ${byStatus("stale")} stale, ${byStatus("waiting")} waiting) · `
    + `${messages} messages, ${rejected} rejected`;
}

/** Every item of a paged listing (`/api/v1/zones`, `/api/v1/sensors`), following `next_cursor` 1000 at a time. */
async function getAllPages(path, key) {
  const all = [];
  let cursor = null;
  let asOf = null;
  do {
    const page = await getJSON(`${path}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all.push(...page[key]);
    asOf ??= page.as_of;
    cursor = page.next_cursor;
  } while (cursor);
  return { items: all, asOf };
}

async function refreshZones() {
  try {
    const list = await getAllPages("/api/v1/zones", "zones");
    zones = list.items;
    zoneMap.update(zones);
    const wanted = panel.selectedId || new URLSearchParams(location.search).get("zone");
    if (wanted && zones.some((zone) => zone.id === wanted)) {
      if (panel.selectedId === wanted) await panel.show(zones.find((zone) => zone.id === wanted), sensorsByKey);
      else selectZone(wanted);
    }
    renderSummary(list.asOf);
    document.body.dataset.zones = "loaded";
  } catch (error) { report(error); }
}

async function refreshSensors() {
  try {
    const all = (await getAllPages("/api/v1/sensors", "sensors")).items;
    sensorsByKey.clear();
    for (const sensor of all) sensorsByKey.set(`${sensor.pilot}/${sensor.id}`, sensor);
    const at = Date.now();
    table.update(all, at);
    zoneMap.updateSensors(all, at);
    document.body.dataset.sensors = "loaded";
  } catch (error) { report(error); }
}

async function refreshSeries() {
  try { await panel.loadSeries(); } catch (error) { report(error); }
}

new ResizeObserver(() => zoneMap.resize()).observe($("map"));

await refreshSensors();
every(5000, refreshZones);
setTimeout(() => every(5000, refreshSensors), 5000);
setTimeout(() => every(60000, refreshSeries), 60000);
feed.start().catch(report);
