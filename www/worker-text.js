// The worker's text half: the text tower (fetched when the text panel is first used), label
// embeddings (one forward per new label, kept per text), scores against the current image, and the
// two text → patch maps. Occlusion re-runs the vision tower once per patch, in chunks (progress after
// each, a cancel gets in between); the occluded images' embeddings are kept per image and window, so
// every other label's map is one dot product per patch: switching labels runs no forward at all.
//
// Messages in (see worker.js): {type: "text-load"} {type: "text-scores", texts} {type: "text-value-path",
// text} {type: "text-occlusion", text, window} {type: "text-cancel"}; and the text queries of
// `window.siglipLens.request` (QUERIES below).

import { buildTextModel } from "./wasm.js";
import { loadText, resolveModel } from "./loader.js";
import { storeText, forgetText } from "./cache.js";
import { WASM_MEMORY_LIMIT, elementCount, headerLength } from "./safetensors.js";
import { formatBytes } from "./colormap.js";

/** Text methods for `window.siglipLens.request(method, ...args)`; each returns one typed array. */
export const QUERIES = new Set(["textEmbeds", "scoreTable", "valuePath", "logitDrops", "tokenize"]);

/** Milliseconds of work per occlusion chunk the run aims at: short enough for a cancel to get in. */
const CHUNK_MS = 250;
const MAX_CHUNK = 16;
/** A chunk's attention maps (heads × patches² floats per image and layer) stay under this. */
const CHUNK_ATTENTION_BYTES = 64 * 2 ** 20;

/** Lets a message waiting in the queue (a cancel) run before the next chunk. */
const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * The text side of the worker. `getModel()` and `getTrace()` give worker.js's current vision model and
 * trace; `wasmReady` its started module; `post` is postMessage.
 */
export function createText({ getModel, getTrace, wasmReady, post }) {
  let origin = null; // {source, configText, header, storage} of the vision model now loaded
  let text = null; // the TextModel, once loaded
  let facts = null;
  let loading = null; // the load in flight: {promise, controller}
  let embeds = new Map(); // scored text -> Float32Array(d)
  let image = null; // {trace, embed}: the current trace's image embedding
  let occluded = null; // {trace, model, windows: Map(window -> {embeds, done, ms})}
  let run = null; // the occlusion run in flight: {cancelled: null | reason}
  let forwards = 0; // occluded images computed since the worker started (the tests count them)

  function forget() {
    loading?.controller.abort(new DOMException("another model was loaded", "AbortError"));
    loading = null;
    text?.free();
    text = null;
    facts = null;
    embeds = new Map();
    image = null;
    occluded = null;
    if (run) run.cancelled = "another model was loaded";
  }

  /** Checks, from the header, that the text tower fits in wasm memory beside what is there. */
  async function roomCheck() {
    const { memory } = await wasmReady;
    const perElement = origin.storage === "f16" ? 2 : 4;
    return (tensors) => {
      let largest = 0;
      let elements = 0;
      for (const t of tensors) {
        largest = Math.max(largest, t.end - t.begin);
        elements += elementCount(t.shape);
      }
      const need = elements * perElement + largest + 32 * 2 ** 20;
      const used = memory.buffer.byteLength;
      if (used + need > WASM_MEMORY_LIMIT) {
        throw new Error(
          `the text tower would need about ${formatBytes(need)} of WebAssembly memory beside the ${formatBytes(used)} the vision tower and image use, ` +
            `more than the ${formatBytes(WASM_MEMORY_LIMIT)} a page can use — load the model with “Weights in memory: f16”, which halves both towers, or pick a smaller model`,
        );
      }
    };
  }

  async function load(id, controller) {
    const { signal } = controller;
    const from = origin;
    let got;
    try {
      got = await loadText(from.source, {
        configText: from.configText,
        header: from.header,
        checkRoom: await roomCheck(),
        signal,
        onProgress: (p) => signal.aborted || post({ id, type: "progress", ...p }),
      });
    } catch (error) {
      if (error.name === "AbortError") throw new Error(signal.reason?.message ?? "the text download was cancelled");
      throw error;
    }
    if (origin !== from) throw new Error("another model was loaded meanwhile");
    const { wasm, memory } = await wasmReady;
    const started = performance.now();
    let built;
    try {
      built = buildTextModel(wasm, from.configText, got.weights, got.files, from.storage);
    } catch (error) {
      if (!got.fromCache || error instanceof WebAssembly.RuntimeError) throw error;
      await forgetText(resolveModel(from.source.spec, from.source.base).weights);
      throw new Error(`${error.message.replace(/[.\s]+$/, "")} (in the browser's cached copy, now deleted — score again to download it afresh)`);
    }
    const loadMs = performance.now() - started;
    const vision = getModel();
    if (origin !== from || !vision) {
      built.free();
      throw new Error("another model was loaded meanwhile");
    }
    if (built.embedSize !== vision.hiddenSize) {
      const sizes = `its text embeddings have ${built.embedSize} numbers and its image embeddings ${vision.hiddenSize}`;
      built.free();
      throw new Error(`this checkpoint's two towers do not belong together: ${sizes}, so they cannot be compared — the vision views work without it`);
    }
    text = built;
    const warnings = [...got.warnings];
    const cacheWarning = await storeText(got);
    if (cacheWarning) warnings.push(cacheWarning);
    facts = {
      numLayers: text.numLayers, numHeads: text.numHeads, hiddenSize: text.hiddenSize, embedSize: text.embedSize,
      vocabSize: text.vocabSize, maxLength: text.maxLength, numParameters: text.numParameters, weightStorage: text.weightStorage,
      hasScores: text.hasScores, logitScale: text.hasScores ? text.logitScale : null, logitBias: text.hasScores ? text.logitBias : null,
      weightBytes: got.weights.length - 8 - headerLength(got.weights.subarray(0, 8)), fetchedBytes: got.fetchedBytes, fromCache: got.fromCache, local: got.local ?? false,
      ranged: got.ranged ?? false, tokenizer: got.tokenizer, presets: got.presets ?? null, downloadMs: got.downloadMs, loadMs,
      memoryBytes: memory.buffer.byteLength, warnings,
    };
    return facts;
  }

  /** The text tower, loading it on first use (concurrent callers share one load). */
  async function ensure(id = null) {
    if (text) return text;
    if (!origin) throw new Error("no model is loaded yet");
    if (!loading) {
      const controller = new AbortController();
      const entry = { controller };
      entry.promise = load(id, controller).finally(() => {
        if (loading === entry) loading = null;
      });
      loading = entry;
    }
    await loading.promise;
    if (!text) throw new Error("another model was loaded meanwhile");
    return text;
  }

  function needTrace() {
    const trace = getTrace();
    if (!trace) throw new Error("no image has been run yet");
    return trace;
  }

  /** The L2-normalised embeddings of `texts` (T × d), running the text tower on the new ones only. */
  function embedAll(model, texts) {
    const fresh = [...new Set(texts.filter((t) => !embeds.has(t)))];
    if (fresh.length) {
      const out = model.embed(fresh);
      const d = model.embedSize;
      fresh.forEach((t, i) => embeds.set(t, out.slice(i * d, (i + 1) * d)));
    }
    const d = model.embedSize;
    const all = new Float32Array(texts.length * d);
    texts.forEach((t, i) => all.set(embeds.get(t), i * d));
    return { all, fresh: fresh.length };
  }

  function imageEmbed(trace) {
    if (image?.trace !== trace) image = { trace, embed: trace.imageEmbeds() };
    return image.embed;
  }

  function occlusionEntry(trace, window) {
    const model = getModel();
    if (occluded?.trace !== trace || occluded?.model !== model) occluded = { trace, model, windows: new Map() };
    if (!occluded.windows.has(window)) {
      occluded.windows.set(window, { embeds: new Float32Array(trace.numPatches * text.embedSize), done: 0, ms: 0 });
    }
    return occluded.windows.get(window);
  }

  function checkWindow(window) {
    if (![1, 2, 3].includes(window)) throw new Error(`occlusion window ${window} must be 1, 2 or 3 patches`);
  }

  /** Runs the occlusion experiment for `window` until every patch's occluded embedding is known. */
  async function occlude(id, window) {
    const trace = needTrace();
    const model = getModel();
    const entry = occlusionEntry(trace, window);
    const n = trace.numPatches;
    const d = text.embedSize;
    const before = entry.done;
    if (run) run.cancelled = "superseded by a new occlusion run";
    const mine = { cancelled: null };
    run = mine;
    const largest = Math.max(1, Math.min(MAX_CHUNK, Math.floor(CHUNK_ATTENTION_BYTES / (trace.numHeads * n * n * 4))));
    try {
      let chunk = Math.min(2, largest);
      post({ id, type: "progress", phase: "occlusion", done: entry.done, total: n });
      while (entry.done < n) {
        const count = Math.min(chunk, n - entry.done);
        const started = performance.now();
        const part = model.occlusionEmbeds(trace, window, entry.done, count);
        const ms = performance.now() - started;
        entry.embeds.set(part, entry.done * d);
        entry.done += count;
        entry.ms += ms;
        forwards += count;
        chunk = Math.max(1, Math.min(largest, Math.round((count * CHUNK_MS) / Math.max(ms, 1))));
        post({ id, type: "progress", phase: "occlusion", done: entry.done, total: n });
        await macrotask();
        if (mine.cancelled) throw Object.assign(new Error(mine.cancelled), { cancelled: true, done: entry.done, total: n });
        if (getTrace() !== trace || getModel() !== model) throw new Error("the image or the model changed during the occlusion run");
      }
    } finally {
      if (run === mine) run = null;
    }
    return { entry, newForwards: entry.done - before };
  }

  const handlers = {
    async "text-load"({ id }) {
      await ensure(id);
      return facts;
    },

    async "text-scores"({ texts }) {
      const model = await ensure();
      const trace = needTrace();
      let started = performance.now();
      const { all, fresh } = embedAll(model, texts);
      const embedMs = performance.now() - started;
      started = performance.now();
      const table = model.scoreTable(imageEmbed(trace), all);
      const scoreMs = performance.now() - started;
      const tokenCounts = texts.map((t) => model.tokenCount(t));
      return { result: { table, tokenCounts, maxLength: model.maxLength, embedMs, scoreMs, embedded: fresh }, transfer: [table.buffer] };
    },

    async "text-value-path"({ text: label }) {
      const model = await ensure();
      const trace = needTrace();
      const started = performance.now();
      const map = getModel().valuePath(trace, embedAll(model, [label]).all);
      return { result: { map, ms: performance.now() - started }, transfer: [map.buffer] };
    },

    async "text-occlusion"({ id, text: label, window }) {
      checkWindow(window);
      const model = await ensure();
      const { entry, newForwards } = await occlude(id, window);
      const trace = needTrace();
      const drops = model.logitDrops(imageEmbed(trace), entry.embeds, embedAll(model, [label]).all);
      return { result: { drops, newForwards, forwards, ms: entry.ms, window }, transfer: [drops.buffer] };
    },

    async "text-cancel"() {
      if (run) run.cancelled = "cancelled";
      loading?.controller.abort(new DOMException("the text download was cancelled", "AbortError"));
      return true;
    },
  };

  /** One typed array for `window.siglipLens.request(method, ...args)`. */
  async function query(method, args) {
    const model = await ensure();
    switch (method) {
      case "textEmbeds":
        return embedAll(model, args[0]).all;
      case "scoreTable":
        return model.scoreTable(imageEmbed(needTrace()), embedAll(model, args[0]).all);
      case "valuePath":
        return getModel().valuePath(needTrace(), embedAll(model, [args[0]]).all);
      case "tokenize":
        return model.tokenize(args[0]);
      case "logitDrops": {
        const [label, window] = args;
        checkWindow(window);
        const trace = needTrace();
        const entry = occluded?.trace === trace ? occluded.windows.get(window) : null;
        if (!entry || entry.done < trace.numPatches) throw new Error(`no finished occlusion run with window ${window} for this image yet`);
        return model.logitDrops(imageEmbed(trace), entry.embeds, embedAll(model, [label]).all);
      }
      default:
        throw new Error(`unknown text query ${method}`);
    }
  }

  return {
    handlers,
    query,
    /** A new vision model replaced the old one: its text tower (if loaded) is dropped. */
    modelChanged(next) {
      forget();
      origin = next;
    },
    /** A new image was run: its embedding and occlusion runs start afresh. */
    traceChanged() {
      image = null;
      occluded = null;
      if (run) run.cancelled = "the image changed";
    },
    /** The wasm module trapped: nothing it holds may be used again. */
    crashed() {
      text = null;
      forget();
      origin = null;
    },
  };
}
