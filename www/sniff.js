// What an image file's own bytes say about it, before any decoding: its format, the size its header
// declares, frames, colour model, EXIF orientation, and whether it ends early. Pure functions over a
// Uint8Array (no DOM), shared by the page (image.js) and the node tests.

/** Largest image accepted, in pixels: the Rust side's MAX_PIXELS (src/preprocess.rs). */
export const MAX_PIXELS = 100_000_000;

/** Bytes worth reading for `sniffImage`: every header we read sits well inside this. */
export const SNIFF_BYTES = 1 << 20;

const FORMAT_NAMES = { png: "PNG", jpeg: "JPEG", gif: "GIF", webp: "WebP", bmp: "BMP", avif: "AVIF", heic: "HEIC/HEIF photo", tiff: "TIFF", pdf: "PDF document", zip: "ZIP archive", svg: "SVG drawing", html: "web page", text: "text file" };

/** A readable name for a format id from `sniffImage`. */
export function formatName(format) {
  return FORMAT_NAMES[format] ?? "file of unknown type";
}

const startsWith = (b, ...sig) => sig.every((v, i) => b[i] === v);
const ascii = (b, at, n) => String.fromCharCode(...b.subarray(at, at + n));
const be16 = (b, at) => (b[at] << 8) | b[at + 1];
const be32 = (b, at) => ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
const le16 = (b, at) => b[at] | (b[at + 1] << 8);
const le24 = (b, at) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
const le32 = (b, at) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 2 ** 24;

/**
 * Reads the start of a file (SNIFF_BYTES are plenty). Returns {format, width, height} where known,
 * plus per format: frames (GIF, APNG, WebP; counted within `bytes`), bitDepth (PNG), cmyk (JPEG),
 * orientation (JPEG EXIF, 1 = upright). `format` is null for bytes we do not recognise.
 */
export function sniffImage(bytes) {
  const b = bytes;
  if (b.length >= 24 && startsWith(b, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return sniffPng(b);
  if (b.length >= 3 && startsWith(b, 0xff, 0xd8, 0xff)) return sniffJpeg(b);
  if (b.length >= 10 && (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a")) return sniffGif(b);
  if (b.length >= 30 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return sniffWebp(b);
  if (b.length >= 26 && ascii(b, 0, 2) === "BM") return { format: "bmp", width: Math.abs(le32(b, 18) | 0), height: Math.abs(le32(b, 22) | 0) };
  if (b.length >= 12 && ascii(b, 4, 4) === "ftyp") return sniffIsoImage(b);
  if (b.length >= 4 && (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*")) return { format: "tiff" };
  if (b.length >= 5 && ascii(b, 0, 5) === "%PDF-") return { format: "pdf" };
  if (b.length >= 4 && ascii(b, 0, 4) === "PK\x03\x04") return { format: "zip" };
  const text = asText(b);
  if (text !== null) {
    const head = text.trimStart().slice(0, 512).toLowerCase();
    if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return { format: "svg" };
    if (head.startsWith("<!doctype html") || head.startsWith("<html")) return { format: "html" };
    return { format: "text" };
  }
  return { format: null };
}

/** The bytes as text if they look like text (UTF-8, no control characters but whitespace), else null. */
function asText(b) {
  if (b.length === 0) return null;
  const sample = b.subarray(0, 4096);
  let text;
  try {
    // A multi-byte character cut at the sample's end is not an error.
    text = new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: true });
  } catch {
    return null;
  }
  return /[\x00-\x08\x0e-\x1f\x7f]/.test(text) ? null : text;
}

function sniffPng(b) {
  const out = { format: "png", width: be32(b, 16), height: be32(b, 20), bitDepth: b[24], frames: 1 };
  // acTL (animation control) comes before the first IDAT in an animated PNG.
  for (let at = 8; at + 8 <= b.length; ) {
    const length = be32(b, at);
    const type = ascii(b, at + 4, 4);
    if (type === "acTL" && at + 12 <= b.length) out.frames = be32(b, at + 8);
    if (type === "IDAT" || type === "IEND") break;
    at += 12 + length;
  }
  return out;
}

const isSof = (m) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function sniffJpeg(b) {
  const out = { format: "jpeg", orientation: 1 };
  for (let at = 2; at + 4 <= b.length; ) {
    if (b[at] !== 0xff) break;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break;
    const length = be16(b, at + 2);
    const body = at + 4;
    if (isSof(marker) && body + 6 <= b.length) {
      out.height = be16(b, body + 1);
      out.width = be16(b, body + 3);
      out.components = b[body + 5];
      out.cmyk = out.components === 4;
      out.progressive = marker === 0xc2;
    }
    if (marker === 0xe1 && body + 14 <= b.length && ascii(b, body, 6) === "Exif\0\0") {
      out.orientation = exifOrientation(b.subarray(body + 6, Math.min(b.length, at + 2 + length)));
    }
    at += 2 + length;
  }
  return out;
}

/** The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 when absent. */
export function exifOrientation(tiff) {
  if (tiff.length < 8) return 1;
  const little = ascii(tiff, 0, 2) === "II";
  const u16 = (at) => (little ? le16(tiff, at) : be16(tiff, at));
  const u32 = (at) => (little ? le32(tiff, at) : be32(tiff, at));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) break;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function sniffGif(b) {
  const out = { format: "gif", width: le16(b, 6), height: le16(b, 8), frames: 0 };
  let at = 13;
  if (b[10] & 0x80) at += 3 * (1 << ((b[10] & 7) + 1)); // global colour table
  const skipSubBlocks = (p) => {
    while (p < b.length && b[p] !== 0) p += b[p] + 1;
    return p + 1;
  };
  while (at < b.length) {
    const block = b[at];
    if (block === 0x21) {
      at = skipSubBlocks(at + 2); // extension: introducer, label, data sub-blocks
    } else if (block === 0x2c) {
      out.frames += 1;
      if (at + 10 > b.length) break;
      const packed = b[at + 9];
      at += 10;
      if (packed & 0x80) at += 3 * (1 << ((packed & 7) + 1)); // local colour table
      at = skipSubBlocks(at + 1); // LZW minimum code size, then the data
    } else {
      break; // 0x3b trailer, or damage
    }
  }
  out.frames = Math.max(out.frames, 1);
  return out;
}

function sniffWebp(b) {
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 ") return { format: "webp", width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff, frames: 1 };
  if (chunk === "VP8L") {
    const bits = le32(b, 21);
    return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, frames: 1 };
  }
  if (chunk === "VP8X") {
    const out = { format: "webp", width: le24(b, 24) + 1, height: le24(b, 27) + 1, frames: 1 };
    if (b[20] & 0x02) {
      out.frames = 0;
      for (let at = 30; at + 8 <= b.length; at += 8 + ((le32(b, at + 4) + 1) & ~1)) if (ascii(b, at, 4) === "ANMF") out.frames += 1;
      out.frames = Math.max(out.frames, 2);
    }
    return out;
  }
  return { format: "webp" };
}

/** AVIF and HEIC: the size is in an `ispe` box inside `meta`; looking for its tag is enough here. */
function sniffIsoImage(b) {
  const brand = ascii(b, 8, 4);
  const brands = ascii(b, 8, Math.max(0, Math.min(be32(b, 0), 64) - 8));
  const format = brand === "avif" || brand === "avis" ? "avif" : /hei[cxms]|mif1|msf1/.test(brands) ? "heic" : null;
  if (!format) return { format: null };
  const out = { format };
  const limit = Math.min(b.length, 65536) - 16;
  for (let at = 12; at < limit; at++) {
    if (b[at] === 0x69 && ascii(b, at, 4) === "ispe") {
      out.width = be32(b, at + 8);
      out.height = be32(b, at + 12);
      break;
    }
  }
  return out;
}

/** Pixels the header declares, or 0 when unknown. */
export function declaredPixels(facts) {
  return facts.width > 0 && facts.height > 0 ? facts.width * facts.height : 0;
}

/**
 * Whether a whole PNG or JPEG file stops before its end marker (PNG: IEND, JPEG: EOI after the last
 * scan). Returns {truncated: boolean, where: string} for those formats, null for others.
 */
export function findTruncation(bytes, format) {
  if (format === "png") return pngTruncation(bytes);
  if (format === "jpeg") return jpegTruncation(bytes);
  return null;
}

function pngTruncation(b) {
  for (let at = 8; ; ) {
    if (at + 8 > b.length) return { truncated: true, where: at === b.length ? "before its IEND chunk" : "inside a chunk header" };
    const length = be32(b, at);
    const type = ascii(b, at + 4, 4);
    if (at + 12 + length > b.length) return { truncated: true, where: `inside its ${type} chunk` };
    if (type === "IEND") return { truncated: false };
    at += 12 + length;
  }
}

function jpegTruncation(b) {
  let at = 2;
  while (at + 2 <= b.length) {
    if (b[at] !== 0xff) return { truncated: false }; // damaged, not short: let the decoder say
    const marker = b[at + 1];
    if (marker === 0xd9) return { truncated: false };
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    if (at + 4 > b.length) break;
    const next = at + 2 + be16(b, at + 2);
    if (next > b.length) return { truncated: true, where: "inside a header segment" };
    at = next;
    if (marker === 0xda) {
      // Entropy-coded data runs until a marker that is neither a stuffed 0xFF00 nor a restart marker.
      while (at + 1 < b.length && !(b[at] === 0xff && b[at + 1] !== 0 && !(b[at + 1] >= 0xd0 && b[at + 1] <= 0xd7))) at++;
      if (at + 1 >= b.length) return { truncated: true, where: "inside the image data" };
    }
  }
  return { truncated: true, where: "before its end marker" };
}
