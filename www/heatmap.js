// Drawing without state: values to pixels, the patch grid, legends, PNG export.
// A heatmap is a canvas with one pixel per patch, filled from ImageData and scaled up by CSS
// (`image-rendering: pixelated`), so what is drawn is exactly the values, crisp at any size.

import { colorize, rgbToRgba, COLORMAPS } from "./colormap.js";

/** Fills `canvas` (gridSize² pixels) with `values` coloured on `range`. */
export function drawValues(canvas, values, gridSize, range, cmap) {
  drawRgba(canvas, colorize(values, range, cmap), gridSize, gridSize);
}

/** Fills `canvas` with RGB-in-[0,1] triples, one per patch. */
export function drawRgb(canvas, rgb, gridSize) {
  drawRgba(canvas, rgbToRgba(rgb, gridSize * gridSize), gridSize, gridSize);
}

/** Puts raw RGBA pixels on `canvas`, resizing it to width × height. */
export function drawRgba(canvas, rgba, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
}

/** A 256 × 1 strip of the colour map, for a legend bar. */
export function drawLegend(canvas, cmap) {
  const lut = COLORMAPS[cmap];
  const rgba = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    rgba.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
  }
  drawRgba(canvas, rgba, 256, 1);
}

/**
 * Grid lines and patch outlines on a transparent canvas of `size` px that covers the whole seen
 * image (imageSize px); the grid covers gridSize × patchSize of it (the valid convolution drops the rest).
 */
export function drawMarks(canvas, { imageSize, gridSize, patchSize }, { showGrid, selected, hovered }, size) {
  if (canvas.width !== size) canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, size, size);
  const scale = size / imageSize;
  const cell = patchSize * scale;
  const span = gridSize * cell;
  if (showGrid) {
    ctx.strokeStyle = "rgba(255, 255, 255, 0.35)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i <= gridSize; i++) {
      const at = Math.round(i * cell) + 0.5;
      ctx.moveTo(at, 0);
      ctx.lineTo(at, span);
      ctx.moveTo(0, at);
      ctx.lineTo(span, at);
    }
    ctx.stroke();
    if (span < size - 1) {
      ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
      ctx.fillRect(span, 0, size - span, size);
      ctx.fillRect(0, span, span, size - span);
    }
  }
  const outline = (p, colour, width) => {
    if (p == null || p < 0) return;
    const x = (p % gridSize) * cell;
    const y = Math.floor(p / gridSize) * cell;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
    ctx.lineWidth = width + 2;
    ctx.strokeRect(x + width / 2, y + width / 2, cell - width, cell - width);
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(x + width / 2, y + width / 2, cell - width, cell - width);
  };
  outline(hovered, "#ffffff", Math.max(1, size / 300));
  outline(selected, "#ff4f7b", Math.max(2, size / 160));
}

/** The patch under a pointer event on `element` (which shows the whole seen image), or -1. */
export function patchAt(event, element, { imageSize, gridSize, patchSize }) {
  const rect = element.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * imageSize;
  const y = ((event.clientY - rect.top) / rect.height) * imageSize;
  const col = Math.floor(x / patchSize);
  const row = Math.floor(y / patchSize);
  if (col < 0 || row < 0 || col >= gridSize || row >= gridSize) return -1;
  return row * gridSize + col;
}

/** Saves a canvas as a PNG through a temporary download link. */
export function downloadCanvas(canvas, filename) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (!blob) return reject(new Error("the browser could not encode the PNG"));
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      resolve();
    }, "image/png");
  });
}
