// What the network does to a download: a host without CORS, a connection that drops midway (the
// loader resumes from the byte it reached), a full Cache API, and a second model picked while the
// first is still downloading (the first is abandoned, no mixed weights). 404, a server without Range
// and cancel are covered in page.test.mjs.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { openDemoPage, SHOTS } from "./helpers.mjs";
import { DEMO, editDemo } from "./fixtures.mjs";

let server;
let other; // another origin: sends no Access-Control-Allow-Origin
let browser;
let context;
let page;
let pageErrors;
let h;
const MODEL = "models/demo/";
const WEIGHTS = "/models/demo/model.safetensors";

before(async () => {
  [server, other] = await Promise.all([startServer(), startServer()]);
  ({ browser, context, page, pageErrors, h } = await openDemoPage(server));
});

after(async () => {
  await browser?.close();
  await Promise.all([server?.close(), other?.close()]);
});

const clearCache = () => page.evaluate(() => caches.delete("siglip-lens-v1"));

async function loadUrl(spec) {
  await h.mark();
  await page.fill("#model-spec", spec);
  await page.click("#load-model");
}

/** A second demo-like model: 2 layers instead of 4 (config and tensors agree). */
const ALT = {
  config: JSON.stringify({ ...JSON.parse(DEMO.config), vision_config: { ...JSON.parse(DEMO.config).vision_config, num_hidden_layers: 2 } }),
  weights: editDemo((header) => {
    for (const name of Object.keys(header)) if (/^vision_model\.encoder\.layers\.[23]\./.test(name)) delete header[name];
  }),
};

function serveFolder(folder, { config, weights }) {
  server.files.set(`/${folder}/config.json`, Buffer.from(config));
  server.files.set(`/${folder}/preprocessor_config.json`, Buffer.from(DEMO.preprocessor));
  server.files.set(`/${folder}/model.safetensors`, weights);
  return `${folder}/`;
}

test("a host that does not allow CORS: the message says so and suggests Local files", async () => {
  await loadUrl(`${other.url}models/demo/`);
  const text = await h.waitError();
  const origin = other.url.slice(0, -1).replace(/[.]/g, "\\.");
  assert.match(
    text,
    new RegExp(`^Could not load the model: ${origin} does not allow cross-origin downloads \\(CORS\\)(, or could not be reached)? — download config\\.json and model\\.safetensors from there yourself and open them with “Local files…”\\. The previous model is still loaded\\.$`),
  );
  await page.screenshot({ path: `${SHOTS}error-network-cors.png`, clip: { x: 0, y: 0, width: 1360, height: 520 } });
  await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
});

test("a connection that drops midway is resumed with a Range request from the byte reached", async () => {
  await clearCache();
  server.bytesSent.delete(WEIGHTS);
  const from = server.requests.length;
  server.dropOnce.set(WEIGHTS, 300_000);
  await loadUrl(MODEL);
  await h.waitPhase("done");
  assert.ok(!server.dropOnce.has(WEIGHTS), "the connection was dropped");
  const requests = server.requests.slice(from).filter((r) => r.path === WEIGHTS);
  const ranges = requests.map((r) => /bytes=(\d+)-(\d+)/.exec(r.range).slice(1).map(Number));
  assert.equal(requests.length, 4, `header length, header, the tower, its resumption: ${JSON.stringify(requests)}`);
  assert.ok(requests.every((r) => r.status === 206));
  const [dropped, resumed] = ranges.slice(2).sort((a, b) => a[0] - b[0]);
  assert.equal(resumed[1], dropped[1], "the resumption asks for the rest of the same range");
  // The server closed the connection after 300 000 bytes: the page resumes from exactly there and
  // nothing is fetched twice.
  assert.equal(resumed[0], dropped[0] + 300_000, "resumed from the byte reached");
  const sent = server.bytesSent.get(WEIGHTS);
  const fetched = (await h.info()).fetchedBytes;
  assert.equal(sent, fetched, `${sent} bytes sent for ${fetched} needed`);
  console.log(`dropped at ${dropped[0] + 300_000}, resumed at ${resumed[0]}: ${sent} bytes sent for ${fetched} needed`);
  await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
});

test("a drop from a server that ignores Range restarts the whole download, which still loads", async () => {
  await clearCache();
  server.ignoreRange.add(WEIGHTS);
  server.dropOnce.set(WEIGHTS, 300_000);
  const from = server.requests.length;
  await loadUrl(MODEL);
  await h.waitPhase("done");
  server.ignoreRange.delete(WEIGHTS);
  const statuses = server.requests.slice(from).filter((r) => r.path === WEIGHTS).map((r) => r.status);
  assert.deepEqual(statuses, [200, 200], "the dropped download, then one whole download");
  await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
});

test("a full Cache API: the model still loads, and a warning says it could not be kept", async () => {
  await clearCache();
  const cdp = await context.newCDPSession(page);
  const origin = server.url.slice(0, -1);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 10_000 });
  try {
    await loadUrl(MODEL);
    await h.waitPhase("done");
    assert.equal(await h.alert(), "");
    assert.match(await h.notices(), /The model works, but the browser would not keep it for next time \(the browser's storage for this site is full\) — it will be downloaded again on your next visit/);
    await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
    const cached = await page.evaluate(async () => (await (await caches.open("siglip-lens-v1")).keys()).length);
    assert.equal(cached, 0, "nothing half-cached");
  } finally {
    await cdp.send("Storage.overrideQuotaForOrigin", { origin });
  }
  await loadUrl(MODEL);
  await h.waitPhase("done");
  assert.equal(await h.notices(), "", "with room again, no warning");
});

test("a second model picked while the first is downloading: the first is abandoned, the second loads", async () => {
  await clearCache();
  const slow = serveFolder("slow", DEMO);
  const alt = serveFolder("alt", ALT);
  server.slow.add("/slow/model.safetensors");
  const waitDownloading = () => page.waitForFunction(() => /^weights: .* \/ /.test(document.querySelector("#progress-text").textContent));
  // Whatever the first load could still do has happened: its download has ended on the server (aborted
  // — or, were it not, sent to its end), and a round trip through the worker has followed.
  const settleFirst = async () => {
    await server.ended("/slow/model.safetensors");
    await h.request("attentionRow", 0, 0, 0);
    await page.evaluate(() => window.siglipLens.set({}));
  };

  // URL, then another URL.
  await loadUrl(slow);
  await waitDownloading();
  await loadUrl(alt);
  await h.waitPhase("done");
  await settleFirst();
  let i = await h.info();
  assert.deepEqual([i.id, i.numLayers], [alt, 2], "the second model is the loaded one, whole");
  assert.equal(await h.phase(), "done");
  assert.equal(await h.alert(), "", "abandoning the first is not an error");
  const slowSent = server.bytesSent.get("/slow/model.safetensors");
  assert.ok(slowSent < 8 + 11304 + 900_000 * 0.5, `the first download was aborted (${slowSent} bytes sent)`);
  await h.assertStillWorks({ model: alt, image: "shapes.png" });

  // URL, then Local files.
  await loadUrl(slow);
  await waitDownloading();
  await h.mark();
  await page.setInputFiles("#model-files", [
    { name: "config.json", mimeType: "application/json", buffer: Buffer.from(ALT.config) },
    { name: "model.safetensors", mimeType: "application/octet-stream", buffer: ALT.weights },
  ]);
  await h.waitPhase("done");
  await settleFirst();
  i = await h.info();
  assert.deepEqual([i.id, i.numLayers], ["local: model.safetensors", 2]);
  assert.equal(await h.alert(), "");
  await h.assertStillWorks({ model: "local: model.safetensors", image: "shapes.png" });
  server.slow.delete("/slow/model.safetensors");
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
});

test("a damaged copy in the browser cache is deleted and reported, and the next load downloads afresh", async () => {
  await clearCache();
  await loadUrl(MODEL);
  await h.waitPhase("done");
  // Truncate the cached weights, as a disk error or an interrupted write might.
  await page.evaluate(async () => {
    const cache = await caches.open("siglip-lens-v1");
    const key = (await cache.keys()).find((r) => r.url.includes("siglip-lens=vision"));
    const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    await cache.put(key, new Response(bytes.subarray(0, bytes.length - 1000)));
  });
  await loadUrl(`${MODEL}?again`); // another spec, same files: not deduplicated with the last load
  const text = await h.waitError();
  assert.match(text, /^Could not load the model: model\.safetensors: .* \(in the browser's cached copy, now deleted — load the model again to download it afresh\)\. The previous model is still loaded\.$/);
  await h.assertStillWorks({ model: MODEL, image: "shapes.png" });
  const from = server.requests.length;
  await loadUrl(MODEL);
  await h.waitPhase("done");
  assert.ok(server.requests.slice(from).some((r) => r.path === WEIGHTS), "downloaded again");
  assert.doesNotMatch(await page.textContent("#facts"), /from the browser cache/);
});
