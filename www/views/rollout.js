// View 3: attention rollout (Abnar & Zuidema 2020) — attention followed through every block.

import { createFigure } from "../figure.js";
import { el, labelled, section, setOptions } from "../dom.js";
import { valueRange } from "../colormap.js";

export function create(ctx) {
  const { root, controls, body } = section(
    "rollout",
    "Attention rollout through all blocks",
    "One block's attention says where a patch reads from one step back; rollout multiplies the blocks' attention matrices (each taken as 0.5·A + 0.5·I for the residual connection, heads fused, rows renormalised) to estimate how much each input patch flows into the final vector.",
  );
  const fusion = el("select");
  fusion.dataset.control = "fusion";
  setOptions(fusion, [["mean", "mean of heads"], ["max", "max of heads"], ["min", "min of heads"]], "mean");
  fusion.addEventListener("change", () => ctx.set({ fusion: fusion.value }));
  controls.append(labelled("Head fusion", fusion));
  controls.append(
    el("p", {
      className: "note-box",
      textContent: "SigLIP has no CLS token (it pools with an attention probe instead), so there is no single ‘class’ row to roll out: we show the rollout from your selected patch, and the average over all patches as queries.",
    }),
  );
  const query = createFigure({
    view: "rollout",
    title: "Rollout from the selected patch",
    unit: "share",
    explain: "How much each input patch contributes, through all blocks, to the selected patch's final vector.",
  });
  const mean = createFigure({
    view: "rollout-mean",
    title: "Rollout averaged over all queries",
    unit: "share",
    explain: "The same, averaged over every patch as the query: input patches that feed many final vectors.",
  });
  for (const f of [query, mean]) f.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  body.append(el("div", { className: "maps" }, [query.root, mean.root]));

  return {
    id: "rollout",
    label: "Rollout",
    root,
    setup() {},
    async render(state) {
      fusion.value = state.fusion;
      const [row, avg] = await Promise.all([ctx.query("rollout", state.patch, state.fusion), ctx.query("rollout", undefined, state.fusion)]);
      query.setTitle(`Rollout from patch ${state.patch} (${state.fusion} of heads)`);
      query.show(row, valueRange(row), state.cmap);
      mean.show(avg, valueRange(avg), state.cmap);
    },
  };
}
