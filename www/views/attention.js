// View 2: where the selected patch looks, in one block and head, plus every head side by side.

import { createFigure, createHeadTiles } from "../figure.js";
import { el, labelled, section, setOptions } from "../dom.js";
import { valueRange } from "../colormap.js";

export function create(ctx) {
  const { root, controls, body } = section(
    "attention",
    "Attention from the selected patch",
    "In every block each patch (the query) rebuilds its vector as a weighted average of all patches' value vectors; the weights, one row of the attention matrix, sum to 1 and are shown here for the selected patch.",
  );
  const block = el("select");
  block.dataset.control = "block";
  const head = el("select");
  head.dataset.control = "head";
  controls.append(labelled("Block", block), labelled("Head", head));
  block.addEventListener("change", () => ctx.set({ block: Number(block.value) }));
  head.addEventListener("change", () => ctx.set({ head: /^\d+$/.test(head.value) ? Number(head.value) : head.value }));

  const main = createFigure({
    view: "attention",
    title: "Attention row",
    unit: "weight",
    explain: "Bright patches are the ones the selected (outlined) patch reads from in this head; click any patch to make it the query.",
  });
  main.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  const heads = createHeadTiles({
    view: "attention-head",
    heading: "Every head of this block",
    explain: "Heads run side by side with their own weights and learn different patterns (local, row-wise, global…); click one to select it. One colour scale for all tiles.",
    unit: "weight",
    onSelect: (h) => ctx.set({ head: h }),
    hover: ctx.hover,
  });
  body.append(el("div", { className: "maps" }, [main.root, heads.root]));

  return {
    id: "attention",
    label: "Attention",
    root,
    setup(info) {
      setOptions(block, Array.from({ length: info.numLayers }, (_, i) => [i + 1, `${i + 1} of ${info.numLayers}`]), 1);
      setOptions(head, [["mean", "mean of heads"], ["max", "max of heads"], ...Array.from({ length: info.numHeads }, (_, h) => [h, `head ${h + 1}`])], 0);
      heads.setup(info.numHeads);
    },
    async render(state) {
      block.value = String(state.block);
      head.value = String(state.head);
      const layer = state.block - 1;
      const n = ctx.info.numPatches;
      const rows = await ctx.query("attentionRows", layer, state.patch);
      let values;
      if (state.head === "mean" || state.head === "max") values = await ctx.query("attentionFused", layer, state.patch, state.head);
      else values = rows.subarray(state.head * n, (state.head + 1) * n);
      const label = typeof state.head === "number" ? `head ${state.head + 1}` : `${state.head} of heads`;
      main.setTitle(`Attention row — block ${state.block}, ${label}, query patch ${state.patch}`);
      main.show(values, valueRange(values), state.cmap);
      const range = valueRange(rows);
      heads.show((h) => rows.subarray(h * n, (h + 1) * n), range, state.cmap, state.head);
    },
  };
}
