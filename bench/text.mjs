// The text panel's timings on a model folder, through the page itself (headless Chromium): the text
// tower's download and build, embedding the labels, the score table, and an occlusion run; the logits
// are checked against the folder's transformers reference. Prints one JSON object.
//
//   node bench/text.mjs --model tools/out/base224/ --image tests/fixtures/images/large.png [--wasm pkg] [--weights f16] [--occlusion 90]
//
// The folder holds config.json, model.safetensors, preprocessor_config.json, the tokenizer and
// reference-text.safetensors (or reference.safetensors) from tools/make_text_fixtures.py, whose
// `labels` metadata gives the labels. --occlusion N measures N seconds of an occlusion run (0: none;
// "full": the whole run).
import { existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { startServer } from "../tests/e2e/server.mjs";
import { openBrowser, pageHelpers } from "../tests/e2e/helpers.mjs";
import { readTensors } from "../tests/e2e/fixtures.mjs";

const args = Object.fromEntries(process.argv.slice(2).join(" ").split("--").filter(Boolean).map((a) => a.trim().split(/\s+/)));
const dir = (args.model ?? "tools/out/base224/").replace(/\/?$/, "/");
const image = args.image ?? "tests/fixtures/images/large.png";
const occlusion = args.occlusion ?? "full";

const server = await startServer();
for (const name of ["config.json", "model.safetensors", "preprocessor_config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
  if (!existsSync(dir + name)) continue;
  const fd = openSync(dir + name, "r"); // served from disk: the checkpoint may be larger than we want in memory twice
  server.files.set(`/m/${name}`, { size: statSync(dir + name).size, read: (a, b) => readBack(fd, a, b) });
}
function readBack(fd, a, b) {
  const buffer = Buffer.alloc(b - a);
  readSync(fd, buffer, 0, b - a, a);
  return buffer;
}
server.files.set("/m/image.png", readFileSync(image));
const reference = readTensors(existsSync(`${dir}reference-text.safetensors`) ? `${dir}reference-text.safetensors` : `${dir}reference.safetensors`);
const all = JSON.parse(reference.metadata.labels);
const labels = all.filter(Boolean);
const expected = reference.tensors.logits_per_image.filter((_, i) => all[i] !== "");

const { browser, page } = await openBrowser();
const h = pageHelpers(page);
const query = new URLSearchParams({ model: "m/", image: "m/image.png", ...(args.wasm && { wasm: args.wasm }), ...(args.weights && { weights: args.weights }) });
await page.goto(`${server.url}index.html?${query}`);
await h.waitPhase("done", 900_000);
const out = { build: (await h.info()).build, threads: (await h.info()).threads, timings: await page.evaluate(() => window.siglipLens.timings) };

await h.mark();
await page.fill("[data-control=labels]", labels.slice(0, -1).join("\n"));
await page.fill("[data-control=template]", "{}");
let started = Date.now();
await page.click("[data-control=score]");
await h.waitPhase("done", 900_000);
out.scoreClickMs = Date.now() - started;
out.firstScoring = await page.textContent(".text-facts");
await page.fill("[data-control=labels]", labels.join("\n"));
await page.waitForFunction((n) => document.querySelectorAll(".score-row").length === n, labels.length, { timeout: 900_000 });
await page.waitForFunction(() => document.documentElement.dataset.state === "done");
out.oneMoreLabel = await page.textContent(".text-facts");
const logits = await page.$$eval(".score-row", (rows) => rows.map((r) => Number(r.dataset.logit)));
out.worstLogitDifference = Math.max(...logits.map((l, i) => Math.abs(l - expected[i])));
out.largestLogit = Math.max(...expected.map(Math.abs));

if (occlusion !== "0") {
  if (await page.isEnabled("[data-control=occlude]")) await page.click("[data-control=occlude]");
  const done = () => page.$eval(".text-maps .progress span", (s) => parseInt(s.textContent) || 0);
  await page.waitForFunction(() => /^[1-9]/.test(document.querySelector(".text-maps .progress span").textContent), null, { timeout: 900_000 });
  const first = await done();
  started = Date.now();
  if (occlusion === "full") {
    await page.waitForFunction(() => /occluded images \(/.test(document.querySelector("[data-view=text-occlusion]").closest("figure").textContent), null, { timeout: 3_600_000 });
    out.occlusion = await page.$eval("[data-view=text-occlusion]", (c) => c.closest("figure").querySelector(".legend .note").textContent);
  } else {
    await page.waitForTimeout(Number(occlusion) * 1000);
    const images = (await done()) - first;
    out.occlusion = `${images} occluded images in ${occlusion} s: ${((Number(occlusion) * 1000) / images).toFixed(0)} ms each`;
    await page.click("[data-control=occlusion-cancel]");
  }
}
console.log(JSON.stringify(out, null, 1));
await browser.close();
await server.close();
