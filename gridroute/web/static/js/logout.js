// Logging out forgets the pages the phone kept for offline use (the inspector's service worker
// cache holds a page rendered for this user), so the next person on a shared phone never sees
// them. Reports still waiting to be sent stay: they are kept per user and sent with that user's
// session only.
const form = document.querySelector("form.logout");
if (form && "caches" in window) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      for (const name of await caches.keys()) {
        if (name.startsWith("gridroute-")) await caches.delete(name);
      }
    } finally {
      form.submit();
    }
  });
}
