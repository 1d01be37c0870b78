// Draws the bundled sample images procedurally and writes them as PNGs (no dependencies):
//   node www/samples/make-samples.mjs
// Each image is a function (x, y) -> [r, g, b], sampled 4× per pixel for smooth edges.

import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const here = new URL(".", import.meta.url);

function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function png(width, height, rgb) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "ascii");
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0;
    rgb.copy(raw, y * (1 + width * 3) + 1, y * width * 3, (y + 1) * width * 3);
  }
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

function render(width, height, scene) {
  const rgb = Buffer.alloc(width * height * 3);
  const offsets = [0.25, 0.75];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sum = [0, 0, 0];
      for (const dy of offsets) for (const dx of offsets) scene(x + dx, y + dy).forEach((v, i) => (sum[i] += v / 4));
      rgb.set(sum.map((v) => Math.round(Math.min(255, Math.max(0, v)))), (y * width + x) * 3);
    }
  }
  return png(width, height, rgb);
}

const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);
const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const inTriangle = (x, y, [ax, ay], [bx, by], [cx, cy]) => {
  const s = (px, py, qx, qy, rx, ry) => (px - rx) * (qy - ry) - (qx - rx) * (py - ry);
  const d1 = s(x, y, ax, ay, bx, by);
  const d2 = s(x, y, bx, by, cx, cy);
  const d3 = s(x, y, cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
};

// A landscape: sky, sun, two hills, a house with a roof and door, a tree.
function scene(x, y) {
  if (inCircle(x, y, 250, 60, 28)) return [255, 214, 80];
  const far = 150 + 18 * Math.sin(x / 40);
  const near = 185 + 12 * Math.sin(x / 23 + 2);
  if (x >= 60 && x < 130 && y >= 140 && y < 200) {
    if (x >= 86 && x < 104 && y >= 168) return [110, 60, 30];
    if ((x >= 68 && x < 80 && y >= 152 && y < 164) || (x >= 110 && x < 122 && y >= 152 && y < 164)) return [170, 215, 255];
    return [222, 200, 170];
  }
  if (inTriangle(x, y, [52, 141], [138, 141], [95, 105])) return [178, 48, 40];
  if (inCircle(x, y, 200, 150, 22)) return [34, 120, 50];
  if (x >= 196 && x < 204 && y >= 160 && y < 200) return [100, 65, 35];
  if (y > near) return mix([70, 160, 60], [40, 110, 40], (y - near) / 60);
  if (y > far) return [110, 180, 90];
  return mix([120, 170, 240], [210, 230, 250], y / 160);
}

// Primary shapes on white.
function shapes(x, y) {
  if (inCircle(x, y, 70, 70, 45)) return [220, 40, 50];
  if (x > 140 && x < 225 && y > 30 && y < 115) return [40, 90, 210];
  if (inTriangle(x, y, [30, 230], [120, 230], [75, 140])) return [40, 170, 80];
  const r = Math.hypot(x - 180, y - 185);
  const a = Math.atan2(y - 185, x - 180);
  if (r < 28 + 14 * Math.cos(5 * a)) return [250, 200, 30];
  return [248, 248, 245];
}

// A checkerboard of 28-px squares with a red disc in the middle.
function checker(x, y) {
  if (inCircle(x, y, 112, 112, 40)) return [210, 30, 40];
  return (Math.floor(x / 28) + Math.floor(y / 28)) % 2 ? [30, 30, 30] : [235, 235, 235];
}

// A tall picture (a lighthouse by the sea) that the square resize squashes.
function tall(x, y) {
  if (y > 250) return mix([40, 100, 160], [20, 60, 110], (y - 250) / 70 + 0.1 * Math.sin(x / 6));
  if (inTriangle(x, y, [70, 90], [110, 90], [90, 60])) return [60, 60, 60];
  if (x > 78 && x < 102 && y >= 90 && y <= 250) {
    if (y < 108 && y > 94) return [255, 240, 150];
    return Math.floor((y - 90) / 32) % 2 ? [240, 240, 240] : [200, 40, 40];
  }
  if (y > 235) return [200, 180, 130];
  return mix([250, 190, 140], [120, 150, 220], 1 - y / 250);
}

for (const [name, w, h, f] of [["scene", 320, 240, scene], ["shapes", 256, 256, shapes], ["checker", 224, 224, checker], ["tall", 180, 320, tall]]) {
  writeFileSync(new URL(`${name}.png`, here), render(w, h, f));
}
