// The map of the zones: each zone's polygon coloured by its level, its name and density as a label, and each
// sensor with a configured position as a dot coloured by its status. No tile layer: the polygons sit on a plain
// background, so the map works offline. Leaflet is the global `L` (Debian's libjs-leaflet, served at /vendor/leaflet/).
import { LEVEL_COLOURS, STATUS_COLOURS, el, formatAgo, formatTime, formatNumber, shownLevel } from "./common.js";

const OUTLINE = { normal: "#17521f", elevated: "#a87600", high: "#9c330a", critical: "#8e1d1d", unknown: "#495057" };

/**
 * A sensor marker's radius and ring width in pixels at `zoom`: small dots in the city-wide view, where a square is
 * some 20 pixels across and bigger dots would hide its level colour, growing to 7 pixels close up.
 */
function markerSize(zoom) {
  const radius = Math.min(7, Math.max(3, 6 * 2 ** (zoom - 16)));
  return { radius, weight: radius < 4.5 ? 1 : 2 };
}

export class ZoneMap {
  /** `onSelect(zoneId)` runs when a zone, or the marker of one of its sensors, is clicked. */
  constructor(element, onSelect) {
    this.map = L.map(element, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 20 });
    L.control.scale({ imperial: false }).addTo(this.map);
    this.onSelect = onSelect;
    this.layers = new Map();
    this.fitted = false;
    this.selected = null;
    // Sensor markers in a pane of their own: above the zones (overlayPane, z-index 400) and below the zone labels
    // (tooltipPane, 650), whichever of them is drawn first.
    this.map.createPane("sensors").style.zIndex = 450;
    this.sensors = [];
    this.sensorsAt = Date.now();
    this.markers = new Map();
    this.markerZones = new Map();
    this.map.on("zoomend", () => {
      const size = markerSize(this.map.getZoom());
      for (const marker of this.markers.values()) marker.setRadius(size.radius).setStyle({ weight: size.weight });
    });
  }

  /**
   * Keeps the sensors (GET /api/v1/sensors, every page, fetched at `at` ms) and redraws their markers: one per sensor
   * with a position, coloured by status, with a tooltip; markers of sensors that lost their position go away.
   * Leaflet adds layers once the map has a view, so until the zones set it the markers wait.
   */
  updateSensors(sensors, at = Date.now()) {
    this.sensors = sensors;
    this.sensorsAt = at;
    this.map.whenReady(() => this.drawSensors());
  }

  drawSensors() {
    const shown = new Set();
    for (const sensor of this.sensors) {
      if (!Array.isArray(sensor.position)) continue;
      const key = `${sensor.pilot}/${sensor.id}`;
      const [lon, lat] = sensor.position;
      shown.add(key);
      this.markerZones.set(key, sensor.zone);
      let marker = this.markers.get(key);
      if (!marker) {
        // A white ring keeps the dot apart from whatever zone colour it sits on.
        marker = L.circleMarker([lat, lon], {
          pane: "sensors", ...markerSize(this.map.getZoom()), color: "#ffffff", opacity: 1, fillOpacity: 1, className: "sensor-marker",
        });
        marker.bindTooltip("", { direction: "top", offset: [0, -4], className: "sensor-tip" });
        marker.on("click", () => {
          const zone = this.markerZones.get(key);
          if (zone) this.onSelect(zone);
        });
        marker.addTo(this.map);
        marker.getElement().setAttribute("data-sensor-marker", key);
        this.markers.set(key, marker);
      } else {
        marker.setLatLng([lat, lon]);
      }
      const colour = STATUS_COLOURS[sensor.status] || STATUS_COLOURS.waiting;
      marker.setStyle({ fillColor: colour });
      const element = marker.getElement();
      element.setAttribute("data-status", sensor.status);
      element.setAttribute("aria-label", `${key}: ${sensor.status}`);
      const seen = sensor.last_seen ? `last seen ${formatAgo(sensor.last_seen, this.sensorsAt)} (${formatTime(sensor.last_seen)})` : "never seen";
      marker.setTooltipContent(el("span", {},
        el("b", { textContent: key }),
        el("span", { textContent: `${sensor.kind || "unregistered"} · ${sensor.zone || "no zone"}` }),
        el("span", {}, el("span", { class: `dot status-${sensor.status}` }), `${sensor.status} · ${seen}`)));
    }
    for (const [key, marker] of this.markers) {
      if (shown.has(key)) continue;
      marker.remove();
      this.markers.delete(key);
      this.markerZones.delete(key);
    }
  }

  /** Adds zones seen for the first time and restyles every zone from `zones` (GET /api/v1/zones). */
  update(zones) {
    if (!this.fitted) {
      // Fit the view before the first polygon is added: Leaflet places each label at its polygon's centre
      // as projected at the current zoom. Sensors placed outside their zones are fitted in too.
      const rings = zones.filter((zone) => zone.geometry && zone.geometry.type === "Polygon")
        .flatMap((zone) => zone.geometry.coordinates[0].map(([lon, lat]) => [lat, lon]));
      const positions = this.sensors.filter((sensor) => Array.isArray(sensor.position))
        .map(({ position: [lon, lat] }) => [lat, lon]);
      if (rings.length + positions.length === 0) {
        this.map.setView([0, 0], 2);
        return;
      }
      this.bounds = L.latLngBounds([...rings, ...positions]);
      this.map.fitBounds(this.bounds, { padding: [40, 40] });
      this.fitted = true;
    }
    let added = false;
    for (const zone of zones) {
      if (!zone.geometry || zone.geometry.type !== "Polygon") continue;
      let layer = this.layers.get(zone.id);
      const level = shownLevel(zone);
      if (!layer) {
        const rings = zone.geometry.coordinates.map((ring) => ring.map(([lon, lat]) => [lat, lon]));
        layer = L.polygon(rings, { weight: 2, fillOpacity: 0.6, className: "zone-shape" });
        layer.bindTooltip("", { permanent: true, direction: "top", className: "zone-label", interactive: false, offset: [0, -2] });
        layer.on("click", () => this.onSelect(zone.id));
        layer.addTo(this.map);
        layer.getElement().setAttribute("data-zone", zone.id);
        this.layers.set(zone.id, layer);
        added = true;
      }
      layer.setStyle({ color: OUTLINE[level], fillColor: LEVEL_COLOURS[level] });
      const element = layer.getElement();
      element.setAttribute("data-level", level);
      element.setAttribute("aria-label", `${zone.name}: ${level}`);
      const density = zone.density_ppm2 === null ? "no data" : `${formatNumber(zone.density_ppm2)} p/m²`;
      const label = document.createElement("span");
      const name = document.createElement("b");
      name.textContent = zone.name;
      label.append(name, density);
      layer.setTooltipContent(label);
      const tooltip = layer.getTooltip().getElement();
      if (tooltip) {
        tooltip.setAttribute("data-zone-label", zone.id);
        tooltip.classList.toggle("selected", zone.id === this.selected);
      }
    }
    if (added) this.placeLabels();
  }

  /**
   * Puts each label beside its polygon: above it, else below, right or left, whichever first overlaps no label
   * already placed and no other zone (above when every side does), so neighbouring zones stay readable.
   */
  placeLabels() {
    const entries = [...this.layers.values()].map((layer) => ({ layer, bounds: layer.getBounds() }));
    const place = ({ layer, bounds }, direction) => {
      const tooltip = layer.getTooltip();
      const middle = bounds.getCenter();
      const anchor = {
        top: [bounds.getNorth(), middle.lng], bottom: [bounds.getSouth(), middle.lng],
        left: [middle.lat, bounds.getWest()], right: [middle.lat, bounds.getEast()],
      }[direction];
      tooltip.options.direction = direction;
      tooltip.options.offset = { top: [0, -2], bottom: [0, 2], left: [-2, 0], right: [2, 0] }[direction];
      layer.openTooltip(anchor);
      return tooltip.getElement().getBoundingClientRect();
    };
    const overlap = (r, q) => r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom;
    const placed = [];
    for (const entry of entries) {
      const others = entries.filter((other) => other !== entry).map((other) => other.layer.getElement().getBoundingClientRect());
      let chosen = null;
      for (const direction of ["top", "bottom", "right", "left"]) {
        const rect = place(entry, direction);
        if (![...placed, ...others].some((other) => overlap(rect, other))) {
          chosen = rect;
          break;
        }
      }
      placed.push(chosen || place(entry, "top"));
    }
  }

  select(zoneId) {
    this.selected = zoneId;
    for (const [id, layer] of this.layers) {
      const tooltip = layer.getTooltip().getElement();
      if (tooltip) tooltip.classList.toggle("selected", id === zoneId);
    }
  }

  /** Leaflet must measure its container again after the layout changed; the zones are fitted to the new size. */
  resize() {
    this.map.invalidateSize();
    if (!this.fitted) return;
    this.map.fitBounds(this.bounds, { padding: [40, 40], animate: false });
    if (this.layers.size > 0) this.placeLabels();
  }
}
