// SigLIP's score arithmetic, for the text panel's sliders (no DOM): a label's logit is
// exp(t) · cos + b, its probability sigmoid(logit) — each label on its own. CLIP's softmax over the
// same logits is beside it for contrast: one distribution over the labels given, blind to b.
// The page shows Rust's numbers (TextModel.scoreTable) for the model's own t and b; these functions,
// the same formula, give the numbers once a slider has moved t or b.

/** The logistic function, computed without overflow for large |x|. */
export function sigmoid(x) {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The logit of a label whose text embedding has cosine `cos` with the image's, at log-temperature t and bias b. */
export function logit(cos, t, b) {
  return Math.exp(t) * cos + b;
}

/** Softmax over `logits` (shifted by their maximum, so it never overflows); [] for []. */
export function softmax(logits) {
  if (logits.length === 0) return [];
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * Every number the panel shows for labels with cosines `cosines` at (t, b): {scale: exp(t), logits,
 * probabilities (sigmoid, independent), softmax (over these labels), sigmoidSum}.
 */
export function scoreRows(cosines, t, b) {
  const logits = cosines.map((c) => logit(c, t, b));
  const probabilities = logits.map(sigmoid);
  return { scale: Math.exp(t), logits, probabilities, softmax: softmax(logits), sigmoidSum: probabilities.reduce((a, p) => a + p, 0) };
}

/** `template` with every "{}" replaced by `label` (a template without "{}" is used as a prefix). */
export function applyTemplate(template, label) {
  return template.includes("{}") ? template.replaceAll("{}", label) : `${template}${label}`;
}

/** Labels from text, one per line: trimmed, empty lines and repeats dropped. */
export function parseLabels(text) {
  return [...new Set(text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean))];
}

/** A probability for people: "82.4 %", "0.31 %", "3.2e-5 %" (tiny ones keep their size visible). */
export function formatProbability(p) {
  const percent = p * 100;
  if (!Number.isFinite(percent)) return String(percent);
  if (percent >= 10) return `${percent.toFixed(1)} %`;
  if (percent >= 0.01) return `${percent.toPrecision(2)} %`;
  return percent === 0 ? "0 %" : `${percent.toExponential(1)} %`;
}

/** A signed number with a true minus sign, `digits` after the point: "−12.93". */
export function signed(x, digits = 2) {
  return x < 0 ? `−${(-x).toFixed(digits)}` : x.toFixed(digits);
}
