// Damaged and mismatched checkpoints, each through the URL path and through Local files: the page
// says what is wrong (Rust's own words where Rust finds it), stays in "error" with the previous model
// working, refuses what the header alone condemns before downloading the weights, and loads weights
// with NaN/Inf values with a warning. Every file is an edited copy of the demo checkpoint.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { openDemoPage, SHOTS } from "./helpers.mjs";
import { DEMO, parseSafetensors, writeSafetensors, editDemo, poke } from "./fixtures.mjs";
import { extractVision } from "../../www/safetensors.js";

let server;
let browser;
let page;
let pageErrors;
let h;
const MODEL = "models/demo/";
const V = (name) => `vision_model.${name}`;
const { header: HEADER, data: DATA } = parseSafetensors(DEMO.weights);
const HEADER_BYTES = Number(DEMO.weights.readBigUInt64LE(0));

before(async () => {
  server = await startServer();
  ({ browser, page, pageErrors, h } = await openDemoPage(server));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Serves a model folder at /bad/<id>/; returns its spec for the model field. */
function serve(id, { config = DEMO.config, weights }) {
  server.files.set(`/bad/${id}/config.json`, Buffer.from(config));
  server.files.set(`/bad/${id}/preprocessor_config.json`, Buffer.from(DEMO.preprocessor));
  server.files.set(`/bad/${id}/model.safetensors`, weights);
  return `bad/${id}/`;
}

async function loadUrl(spec) {
  await h.mark();
  await page.fill("#model-spec", spec);
  await page.click("#load-model");
}

async function loadLocal({ config = DEMO.config, weights }) {
  await h.mark();
  await page.setInputFiles("#model-files", [
    { name: "config.json", mimeType: "application/json", buffer: Buffer.from(config) },
    { name: "preprocessor_config.json", mimeType: "application/json", buffer: Buffer.from(DEMO.preprocessor) },
    { name: "model.safetensors", mimeType: "application/octet-stream", buffer: weights },
  ]);
}

/** Expects the load to fail with `pattern`, the previous model to stay, and the page to work. */
async function refused(pattern) {
  const text = await h.waitError();
  assert.match(text, /^Could not load the model: /);
  assert.match(text, pattern);
  assert.match(text, / The previous model is still loaded\.$/);
  await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
  return text;
}

/** Both paths for one bad checkpoint; through the URL, at most the header may be downloaded. */
async function bothPaths(id, files, pattern, { urlFiles = files, maxBytes = 8 + HEADER_BYTES } = {}) {
  const spec = serve(id, urlFiles);
  await loadUrl(spec);
  const viaUrl = await refused(pattern);
  const sent = server.bytesSent.get(`/bad/${id}/model.safetensors`) ?? 0;
  assert.ok(sent <= maxBytes, `${id}: ${sent} bytes of the weights were sent, at most ${maxBytes} expected`);
  await loadLocal(files);
  const viaFiles = await refused(pattern);
  return { viaUrl, viaFiles };
}

test("damaged safetensors files are refused from their header, before any weight is downloaded", async () => {
  const short = Buffer.from(DEMO.weights.subarray(0, 20_000));
  short.writeBigUInt64LE(50_000n);
  await bothPaths("header-past-end", { weights: short }, /model\.safetensors: its header claims 50000 bytes, but the whole file is only 20000 bytes — the file is truncated or not a safetensors file; download it again/, { maxBytes: 8 });

  const prose = Buffer.concat([Buffer.alloc(8), Buffer.from("Once upon a time, this was no JSON at all."), DATA]);
  prose.writeBigUInt64LE(42n);
  await bothPaths("header-not-json", { weights: prose }, /model\.safetensors: its header is not valid JSON \(.+\) — the file is damaged or not a safetensors file; download it again/, { maxBytes: 8 + 42 });

  const overlap = editDemo((header) => {
    const bias = header[V("post_layernorm.bias")].data_offsets[0];
    header[V("post_layernorm.weight")].data_offsets = [bias + 128, bias + 128 + 256];
  }, { repack: false });
  await bothPaths("overlap", { weights: overlap }, /model\.safetensors: tensors `vision_model\.post_layernorm\.bias` \(bytes \d+–\d+\) and `vision_model\.post_layernorm\.weight` \(bytes \d+–\d+\) overlap — the file is damaged; download it again/);

  const pastEnd = editDemo((header) => {
    header[V("post_layernorm.weight")].data_offsets = [DATA.length - 128, DATA.length + 128];
  }, { repack: false });
  await bothPaths("past-end", { weights: pastEnd }, new RegExp(`model\\.safetensors: tensor \`vision_model\\.post_layernorm\\.weight\` needs data up to byte ${DATA.length + 128}, but the file's data ends at byte ${DATA.length} — the file is truncated; download it again`));

  const textOnly = editDemo((header) => {
    for (const name of Object.keys(header)) if (name.startsWith("vision_model.")) delete header[name];
  });
  await bothPaths("text-only", { weights: textOnly }, /model\.safetensors: there is no SigLIP vision tower \(no tensor name ends in “embeddings\.patch_embedding\.weight”; its 24 tensors: logit_bias, logit_scale, text_model\.…\) — a text-only or non-SigLIP checkpoint cannot be shown here; pick a SigLIP, SigLIP2 or PaliGemma checkpoint/);
});

test("a model too large for wasm memory is refused from its header, saying how large", async () => {
  // One MLP weight declared 40000 × 40000 in f16: 3.2 GB stored, 6.4 GB as f32.
  const header = structuredClone(HEADER);
  header[V("encoder.layers.0.mlp.fc1.weight")] = { dtype: "F16", shape: [40000, 40000], data_offsets: [DATA.length, DATA.length + 3_200_000_000] };
  const head = writeSafetensors(header, Buffer.alloc(0));
  const size = head.length + DATA.length + 3_200_000_000;
  // Through the URL the file really is that large (a virtual file of zeros after the header)…
  const big = { size, read: (a, b) => (a < head.length ? head.subarray(a, Math.min(b, head.length)) : Buffer.alloc(b - a)) };
  // …and locally, a file holding the header alone is refused the same way, before its size is checked.
  const pattern = /model\.safetensors: its vision tower would need about 9\.67 GB of WebAssembly memory \(6\.4\d GB of weights as f32 \+ 3\.20 GB for the largest tensor as it arrives \+ 64 MB to work in\), more than the 4\.03 GB a page can use — pick a smaller model/;
  const { viaUrl } = await bothPaths("too-large", { weights: head }, pattern, { urlFiles: { weights: big }, maxBytes: head.length });
  console.log(`too large: ${viaUrl}`);
  await page.screenshot({ path: `${SHOTS}error-model-too-large.png`, clip: { x: 0, y: 0, width: 1360, height: 520 } });
});

/** What Rust says about a checkpoint, asked directly (the page's wasm and wasm.js's streaming build,
 * outside the page's code). */
function rustMessage(config, weights) {
  const vision = Buffer.from(extractVision(new Uint8Array(weights)).buffer).toString("base64");
  return page.evaluate(async ([c, p, w]) => {
    const { buildModel } = await import("/wasm.js");
    const wasm = await import("/pkg/siglip_lens.js");
    window.__wasmReady ??= wasm.default();
    await window.__wasmReady;
    try {
      buildModel(wasm, c, p, Uint8Array.from(atob(w), (ch) => ch.charCodeAt(0))).free();
      return null;
    } catch (error) {
      return error.message;
    }
  }, [config, DEMO.preprocessor, vision]);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("checkpoints that Rust rejects show Rust's message verbatim", async () => {
  const cases = [
    ["unknown-dtype", { weights: editDemo((header) => (header[V("post_layernorm.bias")].dtype = "Q7")) }, /Q7/],
    ["missing", { weights: editDemo((header) => delete header[V("encoder.layers.1.mlp.fc2.weight")]) }, /tensor `vision_model\.encoder\.layers\.1\.mlp\.fc2\.weight` is missing/],
    ["wrong-shape", { weights: editDemo((header) => (header[V("post_layernorm.weight")].shape = [8, 8])) }, /tensor `vision_model\.post_layernorm\.weight` has shape \[8, 8\], but config\.json implies \[64\]/],
    [
      "contradicting-config",
      { config: JSON.stringify({ ...JSON.parse(DEMO.config), vision_config: { ...JSON.parse(DEMO.config).vision_config, intermediate_size: 256 } }), weights: DEMO.weights },
      /fc1\.weight` has shape \[128, 64\], but config\.json implies \[256, 64\]/,
    ],
  ];
  for (const [id, files, pattern] of cases) {
    const rust = await rustMessage(files.config ?? DEMO.config, files.weights);
    assert.ok(rust, `${id}: Rust refuses it`);
    assert.match(rust, pattern);
    const sentence = /[.!?]$/.test(rust) ? rust : `${rust}.`;
    const verbatim = new RegExp(`^Could not load the model: ${escape(sentence)} The previous model is still loaded\\.$`);
    await bothPaths(id, files, verbatim, { maxBytes: Infinity });
    if (id === "missing") await page.screenshot({ path: `${SHOTS}error-model-missing-tensor.png`, clip: { x: 0, y: 0, width: 1360, height: 520 } });
  }
});

test("a config.json that is not JSON is refused before the weights are downloaded", async () => {
  await bothPaths(
    "config-not-json",
    { config: "<!doctype html><title>Sign in</title>", weights: DEMO.weights },
    /config\.json is not valid JSON \(.+\) — /,
    { maxBytes: 0 },
  );
});

test("NaN and infinite weights load with a warning naming the first bad tensor", async () => {
  const poisoned = editDemo((header, data) => {
    poke(header, data, V("encoder.layers.1.mlp.fc1.weight"), NaN, 5);
    poke(header, data, V("encoder.layers.2.self_attn.q_proj.weight"), Infinity);
  });
  const warning = /^Warning: tensor `vision_model\.encoder\.layers\.1\.mlp\.fc1\.weight` holds 1 NaN or infinite value \(and 1 more tensor\) — the model loaded, but its maps will be blank or meaningless/;
  for (const load of [() => loadUrl(serve("nan", { weights: poisoned })), () => loadLocal({ weights: poisoned })]) {
    await load();
    await h.waitPhase("done");
    assert.equal(await h.alert(), "", "a warning is not an error");
    assert.match(await h.notices(), warning);
    await h.assertStillWorks();
  }
  await page.screenshot({ path: `${SHOTS}warning-nan-weights.png`, clip: { x: 0, y: 0, width: 1360, height: 520 } });
  // The next good model clears the warning.
  await loadUrl(MODEL);
  await h.waitPhase("done");
  assert.equal(await h.notices(), "");
  assert.equal((await h.info()).id, MODEL);
  await h.assertStillWorks({ model: MODEL });
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
});
