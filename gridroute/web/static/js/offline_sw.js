// Service worker of the inspector's pages (scope /inspector/): the report form and what it
// loads are kept in a cache, so the form opens with no network too and its queue of reports
// waiting on the phone (IndexedDB) stays reachable. Network first: online, the phone always
// gets the current page. Writes (POST) are never cached or replayed here: the page's queue
// sends them, each with its idempotency key.
const CACHE = "gridroute-inspector-v1";
const SHELL = [
  "/inspector/report", "/static/app.css", "/static/inspector.css", "/static/js/api.js",
  "/static/js/gridmap.js", "/static/js/inspector_report.js", "/static/js/inspector_photos.js",
  "/static/js/offline_queue.js", "/assets/leaflet/leaflet.js", "/assets/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

function cacheable(request, url) {
  if (request.method !== "GET" || url.origin !== self.location.origin) return false;
  if (request.mode === "navigate") return url.pathname === "/inspector/report";
  return url.pathname.startsWith("/static/") || url.pathname.startsWith("/assets/leaflet/")
    || url.pathname.startsWith("/api/v1/grid/");
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (cacheable(event.request, url)) event.respondWith(networkFirst(event.request));
});
