// Pure functions over the safetensors format: read a header, find the vision tower, plan the byte
// ranges to download, and rebuild a smaller file holding only the tower. No DOM, no network.
//
// Format: 8-byte little-endian header length n, n bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data;
// data_offsets count from the first byte after the header.

/** The suffix that names the vision tower's first tensor in every SigLIP layout we know. */
export const TOWER_MARKER = "embeddings.patch_embedding.weight";

/** Header length from the first 8 bytes of a file. */
export function headerLength(first8) {
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > 100_000_000n) throw new Error(`safetensors header claims ${n} bytes; this is not a safetensors file`);
  return Number(n);
}

/** Parses the JSON header bytes into {tensors: [{name, dtype, shape, begin, end}], metadata}. */
export function parseHeader(bytes) {
  let json;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`safetensors header is not valid JSON (${error.message})`);
  }
  const tensors = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === "__metadata__") continue;
    const [begin, end] = info.data_offsets ?? [];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || end < begin) {
      throw new Error(`safetensors tensor ${name} has bad data_offsets`);
    }
    tensors.push({ name, dtype: info.dtype, shape: info.shape, begin, end });
  }
  return { tensors, metadata: json.__metadata__ };
}

/**
 * The vision tower's prefix (e.g. "vision_model.", "vision_tower.vision_model.", or "" for a bare
 * tower) and its tensors sorted by position in the file. Throws when no tower is found.
 */
export function visionTower(tensors) {
  const marker = tensors.find((t) => t.name.endsWith(TOWER_MARKER));
  if (!marker) {
    throw new Error(`no vision tower: no tensor name ends with "${TOWER_MARKER}"`);
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

/** Extracts the vision tower from a whole safetensors file held in memory. */
export function extractVision(file) {
  const n = headerLength(file.subarray(0, 8));
  const { tensors, metadata } = parseHeader(file.subarray(8, 8 + n));
  const tower = visionTower(tensors);
  const ranges = mergeRanges(tower.tensors, 8 + n);
  const { buffer, dataStart } = layoutFile(tower.tensors, metadata);
  let at = dataStart;
  for (const r of ranges) {
    if (r.end > file.length) throw new Error(`safetensors file is truncated (${file.length} bytes, needs ${r.end})`);
    buffer.set(file.subarray(r.start, r.end), at);
    at += r.end - r.start;
  }
  return { buffer, prefix: tower.prefix, count: tower.tensors.length };
}
