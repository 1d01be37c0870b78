// The only owner of the wasm module, the model and the trace. Messages in:
//   {id, type: "load", source} {id, type: "cancel"} {id, type: "run", rgba, width, height}
//   {id, type: "query", method, args} {id, type: "cache-list"} {id, type: "cache-clear"}
//   and the text panel's {id, type: "text-…"} messages (worker-text.js)
// Messages out: {id, type: "progress", ...} {id, type: "result", result} {id, type: "error", message, fatal}
// (fatal: the wasm module trapped and nothing loaded is usable any more).
// A failed load or run keeps the previous model and trace; a load started while another is in
// flight abandons the first (its download is aborted, it never replaces the model).

import { buildModel, chooseBuild, startWasm } from "./wasm.js";
import { loadCheckpoint, resolveModel } from "./loader.js";
import { storeCheckpoint, listCache, clearCache, forgetCached } from "./cache.js";
import { findNonFinite } from "./safetensors.js";
import { createText, QUERIES as TEXT_QUERIES } from "./worker-text.js";

// `worker.js?wasm=pkg-simd128` (from the page's `?wasm=`) forces a build; otherwise the fastest one.
const wasmReady = startWasm(chooseBuild(new URL(self.location.href).searchParams.get("wasm")));
let model = null;
let trace = null;
let download = null;
let memo = new Map();
let crashed = null; // set once the wasm module traps: its memory can no longer be trusted

/** Trace methods the page may call, and the model methods (which need no image). */
const TRACE_METHODS = new Set([
  "hiddenStates", "hiddenState", "lastHiddenState", "attentionRow", "attentionRows", "attentionFused",
  "headAttention", "headAttentionMean", "pooled", "patchNorms", "patchSimilarity", "patchPca", "rollout", "headStats",
  "imageEmbeds",
]);
const MODEL_METHODS = new Set(["positionSimilarity", "patchFilters"]);
/** Results worth keeping per trace: they walk every layer. */
const MEMO_METHODS = new Set(["rollout", "headStats", "patchFilters"]);

function modelInfo(m) {
  return {
    hiddenSize: m.hiddenSize, numLayers: m.numLayers, numHeads: m.numHeads, imageSize: m.imageSize,
    patchSize: m.patchSize, gridSize: m.gridSize, numPatches: m.numPatches, hasHead: m.hasHead,
    numParameters: m.numParameters, resample: m.resample, weightStorage: m.weightStorage,
  };
}

/** A warning naming the first tensor with NaN or infinite values, or null. */
function nonFiniteWarning(weights) {
  const bad = findNonFinite(weights);
  if (!bad) return null;
  const more = bad.tensors > 1 ? ` (and ${bad.tensors - 1} more tensor${bad.tensors > 2 ? "s" : ""})` : "";
  return (
    `Warning: tensor \`${bad.name}\` holds ${bad.count} NaN or infinite value${bad.count > 1 ? "s" : ""}${more} — ` +
    "the model loaded, but its maps will be blank or meaningless; the checkpoint is probably damaged, so download it again."
  );
}

const text = createText({ getModel: () => model, getTrace: () => trace, wasmReady, post: (message) => postMessage(message) });

const handlers = {
  ...text.handlers,

  async load({ id, source, storage }) {
    // A new load abandons the one in flight: its download is aborted and it never builds a model.
    download?.abort(new DOMException("superseded by another model", "AbortError"));
    const controller = new AbortController();
    download = controller;
    const { signal } = controller;
    let checkpoint;
    try {
      checkpoint = await loadCheckpoint(source, {
        signal,
        onProgress: (p) => signal.aborted || postMessage({ id, type: "progress", ...p }),
      });
      await wasmReady;
      signal.throwIfAborted();
    } catch (error) {
      if (error.name === "AbortError") throw new Error(signal.reason?.message === "superseded by another model" ? signal.reason.message : "download cancelled");
      throw error;
    } finally {
      if (download === controller) download = null;
    }
    const warnings = [...checkpoint.warnings];
    const nonFinite = nonFiniteWarning(checkpoint.weights);
    if (nonFinite) warnings.unshift(nonFinite);
    const started = performance.now();
    let next;
    try {
      next = buildModel((await wasmReady).wasm, checkpoint.configText, checkpoint.preprocessorText, checkpoint.weights, storage);
    } catch (error) {
      if (!checkpoint.fromCache || error instanceof WebAssembly.RuntimeError) throw error;
      // A damaged cached copy would fail the same way forever: drop it.
      await forgetCached(resolveModel(source.spec, source.base).weights);
      throw new Error(`${error.message.replace(/[.\s]+$/, "")} (in the browser's cached copy, now deleted — load the model again to download it afresh)`);
    }
    const loadMs = performance.now() - started;
    trace?.free();
    trace = null;
    model?.free();
    model = next;
    memo = new Map();
    text.modelChanged({ source, configText: checkpoint.configText, header: checkpoint.header ?? null, storage: model.weightStorage });
    const result = {
      ...modelInfo(model), id: checkpoint.id, weightBytes: checkpoint.weights.length, fetchedBytes: checkpoint.fetchedBytes,
      fromCache: checkpoint.fromCache, ranged: checkpoint.ranged ?? false, local: checkpoint.local ?? false, prefix: checkpoint.prefix ?? null,
      downloadMs: checkpoint.downloadMs, loadMs, warnings, build: (await wasmReady).build, threads: (await wasmReady).threads,
      memoryBytes: (await wasmReady).memory.buffer.byteLength, text: checkpoint.text ?? null,
    };
    // Cached only now that it loads. (The model is in place already: a load arriving meanwhile wins.)
    const cacheWarning = await storeCheckpoint(checkpoint);
    if (cacheWarning) warnings.push(cacheWarning);
    return result;
  },

  async cancel() {
    download?.abort();
    return true;
  },

  async run({ rgba, width, height }) {
    if (!model) throw new Error("no model is loaded yet");
    const next = model.run(new Uint8ClampedArray(rgba), width, height);
    trace?.free();
    trace = next;
    memo = new Map();
    text.traceChanged();
    const seen = trace.seen();
    return {
      result: {
        seen, numLayers: trace.numLayers, numHeads: trace.numHeads, numPatches: trace.numPatches,
        gridSize: trace.gridSize, hiddenSize: trace.hiddenSize, hasHead: trace.hasHead,
        preprocessMs: trace.preprocessMs, forwardMs: trace.forwardMs,
      },
      transfer: [seen.buffer],
    };
  },

  async query({ method, args = [] }) {
    if (TEXT_QUERIES.has(method)) {
      const value = await text.query(method, args);
      return { result: value, transfer: [value.buffer] };
    }
    const onTrace = TRACE_METHODS.has(method);
    if (!onTrace && !MODEL_METHODS.has(method)) throw new Error(`unknown query ${method}`);
    const target = onTrace ? trace : model;
    if (!target) throw new Error(onTrace ? "no image has been run yet" : "no model is loaded yet");
    const key = `${method}(${args.map(String).join(",")})`;
    if (MEMO_METHODS.has(method) && memo.has(key)) {
      const copy = memo.get(key).slice();
      return { result: copy, transfer: [copy.buffer] };
    }
    const value = target[method](...args);
    if (MEMO_METHODS.has(method)) memo.set(key, value.slice());
    return { result: value, transfer: [value.buffer] };
  },

  async "cache-list"() {
    return listCache();
  },

  async "cache-clear"() {
    return clearCache();
  },
};

/**
 * A trap (a Rust panic, or memory exhausted) leaves the module unusable; say so instead of going on
 * with a model whose memory may be corrupt.
 */
function checkCrash(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  model = null;
  trace = null;
  text.crashed();
  crashed = new Error(`the WebAssembly module stopped (${error.message}), most likely out of memory — reload the page, then load a smaller model or image`);
  return crashed;
}

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown message ${type}`);
    if (crashed && !type.startsWith("cache")) throw crashed;
    const out = await handler(data).catch((error) => Promise.reject(checkCrash(error)));
    if (out && out.transfer) postMessage({ id, type: "result", result: out.result }, out.transfer);
    else postMessage({ id, type: "result", result: out });
  } catch (error) {
    postMessage({ id, type: "error", message: error?.message ?? String(error), fatal: Boolean(crashed) });
  }
};
