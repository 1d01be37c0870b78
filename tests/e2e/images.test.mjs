// Every kind of image people drop: broken ones get a message saying what is wrong and what to do,
// leave the page in "error" and the previous image and model working; odd but valid ones work.
// All test images are made here (node Buffers, or the page's own canvas).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, WWW } from "./server.mjs";
import { openDemoPage, SHOTS } from "./helpers.mjs";
import { png, bombPng, animatedGif, cmykJpeg, withExifOrientation } from "./fixtures.mjs";
import { assertAbs } from "./compare.mjs";

let server;
let browser;
let page;
let pageErrors;
let h;
const MODEL = "models/demo/";
const BASE = "shapes.png"; // the image every refusal must leave in place
const GOOD = { name: BASE, mimeType: "image/png", buffer: readFileSync(`${WWW}samples/shapes.png`) };

before(async () => {
  server = await startServer();
  ({ browser, page, pageErrors, h } = await openDemoPage(server));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Picks `file` as the image; expects a refusal matching `pattern`, then a working page. */
async function refused(file, pattern) {
  await h.mark();
  await page.setInputFiles("#image-file", file);
  const text = await h.waitError();
  assert.match(text, pattern);
  assert.match(text, /^Could not read the image: .* — .*\. Still showing the previous image\.$/, "what was wrong — what to do");
  await h.assertStillWorks({ model: MODEL, image: BASE });
  return text;
}

/** Picks the base image again: the page goes back to "done" and the alert goes away. */
async function recover() {
  await h.mark();
  await page.setInputFiles("#image-file", GOOD);
  await h.waitPhase("done");
  assert.equal(await h.alert(), "", "the alert is gone after a success");
}

/** Picks `file` and expects it to work; returns the seen image's RGBA and the original's note. */
async function accepted(file) {
  await h.mark();
  await page.setInputFiles("#image-file", file);
  await h.waitPhase("done");
  assert.equal(await h.alert(), "");
  const seen = await page.evaluate(() => {
    const c = document.querySelector("[data-view=seen]");
    return { width: c.width, data: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  });
  return { seen, note: await page.textContent("#original-note") };
}

/** The seen image's mean colour over rows [y0, y1) (all columns). */
function meanColor(seen, y0, y1) {
  const sum = [0, 0, 0];
  for (let y = y0; y < y1; y++) for (let x = 0; x < seen.width; x++) for (let c = 0; c < 3; c++) sum[c] += seen.data[(y * seen.width + x) * 4 + c];
  return sum.map((s) => s / ((y1 - y0) * seen.width));
}

const near = (got, want, tolerance, what) => assertAbs(`${what}: got ${Array.from(got, Math.round)}, want ${want}`, got, want, tolerance);

/** A JPEG from the page's own encoder: a `width` × `height` white canvas with a red bar on the left. */
function canvasJpeg(width, height, bar) {
  return page.evaluate(async ([w, hgt, b]) => {
    const canvas = new OffscreenCanvas(w, hgt);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, hgt);
    ctx.fillStyle = "#f00";
    ctx.fillRect(0, 0, b, hgt);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.95 })).arrayBuffer()));
  }, [width, height, bar]).then((bytes) => Buffer.from(bytes));
}

test("a text file renamed .png, an empty file, and unknown bytes are refused by what they are", async () => {
  await refused({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("Shopping list:\n- milk\n- bread\n") }, /“notes\.png” is a text file, not an image, whatever its name says — pick a PNG, JPEG, WebP or GIF image/);
  await refused({ name: "empty.png", mimeType: "image/png", buffer: Buffer.alloc(0) }, /“empty\.png” is empty \(0 bytes\) — pick the image again/);
  await refused({ name: "mystery.jpg", mimeType: "image/jpeg", buffer: Buffer.from([0x00, 0x13, 0x37, 0xff, 1, 2, 3, 4, 5]) }, /“mystery\.jpg” is not an image this page can read \(its first bytes are 00 13 37 FF\)/);
  // Dropped on the page, a file of no image type goes through the same checks.
  await h.mark();
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["%PDF-1.7\n%âãÏÓ\n1 0 obj"], "scan.pdf", { type: "application/pdf" }));
    document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  assert.match(await h.waitError(), /“scan\.pdf” is a PDF document, not an image/);
  await h.assertStillWorks({ model: MODEL, image: BASE });
  await recover();
});

test("truncated PNG and JPEG files are named as truncated", async () => {
  const scene = readFileSync(`${WWW}samples/scene.png`);
  const cut = scene.subarray(0, scene.length >> 1);
  await refused({ name: "cut.png", mimeType: "image/png", buffer: cut }, new RegExp(`“cut\\.png” is a truncated PNG: the file ends after ${cut.length} bytes, inside its IDAT chunk — download or export it again`));
  const jpeg = await canvasJpeg(64, 48, 16);
  const half = jpeg.subarray(0, jpeg.length - 40); // the headers (with an ICC profile) fill the first half
  await refused({ name: "cut.jpg", mimeType: "image/jpeg", buffer: half }, new RegExp(`“cut\\.jpg” is a truncated JPEG: the file ends after ${half.length} bytes, inside the image data`));
  await recover();
});

test("a decompression bomb is refused from its header, before decoding, with its size", async () => {
  await page.evaluate(() => {
    window.__decodes = 0;
    const decode = window.createImageBitmap;
    window.createImageBitmap = (...args) => (window.__decodes++, decode(...args));
  });
  const text = await refused({ name: "bomb.png", mimeType: "image/png", buffer: bombPng(30000, 30000) }, /“bomb\.png” declares 30000 × 30000 pixels \(900 megapixels\), more than the 100 megapixels this page accepts — scale it down first/);
  assert.equal(await page.evaluate(() => window.__decodes), 0, "the bomb never reached the decoder");
  await page.screenshot({ path: `${SHOTS}error-image-bomb.png`, clip: { x: 0, y: 0, width: 1360, height: 420 } });
  await recover();
  assert.ok(text);
});

test("a 1 × 1 image works (resized up), and so does a 16-bit PNG", async () => {
  const one = await accepted({ name: "dot.png", mimeType: "image/png", buffer: png(1, 1, () => [200, 30, 60]) });
  assert.match(one.note, /^dot\.png: 1 × 1 px$/);
  near(meanColor(one.seen, 0, 224), [200, 30, 60], 1, "a 1 × 1 image fills the seen image");
  const deep = await accepted({ name: "deep.png", mimeType: "image/png", buffer: png(40, 30, (x) => (x < 20 ? [10, 120, 250] : [250, 250, 0]), 16) });
  assert.match(deep.note, /^deep\.png: 40 × 30 px$/);
  const left = await page.evaluate(() => Array.from(document.querySelector("[data-view=seen]").getContext("2d").getImageData(20, 112, 1, 1).data));
  near(left.slice(0, 3), [10, 120, 250], 2, "16-bit pixels arrive as their 8-bit values");
  await h.assertStillWorks();
});

test("an animated GIF uses its first frame and says so", async () => {
  const gif = animatedGif(16, 16, [[220, 20, 20], [20, 20, 220], [20, 220, 20]]);
  const { seen, note } = await accepted({ name: "blink.gif", mimeType: "image/gif", buffer: gif });
  assert.match(note, /^blink\.gif: 16 × 16 px$/);
  near(meanColor(seen, 0, 224), [220, 20, 20], 2, "the first (red) frame is used");
  assert.match(await h.notices(), /“blink\.gif” is animated \(3 frames\): the model sees only its first frame\./);
  await page.screenshot({ path: `${SHOTS}notice-animated-gif.png` });
  await recover();
  assert.doesNotMatch(await h.notices(), /blink\.gif/, "the note leaves with its image");
});

test("a CMYK JPEG works where the browser decodes it, and says so", async () => {
  // Top half red ink (magenta + yellow), bottom half cyan ink.
  const jpeg = cmykJpeg(4, 4, (bx, by) => (by < 2 ? [0, 255, 255, 0] : [255, 0, 0, 0]));
  await h.mark();
  await page.setInputFiles("#image-file", { name: "print.jpg", mimeType: "image/jpeg", buffer: jpeg });
  await h.waitPhase(["done", "error"]);
  if ((await h.phase()) === "error") {
    // Not Chromium's case today; a browser without CMYK support must still say what to do.
    assert.match(await h.alert(), /“print\.jpg” is a CMYK JPEG, which this browser cannot decode — save it as an RGB JPEG or PNG/);
    return recover();
  }
  console.log("CMYK JPEG: decoded by the browser");
  const seen = await page.evaluate(() => {
    const ctx = document.querySelector("[data-view=seen]").getContext("2d");
    return [Array.from(ctx.getImageData(112, 20, 1, 1).data), Array.from(ctx.getImageData(112, 200, 1, 1).data)];
  });
  near(seen[0].slice(0, 3), [255, 0, 0], 40, "magenta + yellow ink is red");
  near(seen[1].slice(0, 3), [0, 255, 255], 40, "cyan ink is cyan");
  assert.match(await h.notices(), /“print\.jpg” is a CMYK JPEG: the browser converted it to RGB/);
  await h.assertStillWorks();
});

test("an EXIF-rotated JPEG is shown and processed upright", async () => {
  // Stored 64 × 32 with a red bar on the left; Orientation 6 turns it 90° clockwise: the bar goes on top.
  const jpeg = withExifOrientation(await canvasJpeg(64, 32, 16), 6);
  const { seen, note } = await accepted({ name: "phone.jpg", mimeType: "image/jpeg", buffer: jpeg });
  assert.match(note, /^phone\.jpg: 32 × 64 px$/, "width and height are swapped");
  near(meanColor(seen, 5, 45), [255, 0, 0], 30, "the bar is at the top");
  near(meanColor(seen, 70, 224), [255, 255, 255], 30, "the rest is white");
  assert.match(await h.notices(), /“phone\.jpg” was turned upright, as its EXIF orientation tag asks/);
  await h.assertStillWorks();
  await recover();
  assert.deepEqual(pageErrors, [], "no uncaught page errors");
});
