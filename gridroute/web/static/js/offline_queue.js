// Reports waiting on the phone for the network (IndexedDB: the fields and the shrunk photos
// as Blobs). Each item is keyed by its idempotency key, so sending it again after a lost
// answer files no second case: the server answers the first one.
const DB_NAME = "gridroute-inspector";
const STORE = "outbox";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "key" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// item: {key, fields: {...}, photos: [Blob], queuedAt: ISO text, error: null | {message, field}}
export const put = (item) => run("readwrite", (store) => store.put(item));
export const remove = (key) => run("readwrite", (store) => store.delete(key));
export const get = (key) => run("readonly", (store) => store.get(key));
export async function all() {
  const items = (await run("readonly", (store) => store.getAll())) || [];
  return items.sort((a, b) => (a.queuedAt < b.queuedAt ? -1 : 1));
}
