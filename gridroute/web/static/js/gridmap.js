// Maps of the grid with Leaflet (served from npm under /assets/leaflet/): the grid is drawn
// as vector layers, so a map works with no tile server; the element's data-base-map (a tile
// URL template from config [web]) adds tiles under it when set.
/* global L */

export function createMap(element, options = {}) {
  const map = L.map(element, { preferCanvas: true, zoomSnap: 0.25, ...options });
  const tiles = element.dataset.baseMap;
  if (tiles) {
    L.tileLayer(tiles, { attribution: element.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  }
  map.setView([31.23, 121.48], 14);
  return map;
}

// level: "cells" | "communities" | "streets"; params: {street, community}
export async function gridLayer(map, level, params = {}, style = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  const response = await fetch(`/api/v1/grid/${level}?${query}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`grid ${level}: ${response.status}`);
  const layer = L.geoJSON(await response.json(), {
    style: { color: "#15436b", weight: 1, fillOpacity: 0.05, ...style },
  }).addTo(map);
  if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
  return layer;
}
