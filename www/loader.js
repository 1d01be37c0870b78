// Getting a checkpoint's bytes: config files, then only the vision tower of model.safetensors — and,
// when the text panel asks, only its text tower and the tokenizer's files — read with HTTP Range
// requests (or File.slice for local files; see net.js), with byte progress, cancel, resume after a
// dropped connection, and the Cache API (cache.js). Everything the header can tell (no tower, a
// damaged layout, a model too large for wasm memory) is refused before the weights are downloaded.
// Runs inside the worker, so nothing here blocks the page.

import {
  headerLength, parseHeader, visionTower, textTower, findTextTower, towerSize, mergeRanges, layoutFile, extractTower,
  checkLayout, headerPastEnd, peakWasmBytes, WASM_MEMORY_LIMIT,
} from "./safetensors.js";
import { formatBytes } from "./colormap.js";
import { fetchOk, dropped, nextChunk, streamInto, sleep, httpBytes, fileBytes } from "./net.js";
import { lookUp, lookUpText } from "./cache.js";

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
    return { id: text, folder, weights: `${folder}model.safetensors`, hub: true };
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

/** Picks the vision tower from a header's tensors, refusing one too large for wasm memory. */
function pickVision(tensors) {
  const tower = visionTower(tensors);
  checkMemory(tower.tensors);
  return tower;
}

/**
 * Everything the header can tell before any weight is downloaded: the tower `pick` finds (it throws
 * when there is none, or when it cannot fit), and a sound layout. Returns {tower, header}: `header`
 * ({n, tensors, metadata, size}) lets a second tower be read later without asking for it again.
 */
function checkHeader(headerBytes, fileSize, pick) {
  const { tensors, metadata } = parseHeader(headerBytes);
  const tower = pick(tensors);
  checkLayout(tensors, fileSize === null ? null : fileSize - 8 - headerBytes.length);
  return { tower, header: { n: headerBytes.length, tensors, metadata, size: fileSize } };
}

/** The size of the text tower a header holds, or null: the facts show it before it is fetched. */
function textSummary(tensors) {
  const text = findTextTower(tensors);
  return text && towerSize(text.tensors);
}

/** Reads the safetensors header (two Range requests), or {full} when the server ignores Range. */
async function readHeader(source, pick) {
  const { label } = source;
  const first = await source.range(0, 8);
  if (first.full) return { full: first.full };
  const first8 = new Uint8Array(await first.response.arrayBuffer());
  if (first8.length < 8) throw new Error(`${label} is only ${first8.length} bytes long — the file is truncated or empty; download it again`);
  const n = inFile(label, () => headerLength(first8));
  const size = first.size ?? null;
  if (size !== null && 8 + n > size) throw new Error(`${label}: ${headerPastEnd(n, size)}`);
  const second = await source.range(8, 8 + n);
  if (second.full) return { full: second.full };
  const headerBytes = new Uint8Array(await second.response.arrayBuffer());
  if (headerBytes.length !== n) throw new Error(`${label}: ${headerPastEnd(n, 8 + headerBytes.length)}`);
  return inFile(label, () => checkHeader(headerBytes, size, pick));
}

/**
 * Downloads one tower of a safetensors file as a new, smaller safetensors buffer: the tower `pick`
 * finds in the header (pickVision by default). `header` is one read before for this file, reused
 * instead of asking for it again. `phase` names the download in progress messages.
 * Returns {weights, prefix, tensors, fetchedBytes, ranged, header, text}.
 */
async function towerWeights(source, onProgress, { pick = pickVision, header = null, phase = "weights" } = {}) {
  const { signal } = source;
  let found;
  if (header) {
    found = { tower: inFile(source.label, () => pick(header.tensors)), header };
  } else {
    found = await readHeader(source, pick);
    if (found.full) return fullDownload(source, found.full, onProgress, pick);
  }
  const { tower } = found;
  const { n, metadata } = found.header;
  const ranges = mergeRanges(tower.tensors, 8 + n);
  const { buffer, dataStart } = layoutFile(tower.tensors, metadata);
  const total = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
  const report = progressReporter(onProgress, total, phase);
  report(0, true);
  let at = dataStart;
  for (const r of ranges) {
    const full = await rangeInto(source, r, buffer, at, report);
    // The server stopped honouring Range midway: take the whole file instead.
    if (full) return fullDownload(source, full, onProgress, pick);
    at += r.end - r.start;
  }
  signal?.throwIfAborted();
  return {
    weights: buffer, prefix: tower.prefix, tensors: tower.tensors.length, fetchedBytes: total + (header ? 0 : 8 + n), ranged: true,
    header: found.header, text: textSummary(found.header.tensors),
  };
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
async function fullDownload(source, response, onProgress, pick) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readWholeFile(source, response, onProgress, pick);
    } catch (error) {
      if (!error.resumable || attempt >= 2 || !source.whole) throw error;
      response = await source.whole();
    }
  }
}

async function readWholeFile(source, response, onProgress, pick) {
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
          checkHeader(start.subarray(8, 8 + n), length || null, pick);
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
  const { buffer, prefix, count } = inFile(source.label, () => extractTower(file, pick));
  const n = headerLength(file.subarray(0, 8));
  const { tensors } = parseHeader(file.subarray(8, 8 + n));
  // No header to keep: a server that ignores Range would send the whole file for the other tower too.
  return { weights: buffer, prefix, tensors: count, fetchedBytes: file.length, ranged: false, header: null, text: textSummary(tensors) };
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
  const bytes = await bytesOrUndefined(url, signal);
  return bytes && new TextDecoder().decode(bytes);
}

/** A file's bytes, or undefined when the server does not have it (or cannot be reached). */
async function bytesOrUndefined(url, signal) {
  try {
    const response = await fetch(url, { signal });
    return response.ok ? new Uint8Array(await response.arrayBuffer()) : undefined;
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
  const got = await towerWeights(httpBytes(where.weights, signal), onProgress);
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
  const got = await towerWeights(fileBytes(weights, signal), onProgress);
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

// ---- the text tower -----------------------------------------------------------------------------

/** Files that hold a tokenizer: SigLIP's SentencePiece model, SigLIP 2's Gemma tokenizer. */
export const TOKENIZER_MODELS = ["spiece.model", "tokenizer.json"];
/** Files that configure it (optional). */
const TOKENIZER_CONFIGS = ["tokenizer_config.json", "special_tokens_map.json"];
/** Label presets a model folder may carry: {template?, default: [...], samples: {"name.png": [...]}}. */
export const PRESETS_FILE = "labels.json";

/** The tokenizer files to look for, most likely first (SigLIP 2 ships tokenizer.json). */
function tokenizerOrder(configText, tokenizerConfig) {
  const field = (text, key) => {
    try {
      return JSON.parse(text ?? "{}")?.[key];
    } catch {
      return undefined;
    }
  };
  const v2 = field(configText, "model_type") === "siglip2" || /Gemma/.test(String(field(tokenizerConfig, "tokenizer_class") ?? ""));
  return v2 ? [...TOKENIZER_MODELS].reverse() : TOKENIZER_MODELS;
}

function noTokenizer(where, local) {
  const advice = local
    ? "pick it together with config.json and model.safetensors (and tokenizer_config.json)"
    : "the folder must hold it beside config.json, as Google's SigLIP repositories do";
  return new Error(
    `${local ? "the files you picked hold" : `${where} holds`} no tokenizer file: scoring labels needs spiece.model (SigLIP) or tokenizer.json (SigLIP 2) — ${advice}; the vision views work without it`,
  );
}

/**
 * Loads the text tower of the checkpoint `source` (as given to loadCheckpoint) and the tokenizer's
 * files. The header is checked first (no text tower: an error saying so), then the tokenizer files
 * are fetched (none: an error naming the files needed), and only then the text tensors, by Range.
 * `configText` is the model's config.json; `header` the one the vision load read (or null);
 * `checkRoom(tensors)` throws when the tower cannot fit in wasm memory beside the vision tower.
 * Returns {weights, files: {name: Uint8Array}, tokenizer (its file's name), presets, fetchedBytes,
 * fromCache, downloadMs, toCache, warnings}; pass it to storeText once the tower is built.
 */
export async function loadText(source, { configText, header = null, checkRoom = () => {}, signal, onProgress }) {
  const started = performance.now();
  const pick = (tensors) => {
    const tower = textTower(tensors);
    checkRoom(tower.tensors);
    return tower;
  };
  const local = source.kind === "files";
  const where = local ? null : resolveModel(source.spec, source.base);
  const warnings = [];
  const { cached, toCache } = local ? { cached: null, toCache: null } : await lookUpText(where.weights, warnings);
  if (cached) {
    onProgress({ phase: "cache", done: 0, total: 0 });
    return { ...cached, warnings, fromCache: true, fetchedBytes: 0, toCache: null, downloadMs: performance.now() - started };
  }
  const weightsFile = local ? source.files.find((f) => f.name.toLowerCase().endsWith(".safetensors")) : null;
  const bytes = local ? fileBytes(weightsFile, signal) : httpBytes(where.weights, signal);
  onProgress({ phase: "config", done: 0, total: 0 });
  let known = header;
  let fetchedBytes = 0;
  if (known) {
    inFile(bytes.label, () => pick(known.tensors));
  } else {
    const read = await readHeader(bytes, pick);
    if (read.full) read.full.body?.cancel().catch(() => {}); // no Range: towerWeights takes the whole file
    else (known = read.header), (fetchedBytes += local ? 0 : 8 + known.n);
  }
  const files = local ? await localFiles(source.files) : await remoteFiles(where, configText, signal);
  const tokenizer = TOKENIZER_MODELS.find((name) => files[name]);
  if (!tokenizer) throw noTokenizer(local ? null : where.hub ? where.id : where.folder, local);
  const got = await towerWeights(bytes, onProgress, { pick, header: known, phase: "text weights" });
  const presets = readPresets(files[PRESETS_FILE], warnings);
  delete files[PRESETS_FILE];
  if (!local) fetchedBytes += got.fetchedBytes + Object.values(files).reduce((sum, b) => sum + b.length, 0);
  return {
    weights: got.weights, files, tokenizer, presets, fetchedBytes, ranged: got.ranged, fromCache: false, local,
    toCache, warnings, downloadMs: performance.now() - started,
  };
}

/** The tokenizer's files (and label presets) from a folder on a server: those that exist. */
async function remoteFiles(where, configText, signal) {
  const files = {};
  for (const name of TOKENIZER_CONFIGS) {
    const got = await bytesOrUndefined(`${where.folder}${name}`, signal);
    if (got) files[name] = got;
  }
  const tokenizerConfig = files["tokenizer_config.json"] && new TextDecoder().decode(files["tokenizer_config.json"]);
  for (const name of tokenizerOrder(configText, tokenizerConfig)) {
    const got = await bytesOrUndefined(`${where.folder}${name}`, signal);
    if (got) {
      files[name] = got;
      break;
    }
  }
  // Hub repositories never carry presets: only a folder (such as a bundled demo) is asked.
  if (!where.hub) {
    const got = await bytesOrUndefined(`${where.folder}${PRESETS_FILE}`, signal);
    if (got) files[PRESETS_FILE] = got;
  }
  return files;
}

/** The tokenizer's files (and label presets) among the files the user picked. */
async function localFiles(picked) {
  const files = {};
  for (const name of [...TOKENIZER_CONFIGS, ...TOKENIZER_MODELS, PRESETS_FILE]) {
    const file = picked.find((f) => f.name.toLowerCase() === name);
    if (file) files[name] = new Uint8Array(await file.arrayBuffer());
  }
  return files;
}

/**
 * labels.json: {"template": "…{}…" (optional), "default": [labels], "samples": {"file.png": [labels]}}.
 * Anything else is ignored with a warning (presets are a convenience, never a reason to fail).
 */
export function readPresets(bytes, warnings = []) {
  if (!bytes) return null;
  const strings = (v) => Array.isArray(v) && v.every((x) => typeof x === "string");
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes));
    const samples = Object.fromEntries(Object.entries(json?.samples ?? {}).filter(([, v]) => strings(v)));
    return {
      template: typeof json?.template === "string" && json.template.includes("{}") ? json.template : null,
      default: strings(json?.default) ? json.default : [],
      samples,
    };
  } catch (error) {
    warnings.push(`${PRESETS_FILE} is not valid JSON (${error.message}): its label presets are not used.`);
    return null;
  }
}
