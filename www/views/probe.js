// View 4: the pooling head's probe — one learned query that attends over all patches to make the
// single image embedding.

import { createFigure, createHeadTiles } from "../figure.js";
import { el, labelled, section, setOptions } from "../dom.js";
import { valueRange } from "../colormap.js";

export function create(ctx) {
  const { root, controls, body } = section(
    "probe",
    "Where the pooled embedding looks",
    "SigLIP turns the patch vectors into one image embedding with a multi-head attention pooling head: a single learned ‘probe’ vector is the query, all final patch vectors are the keys and values; these maps are the probe's attention weights.",
  );
  const head = el("select");
  head.dataset.control = "probe-head";
  controls.append(labelled("Probe head", head));
  head.addEventListener("change", () => ctx.set({ probeHead: head.value === "mean" ? "mean" : Number(head.value) }));
  const main = createFigure({
    view: "probe",
    title: "Probe attention",
    unit: "weight",
    explain: "Bright patches are the ones the pooled embedding is built from; the weights of one head sum to 1.",
  });
  main.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  const heads = createHeadTiles({
    view: "probe-head",
    heading: "Every probe head",
    explain: "Each head of the pooling attention looks on its own; click one to show it large. One colour scale for all tiles.",
    unit: "weight",
    onSelect: (h) => ctx.set({ probeHead: h }),
    hover: ctx.hover,
  });
  const missing = el("p", { className: "note-box", textContent: "This checkpoint has no pooling head (vision_use_head is false, as in PaliGemma's tower), so there is no probe to show." });
  body.append(missing, el("div", { className: "maps" }, [main.root, heads.root]));

  return {
    id: "probe",
    label: "Pooling probe",
    root,
    available: (info) => info.hasHead,
    setup(info) {
      missing.hidden = info.hasHead;
      setOptions(head, [["mean", "mean of heads"], ...Array.from({ length: info.numHeads }, (_, h) => [h, `head ${h + 1}`])], "mean");
      heads.setup(info.hasHead ? info.numHeads : 0);
    },
    async render(state) {
      if (!ctx.info.hasHead) return;
      head.value = String(state.probeHead);
      const perHead = await Promise.all(Array.from({ length: heads.count }, (_, h) => ctx.query("headAttention", h)));
      const values = state.probeHead === "mean" ? await ctx.query("headAttentionMean") : perHead[state.probeHead];
      main.setTitle(`Probe attention — ${state.probeHead === "mean" ? "mean of heads" : `head ${state.probeHead + 1}`}`);
      main.show(values, valueRange(values), state.cmap);
      let range = { min: Infinity, max: -Infinity };
      for (const v of perHead) {
        const r = valueRange(v);
        range = { min: Math.min(range.min, r.min), max: Math.max(range.max, r.max) };
      }
      heads.show((h) => perHead[h], range, state.cmap, state.probeHead);
    },
  };
}
