// The benchmark page: our forward and onnxruntime-web's on the same weights and the same input, in
// the same page, interleaved; plus a matmul throughput probe. bench/run.mjs opens it once per thread
// count (?threads=N&runs=R&model=/tools/out/base224/) and collects window.benchResult.
import * as ort from "/bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

const params = new URLSearchParams(location.search);
const threads = Number(params.get("threads") ?? 1);
const runs = Number(params.get("runs") ?? 10);
const warmup = Number(params.get("warmup") ?? 2);
const base = params.get("model") ?? "/tools/out/base224/";
const weights = params.get("weights") ?? "f32"; // how ours holds the weights: f32 or f16
// One thread: the single-threaded build (what pages without cross-origin isolation get); more: the
// threaded build with a rayon pool of that size. Ours runs in a worker, as in the page.
const build = params.get("build") ?? (threads > 1 ? "pkg-threads" : "pkg");
const worker = new Worker("/bench/ours-worker.js", { type: "module" });
const ask = (message) => new Promise((resolve, reject) => {
  worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data.ok));
  worker.postMessage(message);
});
const log = (line) => (document.getElementById("log").textContent += line + "\n");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  if (params.has("probe")) {
    await ask({ type: "load", build, threads: Number(params.get("pool") ?? threads), base, weights });
    window.benchResult = (await ask({ type: "probe" }));
    log(JSON.stringify(window.benchResult, null, 1));
    return;
  }
  const { loadMs: ourLoadMs, info } = await ask({ type: "load", build, threads: Number(params.get("pool") ?? threads), base, weights });
  const size = info.imageSize;

  // A deterministic input in the model's range (normalised pixels in [-1, 1]).
  const pixels = new Float32Array(3 * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.001) * 0.9;

  if (params.get("only") === "ours") return oursOnly(info, pixels, ourLoadMs);

  ort.env.wasm.wasmPaths = "/bench/node_modules/onnxruntime-web/dist/";
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const onnx = await fetchBytes(base + "vision.onnx");
  let start = performance.now();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const ortLoadMs = performance.now() - start;
  const feeds = { pixel_values: new ort.Tensor("float32", pixels, [1, 3, size, size]) };

  const ours = (keep = false) => ask({ type: "run", pixels, keep });
  const theirs = async () => {
    const t0 = performance.now();
    const out = await session.run(feeds);
    return { ms: performance.now() - t0, out };
  };

  // Same work? Compare the outputs once.
  const a = await ours(true);
  const b = await theirs();
  const agreement = cosine(a.last, b.out.last_hidden_state.data);
  log(`cosine(ours, onnxruntime) on last_hidden_state = ${agreement.toFixed(7)}`);

  for (let i = 0; i < warmup; i++) { await ours(); await theirs(); }
  // Interleaved, each engine first on alternate rounds, and each run after a quiet pause: a thread
  // pool still spinning (onnxruntime's spins after each run) or a pending GC from the other engine's
  // run would otherwise be billed to this one.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  const oursMs = [], theirsMs = [];
  for (let i = 0; i < runs; i++) {
    for (const engine of i % 2 ? ["theirs", "ours"] : ["ours", "theirs"]) {
      await settle();
      if (engine === "ours") oursMs.push((await ours()).ms);
      else theirsMs.push((await theirs()).ms);
    }
    log(`run ${i}: ours ${oursMs.at(-1).toFixed(0)} ms, onnxruntime ${theirsMs.at(-1).toFixed(0)} ms`);
  }

  const { probes } = await ask({ type: "probe" });
  const flops = forwardFlops(info);
  window.benchResult = {
    threads, runs, agreement, weights,
    ours: summary(oursMs), onnxruntime: summary(theirsMs),
    ratio: median(oursMs) / median(theirsMs),
    oursGflops: flops / (median(oursMs) * 1e6), flops,
    probes, ourLoadMs, ortLoadMs,
    wasmMemoryBytes: (await ask({ type: "memory" })).bytes,
    userAgent: navigator.userAgent, crossOriginIsolated, build,
  };
  log(JSON.stringify(window.benchResult, null, 1));
}

/** Our forward alone (for towers with no ONNX export, e.g. so400m): load time, forward times, memory. */
async function oursOnly(info, pixels, ourLoadMs) {
  const times = [];
  for (let i = 0; i < warmup + runs; i++) {
    const { ms } = await ask({ type: "run", pixels });
    if (i >= warmup) times.push(ms);
    log(`run ${i}: ${ms.toFixed(0)} ms`);
  }
  const flops = forwardFlops(info);
  const bytes = (await ask({ type: "memory" })).bytes;
  window.benchResult = {
    threads, runs, oursOnly: true, ours: summary(times), oursGflops: flops / (median(times) * 1e6), flops, ourLoadMs,
    wasmMemoryBytes: bytes, numPatches: info.numPatches, numLayers: info.numLayers, weights,
    userAgent: navigator.userAgent, crossOriginIsolated, build,
  };
  log(JSON.stringify(window.benchResult, null, 1));
}

/** Multiply-adds ×2 of one forward: embeddings, L blocks (qkv, scores, context, out, MLP), head. */
function forwardFlops(m) {
  const n = m.numPatches, d = m.hiddenSize, L = m.numLayers;
  const inter = m.intermediateSize;
  const block = 4 * n * d * d + 2 * n * n * d + 2 * n * d * inter;
  const embed = n * d * 3 * m.patchSize * m.patchSize;
  const head = m.hasHead ? 2 * n * d * d + 2 * d * d + 2 * d * inter : 0;
  return 2 * (embed + L * block + head);
}

main().catch((error) => {
  window.benchResult = { error: String(error && error.stack || error) };
  log(String(error));
});
