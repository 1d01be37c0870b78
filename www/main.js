// Wiring: page state (one object, mirrored in the URL hash), the model and image inputs, the tabs,
// and the worker conversation. Views draw themselves; this file only tells them when.
//
// Scripting API (used by the page tests, fine for your own scripts):
//   window.siglipLens.request(method, ...args) -> Promise<TypedArray>   e.g. request("attentionRow", 0, 2, 97)
//   window.siglipLens.set({view, layer, block, head, patch, fusion, probeHead, cmap}) -> Promise (resolves once redrawn)
//   window.siglipLens.state, .info, .timings                            read-only copies
// Automation: index.html?model=<hub id or folder URL>&image=<URL>[&labels=a%20cat|a%20dog[&template=…]];
// <html data-state> goes loading-model -> ready -> running [-> loading-text -> scoring] -> done (with
// labels, only once they are scored: each row [data-label] carries data-probability), or error
// (message in the role="alert" element, data-about="model" | "image" | "text"; the previous model
// and image stay usable). Warnings that block nothing (e.g. only a GIF's first frame is
// used, the cache is full) go to the role="status" notices.

import { createClient } from "./client.js";
import { decodeImage, fetchImage, firstImage } from "./image.js";
import { setSeen, setMarks, setBadge } from "./figure.js";
import { formatBytes } from "./colormap.js";
import { el } from "./dom.js";
import * as seenPanel from "./views/seen.js";
import * as embeddingsView from "./views/embeddings.js";
import * as attentionView from "./views/attention.js";
import * as rolloutView from "./views/rollout.js";
import * as probeView from "./views/probe.js";
import * as headStatsView from "./views/headstats.js";
import * as paramsView from "./views/params.js";
import * as textView from "./views/text.js";

const $ = (id) => document.getElementById(id);
const dom = {
  alert: $("alert"), modelNotice: $("model-notice"), imageNotice: $("image-notice"), banner: $("untrained-banner"), preset: $("preset"), spec: $("model-spec"), weights: $("weights"), load: $("load-model"),
  modelFiles: $("model-files"), progress: $("progress"), progressBar: $("progress-bar"), progressText: $("progress-text"),
  cancel: $("cancel"), facts: $("facts"), cache: $("cache"), cacheList: $("cache-list"), cacheClear: $("cache-clear"),
  imageFile: $("image-file"), samples: $("samples"), opacity: $("opacity"), cmap: $("cmap"), grid: $("grid"),
  selection: $("selection"), tabs: $("tabs"), viewSlot: $("view-slot"),
  steps: { resize: $("step-resize"), patches: $("step-patches"), vectors: $("step-vectors"), blocks: $("step-blocks"), pool: $("step-pool") },
};

/** The first visit: the trained demo on one of its scenes (www/models/shapes, made by tools/train_demo.py). */
const DEMO = "models/shapes/";
const DEMO_IMAGE = "samples/shapes-1.png";
const SAMPLES = [
  ["samples/cat.jpg", "Cat"],
  ["samples/coffee.jpg", "Coffee"],
  ["samples/astronaut.jpg", "Astronaut"],
  ["samples/rocket.jpg", "Rocket launch"],
  ["samples/scene.png", "Landscape (drawn)"],
  ["samples/tall.png", "Tall (gets squashed)"],
];

// `?wasm=pkg-simd128` (or pkg, pkg-threads) forces a WebAssembly build; wasm.js picks one otherwise.
const workerUrl = new URL("worker.js", import.meta.url);
const forcedBuild = new URLSearchParams(location.search).get("wasm");
if (forcedBuild) workerUrl.searchParams.set("wasm", forcedBuild);
const client = createClient(workerUrl);

/** Bundled checkpoints: how their figures are badged, and whether their text tower loads at once. */
const BUNDLED = {
  "models/demo/": {
    badge: "untrained weights",
    kind: "untrained",
    noText:
      "The untrained demo cannot score labels: it ships no tokenizer, and its random text tower makes 16-number embeddings where its vision tower makes 64. Load a SiglipModel checkpoint above, e.g. google/siglip-base-patch16-224.",
  },
  "models/shapes/": {
    badge: "tiny model trained on generated shapes, not Google's SigLIP",
    kind: "toy",
    eagerText: true,
    banner: "Demo checkpoint: a tiny SigLIP trained in a few minutes on generated pictures of shapes and simple objects with their captions — not Google's SigLIP. Its scores and maps show what training does, in a toy world; load a real checkpoint above for photographs.",
  },
};
const UNTRAINED_BANNER = [...document.getElementById("untrained-banner").childNodes].map((n) => n.cloneNode(true));

/** Everything the pictures depend on; the URL hash mirrors it. */
let state = { model: null, weights: "f32", image: null, view: "embeddings", layer: 0, block: 1, head: 0, patch: -1, fusion: "mean", probeHead: "mean", cmap: "viridis", labels: null, template: null };
let info = null; // model facts from the worker, plus the current trace's timings
let traceReady = false;
let current = null; // {rgba: ImageData, bitmap, name, url} of the image the trace was run on
let pending = null; // an image waiting for a model
let hovered = -1;
const timings = {};
let loadSeq = 0; // the newest model load; older ones are abandoned
let loadingSpec = null; // the URL spec being loaded, to ignore a second click on Load
let imageSeq = 0; // the newest image; an older one still decoding is dropped
let landed = null; // [result, source] of a superseded load the worker completed anyway

// ---- phases, errors ---------------------------------------------------------------------------

function setPhase(phase) {
  document.documentElement.dataset.state = phase;
}

/** Shows what went wrong with the model or the image (`about`); the page stays usable. */
function showError(message, about = "model") {
  dom.alert.textContent = message;
  dom.alert.dataset.about = about;
  dom.alert.hidden = false;
  setPhase("error");
}

/** Hides the alert (only if it is about `about`, when given). */
function clearError(about = null) {
  if (about && dom.alert.dataset.about !== about) return;
  dom.alert.textContent = "";
  dom.alert.hidden = true;
}

/** Ends a message with a full stop unless it already ends a sentence. */
function sentence(text) {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Shows (or, with no lines, hides) a non-blocking notice about the model or the image. */
function setNotice(element, lines) {
  element.textContent = lines.join(" ");
  element.hidden = lines.length === 0;
}

// ---- URL hash ---------------------------------------------------------------------------------

const NUMBER_KEYS = ["layer", "block", "patch"];

function parseHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const out = {};
  for (const key of ["model", "image", "view", "fusion", "cmap", "template"]) if (params.has(key)) out[key] = params.get(key);
  if (params.get("labels")) out.labels = params.get("labels").split("|").map((l) => l.trim()).filter(Boolean);
  if (params.get("weights") === "f16") out.weights = "f16";
  for (const key of NUMBER_KEYS) if (params.has(key) && Number.isInteger(Number(params.get(key)))) out[key] = Number(params.get(key));
  for (const [key, name] of [["head", "head"], ["probe", "probeHead"]]) {
    const v = params.get(key);
    if (v === "mean" || v === "max") out[name] = v;
    else if (v !== null && Number.isInteger(Number(v))) out[name] = Number(v);
  }
  return out;
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.model) params.set("model", state.model);
  if (state.image) params.set("image", state.image);
  if (state.weights === "f16") params.set("weights", "f16");
  params.set("view", state.view);
  for (const key of NUMBER_KEYS) params.set(key, String(state[key]));
  params.set("head", String(state.head));
  params.set("probe", String(state.probeHead));
  params.set("fusion", state.fusion);
  params.set("cmap", state.cmap);
  if (state.labels?.length) params.set("labels", state.labels.join("|"));
  if (state.template) params.set("template", state.template);
  const hash = `#${params}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

/** Keeps every index inside the loaded model's ranges. */
function clampState() {
  if (!info) return;
  const clampInt = (v, lo, hi, fallback) => (Number.isInteger(v) && v >= lo && v <= hi ? v : fallback);
  const centre = Math.floor(info.gridSize / 2) * info.gridSize + Math.floor(info.gridSize / 2);
  state.patch = clampInt(state.patch, 0, info.numPatches - 1, centre);
  state.layer = clampInt(state.layer, 0, info.numLayers, info.numLayers);
  state.block = clampInt(state.block, 1, info.numLayers, 1);
  if (!(state.head === "mean" || state.head === "max")) state.head = clampInt(state.head, 0, info.numHeads - 1, 0);
  if (state.probeHead !== "mean") state.probeHead = clampInt(state.probeHead, 0, info.numHeads - 1, "mean");
  if (!["mean", "max", "min"].includes(state.fusion)) state.fusion = "mean";
  if (!["viridis", "magma"].includes(state.cmap)) state.cmap = "viridis";
  if (!views.has(state.view) || (views.get(state.view).available && !views.get(state.view).available(info))) state.view = "embeddings";
}

// ---- views ------------------------------------------------------------------------------------

const ctx = {
  query: (method, ...args) => client.query(method, ...args),
  set: (partial) => set(partial),
  hover: (p) => hover(p),
  get info() {
    return info;
  },
};
const seen = seenPanel.create(ctx, document.querySelector(".panel.input"));
const views = new Map(
  [embeddingsView, attentionView, rolloutView, probeView, headStatsView, paramsView].map((module) => {
    const view = module.create(ctx);
    return [view.id, view];
  }),
);
const textPanel = textView.create(
  {
    request: (type, payload, options) => client.request(type, payload, options),
    hover: (p) => hover(p),
    set: (partial) => set(partial),
    get info() {
      return info;
    },
    get timings() {
      return timings;
    },
    cmap: () => state.cmap,
    traceReady: () => traceReady,
    imageName: () => current?.name ?? null,
    setPhase,
    showError: (message) => showError(message, "text"),
    clearError: () => clearError("text"),
    saveState: ({ labels, template }) => {
      Object.assign(state, { labels, template });
      writeHash();
    },
    showSamples,
    refreshFacts: () => showFacts(),
  },
  $("text-slot"),
);
const tabs = new Map();
for (const view of views.values()) {
  const tab = el("button", { type: "button", textContent: view.label });
  tab.setAttribute("role", "tab");
  tab.dataset.tab = view.id;
  tab.addEventListener("click", () => set({ view: view.id }));
  dom.tabs.append(tab);
  dom.viewSlot.append(view.root);
  tabs.set(view.id, tab);
}

function showActiveTab() {
  for (const [id, view] of views) {
    const active = id === state.view;
    view.root.hidden = !active;
    tabs.get(id).setAttribute("aria-selected", String(active));
    tabs.get(id).hidden = Boolean(info && view.available && !view.available(info));
  }
}

let chain = Promise.resolve();
/** Redraws the active view from the current state; calls are queued so draws never interleave. */
function render() {
  chain = chain.then(drawNow).catch((error) => showError(`Could not draw the view: ${sentence(error.message)}`, "view"));
  return chain;
}

async function drawNow() {
  clampState();
  writeHash();
  showActiveTab();
  if (dom.cmap.value !== state.cmap) textPanel.recolour();
  dom.cmap.value = state.cmap;
  setMarks({ selected: state.patch, hovered }); // also draws marks of figures just made visible
  if (!info) return;
  const { row, col } = { row: Math.floor(state.patch / info.gridSize), col: state.patch % info.gridSize };
  dom.selection.textContent = `Selected patch ${state.patch} (row ${row}, column ${col})`;
  seen.showPatch(hovered >= 0 ? hovered : state.patch, state.patch);
  const view = views.get(state.view);
  if (view.needsTrace !== false && !traceReady) return;
  const started = performance.now();
  await view.render(state);
  timings.redraw = performance.now() - started;
  showFacts();
}

function set(partial) {
  state = { ...state, ...partial };
  return render();
}

function hover(p) {
  if (p === hovered) return;
  hovered = p;
  setMarks({ hovered: p });
  if (info) seen.showPatch(p >= 0 ? p : state.patch, state.patch);
}

// ---- model ------------------------------------------------------------------------------------

/** The bundled checkpoint `spec` names ({badge, kind, eagerText}), or null. */
function bundled(spec) {
  for (const [path, facts] of Object.entries(BUNDLED)) {
    try {
      if (new URL(spec, location.href).href === new URL(path, location.href).href) return facts;
    } catch {
      return null;
    }
  }
  return null;
}

/** Sample buttons for the scenes a model's label presets name (samples/<name>); none for []. */
function showSamples(names) {
  for (const old of dom.samples.querySelectorAll(".model-sample")) old.remove();
  // The model's own scenes come first: they are what its labels were written for.
  dom.samples.prepend(...names.map((name) => sampleButton(`samples/${name}`, name.replace(/\.\w+$/, ""), "model-sample")));
}

async function loadModel(source) {
  const spec = source.kind === "url" ? source.spec : null;
  if (spec !== null && spec === loadingSpec) return; // already on its way
  const seq = ++loadSeq;
  const isNewest = () => seq === loadSeq;
  loadingSpec = spec;
  clearError("model");
  setPhase("loading-model");
  const started = performance.now();
  showProgress({ phase: "config", done: 0, total: 0 }, started);
  let result;
  try {
    result = await client.request("load", { source, storage: dom.weights.value }, { onProgress: (p) => isNewest() && showProgress(p, started) });
  } catch (error) {
    if (!isNewest()) return; // abandoned for a newer model: nothing to say
    // An older load that finished just before this one began is the worker's model now: show it.
    if (landed) await showModel(...takeLanded());
    showError(`Could not load the model: ${sentence(error.message)}${info && !error.fatal ? " The previous model is still loaded." : ""}`);
    return;
  } finally {
    if (isNewest()) {
      loadingSpec = null;
      dom.progress.hidden = true;
    }
  }
  if (!isNewest()) {
    landed = [result, source]; // superseded, but built: kept in case the newer load fails
    return;
  }
  landed = null;
  await showModel(result, source);
}

function takeLanded() {
  const out = landed;
  landed = null;
  return out;
}

/** Makes a model the worker has built the page's model: facts, views, and a run of the image. */
async function showModel(result, source) {
  try {
    info = result;
    traceReady = false;
    state.model = source.kind === "url" ? source.spec : null;
    state.weights = result.weightStorage;
    const demo = source.kind === "url" ? bundled(source.spec) : null;
    document.body.dataset.untrained = String(demo?.kind === "untrained");
    document.body.dataset.badge = demo?.kind ?? "";
    setBadge(demo?.badge ?? "");
    if (demo?.banner) dom.banner.replaceChildren(demo.banner);
    else dom.banner.replaceChildren(...UNTRAINED_BANNER.map((n) => n.cloneNode(true)));
    dom.banner.hidden = !demo;
    setNotice(dom.modelNotice, result.warnings ?? []);
    Object.assign(timings, { download: result.downloadMs, load: result.loadMs, preprocess: null, forward: null });
    clampState();
    for (const view of views.values()) view.setup(info);
    textPanel.setup(info, { eager: Boolean(demo?.eagerText), unavailable: demo?.noText ?? null });
    describePipeline();
    showFacts();
    refreshCache();
    const image = pending ?? current;
    pending = null;
    // An image that could not be read keeps the page in "error" until another image works.
    setPhase(dom.alert.hidden ? "ready" : "error");
    if (image) await runImage(image);
    else await render();
  } catch (error) {
    showError(`Could not show the model: ${sentence(error.message)}`);
  }
}

let weightsStart = 0;
function showProgress(p, started) {
  dom.progress.hidden = false;
  if (p.phase === "cache") {
    dom.progressBar.removeAttribute("value");
    dom.progressText.textContent = "reading the weights from the browser cache…";
    return;
  }
  if (!p.total) {
    dom.progressBar.removeAttribute("value");
    dom.progressText.textContent = "reading the config and the weights' header…";
    weightsStart = performance.now();
    return;
  }
  if (p.done === 0) weightsStart = performance.now();
  dom.progressBar.value = p.done / p.total;
  const seconds = (performance.now() - weightsStart) / 1000;
  const rate = p.done / Math.max(seconds, 1e-3);
  const left = p.done > 0 ? Math.ceil((p.total - p.done) / rate) : null;
  dom.progressText.textContent = `${p.phase}: ${formatBytes(p.done)} / ${formatBytes(p.total)}` + (left === null ? "" : ` · ${left} s left`);
  void started;
}

function describePipeline() {
  const i = info;
  dom.steps.resize.textContent = `to ${i.imageSize} × ${i.imageSize} px (${i.resample})`;
  dom.steps.patches.textContent = `${i.gridSize} × ${i.gridSize} = ${i.numPatches} patches of ${i.patchSize} × ${i.patchSize} px`;
  dom.steps.vectors.textContent = `each patch → a vector of ${i.hiddenSize} numbers, + its position`;
  dom.steps.blocks.textContent = `${i.numLayers} blocks × ${i.numHeads} heads mix the ${i.numPatches} vectors`;
  dom.steps.pool.textContent = i.hasHead ? `a learned probe attends over all patches → one ${i.hiddenSize}-d vector` : "this tower has no pooling head";
}

function ms(v) {
  return v == null ? "—" : v < 10 ? `${v.toFixed(1)} ms` : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
}

/** What each WebAssembly build is, for the facts row (wasm.js picks one). */
const BUILD_NAMES = { pkg: "wasm relaxed SIMD", "pkg-threads": "wasm relaxed SIMD", "pkg-simd128": "wasm SIMD128" };

function showFacts() {
  if (!info) return;
  const rows = [
    ["Model", `${info.id}${document.body.dataset.untrained === "true" ? " (untrained demo)" : ""}`],
    ["Size", `${(info.numParameters / 1e6).toFixed(info.numParameters < 1e7 ? 2 : 1)} M parameters · vision weights ${formatBytes(info.weightBytes)}`],
    ["Memory", `weights held in ${info.weightStorage} · wasm memory ${formatBytes(info.memoryBytes)}`],
    ["Download", info.fromCache ? `from the browser cache (${ms(timings.download)})` : info.local ? `read from local files (${ms(timings.download)})` : `${ms(timings.download)} · ${formatBytes(info.fetchedBytes)} fetched${info.ranged ? " with Range requests" : ""}`],
    ["Load", ms(timings.load)],
    ["Preprocess", ms(timings.preprocess)],
    ["Forward", `${ms(timings.forward)} · ${BUILD_NAMES[info.build] ?? info.build}${info.threads > 1 ? `, ${info.threads} threads` : ", 1 thread"}`],
    ["Last redraw", ms(timings.redraw)],
    ...textPanel.factsRows(),
  ];
  dom.facts.replaceChildren(...rows.map(([k, v]) => el("div", {}, [el("dt", { textContent: k }), el("dd", { textContent: v })])));
}

async function refreshCache() {
  try {
    const entries = await client.request("cache-list");
    dom.cacheList.replaceChildren(
      ...(entries.length ? entries.map((e) => el("li", { textContent: `${e.url} — vision ${formatBytes(e.bytes)}${e.textBytes ? ` + text ${formatBytes(e.textBytes)}` : ""}` })) : [el("li", { textContent: "nothing cached yet" })]),
    );
  } catch (error) {
    dom.cacheList.replaceChildren(el("li", { textContent: `cache unavailable: ${error.message}` }));
  }
}

// ---- image ------------------------------------------------------------------------------------

async function setImage(getImage, name, url = null) {
  const seq = ++imageSeq;
  let image;
  try {
    const decoded = await getImage();
    image = { ...decoded, name, url };
  } catch (error) {
    if (seq === imageSeq) showError(`Could not read the image: ${sentence(error.message)}${current ? " Still showing the previous image." : ""}`, "image");
    return;
  }
  if (seq !== imageSeq) return image.bitmap.close(); // a newer image was picked meanwhile
  if (!info) {
    pending = image;
    seen.showOriginal(image.bitmap, name);
    setNotice(dom.imageNotice, image.notes ?? []);
    return;
  }
  await runImage(image);
}

async function runImage(image) {
  clearError();
  setPhase("running");
  const copy = new Uint8ClampedArray(image.rgba.data);
  try {
    const result = await client.request("run", { rgba: copy.buffer, width: image.rgba.width, height: image.rgba.height }, { transfer: [copy.buffer] });
    current = image;
    state.image = image.url;
    traceReady = true;
    Object.assign(timings, { preprocess: result.preprocessMs, forward: result.forwardMs });
    seen.showOriginal(image.bitmap, image.name);
    setNotice(dom.imageNotice, image.notes ?? []);
    const seenImage = new ImageData(result.seen, info.imageSize, info.imageSize);
    setSeen(seenImage, info, `${info.id}${document.body.dataset.badge ? ` — ${bundled(state.model ?? "")?.badge ?? "demo"}` : ""} · ${image.name}`);
    seen.showSeen(seenImage, info);
    await render();
    showFacts();
    await textPanel.afterImage(image.name); // scores the labels, when asked for
    showFacts();
    if (document.documentElement.dataset.state !== "error") setPhase("done");
  } catch (error) {
    showError(`Could not run the model on this image: ${sentence(error.message)}${current && !error.fatal ? " Still showing the previous image." : ""}`, "image");
  }
}

function imageFromFile(file) {
  return setImage(() => decodeImage(file, file.name || "pasted image"), file.name || "pasted image");
}

function imageFromUrl(url) {
  return setImage(() => fetchImage(url), url.split("/").pop() || url, url);
}

function modelFilesIn(files) {
  return [...files].filter((f) => /\.(json|safetensors|model)$/i.test(f.name));
}

// ---- events -----------------------------------------------------------------------------------

dom.preset.addEventListener("change", () => {
  dom.spec.value = dom.preset.value;
  dom.weights.value = dom.preset.selectedOptions[0].dataset.weights ?? "f32";
});
dom.load.addEventListener("click", () => {
  const spec = dom.spec.value.trim() || dom.preset.value;
  loadModel({ kind: "url", spec, base: location.href });
});
dom.spec.addEventListener("keydown", (e) => {
  if (e.key === "Enter") dom.load.click();
});
dom.modelFiles.addEventListener("change", () => {
  if (dom.modelFiles.files.length) loadModel({ kind: "files", files: [...dom.modelFiles.files] });
  dom.modelFiles.value = "";
});
dom.cancel.addEventListener("click", () => client.request("cancel"));
dom.cacheClear.addEventListener("click", async () => {
  await client.request("cache-clear");
  refreshCache();
});
dom.cache.addEventListener("toggle", refreshCache);
dom.imageFile.addEventListener("change", () => {
  const file = dom.imageFile.files[0];
  if (file) imageFromFile(file);
  dom.imageFile.value = "";
});
function sampleButton(url, label, extraClass = "") {
  const button = el("button", { type: "button", className: `sample ${extraClass}`.trim(), title: label }, [el("img", { src: url, alt: label }), el("span", { textContent: label })]);
  button.addEventListener("click", () => imageFromUrl(url));
  return button;
}
for (const [url, label] of SAMPLES) dom.samples.append(sampleButton(url, label));
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", (e) => {
  if (!e.relatedTarget) document.body.classList.remove("dragging");
});
document.addEventListener("drop", (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  const files = [...(e.dataTransfer?.files ?? [])];
  const modelFiles = modelFilesIn(files);
  const others = files.filter((f) => !modelFiles.includes(f));
  if (modelFiles.length) loadModel({ kind: "files", files: modelFiles });
  // An image; or, with no model files, whatever was dropped: the decoder's checks say what it is.
  const image = firstImage(others) ?? (modelFiles.length ? null : others[0]);
  if (image) imageFromFile(image);
});
document.addEventListener("paste", (e) => {
  const image = firstImage(e.clipboardData?.files ?? []);
  if (image) imageFromFile(image);
});
dom.opacity.addEventListener("input", () => document.documentElement.style.setProperty("--overlay-opacity", dom.opacity.value));
dom.cmap.addEventListener("change", () => set({ cmap: dom.cmap.value }));
dom.grid.addEventListener("change", () => setMarks({ showGrid: dom.grid.checked }));
window.addEventListener("hashchange", () => set(parseHash(location.hash)));

window.siglipLens = Object.freeze({
  request: (method, ...args) => client.query(method, ...args),
  set: (partial) => set(partial),
  get state() {
    return { ...state };
  },
  get info() {
    return info && { ...info };
  },
  get timings() {
    return { ...timings };
  },
});

// ---- start ------------------------------------------------------------------------------------

function start() {
  const query = new URLSearchParams(location.search);
  state = { ...state, ...parseHash(location.hash) };
  const modelSpec = query.get("model") ?? state.model ?? DEMO;
  const labels = query.get("labels")?.split("|").map((l) => l.trim()).filter(Boolean) ?? state.labels;
  textPanel.ask({ labels, template: query.get("template") ?? state.template });
  if (labels?.length) state.labels = labels;
  if (query.get("template")) state.template = query.get("template");
  dom.spec.value = modelSpec; // the field names the model being loaded, and the list too when it holds it
  const listed = [...dom.preset.options].find((o) => o.value === modelSpec);
  if (listed) dom.preset.value = listed.value;
  dom.weights.value = [query.get("weights"), state.weights].find((w) => w === "f16" || w === "f32") ?? "f32";
  const imageUrl = query.get("image") ?? state.image ?? (query.has("model") ? null : DEMO_IMAGE);
  document.documentElement.style.setProperty("--overlay-opacity", dom.opacity.value);
  showActiveTab();
  refreshCache();
  const model = loadModel({ kind: "url", spec: modelSpec, base: location.href });
  if (imageUrl) imageFromUrl(imageUrl);
  return model;
}

start();
