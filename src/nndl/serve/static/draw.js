// The draw-a-digit page: strokes on a canvas -> MNIST preprocessing (preprocess.js) -> the
// ONNX model in onnxruntime-web (one thread) -> the top 3 classes.  window.nndl is the page's
// small API for tests and scripts: replay(strokes), ready, last.
(() => {
"use strict";

const LINE_WIDTH = 20;   // on the 280-pixel pad: 2 pixels of MNIST's 28, its strokes' width
const pad = document.getElementById("pad"), ctx = pad.getContext("2d", {willReadFrequently: true});
const preview = document.getElementById("preview"), pctx = preview.getContext("2d");
const bars = document.getElementById("bars"), statusLine = document.getElementById("status");
const threshold = document.getElementById("threshold"), verdict = document.getElementById("verdict");
let session = null, info = null, last = null, strokes = [], current = null;

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  strokes = [];
  pctx.clearRect(0, 0, 28, 28);
  bars.innerHTML = ""; verdict.textContent = "";
}

function stroke(points) {
  ctx.strokeStyle = "#000"; ctx.lineWidth = LINE_WIDTH; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(points[0][0], points[0][1]);
  if (points.length === 1) ctx.lineTo(points[0][0] + 0.01, points[0][1]);   // a dot
  for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
  ctx.stroke();
}

function position(event) {
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * pad.width / r.width, (event.clientY - r.top) * pad.height / r.height];
}

pad.addEventListener("pointerdown", e => { pad.setPointerCapture(e.pointerId); current = [position(e)]; stroke(current); });
pad.addEventListener("pointermove", e => {
  if (!current) return;
  current.push(position(e));
  stroke(current.slice(-2));
});
function endStroke() { if (current) { strokes.push(current); current = null; answer(); } }
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
document.getElementById("clear").addEventListener("click", clearPad);

function showPreview(pixels) {
  const image = pctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * pixels[i]);
    image.data.set([v, v, v, 255], 4 * i);
  }
  pctx.putImageData(image, 0, 0);
}

// Each row clipped at 0 and scaled to sum to 1 (softmax outputs unchanged), as nndl predict does.
function normalise(outputs) {
  const p = Array.from(outputs, v => Math.max(v, 0));
  const total = p.reduce((a, b) => a + b, 0);
  return total > 0 ? p.map(v => v / total) : p.map(() => 1 / p.length);
}

function showAnswer(p) {
  const order = p.map((v, i) => i).sort((a, b) => p[b] - p[a] || a - b).slice(0, 3);
  bars.innerHTML = order.map(i => `<div class="bar"><span class="label">${info.classes[i]}</span>` +
    `<span class="fill" style="width:${(100 * p[i]).toFixed(1)}%"></span>` +
    `<span class="value">${(100 * p[i]).toFixed(1)}%</span></div>`).join("");
  const unsure = p[order[0]] < Number(threshold.value);
  verdict.textContent = unsure ? `unsure (maybe ${info.classes[order[0]]})` : info.classes[order[0]];
  verdict.className = unsure ? "unsure" : "sure";
  return order;
}

async function classify(pixels) {
  const t0 = performance.now();
  const input = new ort.Tensor("float32", pixels, [1, 784]);
  const output = (await session.run({input}))["output"].data;
  const p = normalise(output);
  showPreview(pixels);
  const order = showAnswer(p);
  return {pixels: Array.from(pixels), probabilities: p, prediction: info.classes[order[0]], inferenceMs: performance.now() - t0};
}

// Stroke to answer: read the pad, prepare the digit, run the network, draw the bars.
async function answer() {
  if (!session) return null;
  const t0 = performance.now();
  const pixels = nndlPreprocess.prepareDigit(ctx.getImageData(0, 0, pad.width, pad.height).data, pad.width, pad.height);
  if (pixels === null) { statusLine.textContent = "no digit found: the pad is blank"; return null; }
  const result = await classify(pixels);
  result.ms = performance.now() - t0;
  document.getElementById("timing").textContent = `stroke to answer: ${result.ms.toFixed(1)} ms`;
  statusLine.textContent = "";
  last = result;
  return result;
}

threshold.addEventListener("input", () => {
  document.getElementById("threshold-value").textContent = Number(threshold.value).toFixed(2);
  if (last) showAnswer(last.probabilities);
});

document.getElementById("photo").addEventListener("change", async e => {
  const file = e.target.files[0];
  if (!file) return;
  statusLine.textContent = "preparing the photo…";
  const reply = await fetch("/api/digit", {method: "POST", body: file, headers: {"Content-Type": "application/octet-stream"}});
  const body = await reply.json().catch(() => ({error: `the server answered ${reply.status}`}));
  e.target.value = "";
  if (!reply.ok) { statusLine.textContent = body.error; last = {error: body.error}; return; }
  clearPad();
  last = await classify(Float32Array.from(body.pixels));
  statusLine.textContent = "";
});

async function start() {
  clearPad();
  info = await (await fetch("/api/info")).json();
  document.getElementById("model-name").textContent = info.model;
  document.getElementById("live-link").hidden = !info.watching;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = "/static/ort/";
  session = await ort.InferenceSession.create("/model.onnx", {executionProviders: ["wasm"]});
  statusLine.textContent = "ready: draw a digit";
}

window.nndl = {
  ready: start().catch(err => { statusLine.textContent = `the model did not load: ${err}`; throw err; }),
  get last() { return last; },
  // Draw stored strokes ({"strokes": [[[x, y], ...], ...]}) on a clean pad and answer, as a user would.
  async replay(record) {
    clearPad();
    for (const points of record.strokes) { stroke(points); strokes.push(points); }
    return answer();
  },
  padPNG: () => pad.toDataURL("image/png"),
  strokes: () => strokes,
};
})();
