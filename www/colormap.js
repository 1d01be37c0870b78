// Colour maps and the small maths the views share. No DOM: node can import this file too.
//
// viridis and magma are matplotlib's maps (CC0), here as Matt Zucker's 6th-degree polynomial fits
// (shadertoy WlfXRN, CC0), sampled into 256-entry lookup tables. Max error against matplotlib's
// tables is below 1/255 for most of the range and a few levels at the ends.

const POLYNOMIALS = {
  viridis: [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ],
  magma: [
    [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
    [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
    [8.353717279216625, -3.577719514958484, 0.3144679030132573],
    [-27.66873308576866, 14.26473078096533, -13.64921318813922],
    [52.17613981234068, -27.94360607168351, 12.94416944238394],
    [-50.76852536473588, 29.04658282127291, 4.23415299384598],
    [18.65570506591883, -11.48977351997711, -5.601961508734096],
  ],
};

function table(coefficients) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = coefficients.length - 1; k >= 0; k--) v = v * t + coefficients[k][c];
      lut[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return lut;
}

/** name -> Uint8ClampedArray(256 × RGB). */
export const COLORMAPS = Object.fromEntries(Object.entries(POLYNOMIALS).map(([name, c]) => [name, table(c)]));

/** Smallest and largest finite value. */
export function valueRange(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** Lookup-table index of `v` on the range [min, max] (a flat map gets index 0). */
export function levelOf(v, min, max) {
  if (!(max > min) || !Number.isFinite(v)) return 0;
  const t = (v - min) / (max - min);
  return Math.round(Math.min(1, Math.max(0, t)) * 255);
}

/** One opaque RGBA pixel per value, coloured by `name` on [min, max]. */
export function colorize(values, { min, max }, name = "viridis") {
  const lut = COLORMAPS[name] ?? COLORMAPS.viridis;
  const rgba = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const l = levelOf(values[i], min, max) * 3;
    rgba[i * 4] = lut[l];
    rgba[i * 4 + 1] = lut[l + 1];
    rgba[i * 4 + 2] = lut[l + 2];
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/** RGB in [0, 1] per value (PCA output) to opaque RGBA. */
export function rgbToRgba(rgb, count) {
  const rgba = new Uint8ClampedArray(count * 4);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(Math.min(1, Math.max(0, rgb[i * 3 + c])) * 255);
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/** CSS colour of `t` in [0, 1] on a map. */
export function cssColor(t, name = "viridis") {
  const lut = COLORMAPS[name] ?? COLORMAPS.viridis;
  const l = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
  return `rgb(${lut[l]}, ${lut[l + 1]}, ${lut[l + 2]})`;
}

/** Row and column of row-major patch `p` on a `grid`-wide grid. */
export function rowCol(p, grid) {
  return { row: Math.floor(p / grid), col: p % grid };
}

/** Index of the largest value. */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Short human number: 0.0123, 1.23e-5, 123, 4567. */
export function formatValue(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  if (a >= 100) return String(Math.round(v));
  let s = v.toPrecision(3);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** Bytes as "372 MB". */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["kB", "MB", "GB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}
