// Runs bench/index.html in headless Chromium, once per thread count, and writes bench/out/results.{json,md}.
//
//   ./build.sh bench            (builds, makes the base-224 checkpoint and its ONNX export if missing)
//   node bench/run.mjs [--runs 10] [--threads 1,2] [--model /tools/out/base224/] [--weights f16]
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import os from "node:os";
import { fileURLToPath } from "node:url";
import handler from "serve-handler";
import { chromium } from "playwright-core";
import { HEADERS } from "../tools/serve.mjs";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = Object.fromEntries(process.argv.slice(2).join(" ").split("--").filter(Boolean).map((a) => a.trim().split(/\s+/)));
const runs = Number(args.runs ?? 10);
const threadCounts = (args.threads ?? `1,${os.cpus().length}`).split(",").map(Number);
const model = args.model ?? "/tools/out/base224/";
/**
 * Below this cosine between our last_hidden_state and onnxruntime-web's, the two engines did not compute
 * the same thing and the timings compare nothing: the run fails. (f32: 1.000000 to six places, README;
 * f16 storage moves hidden states by ≈ 5e-4 of their largest magnitude, a cosine 1 − O(1e-7).)
 */
const MIN_AGREEMENT = 0.9999;

const server = http.createServer((req, res) =>
  handler(req, res, { public: ROOT, cleanUrls: false, headers: [{ source: "**", headers: HEADERS }] }));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/bench/index.html`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const results = [];
try {
  for (const threads of threadCounts) {
    const page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && console.error("page:", m.text()));
    await page.goto(`${url}?threads=${threads}&runs=${runs}&model=${model}${"probe" in args ? "&probe" : ""}${args.build ? `&build=${args.build}` : ""}${args.only ? `&only=${args.only}` : ""}&warmup=${args.warmup ?? 2}${args.pool ? `&pool=${args.pool}` : ""}${args.weights ? `&weights=${args.weights}` : ""}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 20 * 60_000, polling: 1000 });
    const result = await page.evaluate(() => window.benchResult);
    if (result.error) throw new Error(result.error);
    if ("probe" in args) {
      console.log(result.probes);
      continue;
    }
    if (result.oursOnly) {
      console.log(`${model} (${result.weights} weights) on ${threads} thread(s): forward median ${result.ours.median.toFixed(0)} ms (${result.ours.min.toFixed(0)}–${result.ours.max.toFixed(0)}), ` +
        `${result.oursGflops.toFixed(1)} GFLOP/s, load ${result.ourLoadMs.toFixed(0)} ms, wasm memory ${(result.wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB`);
      continue;
    }
    if (!(result.agreement >= MIN_AGREEMENT)) {
      throw new Error(`${threads} thread(s): cosine(ours, onnxruntime-web) on last_hidden_state is ${result.agreement}, below ${MIN_AGREEMENT}: the outputs disagree`);
    }
    results.push(result);
    console.log(`${threads} thread(s), ours with ${result.weights} weights: ours ${result.ours.median.toFixed(0)} ms, onnxruntime-web ${result.onnxruntime.median.toFixed(0)} ms, ratio ${result.ratio.toFixed(2)}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}

if ("probe" in args || args.only) process.exit(0);
const browserVersion = results[0]?.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "?";
const cpu = os.cpus()[0]?.model ?? "?";
const wasmBytes = fs.statSync(path.join(ROOT, "www/pkg/siglip_lens_bg.wasm")).size;
const f = (x) => x.toFixed(0);
const lines = [
  `Base-224 shape (12 layers, 768 wide, 196 patches), random weights, ours holding them in ${results[0]?.weights ?? "?"}, onnxruntime-web in f32; ${cpu}, ${os.cpus().length} cores; headless Chromium (${browserVersion}); ${runs} timed runs after warm-up, interleaved; ${new Date().toISOString().slice(0, 10)}.`,
  "",
  "| threads | ours median (min–max) | onnxruntime-web 1.30 median (min–max) | ours / theirs | ours GFLOP/s | cosine |",
  "| --- | --- | --- | --- | --- | --- |",
  ...results.map((r) => `| ${r.threads} | ${f(r.ours.median)} ms (${f(r.ours.min)}–${f(r.ours.max)}) | ${f(r.onnxruntime.median)} ms (${f(r.onnxruntime.min)}–${f(r.onnxruntime.max)}) | ${r.ratio.toFixed(2)} | ${r.oursGflops.toFixed(1)} | ${r.agreement.toFixed(6)} |`),
  "",
  `Matmul probe (GFLOP/s, 1 thread): ${Object.entries(results[0]?.probes ?? {}).map(([k, v]) => `${k}: ${v.toFixed(1)}`).join(", ")}.`,
  `Load from bytes in memory: ours ${f(results[0]?.ourLoadMs ?? 0)} ms, onnxruntime-web ${f(results[0]?.ortLoadMs ?? 0)} ms. Peak wasm memory (ours): ${(Math.max(...results.map((r) => r.wasmMemoryBytes)) / 2 ** 20).toFixed(0)} MiB. .wasm: ${(wasmBytes / 2 ** 20).toFixed(2)} MiB.`,
];
fs.mkdirSync(path.join(ROOT, "bench/out"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "bench/out/results.json"), JSON.stringify(results, null, 1));
fs.writeFileSync(path.join(ROOT, "bench/out/results.md"), lines.join("\n") + "\n");
console.log("\n" + lines.join("\n"));
