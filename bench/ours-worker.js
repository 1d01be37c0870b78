// Our side of the benchmark, in a worker as in the page (a thread pool cannot be driven from the
// main thread). Messages: {type: "load", build, threads, base, weights: "f32" | "f16"} → {loadMs, info}; {type: "run", pixels}
// → {ms, last?}; {type: "probe"} → {probes}; {type: "memory"} → {bytes}.
import { buildModel } from "/www/wasm.js";

let wasm, memory, model;

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const handlers = {
  async load({ build, threads, base, weights: storage }) {
    wasm = await import(`/www/${build}/siglip_lens.js`);
    memory = (await wasm.default()).memory;
    if (wasm.hasThreads()) await wasm.initThreadPool(threads);
    const [config, preprocessor, weights] = await Promise.all([
      fetch(base + "config.json").then((r) => r.text()),
      fetch(base + "preprocessor_config.json").then((r) => r.text()),
      fetchBytes(base + "model.safetensors"),
    ]);
    const start = performance.now();
    model = buildModel(wasm, config, preprocessor, weights, storage); // as the page loads: streamed, vision tower only
    const loadMs = performance.now() - start;
    const info = Object.fromEntries(["imageSize", "numPatches", "hiddenSize", "numLayers", "intermediateSize", "patchSize", "hasHead"].map((k) => [k, model[k]]));
    return { loadMs, info };
  },
  run({ pixels, keep }) {
    const start = performance.now();
    const trace = model.runPixels(pixels);
    const ms = performance.now() - start;
    const last = keep ? trace.lastHiddenState() : null;
    trace.free();
    return { ms, last };
  },
  probe() {
    const probes = {};
    for (const [m, k, n] of [[512, 512, 512], [196, 768, 3072], [196, 3072, 768], [196, 768, 768]]) {
      for (const engine of ["ours", "candle"]) probes[`${engine} ${m}x${k}x${n}`] = wasm.matmulProbe(m, k, n, 7, engine);
    }
    return { probes };
  },
  memory() {
    return { bytes: memory.buffer.byteLength };
  },
};

onmessage = async ({ data }) => {
  try {
    postMessage({ ok: await handlers[data.type](data) });
  } catch (error) {
    postMessage({ error: String(error?.stack ?? error) });
  }
};
