// The manager dashboard's choropleth and the newcomer's street map (Leaflet, served from npm).
// The server computes the values, classes and colours (services/maps.py); this script draws
// them, shows details on hover and click, drills down street → community → cell, redraws when
// the measure or the classes change (keeping the export links on the same view) and toggles
// the chronic-problem layer.
/* global L */
import { createMap } from "./gridmap.js";

const fmt = (v) => (v === null || v === undefined ? "—" : v);

function esc(text) {
  const div = document.createElement("div");
  div.textContent = String(text);
  return div.innerHTML;
}

function details(p, el) {
  const d = el.dataset;
  const rows = [[d.filedLabel, fmt(p.filed)], [d.dueLabel, fmt(p.due_to_close)],
                [d.closedLabel, fmt(p.closed)]];
  if (p.overdue_open !== undefined) rows.push([d.overdueLabel, fmt(p.overdue_open)]);
  return `<strong>${esc(p.name)}</strong> <code>${esc(p.code)}</code><br>`
    + `<span class="value">${esc(p.value_text)}</span>`
    + `<table class="tip">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

function drillUrl(el, p) {
  if (!p.child) return null;
  const query = new URLSearchParams(window.location.search);
  query.set("level", p.child);
  query.set("within", p.code);
  return `${el.dataset.drillUrl}?${query}`;
}

function renderLegend(data) {
  const list = document.getElementById("legend-items");
  if (!list) return;
  list.innerHTML = data.legend.map((e) => `<li><span class="swatch" style="background: ${esc(e.colour)}"></span> `
    + `${esc(e.label)} <span class="count">(${e.count})</span></li>`).join("");
}

async function drawChoropleth(map, el, url, state) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
  const data = await response.json();
  if (!response.ok) {
    const box = document.getElementById("filter-error");
    if (box && data.error) box.textContent = data.error.message;
    return null;
  }
  if (state.layer) state.layer.remove();
  state.layer = L.geoJSON(data, {
    style: (f) => ({ color: "#ffffff", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.8 }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties;
      layer.bindTooltip(`${esc(p.name)}: ${esc(p.value_text)}`, { sticky: true, className: "area-tip" });
      const link = drillUrl(el, p);
      layer.bindPopup(details(p, el) + (link ? `<p><a class="drill" href="${esc(link)}">${esc(el.dataset.drillLabel)}</a></p>` : ""));
      layer.on("mouseover", () => layer.setStyle({ weight: 3, color: "#1d2733" }));
      layer.on("mouseout", () => state.layer.resetStyle(layer));
    },
  }).addTo(map);
  if (!state.fitted && state.layer.getBounds().isValid()) {
    map.fitBounds(state.layer.getBounds(), { animate: false });
    state.fitted = true;
  }
  renderLegend(data);
  // what the map shows, readable without the canvas: code → value text
  el.dataset.values = JSON.stringify(Object.fromEntries(
    data.features.map((f) => [f.properties.code, f.properties.value_text])));
  el.dataset.loaded = String(data.features.length);
  return data;
}

async function drawChronic(map, el, state) {
  if (!el.dataset.chronic) return;
  const response = await fetch(el.dataset.chronic, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  state.chronic = L.geoJSON(data, {
    filter: (f) => f.geometry,
    style: { color: "#7b1fa2", weight: 3, fill: false, dashArray: "4 3" },
    onEachFeature: (feature, layer) => {
      const p = feature.properties;
      const links = (p.cases || []).map((ref, i) => `<a href="${esc((p.links || [])[i] || `/cases/${ref}`)}">${esc(ref)}</a>`);
      layer.bindPopup(`<strong>${esc(el.dataset.chronicLabel)}</strong> <code>${esc(p.cell_code)}</code><br>`
        + `${esc(p.category_name || p.category_code)} × ${p.count}<br>${links.join(", ")}`);
    },
  });
  const toggle = document.getElementById("show-chronic");
  if (!toggle || toggle.checked) state.chronic.addTo(map);
  if (toggle) toggle.addEventListener("change", () => (toggle.checked ? state.chronic.addTo(map) : state.chronic.remove()));
}

function withQuery(href, query) {
  const url = new URL(href, window.location.href);
  url.search = query.toString();
  return url.pathname + url.search;
}

export async function init() {
  const el = document.getElementById("dash-map") || document.getElementById("home-map");
  if (!el) return;
  const map = createMap(el);
  el.leafletMap = map; // for scripts and tests that need the map's projection
  const state = { layer: null, chronic: null, fitted: false };
  // measure and classes redraw in place; the page's other figures do not depend on them
  const form = document.getElementById("filters");
  if (form) {
    form.querySelectorAll("[data-map-control]").forEach((control) => {
      control.addEventListener("change", () => redraw(map, el, form, state));
    });
  }
  await drawChoropleth(map, el, el.dataset.geojson, state);
  await drawChronic(map, el, state);
  el.dataset.ready = "true";
}

async function redraw(map, el, form, state) {
  const query = new URLSearchParams(window.location.search);
  form.querySelectorAll("[data-map-control]").forEach((c) => query.set(c.name, c.value));
  window.history.replaceState(null, "", `${window.location.pathname}?${query}`);
  document.querySelectorAll("#exports a[data-format]").forEach((a) => { a.href = withQuery(a.href, query); });
  const data = await drawChoropleth(map, el, withQuery(el.dataset.geojson, query), state);
  if (!data) return;
  const option = form.querySelector("#f-measure").selectedOptions[0];
  const title = document.getElementById("legend-title");
  if (title && option) title.textContent = option.textContent;
  const heading = document.getElementById("title-measure");
  if (heading && option) heading.textContent = option.textContent;
  const scheme = document.getElementById("legend-scheme");
  const schemeOption = form.querySelector("#f-scheme").selectedOptions[0];
  if (scheme && schemeOption) scheme.textContent = schemeOption.textContent;
}

init();
