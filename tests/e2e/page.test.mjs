// Page tests: drive www/ in headless Chromium like a person would, against the bundled demo
// checkpoint served locally (through the Range path). Run with `node --test tests/e2e/`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { startServer, WWW } from "./server.mjs";
import { colorize, valueRange, rgbToRgba } from "../../www/colormap.js";
import { assertAbs } from "./compare.mjs";

const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const WEIGHTS = "/models/demo/model.safetensors";
const WEIGHTS_SIZE = readFileSync(`${WWW}models/demo/model.safetensors`).length;
const LAUNCH = {
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
};

let server;
let browser;
let context;
let page;
const pageErrors = [];
const cspViolations = []; // securitypolicyviolation events and Chromium's CSP console messages, over the whole run
const weightResponses = []; // model.safetensors responses the page saw (worker fetches included when reported)

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await chromium.launch(LAUNCH);
  context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, acceptDownloads: true });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    // Every message the page sends its worker, by type ("load", "run", "query", …).
    window.__toWorker = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      window.__toWorker.push(message?.type);
      return post.call(this, message, ...rest);
    };
  });
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (/CSP violation|Content Security Policy/.test(m.text())) cspViolations.push(m.text());
  });
  page.on("response", (r) => {
    if (new URL(r.url()).pathname === WEIGHTS) weightResponses.push(r.status());
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

// ---- helpers ----------------------------------------------------------------------------------

const phase = () => page.evaluate(() => document.documentElement.dataset.state);

async function waitPhase(wanted, timeout = 60_000) {
  const list = [wanted].flat();
  await page.waitForFunction((states) => states.includes(document.documentElement.dataset.state) || document.documentElement.dataset.state === "error", list, { timeout });
  const got = await phase();
  if (!list.includes(got)) {
    const alert = await page.textContent("[role=alert]");
    assert.fail(`page reached "${got}" instead of ${list.join("/")}: ${alert}`);
  }
}

/** Waits for every queued redraw. */
const settle = () => page.evaluate(() => window.siglipLens.set({}));

/** RGBA bytes of the first canvas with data-view=`view` (and optional data-head). */
function pixels(selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    return { width: c.width, height: c.height, data: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  }, selector);
}

/** Values straight from the wasm API, through the page's documented scripting hook. */
function request(method, ...args) {
  return page.evaluate(async ([m, a]) => Array.from(await window.siglipLens.request(m, ...a)), [method, args]);
}

const state = () => page.evaluate(() => window.siglipLens.state);
const info = () => page.evaluate(() => window.siglipLens.info);

/** Asserts the canvas shows exactly `values` through the colour map on their own min/max. */
async function assertMap(selector, values, cmap = "viridis") {
  const drawn = await pixels(selector);
  const grid = Math.sqrt(values.length);
  assert.equal(drawn.width, grid, `${selector} is one pixel per patch`);
  const expected = Array.from(colorize(values, valueRange(values), cmap));
  assert.deepEqual(drawn.data, expected, `${selector} shows the wasm values`);
  return drawn.data;
}

/** Clicks the centre of patch `p` on the element `selector` that shows the whole seen image. */
async function clickPatch(selector, p, geometry) {
  const box = await page.locator(selector).first().boundingBox();
  const row = Math.floor(p / geometry.gridSize);
  const col = p % geometry.gridSize;
  const scale = box.width / geometry.imageSize;
  await page.mouse.click(box.x + (col + 0.5) * geometry.patchSize * scale, box.y + (row + 0.5) * geometry.patchSize * scale);
}

async function shot(view, name) {
  await page.evaluate((v) => window.siglipLens.set({ view: v }), view);
  await page.locator(`#view-${view}`).screenshot({ path: `${SHOTS}${name}.png` });
}

const weightRequests = () => server.requests.filter((r) => r.path === WEIGHTS);

// ---- tests (in order: they share one page) -----------------------------------------------------

test("loads the demo checkpoint from ?model= with Range requests, only the vision tower", async () => {
  await page.goto(`${server.url}?model=models/demo/`);
  await waitPhase("ready");
  const requests = weightRequests();
  assert.equal(requests[0].range, "bytes=0-7");
  assert.match(requests[1].range, /^bytes=8-\d+$/);
  assert.ok(requests.every((r) => r.status === 206), "every weight request was answered 206");
  const sent = server.bytesSent.get(WEIGHTS);
  assert.ok(sent < WEIGHTS_SIZE, `fetched ${sent} of ${WEIGHTS_SIZE} bytes: the text tower was skipped`);
  const facts = await page.textContent("#facts");
  assert.match(facts, /Range/);
  const i = await info();
  assert.deepEqual([i.numLayers, i.numHeads, i.gridSize, i.hiddenSize, i.hasHead], [4, 4, 14, 64, true]);
  assert.ok(await page.isVisible("#untrained-banner"), "the demo is labelled untrained");
  console.log(`# first load: ${requests.length} Range requests, ${sent} of ${WEIGHTS_SIZE} bytes; page saw ${weightResponses.length} weight responses`);
});

test("runs an image picked through the file input, and one dropped on the page", async () => {
  await page.setInputFiles("#image-file", `${WWW}samples/shapes.png`);
  await waitPhase("done");
  const seen = await pixels("[data-view=seen]");
  assert.deepEqual([seen.width, seen.height], [224, 224]);
  assert.ok(new Set(seen.data).size > 10, "the seen image is not blank");
  const before = await pixels("[data-view=norm]");

  const bytes = Array.from(readFileSync(`${WWW}samples/scene.png`));
  await page.evaluate(async (b) => {
    document.documentElement.dataset.state = "dropping";
    const file = new File([new Uint8Array(b)], "dropped-scene.png", { type: "image/png" });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, bytes);
  await waitPhase("done");
  assert.match(await page.textContent("#original-note"), /dropped-scene\.png: 320 × 240/);
  const after = await pixels("[data-view=norm]");
  assert.notDeepEqual(after.data, before.data, "a new image draws a new norm map");
});

test("clicking a patch, switching layer and head redraws exactly the wasm values", async () => {
  const g = await info();
  // Patch vectors: click a patch on the seen image, then move the layer slider.
  await clickPatch("[data-view=seen]", 31, g);
  await settle();
  assert.equal((await state()).patch, 31);
  assert.match(await page.textContent("#zoom-title"), /patch 31 — row 2, column 3/);
  await page.locator("[data-control=layer]").fill("2");
  await settle();
  assert.equal((await state()).layer, 2);
  await assertMap("[data-view=norm]", await request("patchNorms", 2));
  await assertMap("[data-view=similarity]", await request("patchSimilarity", 2, 31));
  const pca = await request("patchPca", 2);
  assert.deepEqual((await pixels("[data-view=pca]")).data, Array.from(rgbToRgba(pca.slice(0, 196 * 3), 196)));
  assert.match(await page.textContent("#view-embeddings"), /explained variance/);

  // Attention: the tab, a click on the map, the block and head selectors.
  await page.click("[data-tab=attention]");
  await settle();
  const first = await assertMap("[data-view=attention]", await request("attentionRow", 0, 0, 31));
  await clickPatch("[data-view=attention]", 100, g);
  await settle();
  assert.equal((await state()).patch, 100);
  const moved = await assertMap("[data-view=attention]", await request("attentionRow", 0, 0, 100));
  assert.notDeepEqual(moved, first, "a new query patch changes the drawn pixels");
  await page.selectOption("[data-control=block]", "3");
  await settle();
  const blockChanged = await assertMap("[data-view=attention]", await request("attentionRow", 2, 0, 100));
  assert.notDeepEqual(blockChanged, moved, "a new block changes the drawn pixels");
  await page.selectOption("[data-control=head]", "2");
  await settle();
  const headChanged = await assertMap("[data-view=attention]", await request("attentionRow", 2, 2, 100));
  assert.notDeepEqual(headChanged, blockChanged, "a new head changes the drawn pixels");
  // Small multiples: every head's tile, and clicking one selects it.
  const rows = await request("attentionRows", 2, 100);
  const range = valueRange(rows);
  for (let h = 0; h < 4; h++) {
    const tile = await pixels(`[data-view=attention-head][data-head="${h}"]`);
    assert.deepEqual(tile.data, Array.from(colorize(rows.slice(h * 196, (h + 1) * 196), range, "viridis")));
  }
  await page.locator("figure.small", { has: page.locator('[data-view=attention-head][data-head="1"]') }).click();
  await settle();
  assert.equal((await state()).head, 1);
  await page.selectOption("[data-control=head]", "max");
  await settle();
  await assertMap("[data-view=attention]", await request("attentionFused", 2, 100, "max"));
  await page.selectOption("#cmap", "magma");
  await settle();
  await assertMap("[data-view=attention]", await request("attentionFused", 2, 100, "max"), "magma");
  await page.selectOption("#cmap", "viridis");

  // Rollout from the patch and over all queries, with each fusion.
  await page.click("[data-tab=rollout]");
  await page.selectOption("[data-control=fusion]", "min");
  await settle();
  await assertMap("[data-view=rollout]", await request("rollout", 100, "min"));
  await assertMap("[data-view=rollout-mean]", await request("rollout", undefined, "min"));
  assert.match(await page.textContent("#view-rollout"), /no CLS token/);

  // Pooling probe: mean and one head.
  await page.click("[data-tab=probe]");
  await settle();
  await assertMap("[data-view=probe]", await request("headAttentionMean"));
  await page.selectOption("[data-control=probe-head]", "3");
  await settle();
  await assertMap("[data-view=probe]", await request("headAttention", 3));

  // Head statistics: clicking a dot selects its block and head.
  await page.click("[data-tab=head-stats]");
  await settle();
  const points = await page.evaluate(() => document.querySelector("[data-view=head-stats]").points.map((p) => ({ ...p })));
  assert.equal(points.length, 16);
  const stats = await request("headStats");
  const target = points.find((p) => p.layer === 1 && p.head === 3);
  assertAbs("the dot's distance", [target.distance], [stats[(1 * 4 + 3) * 2]], 1e-4);
  const box = await page.locator("[data-view=head-stats]").boundingBox();
  await page.mouse.click(box.x + target.x, box.y + target.y);
  await settle();
  const s = await state();
  assert.deepEqual([s.block, s.head], [2, 3]);

  // Learned parameters: position similarity follows a click; filters are drawn.
  await page.click("[data-tab=params]");
  await settle();
  await clickPatch("[data-view=position]", 15, g);
  await settle();
  await assertMap("[data-view=position]", await request("positionSimilarity", 15));
  const filters = await pixels("[data-view=filters]");
  assert.deepEqual([filters.width, filters.height], [8 * 17 + 1, 8 * 17 + 1]);

  // The hash reproduces the picture.
  const hash = await page.evaluate(() => location.hash);
  for (const part of ["view=params", "block=2", "head=3", "patch=15", "layer=2"]) assert.ok(hash.includes(part), `${part} in ${hash}`);
});

test("redraws without re-running the model or touching the network (timings printed)", async () => {
  // What must hold is counted: the worker gets queries only (no "run", no "load") and the server no
  // request. The times are printed, not bounded: a wall-clock bound fails on a busy machine, and one
  // loose enough not to (500 ms) would pass a redraw that re-ran the demo's whole forward.
  const sent = () => page.evaluate(() => window.__toWorker.slice());
  const before = await sent();
  const requests = server.requests.length;
  const times = await page.evaluate(async () => {
    const lens = window.siglipLens;
    const out = [];
    const views = ["attention", "embeddings", "rollout", "probe"];
    for (const view of views) {
      await lens.set({ view });
      for (let i = 0; i < 15; i++) {
        const change = [{ patch: (i * 37) % 196 }, { block: 1 + (i % 4), layer: i % 5 }, { head: i % 4 }][i % 3];
        const t = performance.now();
        await lens.set(change);
        out.push({ view, ms: performance.now() - t });
      }
    }
    return out;
  });
  const during = (await sent()).slice(before.length);
  assert.deepEqual([...new Set(during)], ["query"], "only queries went to the worker: the model did not run again");
  assert.deepEqual(server.requests.slice(requests), [], "no network during redraws");
  const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
  const p95 = sorted[Math.floor(sorted.length * 0.95)];
  const byView = Object.fromEntries(["attention", "embeddings", "rollout", "probe"].map((v) => {
    const ms = times.filter((t) => t.view === v).map((t) => t.ms).sort((a, b) => a - b);
    return [v, ms[Math.floor(ms.length * 0.95)].toFixed(1)];
  }));
  const forward = (await page.evaluate(() => window.siglipLens.timings)).forward;
  console.log(`# redraw (request + draw) over ${sorted.length} changes: median ${sorted[sorted.length >> 1].toFixed(1)} ms, p95 ${p95.toFixed(1)} ms; p95 by view ${JSON.stringify(byView)}; the forward took ${forward.toFixed(1)} ms`);
});

test("every view exports a PNG download, and screenshots of each view are saved", async () => {
  await page.evaluate(() => window.siglipLens.set({ view: "attention", patch: 97, block: 2, head: 1, layer: 4, fusion: "mean", probeHead: "mean" }));
  for (const [view, selector] of [["attention", "[data-view=attention]"], ["head-stats", "[data-view=head-stats]"], ["params", "[data-view=filters]"]]) {
    await page.evaluate((v) => window.siglipLens.set({ view: v }), view);
    const figure = page.locator("figure", { has: page.locator(selector) }).first();
    const [download] = await Promise.all([page.waitForEvent("download"), figure.locator("button.export").click()]);
    const path = `${SHOTS}export-${view}.png`;
    await download.saveAs(path);
    const bytes = readFileSync(path);
    assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${view} export is a PNG`);
    assert.match(download.suggestedFilename(), /^siglip-lens-.*\.png$/);
  }
  await page.screenshot({ path: `${SHOTS}page.png`, fullPage: true });
  for (const view of ["embeddings", "attention", "rollout", "probe", "head-stats", "params"]) await shot(view, `view-${view}`);
  await page.locator(".panel.input").screenshot({ path: `${SHOTS}input.png` });
});

test("a failed model load shows an alert and the previous model keeps working", async () => {
  await page.fill("#model-spec", "models/missing/");
  await page.click("#load-model");
  await waitPhase("error").catch(() => {});
  assert.equal(await phase(), "error");
  const alert = await page.textContent("[role=alert]");
  assert.match(alert, /Could not load the model: .*404.*previous model is still loaded/);
  await page.evaluate(() => window.siglipLens.set({ view: "attention", patch: 5, head: 0, block: 1 }));
  await assertMap("[data-view=attention]", await request("attentionRow", 0, 0, 5));
  // A broken image is refused the same way, keeping the previous one.
  await page.setInputFiles("#image-file", { name: "broken.png", mimeType: "image/png", buffer: Buffer.from("not a png") });
  await page.waitForFunction(() => /Could not read the image/.test(document.querySelector("[role=alert]").textContent));
  await assertMap("[data-view=attention]", await request("attentionRow", 0, 0, 5));
});

test("reloading uses the Cache API: zero weight bytes fetched the second time", async () => {
  const cached = await page.evaluate(async () => {
    const cache = await caches.open("siglip-lens-v1");
    return (await cache.keys()).map((r) => r.url);
  });
  assert.ok(cached.some((u) => u.includes("model.safetensors") && u.includes("siglip-lens=vision")), `cached: ${cached}`);
  server.bytesSent.delete(WEIGHTS);
  const requestsBefore = weightRequests().length;
  const seenBefore = weightResponses.length;
  await page.goto(`${server.url}?model=models/demo/&image=samples/checker.png`);
  await waitPhase("done");
  assert.equal(server.bytesSent.get(WEIGHTS) ?? 0, 0, "no bytes of model.safetensors were sent");
  assert.equal(weightRequests().length, requestsBefore, "model.safetensors was not requested");
  assert.equal(weightResponses.length, seenBefore, "the page saw no model.safetensors response");
  assert.match(await page.textContent("#facts"), /from the browser cache/);
  await page.click("#cache summary");
  await page.waitForFunction(() => /model\.safetensors/.test(document.querySelector("#cache-list").textContent));
});

test("progress and cancel while downloading, then the whole-file fallback when Range is ignored", async () => {
  await page.click("#cache-clear");
  await page.waitForFunction(() => /nothing cached/.test(document.querySelector("#cache-list").textContent));
  server.slow.add(WEIGHTS);
  await page.fill("#model-spec", "models/demo/");
  await page.click("#load-model");
  await page.waitForFunction(() => /weights: .* \/ .*s left/.test(document.querySelector("#progress-text").textContent));
  assert.ok(await page.isVisible("#progress"));
  await page.click("#cancel");
  await page.waitForFunction(() => /download cancelled/.test(document.querySelector("[role=alert]").textContent));
  assert.equal(await phase(), "error");
  await page.evaluate(() => window.siglipLens.set({ view: "attention", patch: 5, head: 0, block: 1 }));
  await assertMap("[data-view=attention]", await request("attentionRow", 0, 0, 5));
  server.slow.delete(WEIGHTS);

  server.ignoreRange.add(WEIGHTS);
  const from = server.requests.length;
  await page.click("#load-model");
  await waitPhase("done");
  const weights = server.requests.slice(from).filter((r) => r.path === WEIGHTS);
  assert.deepEqual(weights.map((r) => r.status), [200], "one full download");
  assert.doesNotMatch(await page.textContent("#facts"), /Range/);
  await page.evaluate(() => window.siglipLens.set({ view: "attention", patch: 7, head: 2, block: 4 }));
  await assertMap("[data-view=attention]", await request("attentionRow", 3, 2, 7));
  server.ignoreRange.delete(WEIGHTS);
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
  assert.deepEqual(cspViolations, [], "the Content-Security-Policy blocked nothing the page does");
});
