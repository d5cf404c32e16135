// The map of the zones: each zone's polygon coloured by its level, its name and density as a label. No tile
// layer: the polygons sit on a plain background, so the map works offline. Leaflet is the global `L`
// (Debian's libjs-leaflet, served at /vendor/leaflet/).
import { LEVEL_COLOURS, formatNumber, shownLevel } from "./common.js";

const OUTLINE = { normal: "#1e6b2f", elevated: "#a87600", high: "#9c330a", critical: "#8e1d1d", unknown: "#495057" };

export class ZoneMap {
  /** `onSelect(zoneId)` runs when a zone is clicked. */
  constructor(element, onSelect) {
    this.map = L.map(element, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 20 });
    L.control.scale({ imperial: false }).addTo(this.map);
    this.map.setView([0, 0], 3);
    this.onSelect = onSelect;
    this.layers = new Map();
    this.fitted = false;
    this.selected = null;
  }

  /** Adds zones seen for the first time and restyles every zone from `zones` (GET /api/v1/zones). */
  update(zones) {
    for (const zone of zones) {
      if (!zone.geometry || zone.geometry.type !== "Polygon") continue;
      let layer = this.layers.get(zone.id);
      const level = shownLevel(zone);
      if (!layer) {
        const rings = zone.geometry.coordinates.map((ring) => ring.map(([lon, lat]) => [lat, lon]));
        layer = L.polygon(rings, { weight: 2, fillOpacity: 0.6, className: "zone-shape" });
        layer.bindTooltip("", { permanent: true, direction: "center", className: "zone-label", interactive: false });
        layer.on("click", () => this.onSelect(zone.id));
        layer.addTo(this.map);
        layer.getElement().setAttribute("data-zone", zone.id);
        this.layers.set(zone.id, layer);
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
    if (!this.fitted && this.layers.size > 0) {
      const bounds = L.featureGroup([...this.layers.values()]).getBounds();
      this.map.fitBounds(bounds, { padding: [40, 40] });
      this.fitted = true;
    }
  }

  select(zoneId) {
    this.selected = zoneId;
    for (const [id, layer] of this.layers) {
      const tooltip = layer.getTooltip().getElement();
      if (tooltip) tooltip.classList.toggle("selected", id === zoneId);
    }
  }

  /** Leaflet must measure its container again after the layout changed. */
  resize() { this.map.invalidateSize(); }
}
