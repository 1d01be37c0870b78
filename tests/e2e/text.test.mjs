// The text panel (section 3) in headless Chromium, on the tiny two-tower fixture
// (tests/fixtures/models/siglip-text: a SiglipModel with spiece.model, and transformers' logits and
// maps for its labels against tests/fixtures/images/photo.png): the lazy text download counted at the
// server, rows and bars equal to the wasm values and to transformers', the sliders' arithmetic, both
// maps, occlusion progress / cancel / reuse, checkpoints that cannot score, presets, every wasm build.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, WWW } from "./server.mjs";
import { openBrowser, pageHelpers, SHOTS } from "./helpers.mjs";
import { parseSafetensors, readTensors, writeSafetensors } from "./fixtures.mjs";
import { scoreRows, softmax } from "../../www/scores.js";
import { assertAbs, maxAbs } from "./compare.mjs";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const TEXT = `${FIXTURES}models/siglip-text/`;
const REFERENCE = readTensors(`${TEXT}reference.safetensors`);
const ALL_LABELS = JSON.parse(REFERENCE.metadata.labels);
/** The reference's labels the page can take (an empty line is no label). */
const USED = ALL_LABELS.map((label, i) => [label, i]).filter(([label]) => label !== "");
const LABELS = USED.map(([label]) => label);
const N = 16; // the fixture's 4 × 4 patches

let server;
const opened = [];

before(async () => {
  server = await startServer();
  serveFolder("full", TEXT, ["config.json", "model.safetensors", "preprocessor_config.json", "spiece.model", "tokenizer_config.json"]);
  serveFolder("f16", `${FIXTURES}models/siglip-text-f16/`, ["config.json", "model.safetensors", "preprocessor_config.json"]);
  serveFolder("vision", `${FIXTURES}models/vision-bf16/`, ["config.json", "model.safetensors", "preprocessor_config.json"]);
  serveFolder("paligemma", `${FIXTURES}models/paligemma-f16/`, ["config.json", "model.safetensors", "preprocessor_config.json"]);
  server.files.set("/t/photo.png", readFileSync(`${FIXTURES}images/photo.png`));
  serveBigGrid();
});

after(async () => {
  for (const o of opened) await o.browser.close();
  await server?.close();
});

function serveFolder(name, dir, files) {
  for (const file of files) server.files.set(`/t/${name}/${file}`, readFileSync(dir + file));
}

/**
 * The fixture with a 160 × 160 input of 8-pixel patches (20 × 20 = 400 patches, a new position table):
 * its occlusion run takes long enough to watch and cancel. Random position values, no reference: the
 * map is checked against the wasm values only.
 */
function serveBigGrid() {
  const config = JSON.parse(readFileSync(`${TEXT}config.json`, "utf8"));
  config.vision_config.image_size = 160;
  const pre = JSON.parse(readFileSync(`${TEXT}preprocessor_config.json`, "utf8"));
  pre.size = { height: 160, width: 160 };
  const { header, data } = parseSafetensors(readFileSync(`${TEXT}model.safetensors`));
  const name = "vision_model.embeddings.position_embedding.weight";
  const positions = Buffer.alloc(400 * 32 * 4);
  for (let i = 0; i < 400 * 32; i++) positions.writeFloatLE(Math.sin(i * 0.37) * 0.05, i * 4);
  const parts = [];
  let at = 0;
  const out = {};
  for (const [key, t] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const bytes = key === name ? positions : data.subarray(...t.data_offsets);
    out[key] = { dtype: t.dtype, shape: key === name ? [400, 32] : t.shape, data_offsets: [at, at + bytes.length] };
    parts.push(bytes);
    at += bytes.length;
  }
  server.files.set("/t/big/config.json", Buffer.from(JSON.stringify(config)));
  server.files.set("/t/big/preprocessor_config.json", Buffer.from(JSON.stringify(pre)));
  server.files.set("/t/big/model.safetensors", writeSafetensors(out, Buffer.concat(parts)));
  for (const file of ["spiece.model", "tokenizer_config.json"]) server.files.set(`/t/big/${file}`, readFileSync(TEXT + file));
}

/** A fresh browser (empty cache) recording every data-state change with the number of score rows then. */
async function open() {
  const o = await openBrowser();
  opened.push(o);
  await o.context.addInitScript(() => {
    window.__phases = [];
    new MutationObserver(() => {
      const state = document.documentElement?.dataset.state;
      const last = window.__phases[window.__phases.length - 1];
      if (state && state !== last?.state) window.__phases.push({ state, rows: document.querySelectorAll(".score-row[data-label]").length });
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-state"] });
  });
  return { ...o, h: pageHelpers(o.page) };
}

function pageUrl({ model = "t/full/", image = "t/photo.png", labels = null, template = null, extra = "" } = {}) {
  let url = `${server.url}index.html?model=${model}&image=${image}`;
  if (labels) url += `&labels=${encodeURIComponent(labels.join("|"))}`;
  if (template !== null) url += `&template=${encodeURIComponent(template)}`;
  return url + extra;
}

/** The score rows as the page shows them. */
function rows(page) {
  return page.$$eval(".score-row", (list) =>
    list.map((r) => ({
      label: r.dataset.label,
      probability: Number(r.dataset.probability),
      softmax: Number(r.dataset.softmax),
      logit: Number(r.dataset.logit),
      cos: Number(r.dataset.cos),
      width: r.querySelector(".bar.sigmoid .fill").style.width,
      text: r.textContent,
    })),
  );
}

/** The header of the fixture's model.safetensors: the byte ranges of its text tower, file coordinates. */
function textRanges(path = `${TEXT}model.safetensors`) {
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString());
  const text = Object.entries(header).filter(([k]) => k.startsWith("text_model.") || k.startsWith("logit_"));
  return { n, ranges: text.map(([, t]) => [8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]]), bytes: text.reduce((s, [, t]) => s + t.data_offsets[1] - t.data_offsets[0], 0) };
}

const within = (a, b, tol) => Math.abs(a - b) <= tol; // one number: NaN fails `<=`

/** Waits until the occlusion figure shows a finished run (its data-forwards set) for `label`. */
async function waitOcclusion(page, label) {
  await page.waitForFunction(
    (l) => {
      const figure = document.querySelector("[data-view=text-occlusion]").closest("figure");
      return figure.dataset.forwards !== undefined && figure.dataset.forwards !== "" && figure.querySelector(".title").textContent.includes(l);
    },
    label,
    { timeout: 180_000 },
  );
  return Number(await page.$eval("[data-view=text-occlusion]", (c) => c.closest("figure").dataset.forwards));
}

// ---- tests ------------------------------------------------------------------------------------

test("the text tower is downloaded only when the panel is used: its tensors' byte ranges and the tokenizer file", async () => {
  const { page, h } = await open();
  await page.goto(pageUrl());
  await h.waitPhase("done");
  const weights = "/t/full/model.safetensors";
  const visionBytes = server.bytesSent.get(weights);
  const before = server.requests.length;
  assert.equal(server.bytesSent.get("/t/full/spiece.model"), undefined, "no tokenizer bytes before the panel is used");
  const { ranges, bytes: textBytes, n } = textRanges();
  assert.equal(visionBytes, 8 + n + (readFileSync(`${TEXT}model.safetensors`).length - 8 - n - textBytes), "the vision load fetched the header and the vision tensors only");
  assert.match(await page.textContent("#facts"), /Text tower.*fetched when you score labels/);
  assert.match(await page.textContent("[data-text-status]"), /Score downloads its text tower \(\d+(\.\d+)? kB, 0\.\d+ M parameters\)/);

  await h.mark();
  await page.click("[data-control=score]");
  await h.waitPhase("done");
  const fresh = server.requests.slice(before);
  const weightRequests = fresh.filter((r) => r.path === weights);
  assert.ok(weightRequests.length > 0, "the text tensors were requested");
  for (const r of weightRequests) {
    const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(r.range).map(Number);
    const covered = ranges.filter(([s, e]) => s >= a && e <= b + 1).reduce((sum, [s, e]) => sum + e - s, 0);
    assert.equal(covered, b + 1 - a, `${r.range} holds nothing but text tensors`);
  }
  assert.equal(server.bytesSent.get(weights) - visionBytes, textBytes, "exactly the text tower's bytes: the header was not asked for again");
  assert.equal(server.bytesSent.get("/t/full/spiece.model"), readFileSync(`${TEXT}spiece.model`).length, "spiece.model once");
  assert.ok(fresh.some((r) => r.path === "/t/full/tokenizer_config.json" && r.status === 200));
  assert.equal(fresh.filter((r) => r.path.endsWith("tokenizer.json")).length, 0, "no tokenizer.json asked for: spiece.model was there");
  assert.equal((await rows(page)).length, 5, "the default labels are scored");
  const facts = await page.textContent(".text-facts");
  assert.match(facts, /Text tower: 2 layers, 0\.\d+ M parameters, .* held in f32; downloaded in .*tokenizer spiece\.model, 16 tokens per label/);
  assert.match(await page.textContent("#facts"), /Text tower.*parameters.*load.*Scoring/);

  // A second visit: the text tower comes from the browser cache, nothing more is downloaded.
  const sent = server.bytesSent.get(weights);
  const tokenizerSent = server.bytesSent.get("/t/full/spiece.model");
  await page.goto(pageUrl({ labels: ["a photo of a cat"] }));
  await h.waitPhase("done");
  assert.equal(server.bytesSent.get(weights), sent, "no weight bytes on the second visit");
  assert.equal(server.bytesSent.get("/t/full/spiece.model"), tokenizerSent, "no tokenizer bytes on the second visit");
  assert.match(await page.textContent(".text-facts"), /from the browser cache/);
  await page.click("#cache summary");
  await page.waitForFunction(() => /text/.test(document.querySelector("#cache-list").textContent));

  // Another model picked by hand: its text tower waits for Score, nothing is fetched unasked.
  await h.mark();
  await page.fill("#model-spec", "t/f16/");
  await page.click("#load-model");
  await h.waitPhase("done");
  assert.equal(server.requests.filter((r) => r.path.startsWith("/t/f16/") && /tokenizer|spiece|labels/.test(r.path)).length, 0, "no tokenizer request");
  assert.equal(server.bytesSent.get("/t/f16/model.safetensors"), readFileSync(`${FIXTURES}models/siglip-text-f16/model.safetensors`).length - textRanges(`${FIXTURES}models/siglip-text-f16/model.safetensors`).bytes, "no text tensor");
  assert.ok(await page.isHidden(".text-results"), "the old scores are gone");
  assert.match(await page.textContent("[data-text-status]"), /Score downloads its text tower/);
});

test("?labels= scores after the image: done only then; rows, bars and numbers are the wasm values and transformers'", async () => {
  const { page, h, pageErrors } = await open();
  await page.goto(pageUrl({ labels: LABELS, template: "{}" }));
  await h.waitPhase("done");
  const phases = await page.evaluate(() => window.__phases);
  const firstDone = phases.find((p) => p.state === "done");
  assert.equal(firstDone.rows, LABELS.length, `data-state reached done with every row in place (${JSON.stringify(phases)})`);
  assert.ok(phases.some((p) => p.state === "loading-text") && phases.some((p) => p.state === "scoring"));
  const shown = await rows(page);
  assert.deepEqual(shown.map((r) => r.label), LABELS);
  const table = await h.request("scoreTable", LABELS);
  const T = LABELS.length;
  const logits = REFERENCE.tensors.logits_per_image;
  const scale = maxAbs("logits", logits);
  shown.forEach((row, k) => {
    const i = USED[k][1];
    assert.equal(row.cos, table[k], "cos is the wasm value");
    assert.equal(row.logit, table[T + k], "logit is the wasm value");
    assert.equal(row.probability, table[2 * T + k], "data-probability is the wasm value");
    assert.ok(within(row.logit, logits[i], 1e-4 * scale), `logit of ${row.label}: ${row.logit} vs transformers ${logits[i]}`);
    assert.ok(within(row.probability, 1 / (1 + Math.exp(-logits[i])), 1e-5), `probability of ${row.label}`);
    assert.ok(within(parseFloat(row.width), 100 * row.probability, 5e-4) && row.width.endsWith("%"), `the bar's width (${row.width}) is the probability`);
    assert.match(row.text, /−?\d\.\d{4} × 9\.97 − 4\.00 = −?\d+\.\d\d → σ = /, "the arithmetic is written out (exp(2.3) = 9.97, b = −4)");
  });
  const soft = softmax(shown.map((r) => r.logit));
  shown.forEach((row, k) => assert.ok(within(row.softmax, soft[k], 1e-12)));
  assert.ok(within(shown.reduce((s, r) => s + r.softmax, 0), 1, 1e-9), "the softmax column sums to 1");
  assert.match(await page.textContent(".score-sums"), /Σ sigmoid = \d\.\d{3}.*Σ softmax = 1\.000/);
  // The hash keeps the labels and the template.
  assert.match(decodeURIComponent(await page.evaluate(() => location.hash)), /labels=a\+photo\+of\+a\+cat\|A\+Photo\+of\+a\+DOG!/);
  // The ids the tokenizer gives are transformers'.
  const ids = REFERENCE.tensors.input_ids;
  for (const [label, i] of USED) assert.deepEqual(await h.request("tokenize", label), ids.slice(i * 16, (i + 1) * 16), `input_ids of ${label}`);
  await page.locator("section.panel.text").screenshot({ path: `${SHOTS}text-panel.png` });
  assert.deepEqual(pageErrors, []);
});

test("the t and b sliders move the probabilities by the formula; the softmax ignores b", async () => {
  const { page, h } = await open();
  await page.goto(pageUrl({ labels: LABELS, template: "{}" }));
  await h.waitPhase("done");
  const start = await rows(page);
  const cos = start.map((r) => r.cos);
  const setSlider = (control, value) =>
    page.$eval(`[data-control=${control}]`, (input, v) => {
      input.value = String(v);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }, value);
  await setSlider("t", 4);
  let moved = await rows(page);
  let expected = scoreRows(cos, 4, -4);
  moved.forEach((r, k) => {
    assert.ok(within(r.probability, expected.probabilities[k], 1e-12), "sigmoid(exp(t)·cos + b)");
    assert.ok(within(r.softmax, expected.softmax[k], 1e-12));
    assert.ok(within(parseFloat(r.width), 100 * r.probability, 5e-4), r.width);
  });
  assert.match(await page.textContent(".what-if"), /What if: t and b moved from the model's learned t = 2\.30, b = −4\.00/);
  const softBefore = moved.map((r) => r.softmax);
  await setSlider("b", 2);
  moved = await rows(page);
  expected = scoreRows(cos, 4, 2);
  moved.forEach((r, k) => {
    assert.ok(within(r.probability, expected.probabilities[k], 1e-12));
    assert.ok(r.probability > start[k].probability, "a larger b raises every probability");
    assert.ok(within(r.softmax, softBefore[k], 1e-12), "b does not move the softmax");
  });
  await page.click("[data-control=reset-scores]");
  assert.deepEqual((await rows(page)).map((r) => r.probability), start.map((r) => r.probability), "the model's values again: Rust's numbers");
});

test("both maps are the wasm values and transformers'; a second label reuses the occluded images", async () => {
  const { page, h } = await open();
  await page.goto(pageUrl({ labels: LABELS, template: "{}" }));
  await h.waitPhase("done");
  const vp = REFERENCE.tensors.value_path;
  // A run this short (16 forwards) starts by itself for the first label, with 3 × 3 windows.
  assert.equal(await page.inputValue("[data-control=occlusion-window]"), "3");
  assert.equal(await waitOcclusion(page, LABELS[0]), N, "the first label runs one forward per patch");
  for (const [label, i] of USED) {
    await page.selectOption("[data-control=map-label]", label);
    assert.equal(await waitOcclusion(page, label), 0, `“${label}” reuses the occluded images: no forward`);
    await page.waitForFunction((l) => document.querySelector("[data-view=text-value]").closest("figure").querySelector(".title").textContent.includes(l), label);
    const values = await h.request("valuePath", label);
    await h.assertMap("[data-view=text-value]", values);
    assertAbs(`value path of ${label} vs transformers`, values, vp.slice(i * N, (i + 1) * N), 1e-5);
    const drops = await h.request("logitDrops", label, 3);
    await h.assertMap("[data-view=text-occlusion]", drops);
    const ref = REFERENCE.tensors.occlusion_3.slice(i * N, (i + 1) * N);
    assertAbs(`occlusion (3 × 3) of ${label} vs transformers`, drops, ref, 1e-4 * maxAbs("occlusion_3", ref));
  }
  assert.match(await page.textContent(".text-maps"), /reused the 16 occluded images .* no new forward/);
  assert.match(await page.textContent(".text-maps"), /fast heuristic/);
  // 1 × 1 windows: a new run, then transformers' occlusion_1.
  const [label, i] = USED[1];
  await page.selectOption("[data-control=map-label]", label);
  await page.selectOption("[data-control=occlusion-window]", "1");
  if (await page.isEnabled("[data-control=occlude]")) await page.click("[data-control=occlude]"); // a short run starts by itself
  assert.equal(await waitOcclusion(page, label), N, "a new window, a new run");
  const drops = await h.request("logitDrops", label, 1);
  await h.assertMap("[data-view=text-occlusion]", drops);
  const ref = REFERENCE.tensors.occlusion_1.slice(i * N, (i + 1) * N);
  assertAbs("occlusion (1 × 1) vs transformers", drops, ref, 1e-4 * maxAbs("occlusion_1", ref));
  await page.locator("section.panel.text").screenshot({ path: `${SHOTS}text-maps.png` });
});

test("an occlusion run shows progress, can be cancelled (the page stays usable) and continues where it stopped", async () => {
  const { page, h } = await open();
  await page.goto(pageUrl({ model: "t/big/", labels: ["a photo of a cat", "two blue squares"], template: "{}" }));
  await h.waitPhase("done", 60_000);
  assert.equal((await h.info()).numPatches, 400);
  if (await page.isHidden(".text-maps .progress")) await page.click("[data-control=occlude]");
  await page.waitForFunction(() => /^[1-9]\d* \/ 400 occluded images$/.test(document.querySelector(".text-maps .progress span").textContent), null, { timeout: 60_000 });
  await page.click("[data-control=occlusion-cancel]");
  await page.waitForFunction(() => /Cancelled/.test(document.querySelector("[data-view=text-occlusion]").closest("figure").textContent));
  assert.ok(await page.isHidden(".text-maps .progress"), "the progress bar is gone");
  assert.equal(await h.alert(), "", "a cancel is not an error");
  await h.assertStillWorks({ image: "photo.png" });
  // Run again: the occluded images done before are kept.
  await page.click("[data-control=occlude]");
  const forwards = await waitOcclusion(page, "a photo of a cat");
  assert.ok(forwards > 0 && forwards < 400, `the second run computed only what was left (${forwards} of 400)`);
  await h.assertMap("[data-view=text-occlusion]", await h.request("logitDrops", "a photo of a cat", 3));
  await page.selectOption("[data-control=map-label]", "two blue squares");
  assert.equal(await waitOcclusion(page, "two blue squares"), 0, "another label: no forward");
  await h.assertMap("[data-view=text-occlusion]", await h.request("logitDrops", "two blue squares", 3));
});

test("checkpoints without a text tower or a tokenizer file explain why, and the vision views keep working", async () => {
  const { page, h } = await open();
  for (const model of ["t/vision/", "t/paligemma/"]) {
    await page.goto(pageUrl({ model }));
    await h.waitPhase("done");
    assert.match(await page.textContent("[data-text-status]"), /This checkpoint has no text tower/, `${model}: the panel says so before anything is asked`);
    assert.match(await page.textContent("#facts"), /Text tower\s*none in this checkpoint/);
    await page.goto(pageUrl({ model, labels: ["a cat"] }));
    const message = await h.waitError();
    assert.match(message, /^Could not score the labels: This checkpoint has no text tower .*SiglipModel checkpoint with both towers/);
    assert.equal(await page.getAttribute("#alert", "data-about"), "text");
    await h.assertStillWorks({ image: "photo.png" });
    assert.equal(server.requests.filter((r) => r.path.startsWith(`/${model}`) && /spiece|tokenizer/.test(r.path)).length, 0, "no tokenizer asked for");
  }
  // The untrained demo says why before anything is asked.
  await page.goto(`${server.url}index.html?model=models/demo/&image=t/photo.png`);
  await h.waitPhase("done");
  assert.match(await page.textContent("[data-text-status]"), /The untrained demo cannot score labels: it ships no tokenizer/);
  assert.ok(await page.isDisabled("[data-control=score]"));
  assert.equal(server.requests.filter((r) => r.path.startsWith("/models/demo/") && !/config\.json$|model\.safetensors$/.test(r.path)).length, 0, "nothing else asked of the demo's folder");
  // A two-tower checkpoint whose folder has no tokenizer: refused before the text weights are fetched.
  const before = server.bytesSent.get("/t/f16/model.safetensors") ?? 0;
  await page.goto(pageUrl({ model: "t/f16/", labels: ["a cat"] }));
  const message = await h.waitError();
  assert.match(message, /holds no tokenizer file: scoring labels needs spiece\.model \(SigLIP\) or tokenizer\.json \(SigLIP 2\)/);
  assert.match(await page.textContent("[data-text-status]"), /no tokenizer file/);
  const { bytes: textBytes, n } = textRanges(`${FIXTURES}models/siglip-text-f16/model.safetensors`);
  const size = readFileSync(`${FIXTURES}models/siglip-text-f16/model.safetensors`).length;
  assert.equal(server.bytesSent.get("/t/f16/model.safetensors") - before, size - textBytes, "header + vision tensors only, no text tensor");
  void n;
  await h.assertStillWorks({ image: "photo.png" });
});

test("local files: the tokenizer comes from the files picked, or its absence is explained", async () => {
  const { page, h } = await open();
  await page.goto(pageUrl({ model: "t/vision/" }));
  await h.waitPhase("done");
  const files = ["config.json", "model.safetensors", "preprocessor_config.json", "spiece.model", "tokenizer_config.json"];
  const pick = (names) => h.pick("#model-files", names.map((name) => ({ name, buffer: readFileSync(TEXT + name) })));
  await h.mark();
  await pick(files.slice(0, 3));
  await h.waitPhase("done");
  assert.match(await page.textContent("[data-text-status]"), /Score reads its text tower .* from the files you picked/);
  await h.mark();
  await page.click("[data-control=score]");
  const message = await h.waitError();
  assert.match(message, /the files you picked hold no tokenizer file: .*pick it together with config\.json and model\.safetensors/);
  await h.assertStillWorks({ image: "photo.png" });
  await h.mark();
  await pick(files);
  await h.waitPhase("done");
  await h.mark();
  await page.fill("[data-control=labels]", LABELS.join("\n"));
  await page.fill("[data-control=template]", "{}");
  await page.click("[data-control=score]");
  await h.waitPhase("done");
  const shown = await rows(page);
  const logits = REFERENCE.tensors.logits_per_image;
  shown.forEach((row, k) => assert.ok(within(row.logit, logits[USED[k][1]], 1e-4 * maxAbs("logits", logits)), row.label));
  assert.match(await page.textContent(".text-facts"), /read from local files/);
});

test("a model folder's labels.json fills labels and template for its sample scenes", async () => {
  serveFolder("presets", TEXT, ["config.json", "model.safetensors", "preprocessor_config.json", "spiece.model", "tokenizer_config.json"]);
  const presets = { default: ["a photo of a cat", "two blue squares"], samples: { "shapes.png": ["a red circle", "a green triangle", "two blue squares"] } };
  server.files.set("/t/presets/labels.json", Buffer.from(JSON.stringify(presets)));
  const { page, h } = await open();
  await page.goto(pageUrl({ model: "t/presets/" }));
  await h.waitPhase("done");
  await h.mark();
  await page.click("[data-control=score]");
  await h.waitPhase("done");
  assert.deepEqual((await rows(page)).map((r) => r.label), presets.default, "the default preset");
  assert.equal(await page.inputValue("[data-control=template]"), "{}", "presets are whole captions unless labels.json names a template");
  // The presets' scenes become sample buttons; picking one brings its labels.
  await h.mark();
  await page.click(".model-sample[title=shapes]");
  await h.waitPhase("done");
  await page.waitForFunction(() => document.querySelectorAll(".score-row").length === 3);
  assert.deepEqual((await rows(page)).map((r) => r.label), presets.samples["shapes.png"]);
  // Labels the user types win over presets.
  await page.fill("[data-control=labels]", "a house");
  await page.waitForFunction(() => [...document.querySelectorAll(".score-row")].map((r) => r.dataset.label).join() === "a house");
  await h.mark();
  await page.click('.sample[title="Landscape (drawn)"]');
  await h.waitPhase("done");
  assert.deepEqual((await rows(page)).map((r) => r.label), ["a house"]);
});

test("every wasm build and f16 weights give transformers' scores", async () => {
  const { page, h } = await open();
  const logits = REFERENCE.tensors.logits_per_image;
  for (const [extra, tolerance, storage] of [["&wasm=pkg", 1e-4, "f32"], ["&wasm=pkg-simd128", 1e-4, "f32"], ["&wasm=pkg-threads", 1e-4, "f32"], ["&weights=f16", 1e-2, "f16"]]) {
    await page.goto(pageUrl({ labels: LABELS, template: "{}", extra }));
    await h.waitPhase("done");
    const shown = await rows(page);
    assert.equal(shown.length, LABELS.length);
    shown.forEach((row, k) => {
      const ref = logits[USED[k][1]];
      assert.ok(within(row.logit, ref, tolerance * maxAbs("logits", logits)), `${extra}: logit of ${row.label} ${row.logit} vs ${ref}`);
    });
    assert.match(await page.textContent(".text-facts"), new RegExp(`held in ${storage}`));
  }
});

// The trained demo (www/models/shapes, made by tools/train_demo.py).
const SHAPES = `${WWW}models/shapes/`;
test("the trained shapes demo: badge and banner name it, its text tower loads at once, presets fill the labels, its probe looks at the shapes", async () => {
  const presets = JSON.parse(readFileSync(`${SHAPES}labels.json`, "utf8"));
  const { page, h } = await open();
  await page.goto(`${server.url}index.html?model=models/shapes/&image=samples/shapes-1.png`);
  await h.waitPhase("done", 60_000);
  const phases = await page.evaluate(() => window.__phases);
  assert.ok(phases.find((p) => p.state === "done").rows > 0, "scored before done, without a click");
  assert.deepEqual((await rows(page)).map((r) => r.label), presets.samples["shapes-1.png"]);
  assert.equal(await page.inputValue("[data-control=template]"), presets.template ?? "{}");
  assert.match(await page.textContent("#untrained-banner"), /trained .* not Google's SigLIP/);
  const badges = await page.$$eval(".untrained-badge", (list) => list.filter((b) => b.offsetParent !== null).map((b) => b.textContent));
  assert.ok(badges.length > 0 && badges.every((b) => b === "tiny model trained on generated shapes, not Google's SigLIP"), badges.join());
  for (const name of Object.keys(presets.samples)) assert.ok(await page.isVisible(`.model-sample[title="${name.replace(/\.\w+$/, "")}"]`), name);
  // What training bought: the pooling probe looks at the shapes, not the background. The objects'
  // patches are found from the picture itself (any pixel of the 32 × 32 cell off the background colour).
  const probe = await page.evaluate(async () => Array.from(await window.siglipLens.request("headAttentionMean")));
  const objects = await page.evaluate(async (grid) => {
    const bitmap = await createImageBitmap(await (await fetch("samples/shapes-1.png")).blob());
    const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
    context.drawImage(bitmap, 0, 0);
    const { data, width, height } = context.getImageData(0, 0, bitmap.width, bitmap.height);
    const cell = width / grid;
    const marked = new Array(grid * grid).fill(false);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) marked[Math.floor(y / cell) * grid + Math.floor(x / cell)] = true;
      }
    }
    return marked;
  }, 12);
  assert.equal(probe.length, objects.length, "one probe weight per patch of the 12 × 12 grid");
  assert.ok(probe.every(Number.isFinite), "finite probe weights");
  const onObjects = probe.reduce((sum, p, i) => sum + (objects[i] ? p : 0), 0);
  const area = objects.filter(Boolean).length / objects.length;
  console.log(`# shapes-1: probe mass on object patches ${onObjects.toFixed(3)} (those patches are ${(100 * area).toFixed(0)} % of the grid)`);
  assert.ok(onObjects >= 0.5 && onObjects >= 2 * area, `the probe looks at the shapes: ${onObjects.toFixed(3)} of its mass on ${(100 * area).toFixed(0)} % of the patches`);
  await h.mark();
  await page.click('.model-sample[title="shapes-3"]');
  await h.waitPhase("done");
  assert.deepEqual((await rows(page)).map((r) => r.label), presets.samples["shapes-3.png"]);
  await page.locator("section.panel.text").screenshot({ path: `${SHOTS}text-shapes.png` });
});
