// The text panel's pure code in node: the score arithmetic the sliders use (www/scores.js) against
// transformers' logits for the tiny two-tower fixture, and finding the text tower in a header
// (www/safetensors.js) in each layout, with the presets file's parser (www/loader.js).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { applyTemplate, formatProbability, logit, parseLabels, scoreRows, sigmoid, softmax } from "../../www/scores.js";
import { findTextTower, headerLength, parseHeader, textTower, towerSize, extractTower, visionTower } from "../../www/safetensors.js";
import { readPresets } from "../../www/loader.js";
import { readTensors } from "./fixtures.mjs";

const FIXTURE = new URL("../fixtures/models/siglip-text/", import.meta.url);

function read(file) {
  const n = headerLength(file.subarray(0, 8));
  return { n, ...parseHeader(file.subarray(8, 8 + n)) };
}

test("scores.js gives transformers' logits and sigmoid from the fixture's cosines, t and b", () => {
  const { tensors } = readTensors(new URL("reference.safetensors", FIXTURE));
  const d = 32;
  const image = tensors.image_embeds;
  const cosines = [];
  for (let i = 0; i < tensors.text_embeds.length / d; i++) {
    cosines.push(tensors.text_embeds.slice(i * d, (i + 1) * d).reduce((s, v, k) => s + v * image[k], 0));
  }
  // The fixture sets logit_scale = 2.3 and logit_bias = -4.0 (tools/make_text_fixtures.py).
  const rows = scoreRows(cosines, 2.3, -4.0);
  const reference = tensors.logits_per_image;
  assert.equal(rows.logits.length, reference.length);
  rows.logits.forEach((l, i) => assert.ok(Math.abs(l - reference[i]) <= 1e-5, `logit ${i}: ${l} vs ${reference[i]}`));
  rows.probabilities.forEach((p, i) => assert.ok(Math.abs(p - 1 / (1 + Math.exp(-reference[i]))) <= 1e-6, `probability ${i}`));
  assert.ok(Math.abs(rows.softmax.reduce((a, b) => a + b, 0) - 1) <= 1e-12, "softmax sums to 1");
  assert.ok(Math.abs(rows.sigmoidSum - rows.probabilities.reduce((a, b) => a + b, 0)) <= 1e-12);
  // b shifts every logit alike: the softmax does not move, the sigmoids do.
  const shifted = scoreRows(cosines, 2.3, 3.0);
  shifted.softmax.forEach((p, i) => assert.ok(Math.abs(p - rows.softmax[i]) <= 1e-12, "softmax ignores b"));
  assert.ok(shifted.probabilities.every((p, i) => p > rows.probabilities[i]), "a larger b raises every sigmoid");
});

test("sigmoid and softmax stay finite at extreme logits", () => {
  assert.equal(sigmoid(0), 0.5);
  assert.equal(sigmoid(1000), 1);
  assert.equal(sigmoid(-1000), 0);
  assert.ok(sigmoid(-745) >= 0 && Number.isFinite(sigmoid(-745)));
  assert.deepEqual(softmax([]), []);
  const s = softmax([1000, 1000, -1000]);
  assert.ok(Math.abs(s[0] - 0.5) < 1e-12 && s[2] === 0);
  assert.ok(Math.abs(logit(0.5, Math.log(10), -2) - 3) < 1e-12);
});

test("templates, label lists and probabilities for people", () => {
  assert.equal(applyTemplate("This is a photo of {}.", "a cat"), "This is a photo of a cat.");
  assert.equal(applyTemplate("{}", "a cat"), "a cat");
  assert.equal(applyTemplate("{} and {}", "x"), "x and x");
  assert.equal(applyTemplate("a photo of ", "a cat"), "a photo of a cat");
  assert.deepEqual(parseLabels(" a cat \n\n a dog\r\na cat\n"), ["a cat", "a dog"]);
  assert.equal(formatProbability(0.8241), "82.4 %");
  assert.equal(formatProbability(0.0031), "0.31 %");
  assert.equal(formatProbability(3.2e-7), "3.2e-5 %");
  assert.equal(formatProbability(0), "0 %");
});

test("the text tower is found beside the vision tower, with logit_scale and logit_bias", () => {
  const file = new Uint8Array(readFileSync(new URL("model.safetensors", FIXTURE)));
  const { tensors } = read(file);
  const tower = textTower(tensors);
  assert.equal(tower.prefix, "text_model.");
  assert.ok(tower.tensors.some((t) => t.name === "logit_scale") && tower.tensors.some((t) => t.name === "logit_bias"));
  assert.ok(tower.tensors.every((t) => t.name.startsWith("text_model.") || t.name.startsWith("logit_")));
  assert.equal(tower.tensors.length, tensors.filter((t) => !t.name.startsWith("vision_model.")).length);
  const size = towerSize(tower.tensors);
  assert.equal(size.bytes, tower.tensors.reduce((s, t) => s + t.end - t.begin, 0));
  assert.ok(size.parameters > 0);
  // Rebuilt alone, byte for byte; the vision tower's tensors stay out.
  const { buffer, count } = extractTower(file, textTower);
  const rebuilt = read(buffer);
  assert.equal(rebuilt.tensors.length, count);
  for (const t of rebuilt.tensors) {
    const o = tensors.find((x) => x.name === t.name);
    assert.deepEqual(buffer.subarray(8 + rebuilt.n + t.begin, 8 + rebuilt.n + t.end), file.subarray(8 + read(file).n + o.begin, 8 + read(file).n + o.end), t.name);
  }
  assert.throws(() => visionTower(rebuilt.tensors), /no SigLIP vision tower/);
});

test("a checkpoint without a text tower says so and names what it holds", () => {
  for (const name of ["vision-bf16", "paligemma-f16"]) {
    const file = new Uint8Array(readFileSync(new URL(`../fixtures/models/${name}/model.safetensors`, import.meta.url)));
    const { tensors } = read(file);
    assert.equal(findTextTower(tensors), null, name);
    assert.throws(() => textTower(tensors), /no text tower .*vision tower only.*SiglipModel checkpoint with both towers/, name);
  }
  // A prefixed layout ("model.text_model.") keeps its logit parameters at "model.".
  const fake = (names) => names.map((name, i) => ({ name, dtype: "F32", shape: [1], begin: i * 4, end: i * 4 + 4 }));
  const tower = findTextTower(fake(["model.logit_scale", "model.logit_bias", "model.text_model.embeddings.token_embedding.weight", "model.vision_model.x"]));
  assert.deepEqual(tower.tensors.map((t) => t.name).sort(), ["model.logit_bias", "model.logit_scale", "model.text_model.embeddings.token_embedding.weight"]);
});

test("label presets: labels.json is read leniently", () => {
  const bytes = (v) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
  assert.equal(readPresets(undefined), null);
  assert.deepEqual(readPresets(bytes({ default: ["a", "b"], samples: { "x.png": ["c"], bad: [1] } })), { template: null, default: ["a", "b"], samples: { "x.png": ["c"] } });
  assert.equal(readPresets(bytes({ template: "a photo of {}", default: [] })).template, "a photo of {}");
  assert.equal(readPresets(bytes({ template: "no placeholder" })).template, null);
  const warnings = [];
  assert.equal(readPresets(bytes("{not json"), warnings), null);
  assert.match(warnings[0], /labels\.json is not valid JSON/);
});
