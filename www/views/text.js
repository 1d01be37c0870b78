// Section 3, the text panel: labels (one per line) and a prompt template in; for each label its
// sigmoid probability as a bar with the arithmetic that made it (cos → × exp(t) → + b → sigmoid),
// sliders that move t and b, CLIP's softmax over the same logits beside it; then the maps
// (text-maps.js). The text tower is fetched on first use (the Score button, or labels in the URL);
// a checkpoint without a text tower or a tokenizer gets the reason, and the vision views go on.

import { el, labelled } from "../dom.js";
import { formatBytes } from "../colormap.js";
import { applyTemplate, formatProbability, parseLabels, scoreRows, signed, softmax } from "../scores.js";
import { createMaps } from "./text-maps.js";

/** The zero-shot pipeline's default prompt in transformers (and SigLIP's model cards). */
export const DEFAULT_TEMPLATE = "This is a photo of {}.";
export const DEFAULT_LABELS = ["a cat", "a dog", "a landscape", "a person", "a car"];

function ms(v) {
  return v == null ? "—" : v < 10 ? `${v.toFixed(1)} ms` : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
}

function millions(n) {
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} M`;
}

/**
 * `ctx`: {request(type, payload, options), hover, set, info, timings, cmap(), traceReady(),
 * setPhase(phase), showError(message), clearError(), saveState({labels, template}),
 * showSamples(names), refreshFacts(), imageName()}. `slot` receives the panel.
 */
export function create(ctx, slot) {
  const status = el("p", { className: "note-box text-status" });
  status.dataset.textStatus = "";
  const labelsBox = el("textarea", { rows: 7, spellcheck: false, value: DEFAULT_LABELS.join("\n") });
  labelsBox.dataset.control = "labels";
  const template = el("input", { type: "text", spellcheck: false, value: DEFAULT_TEMPLATE });
  template.dataset.control = "template";
  const templateNote = el("span", { className: "hint" });
  const score = el("button", { type: "button", className: "primary", textContent: "Score" });
  score.dataset.control = "score";
  const bar = el("progress", { max: 1, value: 0 });
  const barText = el("span");
  const cancel = el("button", { type: "button", textContent: "Cancel" });
  const progress = el("div", { className: "progress", hidden: true }, [bar, barText, cancel]);
  const facts = el("p", { className: "readout text-facts" });

  const t = el("input", { type: "range", min: -1, max: 7, step: 0.01 });
  t.dataset.control = "t";
  const b = el("input", { type: "range", min: -25, max: 10, step: 0.05 });
  b.dataset.control = "b";
  const tOut = el("output");
  const bOut = el("output");
  const reset = el("button", { type: "button", textContent: "Model's values" });
  reset.dataset.control = "reset-scores";
  const whatIf = el("p", { className: "hint what-if" });

  const rows = el("div", { className: "score-rows" });
  rows.setAttribute("role", "table");
  const sums = el("p", { className: "readout score-sums" });
  const maps = createMaps(ctx);

  const table = el("div", { className: "text-results", hidden: true }, [
    el("div", { className: "score-head", role: "row" }, [
      el("span", { textContent: "Label → text scored" }),
      el("span", { textContent: "SigLIP: sigmoid, each label on its own" }),
      el("span", { textContent: "How: cos × exp(t) + b = logit → sigmoid" }),
      el("span", { textContent: "CLIP-style softmax over these labels" }),
    ]),
    rows,
    sums,
    el("div", { className: "controls row sliders" }, [
      labelled("t (log temperature): logits = exp(t) · cos + b", t),
      tOut,
      labelled("b (bias)", b),
      bOut,
      reset,
    ]),
    whatIf,
  ]);

  slot.append(
    el("p", {
      className: "intro",
      textContent:
        "The text tower turns each label, written into the prompt template, into one vector. A label's score is the cosine between that vector and the image's pooled embedding, stretched by exp(t) and shifted by b — two numbers SigLIP learned in training — then passed through a sigmoid: a yes/no probability for each label on its own.",
    }),
    status,
    el("div", { className: "controls row text-inputs" }, [
      el("label", { className: "control labels" }, [el("span", { textContent: "Labels, one per line" }), labelsBox]),
      el("div", { className: "control template" }, [labelled("Prompt template ({} = the label)", template), templateNote, el("div", { className: "row" }, [score])]),
      progress,
    ]),
    facts,
    table,
    maps.root,
  );

  let info = null; // the vision model's facts
  let text = null; // the text tower's facts, once loaded
  let model = { t: 0, b: 0 }; // the checkpoint's own t and b
  let scored = null; // {labels, texts, cos, logits, probabilities (Rust's), tokenCounts, maxLength}
  let timing = { embed: null, score: null };
  let active = false; // labels were asked for: score after every image (of this model)
  let models = 0; // models set up so far: the URL's labels are for the first one
  let userLabels = false; // the labels came from the user (or the URL), not from a model's presets
  let userTemplate = false; // likewise the template
  let presets = null;
  let unavailable = null; // why this checkpoint cannot score, when known
  let seq = 0;

  const currentLabels = () => parseLabels(labelsBox.value);

  function setStatus(message, kind = "info") {
    status.textContent = message;
    status.dataset.kind = kind;
    status.hidden = !message;
  }

  function describe() {
    const size = info?.text;
    // Known before anything is fetched: a fact about the checkpoint, not an error.
    if (unavailable) return setStatus(unavailable, "info");
    if (text) return setStatus("");
    if (size === null) {
      unavailable =
        "This checkpoint has no text tower (a vision tower only, as SiglipVisionModel and PaliGemma checkpoints hold), so it cannot score labels: load a SiglipModel checkpoint with both towers, e.g. google/siglip-base-patch16-224. The views above and below work without it.";
      return setStatus(unavailable, "info");
    }
    const what = size ? `its text tower (${formatBytes(size.bytes)}, ${millions(size.parameters)} parameters)` : "its text tower";
    setStatus(info?.local ? `Score reads ${what} and the tokenizer from the files you picked.` : `Score downloads ${what} and the tokenizer, once; the browser keeps them for next time.`);
  }

  function showTemplateNote() {
    templateNote.textContent = template.value.includes("{}") ? "" : "No {} in the template: the label is appended to it.";
  }

  function showFacts() {
    if (!text) {
      facts.textContent = "";
      return;
    }
    const where = text.fromCache ? `from the browser cache in ${ms(text.downloadMs)}` : text.local ? `read from local files in ${ms(text.downloadMs)}` : `downloaded in ${ms(text.downloadMs)} (${formatBytes(text.fetchedBytes)})`;
    facts.textContent =
      `Text tower: ${text.numLayers} layers, ${millions(text.numParameters)} parameters, ${formatBytes(text.weightBytes)} of weights held in ${text.weightStorage}; ${where}, built in ${ms(text.loadMs)} · ` +
      `tokenizer ${text.tokenizer}, ${text.maxLength} tokens per label · last scoring: text tower ${ms(timing.embed)}, scores ${ms(timing.score)}`;
  }

  /** The t and b the bars use now (the sliders'), and whether they differ from the model's. */
  function current() {
    const tv = Number(t.value);
    const bv = Number(b.value);
    // A slider holds whole steps: within half a step of the model's value is the model's value.
    const moved = Math.abs(tv - model.t) > Number(t.step) / 2 || Math.abs(bv - model.b) > Number(b.step) / 2;
    return { t: tv, b: bv, moved };
  }

  function setSliders(tv, bv) {
    t.min = String(Math.min(-1, Math.floor(tv - 1)));
    t.max = String(Math.max(7, Math.ceil(tv + 2)));
    b.min = String(Math.min(-25, Math.floor(bv - 10)));
    b.max = String(Math.max(10, Math.ceil(bv + 10)));
    t.value = String(tv);
    b.value = String(bv);
  }

  /** Rows for the scored labels (built once per scoring; numbers filled by fillNumbers). */
  function buildRows() {
    rows.replaceChildren(
      ...scored.labels.map((label, i) => {
        const cells = {
          name: el("div", { className: "score-label" }, [
            el("b", { textContent: label }),
            el("small", { textContent: `“${scored.texts[i]}” · ${scored.tokenCounts[i]} of ${scored.maxLength} tokens${scored.tokenCounts[i] >= scored.maxLength ? " (cut)" : ""}` }),
          ]),
          bar: el("div", { className: "bar sigmoid" }, [el("span", { className: "fill" }), el("span", { className: "value" })]),
          how: el("div", { className: "how" }),
          soft: el("div", { className: "bar softmax" }, [el("span", { className: "fill" }), el("span", { className: "value" })]),
        };
        const row = el("div", { className: "score-row" }, Object.values(cells));
        row.setAttribute("role", "row");
        row.dataset.label = label;
        return row;
      }),
    );
  }

  function fillNumbers() {
    if (!scored) return;
    const { t: tv, b: bv, moved } = current();
    // The model's own t and b: Rust's numbers; moved sliders: the same formula in scores.js.
    const own = { scale: Math.exp(model.t), logits: scored.logits, probabilities: scored.probabilities };
    const numbers = moved ? scoreRows(scored.cos, tv, bv) : { ...own, softmax: softmax(scored.logits) };
    const shownB = moved ? bv : model.b;
    [...rows.children].forEach((row, i) => {
      const p = numbers.probabilities[i];
      const [name, sig, how, soft] = row.children;
      void name;
      row.dataset.probability = String(p);
      row.dataset.softmax = String(numbers.softmax[i]);
      row.dataset.logit = String(numbers.logits[i]);
      row.dataset.cos = String(scored.cos[i]);
      sig.firstChild.style.width = `${(100 * p).toFixed(3)}%`;
      sig.lastChild.textContent = formatProbability(p);
      soft.firstChild.style.width = `${(100 * numbers.softmax[i]).toFixed(3)}%`;
      soft.lastChild.textContent = formatProbability(numbers.softmax[i]);
      how.textContent = `${signed(scored.cos[i], 4)} × ${numbers.scale.toFixed(2)} ${shownB < 0 ? "−" : "+"} ${Math.abs(shownB).toFixed(2)} = ${signed(numbers.logits[i])} → σ = ${formatProbability(p)}`;
    });
    const sigmoidSum = numbers.probabilities.reduce((a, p) => a + p, 0);
    sums.replaceChildren(
      el("span", { textContent: `Σ sigmoid = ${sigmoidSum.toFixed(3)}: every label is its own yes/no question, so nothing makes them add up to 1 — several labels can be likely, or none.` }),
      el("span", { textContent: `Σ softmax = ${numbers.softmax.reduce((a, p) => a + p, 0).toFixed(3)}: a softmax (as CLIP is trained) shares one unit among the labels given, so adding or removing a label changes every other one; it ignores b, which shifts every logit alike.` }),
    );
    tOut.textContent = `t = ${signed(tv)}, exp(t) = ${Math.exp(tv).toFixed(2)}`;
    bOut.textContent = `b = ${signed(bv)}`;
    whatIf.textContent = moved
      ? `What if: t and b moved from the model's learned t = ${signed(model.t)}, b = ${signed(model.b)}; the bars follow the formula, the model itself is unchanged. Watch the softmax: it moves with t, never with b.`
      : `These are the model's learned values, and the numbers are the model's (computed in Rust, as transformers computes them). Drag t or b to see what they do.`;
  }

  async function loadText() {
    const started = ++seq;
    progress.hidden = false;
    bar.removeAttribute("value");
    barText.textContent = "reading the checkpoint's header and the tokenizer…";
    ctx.setPhase("loading-text");
    try {
      text = await ctx.request("text-load", {}, {
        onProgress: (p) => {
          if (started !== seq) return;
          if (!p.total) {
            bar.removeAttribute("value");
            barText.textContent = p.phase === "cache" ? "reading the text tower from the browser cache…" : "reading the checkpoint's header and the tokenizer…";
            return;
          }
          bar.value = p.done / p.total;
          barText.textContent = `${p.phase}: ${formatBytes(p.done)} / ${formatBytes(p.total)}`;
        },
      });
    } finally {
      if (started === seq) progress.hidden = true;
    }
    model = { t: text.logitScale ?? 0, b: text.logitBias ?? 0 };
    setSliders(model.t, model.b);
    if (!text.hasScores) {
      unavailable = "This checkpoint's text tower has no logit_scale / logit_bias (a bare text model, not a SiglipModel): it embeds text but cannot score it.";
    }
    presets = text.presets;
    if (presets) {
      ctx.showSamples(Object.keys(presets.samples));
      if (!userLabels) applyPresets(ctx.imageName());
    }
    describe();
    showFacts();
    ctx.refreshFacts();
  }

  /** Fills labels and template from the model's presets for the image `name` (when the user has not typed any). */
  function applyPresets(name) {
    if (!presets || userLabels) return;
    const list = presets.samples[name] ?? presets.default;
    if (list.length) labelsBox.value = list.join("\n");
    if (!userTemplate) template.value = presets.template ?? "{}";
    showTemplateNote();
  }

  /**
   * Scores the current labels against the current image (loading the text tower first if needed).
   * Errors go to the panel and the page's alert (about "text"); they never touch the vision views.
   */
  async function scoreNow() {
    if (unavailable) throw new Error(unavailable);
    if (!text) await loadText(); // may fill the labels from the model's presets
    if (unavailable) throw new Error(unavailable);
    const labels = currentLabels();
    if (labels.length === 0) throw new Error("there are no labels: type at least one, one per line");
    if (!ctx.traceReady()) return; // scored once the image has run
    const texts = labels.map((l) => applyTemplate(template.value, l));
    ctx.setPhase("scoring");
    const result = await ctx.request("text-scores", { texts });
    const n = labels.length;
    const values = Array.from(result.table);
    scored = {
      labels, texts, cos: values.slice(0, n), logits: values.slice(n, 2 * n), probabilities: values.slice(2 * n, 3 * n),
      tokenCounts: result.tokenCounts, maxLength: result.maxLength,
    };
    timing = { embed: result.embedMs, score: result.scoreMs };
    buildRows();
    fillNumbers();
    table.hidden = false;
    showFacts();
    ctx.refreshFacts();
    await maps.setLabels(labels.map((label, i) => ({ label, text: texts[i] })));
  }

  /** Runs scoreNow, reporting a failure in the panel and the alert. Returns whether it worked. */
  async function scoreReported() {
    try {
      ctx.clearError();
      await scoreNow();
      return true;
    } catch (error) {
      const message = error.message.replace(/[.\s]+$/, "");
      if (message === "the text download was cancelled") {
        setStatus("Download cancelled: Score starts it again.");
        ctx.setPhase(ctx.traceReady() ? "done" : "ready");
        return false;
      }
      setStatus(`Could not score the labels: ${message}.`, "error");
      ctx.showError(`Could not score the labels: ${message}.`);
      return false;
    }
  }

  function save() {
    ctx.saveState({ labels: userLabels ? currentLabels() : null, template: userTemplate && template.value !== DEFAULT_TEMPLATE ? template.value : null });
  }

  let editTimer = 0;
  function edited(event) {
    if (event.target === template) userTemplate = true;
    else userLabels = true;
    showTemplateNote();
    save();
    // Once the text tower is here, scores follow the typing; the first download waits for Score.
    if (!text) return;
    clearTimeout(editTimer);
    editTimer = setTimeout(async () => {
      if (await scoreReported()) ctx.setPhase("done");
    }, 350);
  }
  labelsBox.addEventListener("input", edited);
  template.addEventListener("input", edited);
  score.addEventListener("click", async () => {
    active = true;
    save();
    if (await scoreReported()) ctx.setPhase("done");
  });
  cancel.addEventListener("click", () => ctx.request("text-cancel"));
  for (const slider of [t, b]) slider.addEventListener("input", fillNumbers);
  reset.addEventListener("click", () => {
    setSliders(model.t, model.b);
    fillNumbers();
  });
  showTemplateNote();

  return {
    /** Labels (and a template) from the URL: they are scored after every image from now on. */
    ask({ labels, template: tpl }) {
      if (labels?.length) {
        labelsBox.value = labels.join("\n");
        userLabels = true;
        active = true;
      }
      if (tpl) {
        template.value = tpl;
        userTemplate = true;
      }
      showTemplateNote();
    },
    /**
     * A new vision model: the text tower (if any) is the worker's to fetch again. `eager`: score at
     * once (a bundled demo); `unavailable`: why this model cannot score, known beforehand.
     */
    setup(nextInfo, { eager = false, unavailable: why = null } = {}) {
      info = nextInfo;
      text = null;
      scored = null;
      presets = null;
      unavailable = why;
      seq += 1;
      table.hidden = true;
      maps.reset({ model: true });
      maps.hideValuePath(!info.hasHead);
      ctx.showSamples([]);
      if (!userLabels) labelsBox.value = DEFAULT_LABELS.join("\n");
      if (!userTemplate) template.value = DEFAULT_TEMPLATE;
      score.disabled = info.text === null || Boolean(why);
      // Scores follow a model change only where nothing large is downloaded unasked: a bundled demo,
      // or the model the URL's labels came with. Another model waits for Score.
      models += 1;
      if (models > 1) active = false;
      if (eager && info.text !== null) active = true;
      describe();
      showFacts();
    },
    /**
     * After each image run: presets for it, then — once labels were asked for — its scores. The
     * page reaches "done" after this resolves.
     */
    async afterImage(name) {
      maps.reset();
      applyPresets(name);
      if (!active) return;
      await scoreReported();
    },
    recolour: () => maps.recolour(),
    /** Rows for the page's facts. */
    factsRows() {
      if (!info) return [];
      if (info.text === null) return [["Text tower", "none in this checkpoint"]];
      if (unavailable && !text) return [["Text tower", "cannot score labels (see section 3)"]];
      if (!text) return [["Text tower", info.text ? `${formatBytes(info.text.bytes)}, fetched when you score labels` : "fetched when you score labels"]];
      return [
        ["Text tower", `${millions(text.numParameters)} parameters · ${formatBytes(text.weightBytes)} · load ${ms(text.downloadMs + text.loadMs)}`],
        ["Scoring", `text tower ${ms(timing.embed)} · scores ${ms(timing.score)}`],
      ];
    },
  };
}
