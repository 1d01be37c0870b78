// View 1: the patch vectors at one layer — their lengths, their main directions (PCA as RGB),
// and how alike each is to the selected patch.

import { createFigure } from "../figure.js";
import { el, labelled, section } from "../dom.js";
import { valueRange } from "../colormap.js";

export function create(ctx) {
  const { root, controls, body } = section(
    "embeddings",
    "Patch vectors, layer by layer",
    "Every patch is a vector of numbers; layer 0 is the patch embedding plus the position embedding, layer l is the same vector after l transformer blocks have mixed in information from other patches.",
  );
  const layer = el("input", { type: "range", min: "0", max: "0", step: "1", value: "0" });
  layer.dataset.control = "layer";
  const layerText = el("output");
  controls.append(labelled("Layer", layer), layerText);
  layer.addEventListener("input", () => ctx.set({ layer: Number(layer.value) }));

  const norm = createFigure({
    view: "norm",
    title: "Vector length (L2 norm)",
    unit: "‖x‖",
    explain: "How long each patch's vector is at this layer: bright patches carry large activations (late layers of trained ViTs often show a few very bright ‘register-like’ patches).",
  });
  const pca = createFigure({
    view: "pca",
    title: "Main directions (PCA → RGB)",
    legend: "rgb",
    explain: "The three directions in which this image's patch vectors differ most, shown as red, green and blue; fitted on this image and layer alone, so colours mean nothing across images or layers.",
  });
  const similarity = createFigure({
    view: "similarity",
    title: "Cosine similarity to the selected patch",
    unit: "cos",
    explain: "How closely each patch's vector points the same way as the selected (outlined) patch's: 1 = same direction, 0 = unrelated, −1 = opposite.",
  });
  body.append(el("div", { className: "maps" }, [norm.root, pca.root, similarity.root]));
  for (const f of [norm, pca, similarity]) f.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));

  return {
    id: "embeddings",
    label: "Patch vectors",
    root,
    setup(info) {
      layer.max = String(info.numLayers);
    },
    async render(state) {
      layer.value = String(state.layer);
      layerText.textContent = state.layer === 0 ? "0 — patch + position embedding" : `${state.layer} — after block ${state.layer} of ${ctx.info.numLayers}`;
      const [norms, rgb, cos] = await Promise.all([
        ctx.query("patchNorms", state.layer),
        ctx.query("patchPca", state.layer),
        ctx.query("patchSimilarity", state.layer, state.patch),
      ]);
      norm.show(norms, valueRange(norms), state.cmap);
      const n = ctx.info.numPatches;
      const share = Array.from(rgb.subarray(n * 3, n * 3 + 3), (v) => `${(v * 100).toFixed(1)}%`);
      pca.showRgb(rgb.subarray(0, n * 3), `explained variance: R ${share[0]} · G ${share[1]} · B ${share[2]} (fitted on this image's ${n} patches)`);
      similarity.show(cos, valueRange(cos), state.cmap);
    },
  };
}
