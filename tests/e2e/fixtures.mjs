// Bad (and unusual) inputs for the robustness tests, built in memory: images (PNG of any bit depth,
// animated GIF, CMYK JPEG, EXIF orientation spliced into a JPEG, a decompression bomb) and edited
// copies of the demo checkpoint. Nothing here touches the disk but reading the demo.

import { deflateSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { WWW } from "./server.mjs";

// ---- PNG --------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width, height, bitDepth, colorType) {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = bitDepth;
  data[9] = colorType;
  return chunk("IHDR", data);
}

/** An RGB PNG (8 or 16 bits per channel) whose pixel (x, y) is `color(x, y)` → [r, g, b] in 0..255. */
export function png(width, height, color, bitDepth = 8) {
  const bytesPerSample = bitDepth / 8;
  const row = 1 + width * 3 * bytesPerSample;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      color(x, y).forEach((v, c) => {
        const at = y * row + 1 + (x * 3 + c) * bytesPerSample;
        if (bitDepth === 16) raw.writeUInt16BE(v * 257, at);
        else raw[at] = v;
      });
    }
  }
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height, bitDepth, 2), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** A "decompression bomb": a valid signature and IHDR declaring width × height, and a tiny IDAT. */
export function bombPng(width = 30000, height = 30000) {
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height, 8, 2), chunk("IDAT", deflateSync(Buffer.alloc(64))), chunk("IEND", Buffer.alloc(0))]);
}

// ---- GIF ----------------------------------------------------------------------------------------

/**
 * An animated GIF, one solid frame per colour ([r, g, b]), looping. The LZW data is "uncompressed":
 * a clear code before every two pixels keeps the code width at 3 bits.
 */
export function animatedGif(width, height, colors) {
  const palette = Buffer.alloc(12); // 4 entries (a 2-bit table)
  colors.slice(0, 4).forEach((c, i) => palette.set(c, i * 3));
  const parts = [Buffer.from("GIF89a", "latin1")];
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80 | 0x01; // global colour table of 2^(1+1) = 4 entries
  parts.push(screen, palette);
  parts.push(Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from("NETSCAPE2.0", "latin1"), 0x03, 0x01, 0x00, 0x00, 0x00]));
  colors.forEach((_, index) => {
    parts.push(Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00])); // 100 ms per frame
    const descriptor = Buffer.alloc(10);
    descriptor[0] = 0x2c;
    descriptor.writeUInt16LE(width, 5);
    descriptor.writeUInt16LE(height, 7);
    parts.push(descriptor, Buffer.from([2]), subBlocks(lzwLiterals(width * height, index)));
  });
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

function lzwLiterals(count, index) {
  const CLEAR = 4;
  const END = 5;
  const codes = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) codes.push(CLEAR);
    codes.push(index);
  }
  codes.push(END);
  const out = [];
  let bits = 0;
  let n = 0;
  for (const code of codes) {
    bits |= code << n;
    n += 3;
    while (n >= 8) {
      out.push(bits & 0xff);
      bits >>= 8;
      n -= 8;
    }
  }
  if (n > 0) out.push(bits & 0xff);
  return Buffer.from(out);
}

function subBlocks(data) {
  const parts = [];
  for (let at = 0; at < data.length; at += 255) {
    const piece = data.subarray(at, at + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

// ---- JPEG ---------------------------------------------------------------------------------------

const segment = (marker, body) => {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
};

/**
 * A baseline CMYK JPEG (Adobe APP14, transform 0, inverted values as Photoshop writes them) made of
 * solid 8 × 8 blocks: `ink(bx, by)` → [c, m, y, k] in 0..255 (255 = full ink). Every block is coded by
 * its DC coefficient alone (quantiser 1, every AC zero).
 */
export function cmykJpeg(blocksX, blocksY, ink) {
  const adobe = Buffer.from([...Buffer.from("Adobe", "latin1"), 0, 100, 0, 0, 0, 0, 0]); // version 100, transform 0
  const dqt = Buffer.from([0x00, ...new Array(64).fill(1)]);
  const sof = Buffer.from([8, 0, blocksY * 8, 0, blocksX * 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
  sof.writeUInt16BE(blocksY * 8, 1);
  sof.writeUInt16BE(blocksX * 8, 3);
  // DC table: categories 0..11, all 4-bit codes 0000..1011. AC table: EOB only, code "0".
  const dcBits = new Array(16).fill(0);
  dcBits[3] = 12;
  const dht = Buffer.from([0x00, ...dcBits, ...Array.from({ length: 12 }, (_, i) => i), 0x10, 1, ...new Array(15).fill(0), 0x00]);
  const sos = Buffer.from([4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);
  const writer = bitWriter();
  const previous = [0, 0, 0, 0];
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      ink(bx, by).forEach((value, c) => {
        const stored = 255 - value; // Adobe CMYK is stored inverted
        const dc = 8 * (stored - 128);
        const diff = dc - previous[c];
        previous[c] = dc;
        const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        writer.put(size, 4); // the DC code for category `size`
        if (size) writer.put(diff > 0 ? diff : diff + (1 << size) - 1, size);
        writer.put(0, 1); // EOB
      });
    }
  }
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xee, adobe),
    segment(0xdb, dqt),
    segment(0xc0, sof),
    segment(0xc4, dht),
    segment(0xda, sos),
    writer.bytes(),
    Buffer.from([0xff, 0xd9]),
  ]);
}

function bitWriter() {
  const out = [];
  let acc = 0;
  let n = 0;
  const push = (byte) => {
    out.push(byte);
    if (byte === 0xff) out.push(0x00); // byte stuffing
  };
  return {
    put(value, bits) {
      for (let i = bits - 1; i >= 0; i--) {
        acc = (acc << 1) | ((value >> i) & 1);
        if (++n === 8) {
          push(acc);
          acc = 0;
          n = 0;
        }
      }
    },
    bytes() {
      if (n > 0) push((acc << (8 - n)) | ((1 << (8 - n)) - 1)); // pad with ones
      return Buffer.from(out);
    },
  };
}

/** The JPEG with an APP1 Exif segment (IFD0 with one Orientation tag) right after its SOI. */
export function withExifOrientation(jpeg, orientation) {
  const tiff = Buffer.alloc(26);
  tiff.write("II", 0, "latin1");
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4); // IFD0 at 8
  tiff.writeUInt16LE(1, 8); // one entry
  tiff.writeUInt16LE(0x0112, 10); // Orientation
  tiff.writeUInt16LE(3, 12); // SHORT
  tiff.writeUInt32LE(1, 14); // one value
  tiff.writeUInt16LE(orientation, 18);
  tiff.writeUInt32LE(0, 22); // no next IFD
  const app1 = segment(0xe1, Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]));
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

// ---- safetensors --------------------------------------------------------------------------------

export const DEMO = {
  config: readFileSync(`${WWW}models/demo/config.json`, "utf8"),
  preprocessor: readFileSync(`${WWW}models/demo/preprocessor_config.json`, "utf8"),
  weights: readFileSync(`${WWW}models/demo/model.safetensors`),
};

/** {header (object), data (Buffer)} of a safetensors file. */
export function parseSafetensors(file) {
  const n = Number(file.readBigUInt64LE(0));
  return { header: JSON.parse(file.subarray(8, 8 + n).toString("utf8")), data: file.subarray(8 + n) };
}

/**
 * A safetensors file from a header and the data section the offsets point into, written as is
 * (offsets untouched, so they may overlap or run past the end on purpose).
 */
export function writeSafetensors(header, data) {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

/**
 * The demo checkpoint after `edit(header, data)` (both copies: change, add or delete entries, write
 * into data), repacked so that every remaining tensor's bytes are contiguous again, unless `repack`
 * is false (then offsets are kept as edited).
 */
export function editDemo(edit, { repack = true } = {}) {
  return editCheckpoint(DEMO.weights, edit, { repack });
}

/** Any safetensors file (a Buffer) after `edit(header, data)`, repacked as editDemo does. */
export function editCheckpoint(weights, edit, { repack = true } = {}) {
  const { header, data } = parseSafetensors(weights);
  const copy = Buffer.from(data);
  edit(header, copy);
  if (!repack) return writeSafetensors(header, copy);
  const names = Object.keys(header).filter((k) => k !== "__metadata__").sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const parts = [];
  let at = 0;
  for (const name of names) {
    const [begin, end] = header[name].data_offsets;
    parts.push(copy.subarray(begin, end));
    header[name].data_offsets = [at, at + end - begin];
    at += end - begin;
  }
  return writeSafetensors(header, Buffer.concat(parts));
}

/** Writes `value` as f32 into the first element of tensor `name` of a parsed demo. */
export function poke(header, data, name, value, index = 0) {
  data.writeFloatLE(value, header[name].data_offsets[0] + index * 4);
}

/** A reference file's tensors as plain arrays of numbers (F32 and I64), and its metadata. */
export function readTensors(path) {
  const { header, data } = parseSafetensors(readFileSync(path));
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [a, b] = t.data_offsets;
    const bytes = new Uint8Array(data.subarray(a, b)).buffer;
    if (t.dtype === "F32") tensors[name] = Array.from(new Float32Array(bytes));
    else if (t.dtype === "I64") tensors[name] = Array.from(new BigInt64Array(bytes), Number);
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}
