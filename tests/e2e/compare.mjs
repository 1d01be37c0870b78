// The one numeric comparison of the page tests (the Rust tests' twin is tests/compare/mod.rs): lengths
// must agree, there must be something to compare, and a NaN or an infinity on either side fails
// instead of being skipped by Math.max or turned into `undefined - x`. Works on arrays and typed
// arrays alike (floats from wasm, bytes from a canvas).

import assert from "node:assert/strict";

/** Largest |ours[i] − reference[i]|; fails on different lengths, no values, or a non-finite value. */
export function maxAbsDiff(name, ours, reference) {
  assert.ok(ours && typeof ours.length === "number", `${name}: ours is not an array (${ours})`);
  assert.ok(reference && typeof reference.length === "number", `${name}: the reference is not an array (${reference})`);
  assert.equal(ours.length, reference.length, `${name}: ${ours.length} values, reference ${reference.length}`);
  assert.ok(ours.length > 0, `${name}: nothing to compare (no values)`);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) {
    const [x, y] = [ours[i], reference[i]];
    if (!Number.isFinite(x) || !Number.isFinite(y)) assert.fail(`${name}: at index ${i} ours is ${x}, reference ${y} (not a finite number)`);
    worst = Math.max(worst, Math.abs(x - y));
  }
  return worst;
}

/** Largest |value|; fails on no values or a non-finite one. */
export function maxAbs(name, values) {
  assert.ok(values.length > 0, `${name}: no values`);
  let max = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) assert.fail(`${name}: holds ${v}`);
    max = Math.max(max, Math.abs(v));
  }
  return max;
}

/** Asserts |ours − reference| ≤ tolerance everywhere; returns the worst difference. */
export function assertAbs(name, ours, reference, tolerance) {
  const diff = maxAbsDiff(name, ours, reference);
  assert.ok(diff <= tolerance, `${name}: max |diff| ${diff} > ${tolerance}`);
  return diff;
}

/** Asserts |ours − reference| ≤ tolerance · max|reference| everywhere; returns the worst relative difference. */
export function assertRel(name, ours, reference, tolerance) {
  const rel = maxAbsDiff(name, ours, reference) / Math.max(maxAbs(name, reference), Number.MIN_VALUE);
  assert.ok(rel <= tolerance, `${name}: max |diff| / max|ref| = ${rel} > ${tolerance}`);
  return rel;
}
