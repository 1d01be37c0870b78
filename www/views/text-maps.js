// The text panel's maps: where in the image is the label? Two figures for one chosen label —
// occlusion (faithful: the model re-run with each patch painted over; batched, with progress and
// cancel, computed once per image and window and then reused for every label) and the value path
// (fast and heuristic: MaskCLIP through the pooling head). Both come from Rust; this file draws them.

import { createFigure } from "../figure.js";
import { el, labelled, setOptions } from "../dom.js";
import { valueRange } from "../colormap.js";

/** Occlusion runs start by themselves when estimated to take less than this (else a button starts them). */
const AUTO_OCCLUSION_MS = 5000;

function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * `ctx`: {request(type, payload, options), hover(p), set(partial), info (the vision model's facts),
 * timings (forward ms), cmap()}.
 */
export function createMaps(ctx) {
  const label = el("select");
  label.dataset.control = "map-label";
  const windowSelect = el("select");
  windowSelect.dataset.control = "occlusion-window";
  // 3 × 3 by default: one patch is too small a loss for most objects (the trained demo's largest drop
  // for "a house next to a tree": 0.3 with 1 × 1 windows, 1.2 with 3 × 3).
  setOptions(windowSelect, [[1, "1 × 1 patch"], [2, "2 × 2 patches"], [3, "3 × 3 patches"]], 3);
  const run = el("button", { type: "button", className: "primary", textContent: "Run occlusion" });
  run.dataset.control = "occlude";
  const bar = el("progress", { max: 1, value: 0 });
  const barText = el("span");
  const cancel = el("button", { type: "button", textContent: "Cancel" });
  cancel.dataset.control = "occlusion-cancel";
  const progress = el("div", { className: "progress", hidden: true }, [bar, barText, cancel]);

  const occlusion = createFigure({
    view: "text-occlusion",
    title: "Occlusion",
    unit: "drop in the logit",
    explain:
      "Faithful: each patch (or the k × k window centred on it) is painted in the image's mean colour and the image is run again; bright patches are the ones whose loss lowers the label's logit most. One forward per patch, computed once per image and window and reused for every label.",
  });
  const valuePath = createFigure({
    view: "text-value",
    title: "Value path — fast heuristic",
    unit: "cosine",
    explain:
      "Heuristic (MaskCLIP): each patch's value vector goes through the pooling head's output projection and MLP as if the probe looked at that patch alone, then is compared with the label's embedding by cosine. Instant, but it ignores how the probe actually mixes patches — not what the model computes.",
  });
  for (const f of [occlusion, valuePath]) f.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  const root = el("div", { className: "text-maps" }, [
    el("h3", { textContent: "Where in the image is the label?" }),
    el("div", { className: "controls row" }, [labelled("Label", label), labelled("Occlusion window", windowSelect), run, progress]),
    el("div", { className: "maps" }, [occlusion.root, valuePath.root]),
  ]);
  root.hidden = true;

  let labels = []; // [{label, text}] scored last
  let drawn = { occlusion: null, value: null }; // values last drawn, for a colour-map change
  let done = new Set(); // windows whose occlusion run finished for the current image
  let running = null; // the occlusion request in flight
  let epoch = 0; // bumps on every new image: answers for an older one are dropped
  let perImage = null; // ms per occluded image measured by the last full run on this model

  const chosen = () => labels.find((l) => l.label === label.value) ?? labels[0];
  const currentWindow = () => Number(windowSelect.value);

  function show(figure, key, values) {
    drawn[key] = values;
    figure.show(values, valueRange(values), ctx.cmap());
  }

  function clear(figure, key, note) {
    drawn[key] = null;
    figure.heat.getContext("2d").clearRect(0, 0, figure.heat.width, figure.heat.height);
    figure.setNote(note);
  }

  /** A run's cost: as the last run on this model measured it, else as many forwards of the image. */
  function estimate() {
    const each = perImage ?? ctx.timings.forward;
    return each ? each * ctx.info.numPatches : Infinity;
  }

  /** The Run button says what a run costs, or that this window's run is done. */
  function describeRun() {
    const n = ctx.info.numPatches;
    const ms = estimate();
    const finished = done.has(currentWindow());
    run.disabled = finished || Boolean(running);
    run.textContent = finished ? "Occlusion computed for this image and window" : `Run occlusion (${n} forwards${Number.isFinite(ms) ? `, ≈ ${seconds(ms)}` : ""})`;
  }

  async function drawValuePath(entry) {
    const seq = epoch;
    let map;
    try {
      ({ map } = await ctx.request("text-value-path", { text: entry.text }));
    } catch (error) {
      if (seq === epoch) clear(valuePath, "value", `Could not compute the value path: ${error.message}`);
      return;
    }
    if (seq !== epoch || chosen() !== entry) return;
    valuePath.setTitle(`Value path — fast heuristic: “${entry.label}”`);
    show(valuePath, "value", map);
    valuePath.setNote("cosine of each patch's value-path embedding with the label's text embedding");
  }

  async function drawOcclusion(entry, { start = false } = {}) {
    const window = currentWindow();
    occlusion.setTitle(`Occlusion: drop in the logit of “${entry.label}”`);
    if (!done.has(window) && running?.window === window) return; // the run in flight draws the chosen label
    if (!done.has(window) && !start) {
      describeRun();
      clear(occlusion, "occlusion", `Not computed yet for this image: ${run.textContent.replace(/^Run occlusion /, "")} — press Run occlusion.`);
      occlusion.root.dataset.forwards = "";
      return;
    }
    const seq = epoch;
    const mine = { window };
    occlusion.root.dataset.forwards = "";
    if (!done.has(window)) {
      running = mine;
      run.disabled = true;
      progress.hidden = false;
      bar.value = 0;
      barText.textContent = "starting…";
    }
    try {
      const result = await ctx.request("text-occlusion", { text: entry.text, window }, {
        onProgress: (p) => {
          if (seq !== epoch || running !== mine) return;
          bar.value = p.done / p.total;
          barText.textContent = `${p.done} / ${p.total} occluded images`;
        },
      });
      if (seq !== epoch) return;
      if (result.newForwards === ctx.info.numPatches) perImage = result.ms / result.newForwards;
      done.add(window);
      describeRun();
      const now = chosen();
      if (now !== entry || currentWindow() !== window) {
        if (running === mine) queueMicrotask(() => drawOcclusion(now)); // the label changed meanwhile
        return;
      }
      show(occlusion, "occlusion", result.drops);
      occlusion.root.dataset.forwards = String(result.newForwards);
      occlusion.setNote(
        result.newForwards > 0
          ? `${ctx.info.numPatches} occluded images (${window} × ${window} windows) in ${seconds(result.ms)}; every other label reuses them`
          : `reused the ${ctx.info.numPatches} occluded images (${window} × ${window}) computed before: no new forward`,
      );
    } catch (error) {
      if (seq !== epoch || (running && running !== mine)) return;
      const cancelled = /^cancelled$/.test(error.message);
      clear(occlusion, "occlusion", cancelled ? "Cancelled — the occluded images done so far are kept: Run occlusion continues from there." : `Could not compute the occlusion map: ${error.message}`);
      occlusion.root.dataset.forwards = "";
    } finally {
      if (running === mine) {
        running = null;
        progress.hidden = true;
        describeRun();
      }
    }
  }

  async function redraw({ start = false } = {}) {
    const entry = chosen();
    if (!entry) return;
    const wanted = start || (!done.has(currentWindow()) && estimate() < AUTO_OCCLUSION_MS);
    await Promise.all([drawValuePath(entry), drawOcclusion(entry, { start: wanted })]);
  }

  label.addEventListener("change", () => redraw());
  windowSelect.addEventListener("change", () => {
    describeRun();
    redraw();
  });
  run.addEventListener("click", () => redraw({ start: true }));
  cancel.addEventListener("click", () => ctx.request("text-cancel"));

  return {
    root,
    /** New labels were scored: offers them and redraws both maps for the chosen one. */
    async setLabels(next) {
      const keep = label.value;
      labels = next;
      root.hidden = labels.length === 0;
      setOptions(label, labels.map((l) => [l.label, l.label]), labels.some((l) => l.label === keep) ? keep : labels[0]?.label ?? "");
      describeRun();
      if (labels.length) await redraw();
    },
    /** A new image (or, with `model`, a new model): every occlusion run so far belongs to the old one. */
    reset({ model = false } = {}) {
      epoch += 1;
      if (model) perImage = null;
      done = new Set();
      labels = [];
      root.hidden = true;
      clear(occlusion, "occlusion", "");
      clear(valuePath, "value", "");
    },
    /** Redraws what is drawn in another colour map. */
    recolour() {
      if (drawn.occlusion) show(occlusion, "occlusion", drawn.occlusion);
      if (drawn.value) show(valuePath, "value", drawn.value);
    },
    hideValuePath(hidden) {
      valuePath.root.hidden = hidden;
    },
  };
}
