// The Cache API: vision towers — and, once the text panel has used them, text towers with their
// tokenizer files — kept between visits under a versioned name, keyed by their weights' URL. A
// browser that refuses (no storage, storage full) never stops a model from loading: it only costs a
// warning.

export const CACHE_NAME = "siglip-lens-v1";

function cacheKey(url, what) {
  const key = new URL(url);
  key.searchParams.set("siglip-lens", what);
  return key.href;
}

/** The page's cache, or null where there is none (or it is refused: then `warnings` says so). */
async function openCache(warnings = null) {
  if (typeof caches === "undefined") return null;
  try {
    return await caches.open(CACHE_NAME);
  } catch (error) {
    if (!warnings) throw error;
    warnings.push(cacheWarning(error));
    return null;
  }
}

function cacheWarning(error) {
  const why = error?.name === "QuotaExceededError" ? "the browser's storage for this site is full" : `${error?.name ?? "Error"}: ${error?.message ?? error}`;
  return `The model works, but the browser would not keep it for next time (${why}) — it will be downloaded again on your next visit; “Clear cache” under Cached models frees space.`;
}

/** Every cached model: [{url, bytes (its vision tower), textBytes (its text tower and tokenizer, or 0)}]. */
export async function listCache() {
  const cache = await openCache();
  if (!cache) return [];
  const byUrl = new Map();
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    const what = url.searchParams.get("siglip-lens");
    if (!["vision", "text", "tokenizer"].includes(what)) continue;
    const response = await cache.match(request);
    url.searchParams.delete("siglip-lens");
    const entry = byUrl.get(url.href) ?? { url: url.href, bytes: 0, textBytes: 0 };
    const bytes = Number(response?.headers.get("content-length") ?? 0);
    if (what === "vision") entry.bytes = bytes;
    else entry.textBytes += bytes;
    byUrl.set(url.href, entry);
  }
  return [...byUrl.values()];
}

/** Deletes the cached copy of the model whose weights live at `weightsUrl` (e.g. when it turned out damaged). */
export async function forgetCached(weightsUrl) {
  const cache = await openCache([]);
  if (!cache) return;
  await Promise.all(["vision", "config", "text", "tokenizer"].map((what) => cache.delete(cacheKey(weightsUrl, what)))).catch(() => {});
}

/** Deletes only the cached text tower and tokenizer of the model whose weights live at `weightsUrl`. */
export async function forgetText(weightsUrl) {
  const cache = await openCache([]);
  if (!cache) return;
  await Promise.all(["text", "tokenizer"].map((what) => cache.delete(cacheKey(weightsUrl, what)))).catch(() => {});
}

/**
 * Looks for the text tower of the model whose weights live at `weightsUrl`. Returns {cached, toCache}
 * as lookUp does; `cached` is {weights, files: {name: Uint8Array}, tokenizer, presets}.
 */
export async function lookUpText(weightsUrl, warnings) {
  const cache = await openCache(warnings);
  if (!cache) return { cached: null, toCache: null };
  const key = cacheKey(weightsUrl, "text");
  const filesKey = cacheKey(weightsUrl, "tokenizer");
  const toCache = { cache, key, filesKey };
  try {
    const [weights, bundle] = await Promise.all([cache.match(key), cache.match(filesKey)]);
    if (!weights || !bundle) return { cached: null, toCache };
    const { files, tokenizer, presets } = unbundle(new Uint8Array(await bundle.arrayBuffer()), JSON.parse(bundle.headers.get(BUNDLE_HEADER)));
    return { cached: { weights: new Uint8Array(await weights.arrayBuffer()), files, tokenizer, presets }, toCache };
  } catch {
    return { cached: null, toCache };
  }
}

/** Keeps a downloaded text tower and its tokenizer files (once built); a warning when the browser refuses. */
export async function storeText({ toCache, weights, files, tokenizer, presets }) {
  if (!toCache) return null;
  const { cache, key, filesKey } = toCache;
  const { body, index } = bundle(files);
  try {
    await cache.put(key, new Response(weights, { headers: { "content-type": "application/octet-stream", "content-length": String(weights.length) } }));
    await cache.put(filesKey, new Response(body, {
      headers: { "content-type": "application/octet-stream", "content-length": String(body.length), [BUNDLE_HEADER]: JSON.stringify({ index, tokenizer, presets }) },
    }));
    return null;
  } catch (error) {
    await cache.delete(key).catch(() => {});
    return cacheWarning(error);
  }
}

/** The tokenizer's files travel as one body, their names and lengths in this header. */
const BUNDLE_HEADER = "x-siglip-lens-files";

function bundle(files) {
  const index = Object.entries(files).map(([name, bytes]) => [name, bytes.length]);
  const body = new Uint8Array(index.reduce((sum, [, n]) => sum + n, 0));
  let at = 0;
  for (const [name, n] of index) {
    body.set(files[name], at);
    at += n;
  }
  return { body, index };
}

function unbundle(body, { index, tokenizer, presets }) {
  const files = {};
  let at = 0;
  for (const [name, n] of index) {
    if (at + n > body.length) throw new Error("the cached tokenizer files are cut short");
    files[name] = body.slice(at, at + n);
    at += n;
  }
  return { files, tokenizer, presets };
}

/**
 * Looks for the checkpoint whose weights live at `weightsUrl`. Returns {cached, toCache}: `cached` is
 * {configText, preprocessorText, weights} or null (also when the entry is unreadable); `toCache` is
 * what storeCheckpoint needs to keep a fresh download. A cache the browser refuses adds a warning to
 * `warnings` and gives null for both.
 */
export async function lookUp(weightsUrl, warnings) {
  const cache = await openCache(warnings);
  if (!cache) return { cached: null, toCache: null };
  const key = cacheKey(weightsUrl, "vision");
  const configKey = cacheKey(weightsUrl, "config");
  const toCache = { cache, key, configKey };
  try {
    const [weights, config] = await Promise.all([cache.match(key), cache.match(configKey)]);
    if (!weights || !config) return { cached: null, toCache };
    const { config: configText, preprocessor, text } = await config.json();
    return { cached: { configText, preprocessorText: preprocessor ?? undefined, text: text ?? null, weights: new Uint8Array(await weights.arrayBuffer()) }, toCache };
  } catch {
    return { cached: null, toCache };
  }
}

export async function clearCache() {
  return typeof caches === "undefined" ? false : caches.delete(CACHE_NAME);
}

/**
 * Keeps a downloaded checkpoint in the Cache API; called once a model was built from it, so only
 * checkpoints that load are kept. Returns a warning when the browser refuses (e.g. storage full).
 */
export async function storeCheckpoint({ toCache, weights, configText, preprocessorText, text }) {
  if (!toCache) return null;
  const { cache, key, configKey } = toCache;
  const headers = { "content-type": "application/octet-stream", "content-length": String(weights.length) };
  try {
    await cache.put(key, new Response(weights, { headers }));
    await cache.put(configKey, new Response(JSON.stringify({ config: configText, preprocessor: preprocessorText ?? null, text: text ?? null }), { headers: { "content-type": "application/json" } }));
    return null;
  } catch (error) {
    await cache.delete(key).catch(() => {});
    return cacheWarning(error);
  }
}
