// Every view against numpy: the demo checkpoint on tests/fixtures/images/large.png, driven through the
// real page; the numbers the worker hands over and the pixels each canvas shows are compared with what
// `tools/make_fixtures.py --only views` computed in float64 from transformers' own trace
// (tests/fixtures/demo-views.safetensors), and the page's colour tables with matplotlib's. A bug on
// the shared path — wasm's analysis, the worker's memo, a colour map, the drawing — shows here, where
// page.test.mjs (canvas = the same worker's values through the same colour map) cannot see it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer } from "./server.mjs";
import { openBrowser, pageHelpers } from "./helpers.mjs";
import { parseSafetensors } from "./fixtures.mjs";
import { assertAbs, assertRel, maxAbsDiff } from "./compare.mjs";
import { COLORMAPS } from "../../www/colormap.js";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
// Value tolerances: those of tests/views/mod.rs (the wasm figures are printed there).
const ABS = 1e-5;
const NORMS_REL = 1e-5;
const PCA_RGB_ABS = 1e-4;
const PCA_EXPLAINED_ABS = 1e-5;
const DISTANCE_REL = 1e-5;
const ENTROPY_ABS = 1e-5;
/**
 * The page's tables are 6th-degree polynomial fits of matplotlib's (www/colormap.js): measured
 * 4 levels off for viridis and 5 for magma at worst (entries 212 and 18), so 5.
 */
const TABLE_LEVELS = 5;

let server, browser, page, h, pageErrors, info;

before(async () => {
  server = await startServer();
  server.files.set("/test-images/large.png", readFileSync(FIXTURES + "images/large.png"));
  ({ browser, page, pageErrors } = await openBrowser());
  h = pageHelpers(page);
  await page.goto(`${server.url}?model=models/demo/&image=/test-images/large.png`);
  await h.waitPhase("done", 60_000);
  info = await h.info();
  assert.deepEqual([info.numLayers, info.numHeads, info.numPatches], [4, 4, 196], "the demo tower the fixture describes");
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// ---- the fixture --------------------------------------------------------------------------------

const FILE = readFileSync(FIXTURES + "demo-views.safetensors");
const { header, data } = parseSafetensors(FILE);
const PATCHES = JSON.parse(header.__metadata__.patches);

/** Tensor `name` at `index` along its leading dimensions, as a typed array. */
function want(name, ...index) {
  const { dtype, shape, data_offsets: [a, b] } = header[name];
  const Type = { F32: Float32Array, U8: Uint8Array }[dtype];
  assert.ok(Type, `${name}: ${dtype}`);
  const all = new Type(data.buffer.slice(data.byteOffset + a, data.byteOffset + b));
  let offset = 0;
  let size = all.length;
  index.forEach((i, axis) => {
    assert.ok(i < shape[axis], `${name}${JSON.stringify(index)} is outside ${JSON.stringify(shape)}`);
    size /= shape[axis];
    offset += i * size;
  });
  return all.subarray(offset, offset + size);
}

// ---- the canvas ---------------------------------------------------------------------------------

function drawn(selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    return { width: c.width, height: c.height, data: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  }, selector);
}

/**
 * The 256-level index each of numpy's `values` gets on their own min..max (as www/colormap.js's
 * levelOf does), as the set of allowed indices: exactly one, or its two neighbours where the value sits
 * within `slack` levels of a rounding boundary (the page colours the wasm values, which may differ from
 * numpy's by the value tolerance: `slack` is that tolerance in levels, for the value, min and max).
 */
function levels(values, tolerance) {
  let [min, max] = [Infinity, -Infinity];
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  assert.ok(max > min, "a map with more than one value");
  const slack = (255 * 4 * tolerance) / (max - min);
  return Array.from(values, (v) => {
    const t = ((v - min) / (max - min)) * 255;
    const below = Math.floor(t);
    if (Math.abs(t - below - 0.5) < slack) return [below, below + 1].filter((l) => l >= 0 && l <= 255);
    return [Math.min(255, Math.max(0, Math.round(t)))];
  });
}

/**
 * Asserts the canvas `selector` shows numpy's `values` through the page's table `cmap`: one pixel per
 * patch, each exactly the colour of its level (either neighbour at a boundary, see `levels`).
 */
async function assertDrawn(selector, values, tolerance, cmap = "viridis") {
  const canvas = await drawn(selector);
  assert.deepEqual([canvas.width, canvas.height], [14, 14], `${selector} is one pixel per patch`);
  assert.equal(canvas.data.length, values.length * 4, `${selector}: pixels for every value`);
  const lut = COLORMAPS[cmap];
  const allowed = levels(values, tolerance);
  const wrong = [];
  let ambiguous = 0;
  allowed.forEach((options, i) => {
    if (options.length > 1) ambiguous++;
    const pixel = canvas.data.slice(i * 4, i * 4 + 4);
    const fits = options.some((l) => pixel[0] === lut[l * 3] && pixel[1] === lut[l * 3 + 1] && pixel[2] === lut[l * 3 + 2] && pixel[3] === 255);
    if (!fits) wrong.push(`patch ${i}: drawn ${pixel}, want level ${options.join(" or ")} = ${options.map((l) => Array.from(lut.subarray(l * 3, l * 3 + 3)))}`);
  });
  assert.deepEqual(wrong.slice(0, 5), [], `${selector}: ${wrong.length} of ${values.length} pixels are not numpy's colours`);
  return ambiguous;
}

/** RGB in [0, 1] per patch as the PCA canvas draws it: round(v · 255) per channel. */
async function assertDrawnRgb(selector, rgb, tolerance) {
  const canvas = await drawn(selector);
  assert.equal(canvas.data.length, (rgb.length / 3) * 4, `${selector}: pixels for every patch`);
  const slack = 255 * tolerance;
  const wrong = [];
  for (let i = 0; i < rgb.length; i++) {
    const t = Math.min(1, Math.max(0, rgb[i])) * 255;
    const got = canvas.data[Math.floor(i / 3) * 4 + (i % 3)];
    const ok = Math.abs(t - Math.floor(t) - 0.5) < slack ? Math.abs(got - t) < 1 : got === Math.round(t);
    if (!ok) wrong.push(`value ${i}: drawn ${got}, want ${t.toFixed(3)}`);
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${selector}: ${wrong.length} of ${rgb.length} channel values differ`);
}

/** Sets the page's state and waits for the redraw. */
const set = (partial) => page.evaluate((p) => window.siglipLens.set(p), partial);

// ---- tests --------------------------------------------------------------------------------------

test("the page's colour tables are matplotlib's, within the polynomial fit's error", () => {
  for (const name of ["viridis", "magma"]) {
    const diff = maxAbsDiff(name, COLORMAPS[name], want(name));
    assert.ok(diff <= TABLE_LEVELS, `${name}: ${diff} levels from matplotlib's table`);
    console.log(`# ${name}: the page's table is at most ${diff} levels from matplotlib's`);
  }
});

test("patch vectors: norms, similarity and PCA are numpy's, drawn as such", async () => {
  await set({ view: "embeddings" });
  let ambiguous = 0;
  for (const layer of [0, 2, 4]) {
    const patch = PATCHES[1 + (layer % 3)];
    await set({ layer, patch, cmap: layer === 2 ? "magma" : "viridis" });
    const cmap = layer === 2 ? "magma" : "viridis";
    const norms = await h.request("patchNorms", layer);
    assertRel(`norms, layer ${layer}`, norms, want("norms", layer), NORMS_REL);
    const scale = Math.max(...want("norms", layer));
    ambiguous += await assertDrawn("[data-view=norm]", want("norms", layer), NORMS_REL * scale, cmap);
    const similarity = await h.request("patchSimilarity", layer, patch);
    const wantSimilarity = want("similarity", layer, PATCHES.indexOf(patch));
    assertAbs(`similarity to ${patch}, layer ${layer}`, similarity, wantSimilarity, ABS);
    ambiguous += await assertDrawn("[data-view=similarity]", wantSimilarity, ABS, cmap);
    const pca = await h.request("patchPca", layer);
    assertAbs(`PCA colours, layer ${layer}`, pca.slice(0, 196 * 3), want("pca_rgb", layer), PCA_RGB_ABS);
    assertAbs(`PCA explained variance, layer ${layer}`, pca.slice(196 * 3), want("pca_explained", layer), PCA_EXPLAINED_ABS);
    await assertDrawnRgb("[data-view=pca]", want("pca_rgb", layer), PCA_RGB_ABS);
    const shares = Array.from(want("pca_explained", layer), (v) => `${(v * 100).toFixed(1)}%`);
    assert.match(await page.textContent("#view-embeddings"), new RegExp(`R ${shares[0]} · G ${shares[1]} · B ${shares[2]}`));
  }
  console.log(`# embeddings: ${ambiguous} pixels at a level boundary`);
  await set({ cmap: "viridis" });
});

test("attention: one head, mean and max of heads, every head's tile", async () => {
  await set({ view: "attention" });
  for (const [block, q] of [[1, 0], [3, 3], [4, 1]]) {
    const patch = PATCHES[q];
    for (const head of [0, 2, "mean", "max"]) {
      await set({ block, head, patch });
      const numpy = typeof head === "number" ? want("attention", block - 1, head, q) : want(`fused.${head}`, block - 1, q);
      const ours = typeof head === "number" ? await h.request("attentionRow", block - 1, head, patch) : await h.request("attentionFused", block - 1, patch, head);
      assertAbs(`attention (${block}, ${head}, ${patch})`, ours, numpy, ABS);
      await assertDrawn("[data-view=attention]", numpy, ABS);
    }
    // The tiles share one colour scale: that of all heads' rows together.
    const rows = Array.from({ length: 4 }, (_, head) => Array.from(want("attention", block - 1, head, q))).flat();
    const allowed = levels(rows, ABS);
    for (let head = 0; head < 4; head++) {
      const tile = await drawn(`[data-view=attention-head][data-head="${head}"]`);
      const lut = COLORMAPS.viridis;
      const bad = allowed.slice(head * 196, (head + 1) * 196).filter((options, i) => !options.some((l) => [0, 1, 2].every((c) => tile.data[i * 4 + c] === lut[l * 3 + c]))).length;
      assert.equal(bad, 0, `tile of head ${head}, block ${block}, patch ${patch}: ${bad} pixels`);
    }
  }
  await set({ head: 0 });
});

test("rollout: every fusion from a patch and over all queries, and again after switching (no stale memo)", async () => {
  await set({ view: "rollout" });
  for (const round of [0, 1]) {
    for (const fusion of ["mean", "max", "min"]) {
      for (const q of [0, 2]) {
        await set({ fusion, patch: PATCHES[q] });
        const numpy = want(`rollout.${fusion}`, q);
        assertAbs(`rollout (${fusion}) from ${PATCHES[q]}, round ${round}`, await h.request("rollout", PATCHES[q], fusion), numpy, ABS);
        await assertDrawn("[data-view=rollout]", numpy, ABS);
        const mean = want(`rollout.${fusion}`, PATCHES.length);
        assertAbs(`rollout (${fusion}) over all queries, round ${round}`, await h.request("rollout", undefined, fusion), mean, ABS);
        await assertDrawn("[data-view=rollout-mean]", mean, ABS);
      }
    }
  }
});

test("pooling probe, head statistics and position similarity", async () => {
  await set({ view: "probe", probeHead: "mean" });
  assertAbs("probe mean", await h.request("headAttentionMean"), want("probe_mean"), ABS);
  await assertDrawn("[data-view=probe]", want("probe_mean"), ABS);
  for (const head of [0, 3]) {
    await set({ probeHead: head });
    assertAbs(`probe head ${head}`, await h.request("headAttention", head), want("probe", head), ABS);
    await assertDrawn("[data-view=probe]", want("probe", head), ABS);
  }

  await set({ view: "head-stats" });
  const stats = want("head_stats"); // (layers, heads, [distance, entropy])
  const points = await page.evaluate(() => document.querySelector("[data-view=head-stats]").points.map((p) => ({ ...p })));
  assert.equal(points.length, 16, "a dot per block and head");
  const at = (p) => (p.layer * 4 + p.head) * 2;
  assertRel("mean attention distance (dots)", points.map((p) => p.distance), points.map((p) => stats[at(p)]), DISTANCE_REL);
  assertAbs("entropy (dots)", points.map((p) => p.entropy), points.map((p) => stats[at(p) + 1]), ENTROPY_ABS);
  const wasm = await h.request("headStats");
  assertRel("mean attention distance", wasm.filter((_, i) => i % 2 === 0), stats.filter((_, i) => i % 2 === 0), DISTANCE_REL);
  assertAbs("entropy", wasm.filter((_, i) => i % 2 === 1), stats.filter((_, i) => i % 2 === 1), ENTROPY_ABS);

  await set({ view: "params" });
  for (const q of [0, 3]) {
    await set({ patch: PATCHES[q] });
    const numpy = want("position_similarity", q);
    assertAbs(`position similarity to ${PATCHES[q]}`, await h.request("positionSimilarity", PATCHES[q]), numpy, ABS);
    await assertDrawn("[data-view=position]", numpy, ABS);
  }
  assert.deepEqual(pageErrors, []);
});
