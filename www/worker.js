// The only owner of the wasm module, the model and the trace. Messages in:
//   {id, type: "load", source} {id, type: "cancel"} {id, type: "run", rgba, width, height}
//   {id, type: "query", method, args} {id, type: "cache-list"} {id, type: "cache-clear"}
// Messages out: {id, type: "progress", ...} {id, type: "result", result} {id, type: "error", message}.
// A failed load or run keeps the previous model and trace.

import init, { Model } from "./pkg/siglip_lens.js";
import { loadCheckpoint, listCache, clearCache } from "./loader.js";

const wasmReady = init();
let model = null;
let trace = null;
let download = null;
let memo = new Map();

/** Trace methods the page may call, and the model methods (which need no image). */
const TRACE_METHODS = new Set([
  "hiddenStates", "hiddenState", "lastHiddenState", "attentionRow", "attentionRows", "attentionFused",
  "headAttention", "headAttentionMean", "pooled", "patchNorms", "patchSimilarity", "patchPca", "rollout", "headStats",
]);
const MODEL_METHODS = new Set(["positionSimilarity", "patchFilters"]);
/** Results worth keeping per trace: they walk every layer. */
const MEMO_METHODS = new Set(["rollout", "headStats", "patchFilters"]);

function modelInfo(m) {
  return {
    hiddenSize: m.hiddenSize, numLayers: m.numLayers, numHeads: m.numHeads, imageSize: m.imageSize,
    patchSize: m.patchSize, gridSize: m.gridSize, numPatches: m.numPatches, hasHead: m.hasHead,
    numParameters: m.numParameters, resample: m.resample,
  };
}

const handlers = {
  async load({ id, source }) {
    download?.abort();
    const controller = new AbortController();
    download = controller;
    let checkpoint;
    try {
      checkpoint = await loadCheckpoint(source, {
        signal: controller.signal,
        onProgress: (p) => postMessage({ id, type: "progress", ...p }),
      });
    } catch (error) {
      if (error.name === "AbortError") throw new Error("download cancelled");
      throw error;
    } finally {
      if (download === controller) download = null;
    }
    await wasmReady;
    const started = performance.now();
    const next = new Model(checkpoint.configText, checkpoint.preprocessorText, checkpoint.weights);
    const loadMs = performance.now() - started;
    trace?.free();
    trace = null;
    model?.free();
    model = next;
    memo = new Map();
    return {
      ...modelInfo(model), id: checkpoint.id, weightBytes: checkpoint.weights.length, fetchedBytes: checkpoint.fetchedBytes,
      fromCache: checkpoint.fromCache, ranged: checkpoint.ranged ?? false, prefix: checkpoint.prefix ?? null,
      downloadMs: checkpoint.downloadMs, loadMs,
    };
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

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown message ${type}`);
    const out = await handler(data);
    if (out && out.transfer) postMessage({ id, type: "result", result: out.result }, out.transfer);
    else postMessage({ id, type: "result", result: out });
  } catch (error) {
    postMessage({ id, type: "error", message: error?.message ?? String(error) });
  }
};
