// The map of the zones: each zone's polygon coloured by its level, its name and density as a label. No tile
// layer: the polygons sit on a plain background, so the map works offline. Leaflet is the global `L`
// (Debian's libjs-leaflet, served at /vendor/leaflet/).
import { LEVEL_COLOURS, formatNumber, shownLevel } from "./common.js";

const OUTLINE = { normal: "#17521f", elevated: "#a87600", high: "#9c330a", critical: "#8e1d1d", unknown: "#495057" };

export class ZoneMap {
  /** `onSelect(zoneId)` runs when a zone is clicked. */
  constructor(element, onSelect) {
    this.map = L.map(element, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 20 });
    L.control.scale({ imperial: false }).addTo(this.map);
    this.onSelect = onSelect;
    this.layers = new Map();
    this.fitted = false;
    this.selected = null;
  }

  /** Adds zones seen for the first time and restyles every zone from `zones` (GET /api/v1/zones). */
  update(zones) {
    if (!this.fitted) {
      // Fit the view before the first polygon is added: Leaflet places each label at its polygon's centre
      // as projected at the current zoom.
      const rings = zones.filter((zone) => zone.geometry && zone.geometry.type === "Polygon")
        .flatMap((zone) => zone.geometry.coordinates[0].map(([lon, lat]) => [lat, lon]));
      if (rings.length === 0) {
        this.map.setView([0, 0], 2);
        return;
      }
      this.bounds = L.latLngBounds(rings);
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
