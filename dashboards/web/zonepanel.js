// The selected zone: its level, density, people and coverage, the density over the last hours
// (GET /api/v1/zones/{id}/series, 1-minute means) with the level thresholds drawn as lines, and the sensors
// that feed it. Chart.js is the global `Chart` (Debian's libjs-chart.js, served at /vendor/chart.js/).
import { LEVEL_COLOURS, el, formatAgo, formatNumber, formatTime, getJSON, shownLevel } from "./common.js";

/** How far back the density chart reaches. */
const HOURS = 3;

export class ZonePanel {
  constructor({ title, empty, detail, facts, canvas, sensors }) {
    Object.assign(this, { title, empty, detail, facts, canvas, sensorList: sensors });
    this.zone = null;
    this.points = [];
    this.chart = null;
  }

  get selectedId() { return this.zone ? this.zone.id : null; }

  /** Shows `zone` (from GET /api/v1/zones) and, if it changed, loads its series. */
  async show(zone, sensorsByKey) {
    const changed = !this.zone || this.zone.id !== zone.id;
    this.zone = zone;
    this.empty.hidden = true;
    this.detail.hidden = false;
    this.detail.dataset.zone = zone.id;
    this.title.textContent = `Zone: ${zone.name}`;
    this.renderFacts();
    this.renderSensors(sensorsByKey);
    if (changed) {
      this.points = [];
      await this.loadSeries();
    } else {
      this.renderChart();
    }
  }

  async loadSeries() {
    if (!this.zone) return;
    const id = this.zone.id;
    const from = new Date(Date.now() - HOURS * 3600 * 1000).toISOString();
    const series = await getJSON(`/api/v1/zones/${encodeURIComponent(id)}/series?from=${encodeURIComponent(from)}&step=60`);
    if (!this.zone || this.zone.id !== id) return;
    this.points = series.points.map((point) => ({ x: Date.parse(point.t) + 30_000, y: point.mean }));
    this.renderChart();
  }

  renderFacts() {
    const zone = this.zone;
    const level = shownLevel(zone);
    const coverage = zone.coverage;
    const share = zone.area_m2 > 0 ? Math.round((100 * coverage.covered_m2) / zone.area_m2) : 0;
    const rows = [
      ["Level", el("span", { class: `swatch level-${level}`, "data-level": level, textContent: level === "unknown" ? "no data" : level })],
      ["Density", zone.density_ppm2 === null ? "no data" : `${formatNumber(zone.density_ppm2)} p/m²`],
      ["People", zone.people === null ? "–" : formatNumber(zone.people, 0)],
      ["Area", `${formatNumber(zone.area_m2, 0)} m²`],
      ["Coverage", `${coverage.sensors_used} used · ${coverage.sensors_stale} stale · ${formatNumber(coverage.covered_m2, 0)} m² (${share} %)`],
      ["p95 (15 min)", zone.p95_density_15m === null ? "–" : `${formatNumber(zone.p95_density_15m)} p/m²`],
      ["Updated", formatTime(zone.updated_at)],
      ["Active alerts", String(zone.active_alerts.length)],
    ];
    this.facts.replaceChildren(...rows.flatMap(([name, value]) => [el("dt", { textContent: name }), el("dd", {}, value)]));
  }

  renderSensors(sensorsByKey) {
    const items = this.zone.sensors.map((ref) => {
      const sensor = sensorsByKey.get(`${ref.pilot}/${ref.id}`);
      const status = sensor ? sensor.status : "waiting";
      const seen = sensor ? formatAgo(sensor.last_seen) : "never";
      return el("li", { "data-sensor": `${ref.pilot}/${ref.id}`, title: `${ref.pilot}/${ref.id}: ${status}` },
        el("span", { class: `dot status-${status}` }), `${ref.id}`,
        el("span", { class: "muted", textContent: ` ${sensor && sensor.kind ? sensor.kind : ""} · ${status} · ${seen}` }));
    });
    this.sensorList.replaceChildren(...(items.length ? items : [el("li", { textContent: "No sensor is registered to this zone." })]));
  }

  renderChart() {
    const zone = this.zone;
    const now = Date.now();
    const halfHour = 30 * 60 * 1000;
    const points = [...this.points];
    // The last HOURS hours, or less while the stored series is younger (at least half an hour).
    const oldest = points.length ? points[0].x : now;
    const start = Math.max(now - HOURS * 3600 * 1000, Math.min(oldest - 60_000, now - halfHour));
    // The live estimate, so the line reaches the present before its minute is rolled up.
    if (zone.density_ppm2 !== null) points.push({ x: now, y: zone.density_ppm2 });
    const thresholds = ["elevated", "high", "critical"].map((level) => ({
      label: `${level} ≥ ${zone.density_levels[level]}`,
      data: [{ x: start, y: zone.density_levels[level] }, { x: now, y: zone.density_levels[level] }],
      borderColor: LEVEL_COLOURS[level], borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false,
    }));
    const datasets = [
      {
        label: "density (p/m²)", data: points, borderColor: "#1864ab", backgroundColor: "rgba(24,100,171,.12)", fill: true,
        borderWidth: 2, tension: 0.2, pointBackgroundColor: "#1864ab",
        // Only the live value (the last point) is drawn as a dot.
        pointRadius: (context) => (context.dataIndex === points.length - 1 && zone.density_ppm2 !== null ? 4 : 0),
      },
      ...thresholds,
    ];
    const peak = Math.max(zone.density_levels.critical, ...points.map((point) => point.y)) * 1.15;
    if (this.chart) {
      this.chart.data.datasets = datasets;
      this.chart.options.scales.x.min = start;
      this.chart.options.scales.x.max = now;
      this.chart.options.scales.y.suggestedMax = peak;
      this.chart.update("none");
      return;
    }
    this.chart = new Chart(this.canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: false, maintainAspectRatio: false, responsive: true, parsing: true, layout: { padding: { right: 8 } },
        interaction: { mode: "nearest", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 18, font: { size: 11 } } } },
        scales: {
          x: {
            type: "linear", min: start, max: now,
            // Ticks on whole half hours, or 5 minutes for a short range (Chart.js alone would space them from `start`).
            afterBuildTicks: (axis) => {
              const step = axis.max - axis.min > 2 * 3600 * 1000 ? halfHour : axis.max - axis.min > 3600 * 1000 ? halfHour / 2 : halfHour / 6;
              const ticks = [];
              for (let t = Math.ceil(axis.min / step) * step; t <= axis.max; t += step) ticks.push({ value: t });
              axis.ticks = ticks;
            },
            ticks: { autoSkip: true, maxRotation: 0, callback: (value) => formatTime(new Date(value).toISOString()).slice(0, 5) },
          },
          y: { beginAtZero: true, suggestedMax: peak, title: { display: true, text: "p/m²" } },
        },
      },
    });
  }
}
