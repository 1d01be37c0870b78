// A first visit, as the README describes it: `/` is the page, a load with no query shows the trained demo
// on one of its scenes, scored against its preset labels, and nothing the page asks for is missing (favicon included). And the
// seen image shows the model's own pixels: a 32 × 32 tower's input, drawn 11× larger, is blocks of
// exactly those pixels (nearest neighbour), not a smoothed picture.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, WWW } from "./server.mjs";
import { openBrowser, pageHelpers, SHOTS } from "./helpers.mjs";
import { assertAbs } from "./compare.mjs";

const TINY = new URL("../fixtures/models/siglip/", import.meta.url).pathname;

let server;
let browser;
let page;
let pageErrors;
let h;

before(async () => {
  server = await startServer();
  for (const file of ["config.json", "preprocessor_config.json", "model.safetensors"]) server.files.set(`/tiny/${file}`, readFileSync(TINY + file));
  ({ browser, page, pageErrors } = await openBrowser());
  h = pageHelpers(page);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("GET / answers the page itself, and its icon is there", async () => {
  const root = await fetch(server.url);
  assert.equal(root.status, 200);
  assert.match(root.headers.get("content-type"), /^text\/html/);
  assert.equal(await root.text(), readFileSync(`${WWW}index.html`, "utf8"));
  const icon = await fetch(`${server.url}favicon.svg`);
  assert.equal(icon.status, 200);
  assert.match(icon.headers.get("content-type"), /^image\/svg\+xml/);
  assert.match(await icon.text(), /^<svg /);
});

test("a first visit to / shows the demo on the first sample, and no request fails (favicon included)", async () => {
  const failed = [];
  page.on("response", (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
  // ERR_ABORTED is a request stopped on the browser's side, not one the server failed (Chromium reports
  // the worker's Range read of the weights so, though it was answered 206); the answers are checked below.
  page.on("requestfailed", (r) => r.failure()?.errorText !== "net::ERR_ABORTED" && failed.push(`${r.failure()?.errorText} ${r.url()}`));
  const icon = page.waitForResponse((r) => new URL(r.url()).pathname === "/favicon.svg", { timeout: 20_000 }).catch(() => null);
  await page.goto(server.url);
  await h.waitPhase("done", 60_000);
  assert.ok(await h.info(), "a model is loaded");
  assert.match(await page.textContent("#original-note"), /^shapes-1\.png: 384 × 384 px$/, "the first picture is one of the trained demo's scenes");
  assert.ok(await page.isVisible("#untrained-banner"), "the bundled demo is the model");
  assert.match(await page.textContent("#untrained-banner"), /trained .* not Google's SigLIP/, "the banner names the trained demo");
  const labels = JSON.parse(readFileSync(`${WWW}models/shapes/labels.json`, "utf8")).samples["shapes-1.png"];
  assert.deepEqual(await page.$$eval(".score-row", (list) => list.map((r) => r.dataset.label)), labels, "its labels are scored without a click");
  const iconResponse = await icon;
  // Chromium asks for the icon named by <link rel=icon> (and, without one, for /favicon.ico).
  assert.ok(iconResponse, "the page's icon was requested");
  assert.equal(iconResponse.status(), 200);
  const served = server.requests.map((r) => `${r.status} ${r.path}`);
  assert.ok(served.includes("200 /"), `the page came from / (${served.join(", ")})`);
  assert.deepEqual(server.requests.filter((r) => r.status >= 400), [], "no request answered an error");
  assert.deepEqual(failed, [], "the browser saw no failed request");
  assert.deepEqual(pageErrors, []);
  console.log(`# first visit: ${served.length} requests, all answered: ${[...new Set(server.requests.map((r) => r.path))].join(" ")}`);
});

test("the seen image is the model's pixels, magnified without smoothing", async () => {
  await page.goto(`${server.url}?model=tiny/&image=samples/cat.jpg`);
  await h.waitPhase("done", 60_000);
  const info = await h.info();
  assert.equal(info.imageSize, 32, "the fixture tower takes 32 × 32 images");
  const seen = page.locator("[data-view=seen]");
  // The marks layer above it (patch grid, selected patch) would cover pixels being compared.
  await seen.evaluate((c) => (c.parentElement.querySelector(".marks").style.visibility = "hidden"));
  assert.equal(await seen.evaluate((c) => getComputedStyle(c).imageRendering), "pixelated");
  const shot = await seen.screenshot({ path: `${SHOTS}seen-32px.png` });
  // What the canvas holds (the model's input) and what the screen shows, both as RGBA.
  const { model, screen, scale } = await seen.evaluate(async (canvas, png) => {
    const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: "image/png" }));
    const drawn = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
    drawn.drawImage(bitmap, 0, 0);
    return {
      model: { width: canvas.width, data: Array.from(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data) },
      screen: { width: bitmap.width, data: Array.from(drawn.getImageData(0, 0, bitmap.width, bitmap.height).data) },
      scale: bitmap.width / canvas.width,
    };
  }, shot.toString("base64"));
  assert.ok(scale >= 4, `the seen image is drawn magnified (${scale.toFixed(2)}×)`);
  // Sample each model pixel's block a quarter in from two corners: with nearest neighbour both show
  // the pixel itself; smoothing blends in the neighbours there (checked: it fails with smoothing).
  const [shown, wanted] = [[], []];
  for (let y = 0; y < model.width; y++) {
    for (let x = 0; x < model.width; x++) {
      for (const f of [0.25, 0.75]) {
        const sx = Math.floor((x + f) * scale);
        const sy = Math.floor((y + f) * scale);
        for (let c = 0; c < 3; c++) {
          shown.push(screen.data[(sy * screen.width + sx) * 4 + c]); // undefined past the screenshot: fails
          wanted.push(model.data[(y * model.width + x) * 4 + c]);
        }
      }
    }
  }
  const worst = assertAbs("every magnified pixel shows the model's pixel (levels)", shown, wanted, 2);
  console.log(`# magnified seen image: worst difference ${worst} levels`);
  assert.deepEqual(pageErrors, []);
});
