// Shared by the robustness page tests: one Chromium and one page per test file, the page's phases,
// its alert, and "the model and image that were loaded before still work": a view redrawn from the
// wasm values through the page's scripting hook.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { colorize, valueRange } from "../../www/colormap.js";

export const SHOTS = new URL("./screenshots/", import.meta.url).pathname;

/**
 * The seed of the patches `assertStillWorks` picks: TEST_SEED from the environment, else a new one per
 * run, printed so that a failure can be replayed (`TEST_SEED=… node --test tests/e2e/<file>`).
 */
export const SEED = process.env.TEST_SEED ? Number(process.env.TEST_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`# TEST_SEED=${SEED}`);

/** mulberry32: a small seeded generator of floats in [0, 1). */
function seeded(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
export const LAUNCH = {
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
};

/** Launches Chromium with one page; records uncaught page errors and CSP violations. */
export async function openBrowser() {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch(LAUNCH);
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  return { browser, context, page, pageErrors };
}

/** A browser on the page `server` serves, with the demo model and the shapes sample loaded. */
export async function openDemoPage(server) {
  const opened = await openBrowser();
  const h = pageHelpers(opened.page);
  await opened.page.goto(`${server.url}?model=models/demo/&image=samples/shapes.png`);
  await h.waitPhase("done");
  return { ...opened, h };
}

export function pageHelpers(page) {
  const random = seeded(SEED);
  /** Sets a phase no load ever reports, so the next waitPhase sees a new phase, not the old one. */
  const mark = () => page.evaluate(() => (document.documentElement.dataset.state = "test"));
  const phase = () => page.evaluate(() => document.documentElement.dataset.state);
  const info = () => page.evaluate(() => window.siglipLens.info);
  const alert = () => page.evaluate(() => {
    const a = document.querySelector("[role=alert]");
    return a.hidden ? "" : a.textContent;
  });
  const notices = () => page.evaluate(() => [...document.querySelectorAll("[role=status] .notice")].filter((n) => !n.hidden).map((n) => n.textContent).join("\n"));

  /** Waits until the page reaches `wanted` (one phase or a list); fails with the alert on "error". */
  async function waitPhase(wanted, timeout = 30_000) {
    const list = [wanted].flat();
    await page.waitForFunction((states) => states.includes(document.documentElement.dataset.state) || document.documentElement.dataset.state === "error", list, { timeout });
    const got = await phase();
    if (!list.includes(got)) assert.fail(`page reached "${got}" instead of ${list.join("/")}: ${await alert()}`);
  }

  /** Waits for the error phase and returns the alert's text. */
  async function waitError(timeout = 30_000) {
    await page.waitForFunction(() => document.documentElement.dataset.state === "error", null, { timeout });
    const text = await alert();
    assert.ok(text.length > 0, "an error shows a message in the alert");
    return text;
  }

  /** Values straight from the wasm API, through the page's documented scripting hook. */
  const request = (method, ...args) => page.evaluate(async ([m, a]) => Array.from(await window.siglipLens.request(m, ...a)), [method, args]);

  /** Asserts the canvas shows exactly `values` through the colour map on their own min/max. */
  async function assertMap(selector, values, what = "") {
    const drawn = await page.evaluate((sel) => {
      const c = document.querySelector(sel);
      return { width: c.width, data: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
    }, selector);
    assert.equal(drawn.width, Math.sqrt(values.length), `${selector} is one pixel per patch ${what}`);
    assert.deepEqual(drawn.data, Array.from(colorize(values, valueRange(values), "viridis")), `${selector} shows the wasm values ${what}`);
  }

  /**
   * The model (and trace) loaded before an error still work: the attention view, redrawn for another
   * patch, shows exactly what wasm computes. `model` (an info.id) and `image` (the original's name)
   * check they are still the same ones.
   */
  async function assertStillWorks({ model, image } = {}) {
    const i = await info();
    assert.ok(i, "a model is still loaded");
    if (model) assert.equal(i.id, model, "the previous model is still the loaded one");
    if (image) assert.match(await page.textContent("#original-note"), new RegExp(`^${image.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:`), "the previous image is still shown");
    const patch = Math.floor(random() * i.numPatches);
    const block = 1 + (patch % i.numLayers);
    await page.evaluate(([p, b]) => window.siglipLens.set({ view: "attention", patch: p, head: 0, block: b, layer: 0 }), [patch, block]);
    await assertMap("[data-view=attention]", await request("attentionRow", block - 1, 0, patch), `patch ${patch}, block ${block} (TEST_SEED=${SEED})`);
  }

  /** Picks files in an <input type=file>: [{name, buffer, mimeType}]. */
  const pick = (selector, files) => page.setInputFiles(selector, files.map((f) => ({ mimeType: "application/octet-stream", ...f })));

  return { mark, phase, info, alert, notices, waitPhase, waitError, request, assertMap, assertStillWorks, pick };
}
