// Picks the WebAssembly build this browser runs fastest, starts it, and builds models by handing the
// checkpoint's tensors over one at a time (so the file's bytes and the f32 weights never sit in wasm
// memory together). Used by worker.js; the page tests import it too.
//
// Builds (made by ./build.sh build):
//   pkg          SIMD128 + relaxed-SIMD fused multiply-add, one thread   (default)
//   pkg-threads  the same + a rayon thread pool                          (cross-origin isolated pages)
//   pkg-simd128  plain SIMD128, one thread                               (engines without relaxed SIMD)
//
// The pool must be driven from a worker (as worker.js does): a caller on the page's main thread cannot
// block, and measured no faster with 2 threads than with 1.
import { checkLayout, headerLength, parseHeader, textTower, visionTower } from "./safetensors.js";

export const BUILDS = ["pkg", "pkg-threads", "pkg-simd128"];

/** A module whose one function uses f32x4.relaxed_madd: validates only where relaxed SIMD exists. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, ...new Array(16).fill(0), 253, 12, ...new Array(16).fill(0), 253, 12, ...new Array(16).fill(0),
  253, 133, 2, 11,
]);

export function hasRelaxedSimd() {
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Threads need SharedArrayBuffer, which needs cross-origin isolation (COOP + COEP headers). */
export function canUseThreads() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function" && (navigator.hardwareConcurrency ?? 1) > 1;
}

/** The build to use: `forced` if it is one of BUILDS (pkg-threads only where threads can run), else
 * the fastest this browser runs. */
export function chooseBuild(forced) {
  if (forced === "pkg-threads" && !canUseThreads()) return hasRelaxedSimd() ? "pkg" : "pkg-simd128";
  if (BUILDS.includes(forced)) return forced;
  if (!hasRelaxedSimd()) return "pkg-simd128";
  return canUseThreads() ? "pkg-threads" : "pkg";
}

/** Imports and instantiates a build; starts its thread pool when it has one. */
export async function startWasm(build) {
  const wasm = await import(`./${build}/siglip_lens.js`);
  const { memory } = await wasm.default();
  if (wasm.hasThreads()) await wasm.initThreadPool(navigator.hardwareConcurrency);
  return { wasm, memory, build, threads: wasm.hasThreads() ? navigator.hardwareConcurrency : 1 };
}

/**
 * Hands the tensors of one tower (`pick`: visionTower or textTower) of a safetensors buffer (a whole
 * file or the tower alone) to a wasm builder, one by one. Throws an Error naming what was wrong.
 */
function addTensors(builder, weights, pick) {
  let tensors, data;
  try {
    const n = headerLength(weights.subarray(0, 8));
    if (8 + n > weights.length) {
      throw new Error(`its header claims ${n} bytes, but the whole file is only ${weights.length} bytes — the file is truncated or not a safetensors file; download it again`);
    }
    ({ tensors } = parseHeader(weights.subarray(8, 8 + n)));
    checkLayout(tensors, weights.length - 8 - n);
    ({ tensors } = pick(tensors)); // the other tower of a whole file never enters wasm memory
    data = weights.subarray(8 + n);
  } catch (error) {
    throw new Error(`model.safetensors: ${error.message}`);
  }
  try {
    for (const t of tensors) builder.addTensor(t.name, t.dtype, new Uint32Array(t.shape), data.subarray(t.begin, t.end));
  } catch (error) {
    builder.free();
    throw error;
  }
}

/**
 * Builds a Model from config text, optional preprocessor text and safetensors bytes (a whole file or
 * its vision tensors), streaming the vision tower's tensors one by one. `storage` is "f32" or "f16"
 * (every matrix held in half precision as it arrives). Throws an Error naming what was wrong.
 */
export function buildModel(wasm, configText, preprocessorText, weights, storage = "f32") {
  const builder = new wasm.ModelBuilder(storage);
  addTensors(builder, weights, visionTower);
  return builder.build(configText, preprocessorText ?? undefined);
}

/**
 * Builds a TextModel from config text, safetensors bytes holding the text tower (and logit_scale,
 * logit_bias) and the tokenizer's files ({name: bytes}: spiece.model or tokenizer.json, with
 * tokenizer_config.json and special_tokens_map.json when the repository has them).
 */
export function buildTextModel(wasm, configText, weights, files, storage = "f32") {
  const builder = new wasm.TextModelBuilder(storage);
  addTensors(builder, weights, textTower);
  try {
    for (const [name, bytes] of Object.entries(files)) builder.addTokenizerFile(name, bytes);
  } catch (error) {
    builder.free();
    throw error;
  }
  return builder.build(configText);
}
