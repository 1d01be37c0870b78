// View 6: what the model learned before seeing any image — position embeddings and patch filters.

import { createFigure } from "../figure.js";
import { el, section } from "../dom.js";
import { valueRange } from "../colormap.js";
import { drawRgba, downloadCanvas } from "../heatmap.js";

export function create(ctx) {
  const { root, body } = section(
    "params",
    "Learned parameters",
    "These do not depend on your image: the position embedding that tells the model where each patch sits, and the filters that turn a patch's pixels into its first vector.",
  );
  const position = createFigure({
    view: "position",
    title: "Position embedding similarity",
    unit: "cos",
    explain: "Cosine similarity of the selected position's learned embedding to every other position's (click a position); trained models learn that nearby positions, and the same row or column, are alike.",
  });
  position.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  const filters = el("canvas", { className: "filters" });
  filters.dataset.view = "filters";
  const filterNote = el("p", { className: "explain" });
  const exportButton = el("button", { className: "export", type: "button", textContent: "PNG" });
  exportButton.addEventListener("click", () => downloadCanvas(filters, "siglip-lens-filters.png"));
  const filterFigure = el("figure", { className: "map" }, [
    el("figcaption", {}, [el("span", { className: "title", textContent: "Patch-embedding filters" }), el("span", { className: "untrained-badge", textContent: "untrained weights" }), exportButton]),
    filters,
    filterNote,
  ]);
  body.append(el("div", { className: "maps" }, [position.root, filterFigure]));
  let filtersFor = null;

  async function drawFilters(info) {
    const rgba = await ctx.query("patchFilters");
    const p = info.patchSize;
    const count = info.hiddenSize;
    const cols = Math.ceil(Math.sqrt(count));
    const rows = Math.ceil(count / cols);
    const width = cols * (p + 1) + 1;
    const height = rows * (p + 1) + 1;
    const out = new Uint8ClampedArray(width * height * 4).fill(255);
    for (let f = 0; f < count; f++) {
      const x0 = 1 + (f % cols) * (p + 1);
      const y0 = 1 + Math.floor(f / cols) * (p + 1);
      for (let y = 0; y < p; y++) {
        const from = (f * p * p + y * p) * 4;
        out.set(rgba.subarray(from, from + p * 4), ((y0 + y) * width + x0) * 4);
      }
    }
    drawRgba(filters, out, width, height);
    filterNote.textContent = `All ${count} filters of the patch-embedding convolution (${p}×${p} px × 3 colour channels each, the weights shown as RGB around mid-grey, each scaled by its own largest |weight|): the dot product of a patch with filter k is coordinate k of its first vector. Trained models learn edge, colour and frequency detectors; random weights look like noise.`;
  }

  return {
    id: "params",
    label: "Learned parameters",
    root,
    needsTrace: false,
    setup() {
      filtersFor = null;
    },
    async render(state) {
      const info = ctx.info;
      const cos = await ctx.query("positionSimilarity", state.patch);
      position.setTitle(`Position ${state.patch} (row ${Math.floor(state.patch / info.gridSize)}, column ${state.patch % info.gridSize}) vs. all positions`);
      position.show(cos, valueRange(cos), state.cmap);
      if (filtersFor !== info) {
        filtersFor = info;
        await drawFilters(info);
      }
    },
  };
}
