// View 5: every head of every block at a glance — how far it looks and how spread its attention is.

import { el, section } from "../dom.js";
import { valueRange, cssColor, formatValue } from "../colormap.js";
import { drawLegend, downloadCanvas } from "../heatmap.js";

const WIDTH = 720;
const HEIGHT = 380;
const MARGIN = { left: 60, right: 18, top: 18, bottom: 46 };

/** Canvas position (CSS px) of block `layer` (0-based), head `head`, distance `d` on axis max `yMax`. */
export function pointPosition(layer, head, d, { numLayers, numHeads, yMax }) {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const column = plotW / numLayers;
  const spread = numHeads > 1 ? (head / (numHeads - 1) - 0.5) * column * 0.6 : 0;
  return {
    x: MARGIN.left + column * (layer + 0.5) + spread,
    y: MARGIN.top + plotH * (1 - d / yMax),
  };
}

export function create(ctx) {
  const { root, controls, body } = section(
    "head-stats",
    "Every head at a glance",
    "For each block (x) and head (dot), how far its attention reaches on average in pixels of the seen image (y), and how spread out it is (colour: entropy in nats, 0 = one patch, ln N = all patches equally); click a dot to select that block and head.",
  );
  const canvas = el("canvas", { className: "scatter" });
  canvas.dataset.view = "head-stats";
  canvas.style.width = `${WIDTH}px`;
  canvas.style.height = `${HEIGHT}px`;
  const readout = el("p", { className: "readout", textContent: "Hover a dot." });
  const minLabel = el("span", { className: "min" });
  const maxLabel = el("span", { className: "max" });
  const bar = el("canvas", { className: "bar" });
  const ceiling = el("span", { className: "note" });
  const exportButton = el("button", { className: "export", type: "button", textContent: "PNG" });
  const open = el("button", { type: "button", textContent: "Show this head's attention →" });
  controls.append(open);
  body.append(
    el("figure", { className: "map wide" }, [
      el("figcaption", {}, [el("span", { className: "title", textContent: "Mean attention distance vs. block, coloured by entropy" }), el("span", { className: "untrained-badge", textContent: "untrained weights" }), exportButton]),
      canvas,
      el("div", { className: "legend" }, [el("span", { className: "unit", textContent: "entropy" }), minLabel, bar, maxLabel, el("span", { className: "unit", textContent: "nats" }), ceiling]),
      readout,
      el("p", {
        className: "explain",
        textContent: "Distance = Σ attention × distance between patch centres, averaged over query patches; in trained ViTs early blocks mix local and global heads and late blocks look far, and an untrained model's heads look almost uniformly everywhere.",
      }),
    ]),
  );
  let stats = null;
  let points = [];
  let layout = null;
  let hovered = null;
  open.addEventListener("click", () => ctx.set({ view: "attention" }));
  exportButton.addEventListener("click", () => downloadCanvas(canvas, "siglip-lens-head-stats.png"));

  const nearest = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    let best = null;
    let bestD = 12 * 12;
    for (const p of points) {
      const d = (p.x - x) ** 2 + (p.y - y) ** 2;
      if (d < bestD) [best, bestD] = [p, d];
    }
    return best;
  };
  canvas.addEventListener("pointermove", (e) => {
    hovered = nearest(e);
    readout.textContent = hovered
      ? `block ${hovered.layer + 1}, head ${hovered.head + 1}: mean distance ${hovered.distance.toFixed(1)} px, entropy ${hovered.entropy.toFixed(2)} nats`
      : "Hover a dot.";
    canvas.style.cursor = hovered ? "pointer" : "default";
  });
  canvas.addEventListener("click", (e) => {
    const p = nearest(e);
    if (p) ctx.set({ block: p.layer + 1, head: p.head });
  });

  function draw(state) {
    const { numLayers, numHeads, imageSize, numPatches } = ctx.info;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = WIDTH * dpr;
    canvas.height = HEIGHT * dpr;
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, WIDTH, HEIGHT);
    const distances = [];
    const entropies = [];
    for (let i = 0; i < numLayers * numHeads; i++) {
      distances.push(stats[i * 2]);
      entropies.push(stats[i * 2 + 1]);
    }
    const yMax = Math.max(1, ...distances) * 1.1;
    layout = { numLayers, numHeads, yMax };
    const eRange = valueRange(entropies);
    const plotW = WIDTH - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    // Axes, ticks and labels.
    g.strokeStyle = "#999";
    g.fillStyle = "#333";
    g.font = "12px system-ui, sans-serif";
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(MARGIN.left, MARGIN.top);
    g.lineTo(MARGIN.left, MARGIN.top + plotH);
    g.lineTo(MARGIN.left + plotW, MARGIN.top + plotH);
    g.stroke();
    const step = niceStep(yMax / 5);
    g.textAlign = "right";
    for (let v = 0; v <= yMax; v += step) {
      const y = MARGIN.top + plotH * (1 - v / yMax);
      g.fillText(formatValue(v), MARGIN.left - 6, y + 4);
      g.strokeStyle = "#eee";
      g.beginPath();
      g.moveTo(MARGIN.left + 1, y);
      g.lineTo(MARGIN.left + plotW, y);
      g.stroke();
    }
    g.textAlign = "center";
    const every = Math.ceil(numLayers / 14);
    for (let l = 0; l < numLayers; l += every) {
      g.fillText(String(l + 1), MARGIN.left + (plotW / numLayers) * (l + 0.5), MARGIN.top + plotH + 16);
    }
    g.fillText("block", MARGIN.left + plotW / 2, HEIGHT - 8);
    g.save();
    g.translate(16, MARGIN.top + plotH / 2);
    g.rotate(-Math.PI / 2);
    g.fillText(`mean attention distance (px of ${imageSize})`, 0, 0);
    g.restore();
    // Dots.
    points = [];
    for (let l = 0; l < numLayers; l++) {
      for (let h = 0; h < numHeads; h++) {
        const i = l * numHeads + h;
        const { x, y } = pointPosition(l, h, distances[i], layout);
        const t = eRange.max > eRange.min ? (entropies[i] - eRange.min) / (eRange.max - eRange.min) : 0;
        points.push({ x, y, layer: l, head: h, distance: distances[i], entropy: entropies[i] });
        g.beginPath();
        g.arc(x, y, 5, 0, Math.PI * 2);
        g.fillStyle = cssColor(t, state.cmap);
        g.fill();
        g.strokeStyle = "rgba(0,0,0,0.5)";
        g.lineWidth = 1;
        g.stroke();
      }
    }
    const selected = points.find((p) => p.layer === state.block - 1 && p.head === state.head);
    if (selected) {
      g.beginPath();
      g.arc(selected.x, selected.y, 9, 0, Math.PI * 2);
      g.strokeStyle = "#ff4f7b";
      g.lineWidth = 2.5;
      g.stroke();
    }
    canvas.points = points;
    drawLegend(bar, state.cmap);
    minLabel.textContent = formatValue(eRange.min);
    maxLabel.textContent = formatValue(eRange.max);
    ceiling.textContent = `(uniform over ${numPatches} patches = ln ${numPatches} = ${Math.log(numPatches).toFixed(2)})`;
  }

  return {
    id: "head-stats",
    label: "Head statistics",
    root,
    setup() {
      stats = null;
    },
    async render(state) {
      stats = await ctx.query("headStats");
      draw(state);
    },
  };
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
}
