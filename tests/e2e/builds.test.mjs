// Every WebAssembly build the page can pick (relaxed SIMD, threads, plain SIMD128) computes what
// transformers computes: the demo checkpoint on tests/fixtures/images/large.png, driven through the
// real page, compared with the reference tools/make_fixtures.py wrote (tests/fixtures/demo-reference).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer } from "./server.mjs";
import { openBrowser, pageHelpers, SHOTS } from "./helpers.mjs";
import { parseSafetensors } from "./fixtures.mjs";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
let server, browser, page, h;

before(async () => {
  server = await startServer();
  server.files.set("/test-images/large.png", readFileSync(FIXTURES + "images/large.png"));
  ({ browser, page } = await openBrowser());
  h = pageHelpers(page);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A tensor of the reference file as a Float32Array. */
function reference(name) {
  const { header, data } = parseSafetensors(readFileSync(FIXTURES + "demo-reference.safetensors"));
  const { data_offsets: [a, b], dtype } = header[name];
  assert.equal(dtype, "F32");
  return new Float32Array(data.buffer.slice(data.byteOffset + a, data.byteOffset + b));
}

const maxAbs = (xs) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (xs, ys) => xs.reduce((m, v, i) => Math.max(m, Math.abs(v - ys[i])), 0);

for (const [build, expectThreads] of [["pkg", false], ["pkg-threads", true], ["pkg-simd128", false]]) {
  test(`the ${build} build matches transformers on the demo checkpoint`, async () => {
    await page.goto(`${server.url}?wasm=${build}&model=models/demo/&image=/test-images/large.png`);
    await h.waitPhase("done", 60_000);
    const info = await page.evaluate(() => window.siglipLens.info);
    assert.equal(info.build, build);
    assert.equal(info.threads > 1, expectThreads, `threads: ${info.threads}`);
    const last = await h.request("lastHiddenState");
    const want = reference("last_hidden_state");
    const rel = maxDiff(last, want) / maxAbs(want);
    assert.ok(rel <= 1e-4, `last_hidden_state: ${rel}`);
    const hidden = await h.request("hiddenStates", 2);
    assert.ok(maxDiff(hidden, reference("hidden_states.2")) / maxAbs(reference("hidden_states.2")) <= 1e-4);
    const grid = info.numPatches;
    const attention = reference("attentions.3"); // (1, heads, n, n)
    for (const [head, query] of [[0, 0], [3, 97], [2, 195]]) {
      const row = await h.request("attentionRow", 3, head, query);
      const wantRow = attention.subarray((head * grid + query) * grid, (head * grid + query + 1) * grid);
      assert.ok(maxDiff(row, wantRow) <= 1e-5, `attention row (3, ${head}, ${query})`);
    }
    const probe = reference("head_attention"); // (1, heads, n)
    for (let head = 0; head < info.numHeads; head++) {
      assert.ok(maxDiff(await h.request("headAttention", head), probe.subarray(head * grid, (head + 1) * grid)) <= 1e-5);
    }
    console.log(`${build}: last_hidden_state rel diff ${rel.toExponential(2)}, ${info.threads} thread(s)`);
  });
}

test("f16 weights (?weights=f16) stay within 1e-2 of transformers, and the facts say so", async () => {
  await page.goto(`${server.url}?weights=f16&model=models/demo/&image=/test-images/large.png`);
  await h.waitPhase("done", 60_000);
  const info = await page.evaluate(() => window.siglipLens.info);
  assert.equal(info.weightStorage, "f16");
  assert.equal(await page.inputValue("#weights"), "f16");
  assert.match(await page.textContent("#facts"), /weights held in f16/);
  assert.match(page.url(), /weights=f16/, "the hash keeps the choice");
  await page.screenshot({ path: `${SHOTS}weights-f16.png`, clip: { x: 0, y: 0, width: 1360, height: 560 } });
  const want = reference("last_hidden_state");
  const rel = maxDiff(await h.request("lastHiddenState"), want) / maxAbs(want);
  assert.ok(rel <= 1e-2, `last_hidden_state: ${rel}`);
  assert.ok(rel > 0, "f16 rounding shows: the weights really were held in f16");
  const grid = info.numPatches;
  const attention = reference("attentions.3");
  const row = await h.request("attentionRow", 3, 1, 97);
  assert.ok(maxDiff(row, attention.subarray((grid + 97) * grid, (grid + 98) * grid)) <= 1e-2);
  console.log(`f16 weights: last_hidden_state rel diff ${rel.toExponential(2)}`);
});
