// The page's side of the worker conversation: request(type, payload) -> Promise, with progress
// callbacks, and one error path when the worker itself cannot start (e.g. www/pkg not built).

export function createClient(url) {
  const worker = new Worker(url, { type: "module" });
  const pending = new Map();
  let nextId = 1;
  let broken = null;

  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    if (!call) return;
    if (data.type === "progress") return call.onProgress?.(data);
    pending.delete(data.id);
    if (data.type === "result") call.resolve(data.result);
    else call.reject(Object.assign(new Error(data.message), { fatal: data.fatal ?? false }));
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    broken = new Error(`the model worker failed to start (${event.message || "could not load worker.js or pkg/siglip_lens.js"})`);
    for (const call of pending.values()) call.reject(broken);
    pending.clear();
  };

  return {
    /** Sends {type, ...payload}; `transfer` lists buffers to move, `onProgress` gets progress messages. */
    request(type, payload = {}, { transfer = [], onProgress } = {}) {
      if (broken) return Promise.reject(broken);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onProgress });
        worker.postMessage({ id, type, ...payload }, transfer);
      });
    },
    /** One array from the trace or the model, e.g. query("attentionRow", 0, 3, 97). */
    query(method, ...args) {
      return this.request("query", { method, args });
    },
  };
}
