// Getting a checkpoint's bytes: config files, then only the vision tower of model.safetensors,
// read with HTTP Range requests (or File.slice for local files), with byte progress, cancel and
// the Cache API. Runs inside the worker, so nothing here blocks the page.

import { headerLength, parseHeader, visionTower, mergeRanges, layoutFile, extractVision } from "./safetensors.js";

export const CACHE_NAME = "siglip-lens-v1";
const HUB = "https://huggingface.co";

/**
 * Where a model lives. `spec` is a hub id ("google/siglip-base-patch16-224") or the URL of a folder
 * holding config.json and model.safetensors (relative URLs resolve against `base`; a folder URL ends
 * with "/"; a URL ending in ".safetensors" names the weights file itself).
 */
export function resolveModel(spec, base) {
  const text = spec.trim();
  if (!text) throw new Error("no model given");
  const looksLikeUrl = /^[a-z]+:\/\//i.test(text) || /^\.{0,2}\//.test(text) || text.endsWith("/") || text.endsWith(".safetensors");
  if (!looksLikeUrl && /^[\w.-]+\/[\w.-]+$/.test(text)) {
    const folder = `${HUB}/${text}/resolve/main/`;
    return { id: text, folder, weights: `${folder}model.safetensors` };
  }
  const url = new URL(text, base);
  if (url.pathname.endsWith(".safetensors")) {
    return { id: url.href, folder: new URL("./", url).href, weights: url.href };
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return { id: text, folder: url.href, weights: new URL("model.safetensors", url).href };
}

function cacheKey(url, what) {
  const key = new URL(url);
  key.searchParams.set("siglip-lens", what);
  return key.href;
}

async function openCache() {
  return typeof caches === "undefined" ? null : caches.open(CACHE_NAME);
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

export async function clearCache() {
  return typeof caches === "undefined" ? false : caches.delete(CACHE_NAME);
}

/** Reports bytes as they arrive, at most every 100 ms (and always the last chunk). */
function progressReporter(onProgress, total, phase) {
  let done = 0;
  let last = 0;
  return (n, force = false) => {
    done += n;
    const now = Date.now();
    if (force || now - last > 100 || done === total) {
      last = now;
      onProgress({ phase, done, total });
    }
  };
}

async function fetchOk(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error(`could not fetch ${url} (${error.message}); is the address right and reachable?`);
  }
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response;
}

/** Streams a response body into `target` at `offset`; returns the bytes read. */
async function streamInto(body, target, offset, limit, report) {
  const reader = body.getReader();
  let at = offset;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > limit) throw new Error("the server sent more bytes than asked for");
    target.set(value, at);
    at += value.length;
    report(value.length);
  }
  return at - offset;
}

/** Reads a whole body of unknown or known length into one Uint8Array. */
async function streamAll(response, report) {
  const length = Number(response.headers.get("content-length"));
  if (length > 0) {
    const out = new Uint8Array(length);
    const got = await streamInto(response.body, out, 0, length, report);
    if (got !== length) throw new Error(`download ended after ${got} of ${length} bytes`);
    return out;
  }
  const chunks = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    report(value.length);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Byte access to model.safetensors: over HTTP with Range, or a local File. */
function httpBytes(url, signal) {
  return {
    name: url,
    /** Resolves to {bytes} for a 206, or {full: Response} when the server ignored the Range. */
    async range(start, end) {
      const response = await fetchOk(url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal });
      if (response.status !== 206) return { full: response };
      return { response };
    },
  };
}

function fileBytes(file) {
  return {
    name: file.name,
    async range(start, end) {
      return { response: new Response(file.slice(start, end)) };
    },
  };
}

/**
 * Downloads the vision tower of a safetensors file as a new, smaller safetensors buffer.
 * Returns {weights, prefix, tensors, fileBytes, fetchedBytes, ranged}.
 */
async function visionWeights(source, onProgress) {
  const first = await source.range(0, 8);
  if (first.full) return fullDownload(first.full, onProgress);
  const first8 = new Uint8Array(await first.response.arrayBuffer());
  if (first8.length < 8) throw new Error(`${source.name} is shorter than 8 bytes`);
  const n = headerLength(first8);
  const second = await source.range(8, 8 + n);
  if (second.full) return fullDownload(second.full, onProgress);
  const headerBytes = new Uint8Array(await second.response.arrayBuffer());
  if (headerBytes.length !== n) throw new Error(`${source.name}: header ended after ${headerBytes.length} of ${n} bytes`);
  const { tensors, metadata } = parseHeader(headerBytes);
  const tower = visionTower(tensors);
  const ranges = mergeRanges(tower.tensors, 8 + n);
  const { buffer, dataStart } = layoutFile(tower.tensors, metadata);
  const total = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
  const report = progressReporter(onProgress, total, "weights");
  report(0, true);
  let at = dataStart;
  for (const r of ranges) {
    const part = await source.range(r.start, r.end);
    if (part.full) {
      // The server stopped honouring Range midway: take the whole file instead.
      return fullDownload(part.full, onProgress);
    }
    const got = await streamInto(part.response.body, buffer, at, at + (r.end - r.start), report);
    if (got !== r.end - r.start) throw new Error(`${source.name}: range ${r.start}-${r.end} ended after ${got} bytes`);
    at += got;
  }
  return { weights: buffer, prefix: tower.prefix, tensors: tower.tensors.length, fetchedBytes: total + 8 + n, ranged: true };
}

async function fullDownload(response, onProgress) {
  const total = Number(response.headers.get("content-length")) || 0;
  const report = progressReporter(onProgress, total, "weights (whole file: the server ignored Range)");
  const file = await streamAll(response, report);
  const { buffer, prefix, count } = extractVision(file);
  return { weights: buffer, prefix, tensors: count, fetchedBytes: file.length, ranged: false };
}

async function textOrUndefined(url, signal) {
  try {
    const response = await fetch(url, { signal });
    return response.ok ? await response.text() : undefined;
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return undefined;
  }
}

/**
 * Loads a checkpoint from `source`: {kind: "url", spec, base} or {kind: "files", files: File[]}.
 * Returns {configText, preprocessorText, weights: Uint8Array, ...facts for the page}.
 */
export async function loadCheckpoint(source, { signal, onProgress }) {
  const started = performance.now();
  if (source.kind === "files") return loadFiles(source.files, onProgress, started);
  const where = resolveModel(source.spec, source.base);
  const cache = await openCache();
  const key = cacheKey(where.weights, "vision");
  const configKey = cacheKey(where.weights, "config");
  const cached = cache && (await cache.match(key));
  const cachedConfig = cache && (await cache.match(configKey));
  if (cached && cachedConfig) {
    onProgress({ phase: "cache", done: 0, total: 0 });
    const { config, preprocessor } = await cachedConfig.json();
    const weights = new Uint8Array(await cached.arrayBuffer());
    return { id: where.id, configText: config, preprocessorText: preprocessor ?? undefined, weights, fromCache: true, fetchedBytes: 0, downloadMs: performance.now() - started };
  }
  const configText = await (await fetchOk(`${where.folder}config.json`, { signal })).text();
  const preprocessorText = await textOrUndefined(`${where.folder}preprocessor_config.json`, signal);
  const got = await visionWeights(httpBytes(where.weights, signal), onProgress);
  if (cache) {
    // Only complete, successful downloads reach this line (fetchOk checked response.ok).
    const headers = { "content-type": "application/octet-stream", "content-length": String(got.weights.length) };
    await cache.put(key, new Response(got.weights, { headers })).catch(() => {});
    await cache
      .put(configKey, new Response(JSON.stringify({ config: configText, preprocessor: preprocessorText ?? null }), { headers: { "content-type": "application/json" } }))
      .catch(() => {});
  }
  return { id: where.id, configText, preprocessorText, ...got, fromCache: false, downloadMs: performance.now() - started };
}

async function loadFiles(files, onProgress, started) {
  const find = (test) => files.find((f) => test(f.name.toLowerCase()));
  const config = find((n) => n === "config.json");
  const preprocessor = find((n) => n === "preprocessor_config.json");
  const weights = find((n) => n.endsWith(".safetensors"));
  if (!config || !weights) {
    const names = files.map((f) => f.name).join(", ") || "nothing";
    throw new Error(`a local model needs config.json and a .safetensors file (got ${names})`);
  }
  const got = await visionWeights(fileBytes(weights), onProgress);
  return {
    id: `local: ${weights.name}`,
    configText: await config.text(),
    preprocessorText: preprocessor ? await preprocessor.text() : undefined,
    ...got,
    fetchedBytes: 0,
    fromCache: false,
    downloadMs: performance.now() - started,
  };
}
