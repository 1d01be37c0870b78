// Every WebAssembly build the page can pick (relaxed SIMD, threads, plain SIMD128) computes what
// transformers computes, driven through the real page on tests/fixtures/images/large.png: the demo
// checkpoint (against tests/fixtures/demo-reference), and a real-width tower — 768 wide, MLP 3072,
// 196 patches, one layer, f16 file (tests/fixtures/models/realwidth-f16) — whose products are as deep
// and as wide as google/siglip-base's, so the parallel GEMM of pkg-threads really splits its work.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { startServer } from "./server.mjs";
import { openBrowser, pageHelpers, SHOTS } from "./helpers.mjs";
import { parseSafetensors } from "./fixtures.mjs";
import { assertAbs, assertRel } from "./compare.mjs";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const REALWIDTH = `${FIXTURES}models/realwidth-f16/`;
let server, browser, page, h;

before(async () => {
  server = await startServer();
  server.files.set("/test-images/large.png", readFileSync(FIXTURES + "images/large.png"));
  for (const name of readdirSync(REALWIDTH)) {
    if (name !== "reference.safetensors") server.files.set(`/realwidth/${name}`, readFileSync(REALWIDTH + name));
  }
  ({ browser, page } = await openBrowser());
  h = pageHelpers(page);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A tensor of a reference file as a Float32Array. */
function reference(name, file = "demo-reference.safetensors") {
  const { header, data } = parseSafetensors(readFileSync(FIXTURES + file));
  assert.ok(header[name], `${file} has no ${name}`);
  const { data_offsets: [a, b], dtype } = header[name];
  assert.equal(dtype, "F32");
  return new Float32Array(data.buffer.slice(data.byteOffset + a, data.byteOffset + b));
}

/** Row `query` of head `head` in a (1, heads, n, n) attention tensor. */
const row = (attention, n, head, query) => attention.subarray((head * n + query) * n, (head * n + query + 1) * n);

for (const [build, expectThreads] of [["pkg", false], ["pkg-threads", true], ["pkg-simd128", false]]) {
  test(`the ${build} build matches transformers on the demo checkpoint`, async () => {
    await page.goto(`${server.url}?wasm=${build}&model=models/demo/&image=/test-images/large.png`);
    await h.waitPhase("done", 60_000);
    const info = await page.evaluate(() => window.siglipLens.info);
    assert.equal(info.build, build);
    assert.equal(info.threads > 1, expectThreads, `threads: ${info.threads}`);
    const rel = assertRel("last_hidden_state", await h.request("lastHiddenState"), reference("last_hidden_state"), 1e-4);
    assertRel("hidden_states.2", await h.request("hiddenStates", 2), reference("hidden_states.2"), 1e-4);
    const n = info.numPatches;
    const attention = reference("attentions.3"); // (1, heads, n, n)
    for (const [head, query] of [[0, 0], [3, 97], [2, 195]]) {
      assertAbs(`attention row (3, ${head}, ${query})`, await h.request("attentionRow", 3, head, query), row(attention, n, head, query), 1e-5);
    }
    const probe = reference("head_attention"); // (1, heads, n)
    for (let head = 0; head < info.numHeads; head++) {
      assertAbs(`probe head ${head}`, await h.request("headAttention", head), probe.subarray(head * n, (head + 1) * n), 1e-5);
    }
    console.log(`# ${build}: last_hidden_state rel diff ${rel.toExponential(2)}, ${info.threads} thread(s)`);
  });

  test(`the ${build} build matches transformers on a real-width tower (768 wide, MLP 3072)`, async () => {
    const file = "models/realwidth-f16/reference.safetensors";
    await page.goto(`${server.url}?wasm=${build}&model=/realwidth/&image=/test-images/large.png`);
    await h.waitPhase("done", 120_000);
    const info = await page.evaluate(() => window.siglipLens.info);
    assert.equal(info.build, build);
    assert.equal(info.threads > 1, expectThreads, `threads: ${info.threads}`);
    assert.deepEqual([info.hiddenSize, info.numLayers, info.numHeads, info.numPatches, info.hasHead], [768, 1, 12, 196, false]);
    const rel = assertRel("last_hidden_state", await h.request("lastHiddenState"), reference("last_hidden_state", file), 1e-4);
    for (const layer of [0, 1]) {
      assertRel(`hidden_states.${layer}`, await h.request("hiddenStates", layer), reference(`hidden_states.${layer}`, file), 1e-4);
    }
    const attention = reference("attentions.0", file);
    let worst = 0;
    for (const [head, query] of [[0, 0], [5, 97], [11, 195]]) {
      const diff = assertAbs(`attention row (0, ${head}, ${query})`, await h.request("attentionRow", 0, head, query), row(attention, 196, head, query), 1e-5);
      worst = Math.max(worst, diff);
    }
    console.log(`# ${build}, real width: last_hidden_state rel diff ${rel.toExponential(2)}, attention ${worst.toExponential(2)}, ${info.threads} thread(s)`);
  });
}

test("f16 weights (?weights=f16) stay close to transformers, and the facts say so", async () => {
  await page.goto(`${server.url}?weights=f16&model=models/demo/&image=/test-images/large.png`);
  await h.waitPhase("done", 60_000);
  const info = await page.evaluate(() => window.siglipLens.info);
  assert.equal(info.weightStorage, "f16");
  assert.equal(await page.inputValue("#weights"), "f16");
  assert.match(await page.textContent("#facts"), /weights held in f16/);
  assert.match(page.url(), /weights=f16/, "the hash keeps the choice");
  await page.screenshot({ path: `${SHOTS}weights-f16.png`, clip: { x: 0, y: 0, width: 1360, height: 560 } });
  const rel = assertRel("last_hidden_state", await h.request("lastHiddenState"), reference("last_hidden_state"), 1e-2);
  assert.ok(rel > 0, "f16 rounding shows: the weights really were held in f16");
  // Attention probabilities, absolute: 2.4e-4 at worst natively and in the browsers (tests/model.rs).
  const attention = reference("attentions.3");
  const diff = assertAbs("attention row (3, 1, 97)", await h.request("attentionRow", 3, 1, 97), row(attention, info.numPatches, 1, 97), 1e-3);
  console.log(`# f16 weights: last_hidden_state rel diff ${rel.toExponential(2)}, attention ${diff.toExponential(2)}`);
});
