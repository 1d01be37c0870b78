// The page defends itself: a Content-Security-Policy that stops injected scripts, no HTML parsing of
// anything (file names are text), and model or image addresses limited to http(s).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { startServer, WWW } from "./server.mjs";
import { openDemoPage } from "./helpers.mjs";
import { png, DEMO } from "./fixtures.mjs";

const POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' https://huggingface.co https://*.huggingface.co " +
  "https://*.hf.co https://cdn-lfs.huggingface.co https://cdn-lfs-us-1.huggingface.co https://cas-bridge.xethub.hf.co; img-src 'self' blob: data:; " +
  "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

let server;
let browser;
let page;
let pageErrors;
let h;
const MODEL = "models/demo/";

before(async () => {
  server = await startServer();
  ({ browser, page, pageErrors, h } = await openDemoPage(server));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("no page script parses HTML: no innerHTML, outerHTML, insertAdjacentHTML or document.write", () => {
  const files = [...readdirSync(WWW).filter((f) => f.endsWith(".js")).map((f) => WWW + f), ...readdirSync(`${WWW}views`).filter((f) => f.endsWith(".js")).map((f) => `${WWW}views/${f}`)];
  assert.ok(files.length >= 15, `found ${files.length} scripts`);
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "DOMParser", "srcdoc"]) {
      assert.ok(!source.includes(sink), `${file.slice(WWW.length)} uses ${sink}`);
    }
  }
});

test("the Content-Security-Policy is in place and an injected inline script does not run", async () => {
  const policy = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
  assert.equal(policy, POLICY);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "no violations while loading, running and drawing");
  const ran = await page.evaluate(async () => {
    // No sleeping for "long enough": each step waits for the event that settles it.
    let scriptReports = 0;
    const bothReported = new Promise((resolve) => {
      document.addEventListener("securitypolicyviolation", (e) => e.violatedDirective.startsWith("script-src") && ++scriptReports === 2 && resolve());
    });
    const script = document.createElement("script");
    script.textContent = "window.__inline = 1";
    document.body.append(script); // an inline script runs, or is refused, as it is inserted
    const img = document.createElement("img");
    img.setAttribute("onerror", "window.__handler = 1");
    // Listeners run in the order they were added: once this one runs, the attribute's handler (added
    // first) has run or been refused.
    const failed = new Promise((resolve) => img.addEventListener("error", resolve));
    img.src = "data:,not-an-image";
    document.body.append(img);
    await failed;
    if (!window.__inline && !window.__handler) await bothReported; // the two refusals, reported
    img.remove();
    return { inline: window.__inline, handler: window.__handler, violations: window.__csp.splice(0) };
  });
  assert.equal(ran.inline, undefined, "the inline script did not run");
  assert.equal(ran.handler, undefined, "the inline event handler did not run");
  assert.ok(ran.violations.some((v) => v.startsWith("script-src")), `reported: ${ran.violations}`);
});

test("file names are shown as text, never as HTML", async () => {
  const name = "<img src=x onerror=window.__pwned=1>.png";
  await h.mark();
  await page.setInputFiles("#image-file", { name, mimeType: "image/png", buffer: png(32, 32, (x) => [x * 8, 100, 50]) });
  await h.waitPhase("done");
  assert.equal(await page.textContent("#original-note"), `${name}: 32 × 32 px`);
  await h.mark();
  await page.setInputFiles("#image-file", { name, mimeType: "image/png", buffer: Buffer.from("not an image") });
  assert.match(await h.waitError(), new RegExp(`^Could not read the image: “${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}” is a text file`));
  const model = "<img src=x onerror=window.__pwned=2>.safetensors";
  await h.mark();
  await page.setInputFiles("#model-files", [
    { name: "config.json", mimeType: "application/json", buffer: Buffer.from(DEMO.config) },
    { name: model, mimeType: "application/octet-stream", buffer: DEMO.weights },
  ]);
  await h.waitPhase("done");
  assert.match(await page.textContent("#facts"), new RegExp(`local: ${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  await page.evaluate(() => window.siglipLens.set({})); // every redraw the load queued is done
  assert.equal(await page.evaluate(() => document.querySelectorAll('img[src="x"]').length), 0, "no element was made from a name");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "nothing even tried to run");
});

test("javascript:, data: and file: model addresses are refused, in the field and in ?model=", async () => {
  await page.fill("#model-spec", MODEL);
  await h.mark();
  await page.click("#load-model");
  await h.waitPhase("done");
  for (const spec of ["javascript:alert(document.domain)", "data:application/json,{}", "file:///etc/passwd"]) {
    const scheme = spec.slice(0, spec.indexOf(":") + 1);
    const refusal = `only http:// and https:// addresses can be loaded, not “${scheme}” — enter a hub id such as google/siglip-base-patch16-224, or an https:// folder URL.`;
    await h.mark();
    await page.fill("#model-spec", spec);
    await page.click("#load-model");
    assert.equal(await h.waitError(), `Could not load the model: ${refusal} The previous model is still loaded.`);
    await h.assertStillWorks({ model: MODEL });

    await page.goto(`${server.url}?model=${encodeURIComponent(spec)}`);
    assert.equal(await h.waitError(), `Could not load the model: ${refusal}`);
    assert.equal(await page.evaluate(() => window.siglipLens.info), null, "nothing was loaded");
    await page.goto(`${server.url}?model=${MODEL}&image=samples/shapes.png`);
    await h.waitPhase("done");
  }
  // Image addresses too.
  await page.goto(`${server.url}?model=${MODEL}&image=${encodeURIComponent("javascript:alert(1)")}`);
  const refusal = "Could not read the image: only http:// and https:// image addresses can be loaded, not “javascript:” — drop the image file on the page instead.";
  assert.equal(await h.waitError(), refusal);
  await page.waitForFunction(() => window.siglipLens.info !== null);
  assert.equal(await h.phase(), "error", "the model loaded, but the page still says the image failed");
  assert.equal(await h.alert(), refusal);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
});

test("a trap in the wasm module is reported as fatal, without claiming the old model still works", async () => {
  // Simulated: the worker's next copy of an image's pixels throws what a trapping module throws.
  const [worker] = page.workers();
  await worker.evaluate(() => {
    const Real = self.Uint8ClampedArray;
    self.Uint8ClampedArray = function (...args) {
      if (args[0] instanceof ArrayBuffer && args.length === 1) throw new WebAssembly.RuntimeError("unreachable");
      return new Real(...args);
    };
  });
  const stopped = "the WebAssembly module stopped (unreachable), most likely out of memory — reload the page, then load a smaller model or image.";
  await h.mark();
  await page.setInputFiles("#image-file", { name: "any.png", mimeType: "image/png", buffer: png(8, 8, () => [1, 2, 3]) });
  assert.equal(await h.waitError(), `Could not run the model on this image: ${stopped}`);
  await h.mark();
  await page.fill("#model-spec", MODEL);
  await page.click("#load-model");
  assert.equal(await h.waitError(), `Could not load the model: ${stopped}`);
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
});
