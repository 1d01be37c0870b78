// The input panel: the original image, what the model sees (resized, with the patch grid), and a
// magnified view of the hovered or selected patch.

import { createFigure } from "../figure.js";
import { el } from "../dom.js";
import { drawRgba } from "../heatmap.js";

export function create(ctx, root) {
  const original = root.querySelector("[data-view=original]");
  const originalNote = root.querySelector("#original-note");
  const seen = createFigure({
    view: "seen",
    title: "What the model sees",
    legend: "none",
    explain: "",
  });
  seen.onPatch(ctx.hover, (p) => ctx.set({ patch: p }));
  const seenNote = el("p", { className: "explain" });
  seen.root.append(seenNote);
  root.querySelector("#seen-slot").append(seen.root);
  const zoom = root.querySelector("[data-view=patch-zoom]");
  const zoomTitle = root.querySelector("#zoom-title");
  const zoomNote = root.querySelector("#zoom-note");
  let seenImage = null;

  return {
    /** The decoded original (an ImageBitmap). */
    showOriginal(bitmap, name) {
      const scale = Math.min(1, 640 / Math.max(bitmap.width, bitmap.height));
      original.width = Math.max(1, Math.round(bitmap.width * scale));
      original.height = Math.max(1, Math.round(bitmap.height * scale));
      original.getContext("2d").drawImage(bitmap, 0, 0, original.width, original.height);
      originalNote.textContent = `${name}: ${bitmap.width} × ${bitmap.height} px`;
    },
    /** The model's input after a run. */
    showSeen(imageData, info) {
      seenImage = imageData;
      const covered = info.gridSize * info.patchSize;
      seenNote.textContent =
        `Resized to ${info.imageSize} × ${info.imageSize} px (${info.resample}, aspect ratio not kept), scaled to [−1, 1] and cut into ` +
        `${info.gridSize} × ${info.gridSize} = ${info.numPatches} patches of ${info.patchSize} × ${info.patchSize} px` +
        (covered < info.imageSize ? `; the last ${info.imageSize - covered} px of each side fall outside the grid (dimmed) and are never seen.` : ".");
    },
    /** Magnifies patch `p` (the hovered one, else the selected one). */
    showPatch(p, selected) {
      const info = ctx.info;
      if (!seenImage || !info || p < 0) return;
      const size = info.patchSize;
      const row = Math.floor(p / info.gridSize);
      const col = p % info.gridSize;
      const pixels = new Uint8ClampedArray(size * size * 4);
      for (let y = 0; y < size; y++) {
        const from = ((row * size + y) * seenImage.width + col * size) * 4;
        pixels.set(seenImage.data.subarray(from, from + size * 4), y * size * 4);
      }
      drawRgba(zoom, pixels, size, size);
      zoomTitle.textContent = `${p === selected ? "Selected" : "Hovered"} patch ${p} — row ${row}, column ${col}`;
      zoomNote.textContent = `${size} × ${size} px × 3 colours = ${size * size * 3} numbers, flattened and multiplied by the patch-embedding filters into one vector of ${info.hiddenSize} numbers, plus the position embedding of slot ${p}.`;
    },
  };
}
