// The Cache API: vision towers kept between visits under a versioned name, keyed by their weights'
// URL. A browser that refuses (no storage, storage full) never stops a model from loading: it only
// costs a warning.

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

/** Every cached vision tower: [{url, bytes}]. */
export async function listCache() {
  const cache = await openCache();
  if (!cache) return [];
  const out = [];
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (url.searchParams.get("siglip-lens") !== "vision") continue;
    const response = await cache.match(request);
    url.searchParams.delete("siglip-lens");
    out.push({ url: url.href, bytes: Number(response?.headers.get("content-length") ?? 0) });
  }
  return out;
}

/** Deletes the cached copy of the model whose weights live at `weightsUrl` (e.g. when it turned out damaged). */
export async function forgetCached(weightsUrl) {
  const cache = await openCache([]);
  if (!cache) return;
  await Promise.all([cache.delete(cacheKey(weightsUrl, "vision")), cache.delete(cacheKey(weightsUrl, "config"))]).catch(() => {});
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
    const { config: configText, preprocessor } = await config.json();
    return { cached: { configText, preprocessorText: preprocessor ?? undefined, weights: new Uint8Array(await weights.arrayBuffer()) }, toCache };
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
export async function storeCheckpoint({ toCache, weights, configText, preprocessorText }) {
  if (!toCache) return null;
  const { cache, key, configKey } = toCache;
  const headers = { "content-type": "application/octet-stream", "content-length": String(weights.length) };
  try {
    await cache.put(key, new Response(weights, { headers }));
    await cache.put(configKey, new Response(JSON.stringify({ config: configText, preprocessor: preprocessorText ?? null }), { headers: { "content-type": "application/json" } }));
    return null;
  } catch (error) {
    await cache.delete(key).catch(() => {});
    return cacheWarning(error);
  }
}
