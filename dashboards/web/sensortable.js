// The sensor table: status, last seen, message rate (from the polls of the last minute), accepted and rejected counts and
// the rejects by reason, filterable by pilot (kept in the URL as ?pilot=… so a pilot can bookmark their view).
import { el, formatAgo, formatNumber } from "./common.js";

export class SensorTable {
  constructor({ body, pilotSelect, rejectsOnly }) {
    Object.assign(this, { body, pilotSelect, rejectsOnly });
    this.sensors = [];
    this.previous = new Map();
    this.rates = new Map();
    const pilot = new URLSearchParams(location.search).get("pilot");
    if (pilot) this.pilotSelect.append(el("option", { value: pilot, textContent: pilot }));
    this.pilotSelect.value = pilot || "";
    this.pilotSelect.addEventListener("change", () => {
      const url = new URL(location.href);
      if (this.pilotSelect.value) url.searchParams.set("pilot", this.pilotSelect.value);
      else url.searchParams.delete("pilot");
      history.replaceState(null, "", url);
      this.render();
    });
    this.rejectsOnly.addEventListener("change", () => this.render());
  }

  /** New sensors (GET /api/v1/sensors, every page) observed at `at` (ms). */
  update(sensors, at) {
    // The rate over the last minute of polls (at least 20 s of them), so a sensor publishing every 5 s does
    // not swing between one and two messages per poll.
    for (const sensor of sensors) {
      const key = `${sensor.pilot}/${sensor.id}`;
      const samples = (this.previous.get(key) || []).filter((sample) => at - sample.at <= 65_000);
      samples.push({ messages: sensor.counts.messages, at });
      this.previous.set(key, samples);
      const oldest = samples[0];
      if (at - oldest.at >= 20_000) this.rates.set(key, ((sensor.counts.messages - oldest.messages) * 60_000) / (at - oldest.at));
    }
    this.sensors = sensors;
    const pilots = [...new Set(sensors.map((sensor) => sensor.pilot))].sort();
    const chosen = this.pilotSelect.value;
    if (chosen && !pilots.includes(chosen)) pilots.push(chosen);
    const present = [...this.pilotSelect.options].slice(1).map((option) => option.value);
    if (present.join("\n") !== pilots.join("\n")) {
      this.pilotSelect.replaceChildren(el("option", { value: "", textContent: "all" }), ...pilots.map((pilot) => el("option", { value: pilot, textContent: pilot })));
      this.pilotSelect.value = chosen;
    }
    this.render();
  }

  render() {
    const pilot = this.pilotSelect.value;
    const rejectsOnly = this.rejectsOnly.checked;
    const shown = this.sensors.filter((sensor) => (!pilot || sensor.pilot === pilot) && (!rejectsOnly || sensor.counts.rejected > 0));
    this.body.replaceChildren(...shown.map((sensor) => this.row(sensor)));
  }

  row(sensor) {
    const key = `${sensor.pilot}/${sensor.id}`;
    const reasons = Object.entries(sensor.counts.rejects_by_reason).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
    const rate = this.rates.get(key);
    return el("tr", { "data-pilot": sensor.pilot, "data-sensor": sensor.id, "data-status": sensor.status },
      el("td", {}, el("span", { class: `dot status-${sensor.status}` }), sensor.status),
      el("td", { title: `${sensor.pilot}/${sensor.id}: ${sensor.kind || "unregistered"}` }, el("b", { textContent: sensor.id }),
        el("span", { class: "pilot", textContent: `${sensor.pilot} · ${sensor.zone || "no zone"}` })),
      el("td", { title: sensor.last_seen || "", textContent: formatAgo(sensor.last_seen) }),
      el("td", { class: "num", textContent: rate === undefined ? "–" : formatNumber(rate, 1) }),
      el("td", { class: "num", textContent: String(sensor.counts.accepted) }),
      el("td", { class: "num", textContent: String(sensor.counts.rejected) }),
      el("td", { class: "reasons" }, reasons.length ? reasons.map(([reason, count]) => el("span", { class: "chip", "data-reason": reason, textContent: `${reason} ${count}` })) : "–"));
  }
}
