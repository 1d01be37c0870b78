// The page's safetensors code (www/safetensors.js) in node: finding the vision tower in each known
// layout, merging ranges, and rebuilding a valid file that holds only the tower.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { headerLength, parseHeader, visionTower, mergeRanges, extractVision } from "../../www/safetensors.js";
import { resolveModel } from "../../www/loader.js";

const DEMO = new Uint8Array(readFileSync(new URL("../../www/models/demo/model.safetensors", import.meta.url)));

function read(file) {
  const n = headerLength(file.subarray(0, 8));
  return { n, ...parseHeader(file.subarray(8, 8 + n)) };
}

/** A tiny safetensors file with the given tensor names, each 4 bytes holding its index. */
function fake(names) {
  const header = {};
  names.forEach((name, i) => (header[name] = { dtype: "F32", shape: [1], data_offsets: [i * 4, i * 4 + 4] }));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + names.length * 4);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  names.forEach((_, i) => new DataView(file.buffer).setFloat32(8 + json.length + i * 4, i, true));
  return file;
}

test("the demo checkpoint's vision tower is rebuilt byte for byte", () => {
  const original = read(DEMO);
  const { buffer, prefix, count } = extractVision(DEMO);
  assert.equal(prefix, "vision_model.");
  const rebuilt = read(buffer);
  assert.equal(rebuilt.n % 8, 0, "header padded to a multiple of 8");
  assert.equal(rebuilt.tensors.length, count);
  assert.ok(rebuilt.tensors.every((t) => t.name.startsWith("vision_model.")));
  assert.equal(count, original.tensors.filter((t) => t.name.startsWith("vision_model.")).length);
  const data = 8 + rebuilt.n;
  for (const t of rebuilt.tensors) {
    const o = original.tensors.find((x) => x.name === t.name);
    assert.deepEqual(t.shape, o.shape);
    assert.deepEqual(buffer.subarray(data + t.begin, data + t.end), DEMO.subarray(8 + original.n + o.begin, 8 + original.n + o.end), t.name);
  }
  assert.equal(buffer.length, data + rebuilt.tensors.at(-1).end, "no trailing bytes");
});

test("the tower is found in every known layout", () => {
  const cases = [
    [["logit_scale", "text_model.x", "vision_model.embeddings.patch_embedding.weight", "vision_model.head.probe"], "vision_model.", 2],
    [["embeddings.patch_embedding.weight", "encoder.layers.0.mlp.fc1.weight", "post_layernorm.weight"], "", 3],
    [["language_model.lm_head.weight", "vision_tower.vision_model.embeddings.patch_embedding.weight", "vision_tower.vision_model.post_layernorm.bias"], "vision_tower.vision_model.", 2],
    [["model.language_model.x", "model.vision_tower.vision_model.embeddings.patch_embedding.weight"], "model.vision_tower.vision_model.", 1],
  ];
  for (const [names, prefix, count] of cases) {
    const file = fake(names);
    const tower = visionTower(read(file).tensors);
    assert.equal(tower.prefix, prefix);
    assert.equal(tower.tensors.length, count);
    const { buffer } = extractVision(file);
    const kept = read(buffer);
    // Values travel with their names: tensor i held the float i.
    for (const t of kept.tensors) {
      const value = new DataView(buffer.buffer).getFloat32(8 + kept.n + t.begin, true);
      assert.equal(value, names.indexOf(t.name));
    }
  }
  assert.throws(() => visionTower(read(fake(["text_model.a"])).tensors), /no SigLIP vision tower/);
});

test("touching ranges merge, gaps split", () => {
  const t = (begin, end) => ({ begin, end });
  assert.deepEqual(mergeRanges([t(0, 4), t(4, 8), t(12, 16)], 100), [{ start: 100, end: 108 }, { start: 112, end: 116 }]);
});

test("model specs resolve to hub files or folder URLs", () => {
  const page = "http://127.0.0.1:8000/";
  assert.equal(resolveModel("google/siglip-base-patch16-224", page).weights, "https://huggingface.co/google/siglip-base-patch16-224/resolve/main/model.safetensors");
  assert.equal(resolveModel("models/demo/", page).folder, "http://127.0.0.1:8000/models/demo/");
  assert.equal(resolveModel("https://example.org/m", page).weights, "https://example.org/m/model.safetensors");
  assert.equal(resolveModel("https://example.org/m/weights.safetensors", page).folder, "https://example.org/m/");
});
