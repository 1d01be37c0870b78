// Images in: check what the file says it is (refusing empty files and decompression bombs before
// decoding), decode it (respecting EXIF orientation, without colour management or premultiplied
// alpha) into RGBA at its original size, and explain in plain words why a file cannot be used.

import { MAX_PIXELS, SNIFF_BYTES, sniffImage, declaredPixels, findTruncation, formatName } from "./sniff.js";

const PICK = "pick a PNG, JPEG, WebP or GIF image";

const megapixels = (n) => (n / 1e6).toLocaleString("en", { maximumFractionDigits: 1 });

function tooLarge(quoted, width, height, verb) {
  return new Error(
    `${quoted} ${verb} ${width} × ${height} pixels (${megapixels(width * height)} megapixels), more than the ` +
      `${megapixels(MAX_PIXELS)} megapixels this page accepts — scale it down first, e.g. to 4000 × 3000`,
  );
}

/**
 * Decodes a Blob/File into {bitmap, rgba: ImageData, notes: string[]} (notes: things worth telling,
 * e.g. that only an animation's first frame is used). Throws an Error saying what is wrong otherwise.
 */
export async function decodeImage(blob, name = blob.name || "the image") {
  const quoted = `“${name}”`;
  if (blob.size === 0) throw new Error(`${quoted} is empty (0 bytes) — pick the image again, or save it again from the program that made it`);
  const head = new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());
  const facts = sniffImage(head);
  if (declaredPixels(facts) > MAX_PIXELS) throw tooLarge(quoted, facts.width, facts.height, "declares");
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch {
    throw new Error(await whyNotDecoded(blob, facts, quoted));
  }
  if (bitmap.width * bitmap.height > MAX_PIXELS) {
    // A format whose header we do not read (e.g. ICO): caught after decoding, before the copy.
    const { width, height } = bitmap;
    bitmap.close();
    throw tooLarge(quoted, width, height, "is");
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return { bitmap, rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height), notes: notesFor(facts, quoted, blob.size) };
}

/** The reason a file the browser could not decode is not usable, and what to do. */
async function whyNotDecoded(blob, facts, quoted) {
  const { format } = facts;
  if (format === null) {
    const first = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
    const hex = Array.from(first, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" ");
    return `${quoted} is not an image this page can read (its first bytes are ${hex}) — ${PICK}`;
  }
  if (format === "svg") return `${quoted} is an SVG drawing, not a pixel image — export it as PNG, then try again`;
  if (["text", "html", "pdf", "zip"].includes(format)) return `${quoted} is a ${formatName(format)}, not an image, whatever its name says — ${PICK}`;
  if (format === "heic" || format === "tiff") return `${quoted} is a ${formatName(format)}, which this browser cannot decode — convert it to JPEG or PNG, then try again`;
  if (format === "png" || format === "jpeg") {
    const cut = findTruncation(new Uint8Array(await blob.arrayBuffer()), format);
    if (cut?.truncated) {
      return `${quoted} is a truncated ${formatName(format)}: the file ends after ${blob.size} bytes, ${cut.where} — download or export it again`;
    }
  }
  if (facts.cmyk) return `${quoted} is a CMYK JPEG, which this browser cannot decode — save it as an RGB JPEG or PNG, then try again`;
  return `${quoted} looks like a ${formatName(format)}, but its data is damaged and cannot be decoded — open and re-save it in an image editor, or ${PICK}`;
}

/** Things about a decoded image worth saying next to it. */
function notesFor(facts, quoted, size) {
  const notes = [];
  if (facts.frames > 1) {
    const count = size <= SNIFF_BYTES ? ` (${facts.frames} frames)` : "";
    notes.push(`${quoted} is animated${count}: the model sees only its first frame.`);
  }
  if (facts.cmyk) notes.push(`${quoted} is a CMYK JPEG: the browser converted it to RGB, so its colours may differ slightly from other programs'.`);
  if (facts.orientation > 1) {
    notes.push(`${quoted} was turned upright, as its EXIF orientation tag asks (as transformers' load_image does; PIL's Image.open alone would not).`);
  }
  return notes;
}

/** Only http(s) addresses (relative ones resolve against the page). */
function imageUrl(url) {
  let resolved;
  try {
    resolved = new URL(url, location.href);
  } catch {
    throw new Error(`“${url}” is not a valid address — drop the image file on the page instead`);
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
    throw new Error(`only http:// and https:// image addresses can be loaded, not “${resolved.protocol}” — drop the image file on the page instead`);
  }
  return resolved;
}

/** Fetches and decodes an image URL. */
export async function fetchImage(url) {
  const resolved = imageUrl(url);
  let response;
  try {
    response = await fetch(resolved);
  } catch (error) {
    if (resolved.origin !== location.origin) {
      throw new Error(
        `could not download the image from ${resolved.origin}: this page fetches images only from its own site, and the server must allow cross-origin downloads (CORS) — save the image and drop it here instead`,
      );
    }
    throw new Error(`could not fetch image ${url} (${error.message}) — check your connection and the address`);
  }
  if (!response.ok) throw new Error(`image ${url} answered HTTP ${response.status} — check the address`);
  return decodeImage(await response.blob(), fileName(resolved) || url);
}

function fileName(url) {
  const last = url.pathname.split("/").pop();
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** The first image file among `files`, or null. */
export function firstImage(files) {
  return [...files].find((f) => f.type.startsWith("image/")) ?? null;
}
