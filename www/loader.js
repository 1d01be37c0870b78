// Getting a checkpoint's bytes: config files, then only the vision tower of model.safetensors,
// read with HTTP Range requests (or File.slice for local files; see net.js), with byte progress,
// cancel, resume after a dropped connection, and the Cache API (cache.js). Everything the header can
// tell (no tower, a damaged layout, a model too large for wasm memory) is refused before the weights
// are downloaded. Runs inside the worker, so nothing here blocks the page.

import {
  headerLength, parseHeader, visionTower, mergeRanges, layoutFile, extractVision, checkLayout, headerPastEnd,
  peakWasmBytes, WASM_MEMORY_LIMIT,
} from "./safetensors.js";
import { formatBytes } from "./colormap.js";
import { fetchOk, dropped, nextChunk, streamInto, sleep, httpBytes, fileBytes } from "./net.js";
import { lookUp } from "./cache.js";

const HUB = "https://huggingface.co";

/**
 * Where a model lives. `spec` is a hub id ("google/siglip-base-patch16-224") or the URL of a folder
 * holding config.json and model.safetensors (relative URLs resolve against `base`; a folder URL ends
 * with "/"; a URL ending in ".safetensors" names the weights file itself). Only http(s) URLs.
 */
export function resolveModel(spec, base) {
  const text = spec.trim();
  if (!text) throw new Error("no model given — enter a hub id such as google/siglip-base-patch16-224, or a folder URL");
  const looksLikeUrl = /^[a-z]+:\/\//i.test(text) || /^\.{0,2}\//.test(text) || text.endsWith("/") || text.endsWith(".safetensors");
  if (!looksLikeUrl && /^[\w.-]+\/[\w.-]+$/.test(text)) {
    const folder = `${HUB}/${text}/resolve/main/`;
    return { id: text, folder, weights: `${folder}model.safetensors` };
  }
  let url;
  try {
    url = new URL(text, base);
  } catch {
    throw new Error(`“${text}” is neither a hub id (owner/name) nor a valid address — enter e.g. google/siglip-base-patch16-224`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(
      `only http:// and https:// addresses can be loaded, not “${url.protocol}” — enter a hub id such as google/siglip-base-patch16-224, or an https:// folder URL`,
    );
  }
  if (url.pathname.endsWith(".safetensors")) {
    return { id: url.href, folder: new URL("./", url).href, weights: url.href };
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return { id: text, folder: url.href, weights: new URL("model.safetensors", url).href };
}

// ---- the safetensors file -----------------------------------------------------------------------

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

/** Runs `check`, prefixing any error with the file's name. */
function inFile(label, check) {
  try {
    return check();
  } catch (error) {
    throw new Error(`${label}: ${error.message}`);
  }
}

/** Refuses, from the header alone, a vision tower that cannot fit in wasm memory. */
function checkMemory(tensors) {
  const need = peakWasmBytes(tensors);
  if (need.total > WASM_MEMORY_LIMIT) {
    throw new Error(
      `its vision tower would need about ${formatBytes(need.total)} of WebAssembly memory (${formatBytes(need.asF32)} of weights as f32 + ` +
        `${formatBytes(need.largest)} for the largest tensor as it arrives + 64 MB to work in), more than the ${formatBytes(WASM_MEMORY_LIMIT)} a page can use — pick a smaller model`,
    );
  }
}

/** Everything the header can tell before any weight is downloaded. */
function checkHeader(headerBytes, fileSize) {
  const { tensors, metadata } = parseHeader(headerBytes);
  const tower = visionTower(tensors);
  checkMemory(tower.tensors);
  checkLayout(tensors, fileSize === null ? null : fileSize - 8 - headerBytes.length);
  return { tower, metadata };
}

/**
 * Downloads the vision tower of a safetensors file as a new, smaller safetensors buffer.
 * Returns {weights, prefix, tensors, fetchedBytes, ranged}.
 */
async function visionWeights(source, onProgress) {
  const { label, signal } = source;
  const first = await source.range(0, 8);
  if (first.full) return fullDownload(source, first.full, onProgress);
  const first8 = new Uint8Array(await first.response.arrayBuffer());
  if (first8.length < 8) throw new Error(`${label} is only ${first8.length} bytes long — the file is truncated or empty; download it again`);
  const n = inFile(label, () => headerLength(first8));
  const size = first.size ?? null;
  if (size !== null && 8 + n > size) throw new Error(`${label}: ${headerPastEnd(n, size)}`);
  const second = await source.range(8, 8 + n);
  if (second.full) return fullDownload(source, second.full, onProgress);
  const headerBytes = new Uint8Array(await second.response.arrayBuffer());
  if (headerBytes.length !== n) throw new Error(`${label}: ${headerPastEnd(n, 8 + headerBytes.length)}`);
  const { tower, metadata } = inFile(label, () => checkHeader(headerBytes, size));
  const ranges = mergeRanges(tower.tensors, 8 + n);
  const { buffer, dataStart } = layoutFile(tower.tensors, metadata);
  const total = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
  const report = progressReporter(onProgress, total, "weights");
  report(0, true);
  let at = dataStart;
  for (const r of ranges) {
    const full = await rangeInto(source, r, buffer, at, report);
    // The server stopped honouring Range midway: take the whole file instead.
    if (full) return fullDownload(source, full, onProgress);
    at += r.end - r.start;
  }
  signal?.throwIfAborted();
  return { weights: buffer, prefix: tower.prefix, tensors: tower.tensors.length, fetchedBytes: total + 8 + n, ranged: true };
}

/**
 * Copies file bytes [r.start, r.end) to buffer[at…]. When the connection drops, asks again from the
 * byte reached (a Range request), giving up after three tries in a row that bring nothing.
 * Returns null, or the full-file Response of a server that answered a resume with 200.
 */
async function rangeInto(source, r, buffer, at, report) {
  let start = r.start;
  let fruitless = 0;
  for (;;) {
    const got = { n: 0 };
    let broke = null;
    try {
      // The header came from this server moments ago: a failing request now is the network, not CORS.
      const part = await source.range(start, r.end);
      if (part.full) return part.full;
      await streamInto(part.response.body, buffer, at + (start - r.start), at + (r.end - r.start), report, got, source.signal);
    } catch (error) {
      if (!error.resumable && !error.network) throw error;
      broke = error.network ? new Error("the server could not be reached") : error;
    }
    start += got.n;
    if (start === r.end) return null;
    fruitless = got.n > 0 ? 0 : fruitless + 1;
    if (fruitless >= 3) {
      throw new Error(
        `${source.label}: the download stopped at byte ${start} of ${r.end} and could not be resumed (${broke?.message ?? "the server sent nothing more"}) — check your connection, then load the model again`,
      );
    }
    await sleep(100 * fruitless, source.signal);
  }
}

/**
 * The whole file from a server that ignores Range. The header is checked as soon as it has arrived,
 * so a file without a tower, or too large, stops the download there. A dropped connection starts
 * the download over (twice at most): such a server cannot resume.
 */
async function fullDownload(source, response, onProgress) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readWholeFile(source, response, onProgress);
    } catch (error) {
      if (!error.resumable || attempt >= 2 || !source.whole) throw error;
      response = await source.whole();
    }
  }
}

async function readWholeFile(source, response, onProgress) {
  const length = Number(response.headers.get("content-length")) || 0;
  const report = progressReporter(onProgress, length, "weights (whole file: the server ignored Range)");
  report(0, true);
  const reader = response.body.getReader();
  const chunks = [];
  let got = 0;
  let checked = false;
  for (;;) {
    const chunk = await nextChunk(reader, source.signal);
    if (chunk.done) break;
    chunks.push(chunk.value);
    got += chunk.value.length;
    report(chunk.value.length);
    if (!checked && got >= 8) {
      try {
        checked = inFile(source.label, () => {
          const start = concat(chunks, Math.min(got, 8 + 100_000_000));
          const n = headerLength(start.subarray(0, 8));
          if (length && 8 + n > length) throw new Error(headerPastEnd(n, length));
          if (got < 8 + n) return false;
          checkHeader(start.subarray(8, 8 + n), length || null);
          return true;
        });
      } catch (error) {
        reader.cancel().catch(() => {});
        throw error;
      }
    }
  }
  if (length && got !== length) throw dropped(new Error(`${got} of ${length} bytes arrived`));
  const file = concat(chunks, got);
  const { buffer, prefix, count } = inFile(source.label, () => extractVision(file));
  return { weights: buffer, prefix, tensors: count, fetchedBytes: file.length, ranged: false };
}

/** The first `n` bytes of `chunks` as one array. */
function concat(chunks, n) {
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    if (at >= n) break;
    const part = c.subarray(0, n - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---- config files -------------------------------------------------------------------------------

function checkJson(text, label, advice) {
  try {
    JSON.parse(text);
  } catch (error) {
    throw new Error(`${label} is not valid JSON (${error.message}) — ${advice}`);
  }
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

// ---- entry point --------------------------------------------------------------------------------

/**
 * Loads a checkpoint from `source`: {kind: "url", spec, base} or {kind: "files", files: File[]}.
 * Returns {configText, preprocessorText, weights: Uint8Array, warnings: string[], toCache, ...facts for
 * the page}; pass it to storeCheckpoint once the model is built.
 */
export async function loadCheckpoint(source, { signal, onProgress }) {
  const started = performance.now();
  if (source.kind === "files") return loadFiles(source.files, { signal, onProgress }, started);
  const where = resolveModel(source.spec, source.base);
  const warnings = [];
  const { cached, toCache } = await lookUp(where.weights, warnings);
  if (cached) {
    onProgress({ phase: "cache", done: 0, total: 0 });
    return { id: where.id, ...cached, warnings, fromCache: true, fetchedBytes: 0, downloadMs: performance.now() - started };
  }
  const configUrl = `${where.folder}config.json`;
  const configText = await (await fetchOk(configUrl, { signal })).text();
  checkJson(configText, configUrl, "check that the address is a Hugging Face model folder holding config.json and model.safetensors");
  const preprocessorText = await textOrUndefined(`${where.folder}preprocessor_config.json`, signal);
  const got = await visionWeights(httpBytes(where.weights, signal), onProgress);
  return { id: where.id, configText, preprocessorText, ...got, warnings, toCache, fromCache: false, downloadMs: performance.now() - started };
}


async function loadFiles(files, { signal, onProgress }, started) {
  const find = (test) => files.find((f) => test(f.name.toLowerCase()));
  const config = find((n) => n === "config.json");
  const preprocessor = find((n) => n === "preprocessor_config.json");
  const weights = find((n) => n.endsWith(".safetensors"));
  if (!config || !weights) {
    const names = files.map((f) => f.name).join(", ") || "nothing";
    throw new Error(`a local model needs config.json and a .safetensors file (got ${names}) — select or drop both together, with preprocessor_config.json if there is one`);
  }
  const configText = await config.text();
  checkJson(configText, config.name, "pick the config.json that came with the model");
  const got = await visionWeights(fileBytes(weights, signal), onProgress);
  return {
    id: `local: ${weights.name}`,
    configText,
    preprocessorText: preprocessor ? await preprocessor.text() : undefined,
    ...got,
    warnings: [],
    fetchedBytes: 0,
    ranged: false,
    local: true,
    fromCache: false,
    downloadMs: performance.now() - started,
  };
}
