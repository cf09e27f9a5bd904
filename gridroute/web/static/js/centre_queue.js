// The queue: rows refreshed in place every few seconds (new cases appear without a reload;
// ticked boxes and the current row are kept), j/k/Enter/x/d/f/"/" shortcuts, bulk dispatch
// of the selected cases through the API (each with the version shown, each result listed).
import { api, showError } from "./api.js";
import { isTyping } from "./centre_keys.js";

const queue = document.getElementById("queue");
const messages = JSON.parse(document.getElementById("centre-messages").textContent);
let current = null; // data-ref of the highlighted row

const rows = () => Array.from(document.querySelectorAll("#queue-rows tr[data-ref]"));
const picked = () => rows().filter((tr) => tr.querySelector("input.pick").checked);

function highlight(ref) {
  current = ref;
  rows().forEach((tr) => {
    const on = tr.dataset.ref === ref;
    tr.classList.toggle("current", on);
    if (on) tr.setAttribute("aria-selected", "true"); else tr.removeAttribute("aria-selected");
  });
  const row = rows().find((tr) => tr.dataset.ref === ref);
  if (row) row.scrollIntoView({ block: "nearest" });
}

function updateCount() {
  const count = document.getElementById("bulk-count");
  if (count) count.textContent = String(picked().length);
}

async function refresh() {
  const url = queue.dataset.rowsUrl;
  let html;
  try {
    const response = await fetch(url, { credentials: "same-origin",
                                        headers: { "Accept-Language": document.documentElement.lang } });
    if (!response.ok) return;
    html = await response.text();
  } catch (e) { return; }
  const fresh = new DOMParser().parseFromString(`<div>${html}</div>`, "text/html");
  const ticked = new Set(picked().map((tr) => tr.dataset.ref));
  const known = new Set(rows().map((tr) => tr.dataset.ref));
  const newRows = fresh.querySelectorAll("#queue-rows tr[data-ref]");
  let added = 0;
  newRows.forEach((tr) => {
    if (!known.has(tr.dataset.ref)) { tr.classList.add("new"); added += 1; }
    if (ticked.has(tr.dataset.ref)) tr.querySelector("input.pick").checked = true;
  });
  document.getElementById("queue-rows").replaceWith(fresh.getElementById("queue-rows"));
  document.getElementById("state-counts").replaceWith(fresh.getElementById("state-counts"));
  document.getElementById("paging").replaceWith(fresh.getElementById("paging"));
  if (current) highlight(current);
  updateCount();
  if (added) document.getElementById("queue-news").textContent = `${added} ${messages.new_cases}`;
}

setInterval(refresh, Number(queue.dataset.poll || 5) * 1000);
queue.addEventListener("change", (event) => {
  if (event.target.matches("input.pick")) updateCount();
});

async function act(rowsToDo, action, unitCode) {
  const list = document.getElementById("bulk-results");
  if (list) list.textContent = "";
  for (const tr of rowsToDo) {
    const item = document.createElement("li");
    item.dataset.ref = tr.dataset.ref;
    const payload = unitCode ? { unit_code: unitCode } : {};
    try {
      await api("POST", `/api/v1/cases/${encodeURIComponent(tr.dataset.ref)}/actions/${action}`,
                { version: Number(tr.dataset.version), payload });
      item.className = "ok";
      item.textContent = `${tr.dataset.ref}: ${messages[action === "dispatch" ? "dispatched" : "filed"]}`;
    } catch (error) {
      item.className = "error";
      item.textContent = `${tr.dataset.ref}: ${error.message}`;
    }
    if (list) list.append(item);
    else document.getElementById("queue-news").textContent = item.textContent;
  }
  await refresh();
}

const bulk = document.getElementById("bulk-dispatch");
if (bulk) {
  bulk.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = picked();
    if (!chosen.length) {
      showError(bulk, { field: "", message: messages.none_selected });
      return;
    }
    showError(bulk, { field: "", message: "" });
    act(chosen, "dispatch", bulk.querySelector("[name=unit_code]").value);
  });
}

document.addEventListener("keydown", (event) => {
  if (isTyping(event)) return;
  const all = rows();
  if (!all.length && event.key !== "/") return;
  const index = all.findIndex((tr) => tr.dataset.ref === current);
  switch (event.key) {
    case "j": highlight(all[Math.min(index + 1, all.length - 1)].dataset.ref); break;
    case "k": highlight(all[Math.max(index - 1, 0)].dataset.ref); break;
    case "Enter":
      if (index >= 0 && !event.target.closest("a,button")) {
        all[index].querySelector("a.open").click();
      } else return;
      break;
    case "x":
      if (index >= 0) { const box = all[index].querySelector("input.pick"); box.checked = !box.checked; updateCount(); }
      break;
    case "d": {
      if (!bulk) return;
      const chosen = picked().length ? picked() : (index >= 0 ? [all[index]] : []);
      if (chosen.length) act(chosen, "dispatch", bulk.querySelector("[name=unit_code]").value);
      break;
    }
    case "f": if (index >= 0) act([all[index]], "file"); break;
    case "/": document.getElementById("f-q").focus(); break;
    default: return;
  }
  event.preventDefault();
});
