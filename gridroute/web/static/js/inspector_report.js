// The inspector's report form (上报) on the phone: category picker (部件 / 事件 apart, search by
// Chinese name, pinyin initials or code), location from GPS or a tap on the grid map, photos
// shrunk before upload, the routing preview and likely duplicates before submitting, and the
// offline queue: with no network a report waits on the phone with its idempotency key and is
// sent when the network is back; sending it twice never files two cases.
import { api, showError } from "./api.js";
import { createMap, gridLayer } from "./gridmap.js";
import { shrink } from "./inspector_photos.js";
import * as queue from "./offline_queue.js";

const form = document.getElementById("report-form");
const text = JSON.parse(document.getElementById("inspector-text").textContent);
const lang = document.documentElement.lang;
const tz = form.dataset.tz || "Asia/Shanghai";
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
const $ = (id) => document.getElementById(id);
// reports wait on the phone per user: a shared phone never sends one inspector's report
// under another's session
const who = (document.getElementById("who") || {}).textContent || "";

function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "phone-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ category picker

const select = $("category");
const search = $("category-search");

function currentKind() {
  const checked = form.querySelector('input[name="kind"]:checked');
  return checked ? checked.value : "event";
}

function filterCategories() {
  const kind = currentKind();
  const needle = search.value.trim().toLowerCase();
  let shown = 0;
  select.querySelectorAll("optgroup").forEach((group) => {
    const active = group.dataset.kind === kind;
    group.hidden = !active;
    group.disabled = !active;
    group.querySelectorAll("option").forEach((option) => {
      const match = active && (!needle || option.dataset.search.includes(needle));
      option.hidden = !match;
      if (match) shown += 1;
    });
  });
  $("no-match").hidden = shown > 0;
  const chosen = select.selectedOptions[0];
  if (chosen && chosen.hidden) {
    select.value = "";
  }
  if (!select.value && shown === 1) {
    select.value = select.querySelector("optgroup:not([hidden]) option:not([hidden])").value;
    select.dispatchEvent(new Event("change"));
  }
}

form.querySelectorAll('input[name="kind"]').forEach((radio) => {
  radio.addEventListener("change", () => { filterCategories(); schedulePreview(); });
});
search.addEventListener("input", filterCategories);
if (select.value) {
  const group = select.selectedOptions[0].parentElement.dataset.kind;
  $(`kind-${group}`).checked = true;
}
filterCategories();

// ------------------------------------------------------------------ location

const lon = $("lon");
const lat = $("lat");
let map = null;
let marker = null;

function setPoint(lonValue, latValue) {
  lon.value = lonValue.toFixed(6);
  lat.value = latValue.toFixed(6);
  $("crs").value = "wgs84";
  showMarker();
  schedulePreview();
}

function showMarker() {
  const x = parseFloat(lon.value);
  const y = parseFloat(lat.value);
  if (!map || !Number.isFinite(x) || !Number.isFinite(y)) return;
  if (marker) marker.setLatLng([y, x]);
  else marker = L.circleMarker([y, x], { radius: 8, color: "#a40000", weight: 3 }).addTo(map);
}

async function setUpMap() {
  const element = $("report-map");
  if (!element || typeof L === "undefined") return;
  map = createMap(element);
  map.on("click", (event) => setPoint(event.latlng.lng, event.latlng.lat));
  const streets = (form.querySelector(".coords").dataset.streets || "").split(",").filter(Boolean);
  try {
    if (streets.length) {
      for (const street of streets) await gridLayer(map, "cells", { street });
    } else {
      await gridLayer(map, "streets");
    }
  } catch (error) {
    // offline or no grid: the coordinates can still be typed or taken from GPS
  }
  showMarker();
  element.dataset.ready = "true";
}

$("locate").addEventListener("click", () => {
  const status = $("locate-status");
  if (!navigator.geolocation) { status.textContent = text.locate_failed; return; }
  status.textContent = text.locating;
  navigator.geolocation.getCurrentPosition((position) => {
    // the browser's Geolocation API gives WGS84 (GNSS) coordinates
    setPoint(position.coords.longitude, position.coords.latitude);
    status.textContent = fill(text.located, { m: Math.round(position.coords.accuracy || 0) });
    if (map) map.setView([position.coords.latitude, position.coords.longitude], 17);
  }, () => { status.textContent = text.locate_failed; },
  { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
});
[lon, lat].forEach((input) => input.addEventListener("change", () => { showMarker(); schedulePreview(); }));

// ------------------------------------------------------------------ photos

const photoInput = $("photos");
const maxPhotos = parseInt(photoInput.dataset.max, 10) || 9;
const maxSide = parseInt(photoInput.dataset.maxSide, 10) || 2048;
let photos = []; // [{blob, url}]

function renderPhotos() {
  const list = $("photo-list");
  list.replaceChildren();
  photos.forEach((photo, index) => {
    const item = document.createElement("li");
    const image = document.createElement("img");
    image.src = photo.url;
    image.alt = fill(text.photo, { n: index + 1 });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-photo";
    remove.textContent = "×";
    remove.setAttribute("aria-label", fill(text.remove_photo, { n: index + 1 }));
    remove.addEventListener("click", () => {
      URL.revokeObjectURL(photo.url);
      photos.splice(index, 1);
      renderPhotos();
    });
    item.append(image, remove);
    list.append(item);
  });
  photoInput.disabled = photos.length >= maxPhotos;
  list.dataset.count = String(photos.length);
}

function setPhotos(blobs) {
  photos.forEach((p) => URL.revokeObjectURL(p.url));
  photos = blobs.map((blob) => ({ blob, url: URL.createObjectURL(blob) }));
  renderPhotos();
}

photoInput.addEventListener("change", async () => {
  const slot = form.querySelector('[data-error-for="photos"]');
  slot.textContent = "";
  const files = Array.from(photoInput.files);
  photoInput.value = "";
  const problems = [];
  for (const file of files) {
    if (photos.length >= maxPhotos) { problems.push(fill(text.too_many_photos, { n: maxPhotos })); break; }
    try {
      const blob = await shrink(file, maxSide);
      photos.push({ blob, url: URL.createObjectURL(blob) });
    } catch (error) {
      problems.push(fill(text.not_image, { name: file.name }));
    }
  }
  renderPhotos();
  slot.textContent = problems.join(" ");
});

// ------------------------------------------------------------------ routing preview + duplicates

let previewTimer = null;
let previewSeq = 0;

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(updatePreview, 250);
}

function formatTime(iso) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

function formatLimit(limit) {
  const [amount, unit] = String(limit).split(" ");
  return `${amount} ${text.units[unit] || unit}`;
}

function setSlot(field, message) {
  const slot = form.querySelector(`[data-error-for="${field}"]`);
  if (slot) slot.textContent = message;
}

function pointQuery() {
  const category = select.value;
  const x = lon.value.trim();
  const y = lat.value.trim();
  if (!category || !x || !y) return null;
  return new URLSearchParams({ category, lon: x, lat: y, crs: $("crs").value || "wgs84" });
}

async function updatePreview() {
  const status = $("preview-status");
  const facts = $("preview-facts");
  const query = pointQuery();
  ["lon,lat", "lon", "lat", "category"].forEach((f) => setSlot(f, ""));
  if (!query) {
    facts.hidden = true;
    status.textContent = text.preview_empty;
    return;
  }
  const seq = ++previewSeq;
  status.textContent = text.preview_wait;
  if (!navigator.onLine) { status.textContent = text.preview_offline; facts.hidden = true; return; }
  try {
    const [preview, nearby] = await Promise.all([
      api("GET", `/api/v1/rules/explain?${query}`),
      api("GET", `/inspector/nearby?${query}`).catch(() => ({ likely_duplicates: [] })),
    ]);
    if (seq !== previewSeq) return;
    $("preview-cell").textContent = preview.cell_code;
    $("preview-community").textContent = preview.community_name;
    $("preview-street").textContent = preview.street_name;
    $("preview-unit").textContent = lang === "en" ? preview.unit_name_en || preview.unit_name_zh
                                                  : preview.unit_name_zh;
    $("preview-limit").textContent = formatLimit(preview.handling_limit);
    $("preview-deadline").textContent = formatTime(preview.deadline);
    facts.hidden = false;
    status.textContent = "";
    renderDuplicates(nearby.likely_duplicates || []);
  } catch (error) {
    if (seq !== previewSeq) return;
    facts.hidden = true;
    if (error.status === undefined) { status.textContent = text.preview_offline; return; }
    status.textContent = error.message;
    if (error.field) setSlot(error.field, error.message);
  }
}

function renderDuplicates(items) {
  const list = $("duplicates");
  list.replaceChildren();
  $("duplicates-status").textContent = items.length ? "" : text.no_duplicates;
  for (const item of items) {
    const li = document.createElement("li");
    li.dataset.publicId = item.public_id;
    li.textContent = fill(text.duplicate, { id: item.public_id,
      state: text.states[item.state] || item.state, m: item.distance_m });
    if (item.description) {
      const note = document.createElement("span");
      note.className = "hint";
      note.textContent = " " + item.description;
      li.append(note);
    }
    list.append(li);
  }
}

select.addEventListener("change", schedulePreview);

// ------------------------------------------------------------------ submit and the offline queue

const FIELDS = ["category", "description", "lon", "lat", "crs", "urgency", "kind"];

function readFields() {
  const data = new FormData(form);
  const fields = {};
  for (const name of FIELDS) fields[name] = data.get(name) || "";
  return fields;
}

function formData(key, fields, blobs) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  data.append("idempotency_key", key);
  blobs.forEach((blob, i) => data.append("photos", new File([blob], `photo-${i + 1}.jpg`, { type: "image/jpeg" })));
  return data;
}

const isNetworkFailure = (error) => error.status === undefined || error.status === 502
  || error.status === 503 || error.status === 504;

// A draft of the fields (not the photos) survives a reload or a closed tab on the phone.
const DRAFT = `gridroute-report-draft:${who}`;

function saveDraft() {
  try { localStorage.setItem(DRAFT, JSON.stringify(readFields())); } catch (error) { /* full */ }
}

function dropDraft() {
  try { localStorage.removeItem(DRAFT); } catch (error) { /* unavailable */ }
}

function restoreDraft() {
  if (select.value || lon.value || $("description").value) return; // the server kept the input
  let draft = null;
  try { draft = JSON.parse(localStorage.getItem(DRAFT) || "null"); } catch (error) { draft = null; }
  if (draft && (draft.category || draft.description || draft.lon)) {
    restore({ fields: draft, key: newKey(), photos: [] });
  }
}

form.addEventListener("input", saveDraft);
form.addEventListener("change", saveDraft);

function resetForm() {
  form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  $("description").value = "";
  $("urgency").value = "";
  setPhotos([]);
  $("idempotency_key").value = newKey();
  dropDraft();
  schedulePreview(); // the place is kept: the case just filed now shows as a likely duplicate
}

function announce(message) {
  $("result").textContent = message;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("idempotency_key").value || newKey();
  const fields = readFields();
  const blobs = photos.map((p) => p.blob);
  form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  const button = $("submit");
  button.disabled = true;
  announce(text.sending);
  try {
    if (!navigator.onLine) throw { status: undefined, offline: true };
    const body = await api("POST", form.action, formData(key, fields, blobs));
    announce(fill(body.created ? text.sent : text.sent_again, { id: body.case.public_id }));
    resetForm();
  } catch (error) {
    if (isNetworkFailure(error)) {
      await queue.put({ key, who, fields, photos: blobs, queuedAt: new Date().toISOString(),
                        error: null });
      announce(text.saved_offline);
      resetForm();
      await renderQueue();
    } else {
      // refused: the service's message next to the field it names; the form keeps everything
      announce("");
      showError(form, error);
    }
  } finally {
    button.disabled = false;
  }
});

let flushing = false;

async function flush() {
  if (flushing || !navigator.onLine) return;
  flushing = true;
  try {
    for (const item of await mine()) {
      if (item.error) continue; // refused before: waits for the inspector to put it back
      try {
        const body = await api("POST", form.action, formData(item.key, item.fields, item.photos));
        await queue.remove(item.key);
        announce(fill(text.sent_queued, { id: body.case.public_id }));
      } catch (error) {
        if (isNetworkFailure(error) || error.status === 401 || error.status === 403) break;
        item.error = { message: error.message, field: error.field || "" };
        await queue.put(item);
      }
    }
  } finally {
    flushing = false;
    await renderQueue();
  }
}

async function mine() {
  return (await queue.all()).filter((item) => item.who === who);
}

async function renderQueue() {
  const items = await mine();
  const waiting = items.filter((item) => !item.error).length;
  const status = $("queue-status");
  status.dataset.count = String(waiting);
  status.textContent = fill(text.waiting, { n: waiting });
  const list = $("queue-list");
  list.replaceChildren();
  for (const item of items.filter((i) => i.error)) {
    const li = document.createElement("li");
    li.dataset.key = item.key;
    li.textContent = fill(text.refused_queued, { msg: item.error.message }) + " ";
    const back = document.createElement("button");
    back.type = "button";
    back.textContent = text.edit_queued;
    back.addEventListener("click", async () => {
      restore(item);
      await queue.remove(item.key);
      await renderQueue();
      showError(form, item.error);
    });
    li.append(back);
    list.append(li);
  }
}

function restore(item) {
  const f = item.fields;
  if (f.kind) $(`kind-${f.kind}`).checked = true;
  search.value = "";
  filterCategories();
  select.value = f.category;
  $("description").value = f.description;
  lon.value = f.lon;
  lat.value = f.lat;
  $("crs").value = f.crs || "wgs84";
  $("urgency").value = f.urgency || "";
  $("idempotency_key").value = item.key;
  setPhotos(item.photos || []);
  showMarker();
  schedulePreview();
}

window.addEventListener("online", () => { flush(); schedulePreview(); });
setInterval(() => { if (navigator.onLine) flush(); }, 20000);

$("idempotency_key").value = newKey();
restoreDraft();
renderQueue().then(flush);
setUpMap();
if ("serviceWorker" in navigator) {
  // keeps the form openable with no network (static/js/offline_sw.js)
  navigator.serviceWorker.register("/inspector/sw.js").catch(() => {});
}
if (pointQuery()) schedulePreview();
form.dataset.ready = "true";
