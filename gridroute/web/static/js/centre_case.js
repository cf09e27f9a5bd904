// The case page: its map (point and cell), its action forms sent to the API with the version
// the page was rendered from, refusals shown next to the field they name, a stale version
// (409) shown with the case's new state while every entry stays in its form, and shortcuts.
import { api, showError } from "./api.js";
import { createMap, gridLayer } from "./gridmap.js";
import { isTyping } from "./centre_keys.js";

const root = document.getElementById("case");
const messages = JSON.parse(document.getElementById("centre-messages").textContent);
const ref = root.dataset.ref;
const gap = document.documentElement.lang.startsWith("zh") ? "" : " ";
let version = Number(root.dataset.version);

function fieldOf(error) {
  // payload.until → until: the form's fields are named as the payload's
  const field = (error.field || "").replace(/^payload\./, "").replace(/ \(.*\)$/, "");
  return { ...error, field };
}

async function showStale() {
  const notice = document.getElementById("stale-notice");
  try {
    const fresh = await api("GET", `/api/v1/cases/${encodeURIComponent(ref)}`);
    version = fresh.case.version;
    const label = messages.states[fresh.case.state] || fresh.case.state;
    notice.textContent = `${messages.stale.replace("%(state)s", label)}${gap}${messages.stale_hint}`;
    notice.dataset.state = fresh.case.state;
    document.getElementById("case-state").textContent = label;
  } catch (e) {
    notice.textContent = `${messages.stale.replace("%(state)s", "?")}${gap}${messages.stale_hint}`;
  }
  const reload = document.createElement("a");
  reload.href = window.location.href;
  reload.textContent = ` ${messages.reload}`;
  reload.id = "stale-reload";
  notice.append(reload);
  notice.hidden = false;
}

async function send(form) {
  const action = form.dataset.action;
  const button = form.querySelector("button[type=submit]");
  const data = new FormData(form);
  button.disabled = true;
  try {
    if (action === "resolve") {
      data.set("version", String(version));
      await api("POST", root.dataset.resolveUrl, data);
    } else {
      const payload = {};
      let reason;
      for (const [name, value] of data.entries()) {
        if (name === "reason") reason = value;
        else if (name === "until" && value) payload.until = `${value.length === 16 ? value + ":00" : value}${root.dataset.tz}`;
        else if (value !== "") payload[name] = value;
      }
      await api("POST", `/api/v1/cases/${encodeURIComponent(ref)}/actions/${action}`,
                { version, reason, payload });
    }
    window.location.reload();
  } catch (error) {
    button.disabled = false;
    if (error.status === 409) {
      showError(form, { ...error, field: "" });
      await showStale();
    } else {
      showError(form, fieldOf(error));
    }
  }
}

document.querySelectorAll("form.action").forEach((form) => {
  form.addEventListener("submit", (event) => { event.preventDefault(); send(form); });
});

// one-click merge into a likely duplicate
document.querySelectorAll("button.merge-into").forEach((button) => {
  button.addEventListener("click", () => {
    const form = document.getElementById("action-merge");
    form.querySelector("[name=parent_id]").value = button.dataset.parent;
    send(form);
  });
});

// shortcuts: f file, d dispatch, a accept, c close, u back
const KEYS = { f: "file", d: "dispatch", a: "accept", c: "close" };
document.addEventListener("keydown", (event) => {
  if (isTyping(event)) return;
  if (event.key === "u") { document.getElementById("back").click(); return; }
  const action = KEYS[event.key];
  const form = action && document.getElementById(`action-${action}`);
  if (!form) return;
  event.preventDefault();
  if (form.checkValidity()) send(form); else form.reportValidity();
});

// the map: the cell drawn over its street's cells, the point on it
async function drawMap() {
  const element = document.getElementById("case-map");
  if (!element || typeof L === "undefined") return;
  const map = createMap(element);
  const lat = Number(root.dataset.lat), lon = Number(root.dataset.lon);
  try {
    const layer = await gridLayer(map, "cells", { street: root.dataset.street });
    layer.eachLayer((cell) => {
      if (cell.feature.properties.cell_code === root.dataset.cell) {
        cell.setStyle({ color: "#b00020", weight: 3, fillOpacity: 0.2 });
        map.fitBounds(cell.getBounds(), { maxZoom: 17 });
        element.dataset.shown = "cell";
      }
    });
  } catch (e) { /* the case facts still show the cell code */ }
  if (!Number.isNaN(lat) && !Number.isNaN(lon)) {
    L.circleMarker([lat, lon], { radius: 7, color: "#b00020" }).addTo(map)
      .bindTooltip(ref);
    element.dataset.point = "shown";
  }
}
if (document.readyState === "complete") drawMap();
else window.addEventListener("load", drawMap);
