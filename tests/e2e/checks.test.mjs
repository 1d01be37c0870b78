// The page's pure checks in node: image header sniffing (www/sniff.js), the safetensors layout and
// memory checks and the NaN/Inf scan (www/safetensors.js), and which model addresses are accepted.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sniffImage, findTruncation, declaredPixels, MAX_PIXELS } from "../../www/sniff.js";
import { checkLayout, peakWasmBytes, WASM_MEMORY_LIMIT, findNonFinite, layoutFile } from "../../www/safetensors.js";
import { resolveModel } from "../../www/loader.js";
import { WWW } from "./server.mjs";
import { png, bombPng, animatedGif, cmykJpeg, withExifOrientation } from "./fixtures.mjs";

test("the page's pixel limit is the Rust side's MAX_PIXELS", () => {
  const rust = readFileSync(new URL("../../src/preprocess.rs", import.meta.url), "utf8");
  const [, value] = /pub const MAX_PIXELS: usize = ([\d_]+);/.exec(rust);
  assert.equal(MAX_PIXELS, Number(value.replaceAll("_", "")));
});

test("PNG: size, bit depth, the 100-megapixel limit, truncation", () => {
  const deep = png(7, 5, () => [1, 2, 3], 16);
  assert.deepEqual(sniffImage(deep), { format: "png", width: 7, height: 5, bitDepth: 16, frames: 1 });
  const bomb = sniffImage(bombPng(30000, 30000));
  assert.equal(declaredPixels(bomb), 900_000_000);
  assert.ok(declaredPixels(bomb) > MAX_PIXELS);
  assert.ok(declaredPixels(sniffImage(bombPng(10000, 10000))) <= MAX_PIXELS, "exactly 100 megapixels is allowed");
  const scene = readFileSync(`${WWW}samples/scene.png`);
  assert.deepEqual(findTruncation(scene, "png"), { truncated: false });
  assert.deepEqual(findTruncation(scene.subarray(0, 100), "png"), { truncated: true, where: "inside its IDAT chunk" });
  assert.deepEqual(findTruncation(scene.subarray(0, scene.length - 12), "png"), { truncated: true, where: "before its IEND chunk" });
});

test("JPEG: size, CMYK, EXIF orientation, truncation", () => {
  const cmyk = cmykJpeg(3, 2, () => [0, 0, 0, 255]);
  assert.deepEqual(sniffImage(cmyk), { format: "jpeg", orientation: 1, width: 24, height: 16, components: 4, cmyk: true, progressive: false });
  const rotated = withExifOrientation(cmyk, 6);
  assert.equal(sniffImage(rotated).orientation, 6);
  assert.equal(sniffImage(rotated).width, 24, "the stored size, before turning");
  assert.deepEqual(findTruncation(rotated, "jpeg"), { truncated: false });
  assert.deepEqual(findTruncation(rotated.subarray(0, rotated.length - 4), "jpeg"), { truncated: true, where: "inside the image data" });
  assert.deepEqual(findTruncation(rotated.subarray(0, 30), "jpeg"), { truncated: true, where: "inside a header segment" });
  // Data after the end marker (e.g. a phone's motion photo) is not truncation.
  assert.deepEqual(findTruncation(Buffer.concat([rotated, Buffer.from("trailing video data")]), "jpeg"), { truncated: false });
});

test("GIF and WebP: size and frames; other files by what they are", () => {
  assert.deepEqual(sniffImage(animatedGif(9, 4, [[0, 0, 0], [9, 9, 9]])), { format: "gif", width: 9, height: 4, frames: 2 });
  assert.equal(sniffImage(animatedGif(9, 4, [[0, 0, 0]])).frames, 1);
  const vp8l = Buffer.alloc(30);
  vp8l.write("RIFF", 0);
  vp8l.write("WEBPVP8L", 8);
  vp8l.writeUInt32LE((640 - 1) | ((480 - 1) << 14), 21);
  assert.deepEqual(sniffImage(vp8l), { format: "webp", width: 640, height: 480, frames: 1 });
  const cases = [
    ["Just some notes.\n", "text"],
    ['<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"],
    ["<!DOCTYPE html><html>", "html"],
    ["%PDF-1.7\n", "pdf"],
    ["PK\x03\x04rest", "zip"],
    ["II*\0\x08\0\0\0", "tiff"],
  ];
  for (const [text, format] of cases) assert.equal(sniffImage(Buffer.from(text, "latin1")).format, format, text);
  assert.equal(sniffImage(Buffer.from([0, 1, 2, 3, 250])).format, null);
  assert.equal(sniffImage(Buffer.alloc(0)).format, null);
  const heic = Buffer.alloc(64);
  heic.writeUInt32BE(24, 0);
  heic.write("ftypheic\0\0\0\0mif1heic", 4, "latin1");
  assert.equal(sniffImage(heic).format, "heic");
});

const tensor = (name, dtype, shape, begin, end) => ({ name, dtype, shape, begin, end });

test("safetensors layout: sizes, overlaps, the end of the file", () => {
  checkLayout([tensor("a", "F32", [2, 2], 0, 16), tensor("b", "F16", [3], 16, 22), tensor("z", "F32", [0], 22, 22)], 22);
  assert.throws(() => checkLayout([tensor("a", "F32", [2, 2], 0, 12)], null), /`a` is F32 of shape \[2, 2\], which takes 16 bytes, but its data_offsets give it 12/);
  assert.throws(() => checkLayout([tensor("a", "F32", [4], 0, 16)], 10), /`a` needs data up to byte 16, but the file's data ends at byte 10 — the file is truncated/);
  assert.throws(() => checkLayout([tensor("a", "F32", [4], 0, 16), tensor("e", "F32", [0], 4, 4), tensor("b", "F32", [2], 8, 16)], null), /`a` \(bytes 0–16\) and `b` \(bytes 8–16\) overlap/);
  checkLayout([tensor("q", "Q7", [4], 0, 3)], null); // unknown dtypes are left to Rust, which names them
});

test("the wasm memory estimate: f32 weights + the largest tensor as stored + 64 MiB, against 4 GiB − 256 MiB", () => {
  const need = peakWasmBytes([tensor("a", "F16", [1000, 1000], 0, 2e6), tensor("b", "F32", [10], 2e6, 2e6 + 40)]);
  assert.deepEqual(need, { largest: 2e6, asF32: 4e6 + 40, total: 6e6 + 40 + 64 * 2 ** 20 });
  assert.equal(WASM_MEMORY_LIMIT, 4026531840);
  // siglip-so400m-patch14-384 (428 M parameters, f32) fits; a 1 B-parameter tower in f16 does not.
  assert.ok(peakWasmBytes([tensor("so400m", "F32", [428e6], 0, 428e6 * 4)]).total < WASM_MEMORY_LIMIT);
  assert.ok(peakWasmBytes([tensor("giant", "F16", [1e9], 0, 2e9)]).total > WASM_MEMORY_LIMIT);
});

test("NaN and infinities are found in F32, F16 and BF16 tensors, aligned or not", () => {
  const tensors = [
    tensor("odd", "F16", [3], 0, 6), // leaves the next tensor unaligned
    tensor("f32", "F32", [4], 6, 22),
    tensor("f16", "F16", [2], 22, 26),
    tensor("bf16", "BF16", [2], 26, 30),
  ];
  const build = (edit) => {
    const { buffer, dataStart } = layoutFile(tensors, null);
    edit(new DataView(buffer.buffer), dataStart);
    return buffer;
  };
  assert.equal(findNonFinite(build(() => {})), null);
  const allBad = build((v, d) => {
    v.setFloat32(d + 6 + 4, NaN, true);
    v.setFloat32(d + 6 + 8, -Infinity, true);
    v.setUint16(d + 22, 0x7c00, true); // f16 +inf
    v.setUint16(d + 28, 0x7fc0, true); // bf16 NaN
  });
  assert.deepEqual(findNonFinite(allBad), { name: "f32", count: 2, tensors: 3 });
  assert.deepEqual(findNonFinite(build((v, d) => v.setUint16(d + 26, 0xff80, true))), { name: "bf16", count: 1, tensors: 1 });
  // Large finite values are not flagged.
  assert.equal(findNonFinite(build((v, d) => (v.setFloat32(d + 6, 3e38, true), v.setUint16(d + 22, 0x7bff, true)))), null);
});

test("model addresses: hub ids and http(s) only", () => {
  const page = "http://127.0.0.1:8000/";
  assert.equal(resolveModel("google/siglip-base-patch16-224", page).folder, "https://huggingface.co/google/siglip-base-patch16-224/resolve/main/");
  assert.equal(resolveModel("https://example.org/m/", page).weights, "https://example.org/m/model.safetensors");
  for (const [spec, scheme] of [["javascript:alert(1)", "javascript:"], ["JavaScript:alert(1)", "javascript:"], ["data:text/plain,hi", "data:"], ["file:///etc/", "file:"], ["ftp://example.org/m/", "ftp:"], ["java\tscript:alert(1)", "javascript:"]]) {
    assert.throws(() => resolveModel(spec, page), new RegExp(`only http:// and https:// addresses can be loaded, not “${scheme}”`), spec);
  }
  assert.throws(() => resolveModel("   ", page), /no model given/);
});
