// One map on the page: the seen image, a heatmap over it (one pixel per patch), the patch grid and
// the selected patch, a legend with the value range, a one-sentence explanation, and PNG export.
// Views build their figures here; main.js updates every figure's background and marks at once.

import { drawValues, drawRgb, drawLegend, drawMarks, patchAt, downloadCanvas } from "./heatmap.js";
import { formatValue } from "./colormap.js";
import { el } from "./dom.js";

const figures = new Set();
let shared = { geometry: null, seen: null, marks: { showGrid: true, selected: -1, hovered: -1 }, label: "" };
let badge = "untrained weights";

/**
 * Names the model on every figure's badge (e.g. "untrained weights" for the random demo); the page
 * shows the badges only for bundled demos (body[data-badge], see style.css).
 */
export function setBadge(text) {
  badge = text;
  for (const span of document.querySelectorAll(".untrained-badge")) span.textContent = text;
}


/**
 * Creates a figure. `view` names its heatmap canvas (data-view), `legend` is "colormap" (min/max bar),
 * "rgb" (free text) or "none"; `small` makes a small-multiple tile.
 */
export function createFigure({ view, title, explain = "", legend = "colormap", small = false, unit = "" }) {
  const background = el("canvas", { className: "bg" });
  const heat = el("canvas", { className: "heat" });
  // The "seen" figure is the model's input itself: its data-view sits on the image canvas.
  if (view === "seen") background.dataset.view = view;
  else heat.dataset.view = view;
  const marks = el("canvas", { className: "marks" });
  const stack = el("div", { className: "stack" }, [background, heat, marks]);
  const heading = el("figcaption", {}, [el("span", { className: "title", textContent: title })]);
  const minLabel = el("span", { className: "min" });
  const maxLabel = el("span", { className: "max" });
  const bar = el("canvas", { className: "bar" });
  const note = el("span", { className: "note" });
  const legendRow = el("div", { className: "legend" });
  if (legend === "colormap") legendRow.append(minLabel, bar, maxLabel, el("span", { className: "unit", textContent: unit }));
  if (legend !== "none") legendRow.append(note);
  const exportButton = el("button", { className: "export", type: "button", textContent: "PNG", title: "Download this map as a PNG" });
  const root = el("figure", { className: small ? "map small" : "map" }, [heading, stack]);
  if (!small) {
    heading.append(el("span", { className: "untrained-badge", textContent: badge }), exportButton);
    root.append(legendRow);
    if (explain) root.append(el("p", { className: "explain", textContent: explain }));
  }

  const figure = {
    root,
    heat,
    view,
    title,
    range: null,
    cmap: "viridis",
    /** Draws values coloured by `cmap` on [min, max] and writes the legend. */
    show(values, range, cmap) {
      figure.range = range;
      figure.cmap = cmap;
      drawValues(heat, values, shared.geometry.gridSize, range, cmap);
      drawLegend(bar, cmap);
      minLabel.textContent = formatValue(range.min);
      maxLabel.textContent = formatValue(range.max);
    },
    /** Draws RGB triples in [0, 1]; `text` replaces the colour bar. */
    showRgb(rgb, text) {
      figure.range = null;
      drawRgb(heat, rgb, shared.geometry.gridSize);
      note.textContent = text;
    },
    setNote(text) {
      note.textContent = text;
    },
    setTitle(text) {
      heading.querySelector(".title").textContent = text;
      figure.title = text;
    },
    /** Calls back with the patch under the pointer (-1 when outside the grid) on move and click. */
    onPatch(onHover, onClick) {
      stack.addEventListener("pointermove", (e) => shared.geometry && onHover(patchAt(e, stack, shared.geometry)));
      stack.addEventListener("pointerleave", () => onHover(-1));
      stack.addEventListener("click", (e) => {
        if (!shared.geometry) return;
        const p = patchAt(e, stack, shared.geometry);
        if (p >= 0) onClick(p, e);
      });
    },
    onClick(handler) {
      root.addEventListener("click", handler);
    },
    redrawBackground() {
      if (!shared.seen) return;
      const { width, height } = shared.seen;
      background.width = width;
      background.height = height;
      background.getContext("2d").putImageData(shared.seen, 0, 0);
    },
    dirty: true,
    redrawMarks() {
      // Hidden figures (other tabs) are redrawn when they are shown: see refreshMarks.
      if (!shared.geometry || root.offsetParent === null) {
        figure.dirty = true;
        return;
      }
      figure.dirty = false;
      const size = small ? 160 : 640;
      drawMarks(marks, shared.geometry, small ? { ...shared.marks, showGrid: false } : shared.marks, size);
    },
    /** A PNG of what the figure shows: image, overlay at the current opacity, marks and legend. */
    async exportPng(filename) {
      const size = 512;
      const out = document.createElement("canvas");
      out.width = size;
      out.height = size + 92;
      const ctx = out.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, out.width, out.height);
      ctx.fillStyle = "#111111";
      ctx.font = "bold 15px system-ui, sans-serif";
      ctx.fillText(figure.title, 8, 20);
      ctx.imageSmoothingEnabled = false;
      const cover = shared.geometry ? (shared.geometry.gridSize * shared.geometry.patchSize) / shared.geometry.imageSize : 1;
      ctx.drawImage(background, 0, 28, size, size);
      ctx.globalAlpha = overlayOpacity();
      ctx.drawImage(heat, 0, 28, size * cover, size * cover);
      ctx.globalAlpha = 1;
      ctx.drawImage(marks, 0, 28, size, size);
      ctx.font = "12px system-ui, sans-serif";
      if (figure.range) {
        ctx.drawImage(bar, 60, size + 38, size - 120, 14);
        ctx.fillText(formatValue(figure.range.min), 8, size + 50);
        ctx.fillText(formatValue(figure.range.max), size - 52, size + 50);
      } else {
        ctx.fillText(note.textContent, 8, size + 50);
      }
      ctx.fillStyle = "#555555";
      ctx.fillText(shared.label, 8, size + 76);
      await downloadCanvas(out, filename);
    },
  };
  exportButton.addEventListener("click", () => figure.exportPng(`siglip-lens-${view}.png`));
  if (small) root.tabIndex = 0;
  figures.add(figure);
  if (shared.geometry) setCover(stack, shared.geometry);
  figure.redrawBackground();
  figure.redrawMarks();
  return figure;
}

function overlayOpacity() {
  const value = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--overlay-opacity"));
  return Number.isFinite(value) ? value : 0.75;
}

function setCover(stack, g) {
  stack.style.setProperty("--cover", `${(100 * g.gridSize * g.patchSize) / g.imageSize}%`);
}

/** New model geometry and seen image for every figure. */
export function setSeen(seen, geometry, label) {
  shared = { ...shared, seen, geometry, label };
  for (const f of figures) {
    setCover(f.root.querySelector(".stack"), geometry);
    f.redrawBackground();
    f.redrawMarks();
  }
}

/** New grid / selection / hover marks for every figure (no work when nothing changed). */
export function setMarks(marks) {
  const next = { ...shared.marks, ...marks };
  const same = Object.keys(next).every((k) => next[k] === shared.marks[k]);
  shared = { ...shared, marks: next };
  if (same) return refreshMarks();
  for (const f of figures) f.redrawMarks();
}

/** Redraws the marks of figures that became visible since they last changed. */
export function refreshMarks() {
  for (const f of figures) if (f.dirty) f.redrawMarks();
}

/** Forgets a figure (when a view rebuilds its small multiples). */
export function dropFigure(figure) {
  figures.delete(figure);
  figure.root.remove();
}

/**
 * Small multiples: one small figure per head on one shared colour scale, with a heading, a sentence
 * and a legend. `onSelect(h)` runs when a tile is clicked. Used by the attention and probe views.
 */
export function createHeadTiles({ view, heading, explain, unit, onSelect, hover }) {
  const grid = el("div", { className: "multiples" });
  const min = el("span", { className: "min" });
  const max = el("span", { className: "max" });
  const bar = el("canvas", { className: "bar" });
  const root = el("div", { className: "side" }, [
    el("h3", { textContent: heading }),
    el("p", { className: "explain", textContent: explain }),
    grid,
    el("div", { className: "legend" }, [min, bar, max, el("span", { className: "unit", textContent: unit })]),
  ]);
  let tiles = [];
  return {
    root,
    /** Replaces the tiles with `count` new ones. */
    setup(count) {
      for (const t of tiles) dropFigure(t);
      tiles = Array.from({ length: count }, (_, h) => {
        const tile = createFigure({ view, title: `head ${h + 1}`, small: true, legend: "none" });
        tile.heat.dataset.head = String(h);
        tile.onClick(() => onSelect(h));
        tile.onPatch(hover, () => {});
        grid.append(tile.root);
        return tile;
      });
    },
    get count() {
      return tiles.length;
    },
    /** Draws `valuesOf(h)` in tile h on `range`, outlining the `selected` head. */
    show(valuesOf, range, cmap, selected) {
      tiles.forEach((tile, h) => {
        tile.show(valuesOf(h), range, cmap);
        tile.root.classList.toggle("selected", h === selected);
      });
      drawLegend(bar, cmap);
      min.textContent = formatValue(range.min);
      max.textContent = formatValue(range.max);
    },
  };
}
