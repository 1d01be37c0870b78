// Pure functions over the safetensors format: read a header, find the vision or the text tower, plan
// the byte ranges to download, and rebuild a smaller file holding only the tower. No DOM, no network.
//
// Format: 8-byte little-endian header length n, n bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data;
// data_offsets count from the first byte after the header.

/** The suffix that names the vision tower's first tensor in every SigLIP layout we know. */
export const TOWER_MARKER = "embeddings.patch_embedding.weight";

/** The suffix that names the text tower's first tensor (`text_model.` in a SiglipModel checkpoint). */
export const TEXT_MARKER = "embeddings.token_embedding.weight";

/** Bytes per element of every dtype the safetensors format defines. */
export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Header length from the first 8 bytes of a file. */
export function headerLength(first8) {
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > 100_000_000n || n < 2n) {
    throw new Error(`its first 8 bytes announce a ${n}-byte header, so it is not a safetensors file — pick the model's .safetensors file`);
  }
  return Number(n);
}

/** Parses the JSON header bytes into {tensors: [{name, dtype, shape, begin, end}], metadata}. */
export function parseHeader(bytes) {
  let json;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`its header is not valid JSON (${error.message}) — the file is damaged or not a safetensors file; download it again`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error("its header is JSON but not an object of tensors — the file is damaged or not a safetensors file; download it again");
  }
  const tensors = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === "__metadata__") continue;
    const [begin, end] = info?.data_offsets ?? [];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
      throw new Error(`tensor \`${name}\` has bad data_offsets (${JSON.stringify(info?.data_offsets)}) — the file is damaged; download it again`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`tensor \`${name}\` has a bad shape (${JSON.stringify(shape)}) — the file is damaged; download it again`);
    }
    tensors.push({ name, dtype: info.dtype, shape, begin, end });
  }
  return { tensors, metadata: json.__metadata__ };
}

/** Elements in a tensor of `shape` (1 for a scalar). */
export function elementCount(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Checks that the tensors' bytes make sense before any of them is downloaded: each holds exactly
 * shape × dtype bytes (for dtypes we know; Rust names unknown ones), none overlaps another, and none
 * runs past the end of the data section (`dataLength` bytes; null when the file size is unknown).
 */
export function checkLayout(tensors, dataLength) {
  for (const t of tensors) {
    const size = DTYPE_BYTES[t.dtype];
    if (size !== undefined && elementCount(t.shape) * size !== t.end - t.begin) {
      throw new Error(
        `tensor \`${t.name}\` is ${t.dtype} of shape [${t.shape.join(", ")}], which takes ${elementCount(t.shape) * size} bytes, ` +
          `but its data_offsets give it ${t.end - t.begin} — the file is damaged; download it again`,
      );
    }
    if (dataLength !== null && t.end > dataLength) {
      throw new Error(
        `tensor \`${t.name}\` needs data up to byte ${t.end}, but the file's data ends at byte ${dataLength} — the file is truncated; download it again`,
      );
    }
  }
  let a = null; // the tensor reaching furthest so far
  for (const b of [...tensors].filter((t) => t.end > t.begin).sort((x, y) => x.begin - y.begin)) {
    if (a && b.begin < a.end) {
      throw new Error(
        `tensors \`${a.name}\` (bytes ${a.begin}–${a.end}) and \`${b.name}\` (bytes ${b.begin}–${b.end}) overlap — the file is damaged; download it again`,
      );
    }
    if (!a || b.end > a.end) a = b;
  }
}

/** wasm32 can address 4 GiB; we keep 256 MiB of it for the module, the trace and the page's requests. */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30 - 256 * 2 ** 20;

/**
 * Peak wasm memory while building a model from `tensors` (the vision tower's), from the header alone.
 * The page streams the tensors in one at a time (wasm.js), so wasm holds every element as f32 (Rust
 * widens f16/bf16 and packs the weights once) plus the largest tensor as stored while it is being
 * handed over, plus 64 MiB for the allocator and the first forward. Rough on purpose: it only has to
 * refuse what cannot fit, before the download.
 */
export function peakWasmBytes(tensors) {
  let largest = 0;
  let elements = 0;
  for (const t of tensors) {
    largest = Math.max(largest, t.end - t.begin);
    elements += elementCount(t.shape);
  }
  return { largest, asF32: elements * 4, total: elements * 4 + largest + 64 * 2 ** 20 };
}

/**
 * The vision tower's prefix (e.g. "vision_model.", "vision_tower.vision_model.", or "" for a bare
 * tower) and its tensors sorted by position in the file. Throws when no tower is found.
 */
export function visionTower(tensors) {
  const marker = tensors.find((t) => t.name.endsWith(TOWER_MARKER));
  if (!marker) {
    const groups = [...new Set(tensors.map((t) => (t.name.includes(".") ? `${t.name.split(".")[0]}.…` : t.name)))];
    const held = tensors.length ? `its ${tensors.length} tensors: ${groups.slice(0, 4).join(", ")}${groups.length > 4 ? ", …" : ""}` : "it holds no tensors";
    throw new Error(
      `there is no SigLIP vision tower (no tensor name ends in “${TOWER_MARKER}”; ${held}) — ` +
        "a text-only or non-SigLIP checkpoint cannot be shown here; pick a SigLIP, SigLIP2 or PaliGemma checkpoint",
    );
  }
  const prefix = marker.name.slice(0, -TOWER_MARKER.length);
  const kept = tensors.filter((t) => t.name.startsWith(prefix)).sort((a, b) => a.begin - b.begin);
  return { prefix, tensors: kept };
}

/**
 * Merges the kept tensors' byte ranges where they touch. Returns ranges in file coordinates
 * (absolute, end exclusive) given the data section's start `dataStart` = 8 + header length.
 */
export function mergeRanges(tensors, dataStart) {
  const ranges = [];
  for (const t of tensors) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === dataStart + t.begin) last.end = dataStart + t.end;
    else ranges.push({ start: dataStart + t.begin, end: dataStart + t.end });
  }
  return ranges;
}

/**
 * Lays out a new safetensors file for `tensors` (sorted by begin, as visionTower returns them), whose
 * data section is the merged ranges concatenated. Returns {buffer, dataStart} where buffer is the
 * whole file with its header written and its data area still zero: the caller copies each merged
 * range to dataStart + (sum of the lengths of the ranges before it).
 */
export function layoutFile(tensors, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const size = t.end - t.begin;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  let jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  if (padded !== jsonBytes.length) {
    jsonBytes = new TextEncoder().encode(json + " ".repeat(padded - jsonBytes.length));
  }
  const buffer = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(buffer.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  buffer.set(jsonBytes, 8);
  return { buffer, dataStart: 8 + jsonBytes.length };
}

/**
 * The text tower's tensors (`text_model.*`, sorted by position in the file) with `logit_scale` and
 * `logit_bias` beside it when the checkpoint has them (a SiglipModel), or null when there is none.
 */
export function findTextTower(tensors) {
  const marker = tensors.find((t) => t.name.endsWith(TEXT_MARKER));
  if (!marker) return null;
  const prefix = marker.name.slice(0, -TEXT_MARKER.length);
  // As Rust's model_root: the logit parameters sit where `text_model.` hangs from.
  const root = prefix.endsWith("text_model.") ? prefix.slice(0, -"text_model.".length) : null;
  const logits = root === null ? [] : [`${root}logit_scale`, `${root}logit_bias`];
  const kept = tensors.filter((t) => t.name.startsWith(prefix) || logits.includes(t.name)).sort((a, b) => a.begin - b.begin);
  return { prefix, tensors: kept };
}

/** The text tower as `findTextTower` finds it; throws, naming what the checkpoint holds, when there is none. */
export function textTower(tensors) {
  const tower = findTextTower(tensors);
  if (tower) return tower;
  const vision = tensors.some((t) => t.name.endsWith(TOWER_MARKER));
  throw new Error(
    `this checkpoint has no text tower (no tensor name ends in “${TEXT_MARKER}”${vision ? "; it holds a vision tower only, as SiglipVisionModel and PaliGemma checkpoints do" : ""}) — ` +
      "scoring labels needs a SiglipModel checkpoint with both towers, e.g. google/siglip-base-patch16-224; the vision views work without it",
  );
}

/** Bytes, tensors and elements of a tower's tensors: for the facts, before they are downloaded. */
export function towerSize(tensors) {
  return {
    bytes: tensors.reduce((sum, t) => sum + t.end - t.begin, 0),
    tensors: tensors.length,
    parameters: tensors.reduce((sum, t) => sum + elementCount(t.shape), 0),
  };
}

/** Extracts one tower (`tower`: visionTower or textTower) from a whole safetensors file held in memory. */
export function extractTower(file, tower = visionTower) {
  if (file.length < 8) throw new Error(`the file is only ${file.length} bytes long — it is truncated or empty; download it again`);
  const n = headerLength(file.subarray(0, 8));
  if (8 + n > file.length) throw new Error(headerPastEnd(n, file.length));
  const { tensors, metadata } = parseHeader(file.subarray(8, 8 + n));
  const found = tower(tensors);
  checkLayout(tensors, file.length - 8 - n);
  const ranges = mergeRanges(found.tensors, 8 + n);
  const { buffer, dataStart } = layoutFile(found.tensors, metadata);
  let at = dataStart;
  for (const r of ranges) {
    buffer.set(file.subarray(r.start, r.end), at);
    at += r.end - r.start;
  }
  return { buffer, prefix: found.prefix, count: found.tensors.length };
}

/** Extracts the vision tower from a whole safetensors file held in memory. */
export function extractVision(file) {
  return extractTower(file, visionTower);
}

/** The message for a header longer than the file holding it. */
export function headerPastEnd(n, fileLength) {
  return `its header claims ${n} bytes, but the whole file is only ${fileLength} bytes — the file is truncated or not a safetensors file; download it again`;
}

/** Bit masks of the exponent field: all ones means NaN or ±infinity. */
const NON_FINITE = { F32: [4, 0x7f800000], F16: [2, 0x7c00], BF16: [2, 0x7f80] };

function countNonFinite(bytes, dtype) {
  const [width, mask] = NON_FINITE[dtype];
  const n = bytes.length / width;
  let count = 0;
  if (bytes.byteOffset % width === 0) {
    const words = width === 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) if ((words[i] & mask) === mask) count++;
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < n; i++) if (((width === 4 ? view.getUint32(i * 4, true) : view.getUint16(i * 2, true)) & mask) === mask) count++;
  }
  return count;
}

/**
 * Scans the float tensors of a safetensors file for NaN and infinite values. Returns null when all
 * are finite, else {name, count} of the first bad tensor in file order and `tensors`, how many are bad.
 */
export function findNonFinite(file) {
  const n = headerLength(file.subarray(0, 8));
  const { tensors } = parseHeader(file.subarray(8, 8 + n));
  let first = null;
  let bad = 0;
  for (const t of tensors.sort((a, b) => a.begin - b.begin)) {
    if (!NON_FINITE[t.dtype]) continue;
    const count = countNonFinite(file.subarray(8 + n + t.begin, 8 + n + t.end), t.dtype);
    if (count === 0) continue;
    bad += 1;
    first ??= { name: t.name, count };
  }
  return first && { ...first, tensors: bad };
}
