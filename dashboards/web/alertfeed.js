// The live alert feed: the recent alerts from GET /api/v1/alerts, then every transition from the Server-Sent
// Events stream GET /api/v1/alerts/stream (resuming after the newest event already shown; EventSource sends
// Last-Event-ID itself when it reconnects). Newest first, coloured by severity, with an acknowledge button
// that asks for the operator token once per browser session (sessionStorage).
import { el, formatNumber, formatTime, getJSON } from "./common.js";

/** Where the operator token is kept for the session; a test may set it before acknowledging. */
export const TOKEN_KEY = "streetsense.operator_token";

const RULE_NAMES = {
  crowd_density: "Crowd density", build_up: "Crowd build-up", air_quality: "Air quality",
  sensor_offline: "Sensor offline", sensor_faulty: "Sensor faulty",
};

export class AlertFeed {
  constructor({ list, empty, count, banner, error, dialog, zoneName }) {
    Object.assign(this, { list, empty, count, banner, error, dialog, zoneName });
    this.alerts = new Map();
    this.lastEventId = 0;
    this.source = null;
  }

  async start() {
    const page = await getJSON("/api/v1/alerts?limit=100");
    for (const alert of page.alerts) {
      this.alerts.set(alert.id, alert);
      this.lastEventId = Math.max(this.lastEventId, alert.last_event_id);
    }
    this.render();
    this.connect();
  }

  connect() {
    const source = new EventSource(`/api/v1/alerts/stream?last_event_id=${this.lastEventId}`);
    this.source = source;
    source.addEventListener("open", () => this.setConnected(true));
    source.addEventListener("alert", (message) => this.receive(JSON.parse(message.data)));
    source.addEventListener("error", () => {
      this.setConnected(false);
      // EventSource retries by itself after a dropped stream; after a refused one (a 503) it gives up.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => { if (this.source === source) this.connect(); }, 5000);
      }
    });
  }

  setConnected(connected) {
    this.banner.hidden = connected;
    document.body.dataset.feed = connected ? "connected" : "disconnected";
  }

  /** One CloudEvents envelope from the stream. */
  receive(envelope) {
    const event = envelope.data;
    const known = this.alerts.get(event.alert_id);
    if (known && known.last_event_id >= event.event_id) return;
    this.alerts.set(event.alert_id, {
      ...(known || {}),
      id: event.alert_id, rule: event.rule, subject_kind: event.subject_kind, subject_id: event.subject_id,
      metric: event.metric, fault: event.fault, severity: event.severity, level: event.level, state: event.state,
      acknowledged: event.acknowledged, acknowledgement: event.acknowledgement, value: event.value, peak: event.peak,
      raised_at: known ? known.raised_at : event.at, updated_at: event.at, last_event_id: event.event_id,
    });
    this.lastEventId = Math.max(this.lastEventId, event.event_id);
    this.render();
  }

  subjectName(alert) {
    if (alert.subject_kind === "zone") return this.zoneName(alert.subject_id) || alert.subject_id;
    return `sensor ${alert.subject_id}`;
  }

  render() {
    const alerts = [...this.alerts.values()].sort((a, b) => b.last_event_id - a.last_event_id);
    const active = alerts.filter((alert) => alert.state === "active").length;
    this.count.textContent = `${active} active · ${alerts.length} shown`;
    this.empty.hidden = alerts.length > 0;
    this.list.replaceChildren(...alerts.map((alert) => this.row(alert)));
  }

  row(alert) {
    const detail = [];
    if (alert.level && alert.level !== alert.rule) detail.push(`level ${alert.level}`);
    if (alert.fault) detail.push(`fault: ${alert.fault.replace("_", " ")}`);
    if (alert.subject_kind === "zone") {
      const unit = { crowd_density: " p/m²", build_up: " p/m² per 5 min" }[alert.rule] || "";
      if (alert.value !== null && alert.value !== undefined) detail.push(`value ${formatNumber(alert.value)}${unit}`);
      if (alert.peak !== null && alert.peak !== undefined) detail.push(`peak ${formatNumber(alert.peak)}${unit}`);
    }
    detail.push(`raised ${formatTime(alert.raised_at)}`);
    if (alert.state === "cleared") detail.push(`cleared ${formatTime(alert.cleared_at || alert.updated_at)}`);
    let action = null;
    if (alert.acknowledged) {
      const by = alert.acknowledgement ? ` by ${alert.acknowledgement.by}` : "";
      action = el("span", { class: "acked", textContent: `✓ acknowledged${by}` });
    } else if (alert.state === "active") {
      action = el("button", { type: "button", class: "ack", "data-alert-id": alert.id, textContent: "Acknowledge" });
      action.addEventListener("click", () => this.acknowledge(alert.id, action));
    }
    return el("li", {
      class: `alert severity-${alert.severity} ${alert.state}`, "data-alert-id": alert.id, "data-rule": alert.rule,
      "data-state": alert.state, "data-acknowledged": String(alert.acknowledged),
    },
    el("span", { class: "bar" }),
    el("span", { class: "title" }, el("span", { class: "sev", textContent: alert.severity }),
      `${RULE_NAMES[alert.rule] || alert.rule} — ${this.subjectName(alert)}`),
    action || el("span"),
    el("span", { class: "meta", textContent: detail.join(" · ") }));
  }

  /** The operator token of this session, asked for once. Null when the operator cancels. */
  token() {
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) return Promise.resolve(kept);
    return new Promise((resolve) => {
      const input = this.dialog.querySelector("#token-input");
      const form = this.dialog.querySelector("form");
      input.value = "";
      const finish = (value) => {
        form.removeEventListener("submit", submitted);
        cancel.removeEventListener("click", cancelled);
        this.dialog.close();
        resolve(value);
      };
      const submitted = (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        sessionStorage.setItem(TOKEN_KEY, value);
        finish(value);
      };
      const cancel = this.dialog.querySelector("#token-cancel");
      const cancelled = () => finish(null);
      form.addEventListener("submit", submitted);
      cancel.addEventListener("click", cancelled);
      this.dialog.showModal();
      input.focus();
    });
  }

  async acknowledge(alertId, button) {
    this.error.hidden = true;
    const token = await this.token();
    if (!token) return;
    button.disabled = true;
    const response = await fetch(`/api/v1/alerts/${alertId}/ack`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ note: "acknowledged on the dashboard" }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      const alert = this.alerts.get(alertId);
      if (alert && alert.last_event_id < body.id) {
        Object.assign(alert, { acknowledged: true, acknowledgement: body.acknowledgement, last_event_id: body.id, updated_at: body.at });
        this.lastEventId = Math.max(this.lastEventId, body.id);
      }
      this.render();
      return;
    }
    if (response.status === 401 || response.status === 403) sessionStorage.removeItem(TOKEN_KEY);
    this.error.textContent = `Alert ${alertId} was not acknowledged: ${body.detail || response.status}`;
    this.error.hidden = false;
    button.disabled = false;
  }
}
