// The live view of a training run: polls /api/run every second (and /api/snapshot) and redraws
// the curves, the gradient norms, the first layer's filters and some misclassified digits.
(() => {
"use strict";
const COLOURS = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#319795", "#97266d"];
let generation = null, shown = -1, polls = 0, snapshotKey = null;

// A line chart of series {name: [[x, y], ...]} on a canvas; log: a logarithmic y axis.
function chart(canvas, series, {log = false, yLabel = ""} = {}) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, L = 52, R = 10, T = 10, B = 28;
  ctx.clearRect(0, 0, W, H);
  const names = Object.keys(series).filter(n => series[n].length);
  const f = v => log ? Math.log10(Math.max(v, 1e-12)) : v;
  const xs = names.flatMap(n => series[n].map(p => p[0])), ys = names.flatMap(n => series[n].map(p => f(p[1])));
  ctx.strokeStyle = "#888"; ctx.strokeRect(L, T, W - L - R, H - T - B);
  if (!xs.length) { ctx.fillStyle = "#888"; ctx.fillText("waiting for the first epoch…", L + 10, T + 20); return; }
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R), py = y => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = y0 + (y1 - y0) * i / 4;
    ctx.fillText(log ? (10 ** y).toExponential(1) : y.toPrecision(3), 2, py(y) + 4);
  }
  ctx.fillText("epoch", W - 40, H - 4);
  ctx.fillText(String(x0), L, H - 12); ctx.fillText(String(x1), W - R - 16, H - 12);
  names.forEach((name, k) => {
    ctx.strokeStyle = ctx.fillStyle = COLOURS[k % COLOURS.length]; ctx.lineWidth = 2;
    ctx.beginPath();
    series[name].forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, px(x), py(f(y))));
    ctx.stroke();
    series[name].forEach(([x, y]) => ctx.fillRect(px(x) - 2, py(f(y)) - 2, 4, 4));
    ctx.fillText(name, L + 8, T + 14 + 13 * k);
  });
}

function series(epochs, keys) {
  const out = {};
  for (const key of keys) out[key] = epochs.filter(e => typeof e[key] === "number").map(e => [e.epoch, e[key]]);
  return out;
}

function image(pixels, h, w) {
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d"), im = ctx.createImageData(w, h);
  pixels.forEach((v, i) => { const g = Math.round(255 * v); im.data.set([g, g, g, 255], 4 * i); });
  ctx.putImageData(im, 0, 0);
  return c;
}

function draw(run) {
  const epochs = run.epochs;
  document.getElementById("epochs").textContent = epochs.length;
  const last = epochs[epochs.length - 1], final = run.final;
  let text = last ? `Last epoch ${last.epoch}: ` + ["validation_accuracy", "validation_cost", "training_cost"]
    .filter(k => typeof last[k] === "number").map(k => `${k} ${last[k].toFixed(4)}`).join(", ") + "." : "";
  if (final) text += ` Finished (${final.stop_reason || "done"})` +
    (typeof final.test_accuracy === "number" ? `: test accuracy ${final.test_accuracy.toFixed(4)}.` : ".");
  document.getElementById("summary").textContent = text;
  chart(document.getElementById("cost"), series(epochs, ["training_cost", "validation_cost", "test_cost"]));
  chart(document.getElementById("accuracy"), series(epochs, ["training_accuracy", "validation_accuracy", "test_accuracy"]));
  const layers = [...new Set(epochs.flatMap(e => Object.keys(e.gradient_norms || {})))];
  const norms = {};
  for (const layer of layers) norms[layer] = epochs.filter(e => e.gradient_norms && layer in e.gradient_norms)
    .map(e => [e.epoch, e.gradient_norms[layer]]);
  chart(document.getElementById("gradients"), norms, {log: true});
}

function notes(run) {
  document.getElementById("waiting").textContent = [run.missing, run.waiting].filter(Boolean).join(" ");
  document.getElementById("problems").innerHTML = "";
  for (const p of run.problems) {
    const li = document.createElement("li"); li.textContent = p;
    document.getElementById("problems").appendChild(li);
  }
}

async function snapshot() {
  const s = await (await fetch("/api/snapshot")).json();
  const key = JSON.stringify([s.file, s.note, s.misclassified.length, s.filters && s.filters.images[0]]);
  if (key === snapshotKey) return;
  snapshotKey = key;
  document.getElementById("snapshot-note").textContent = s.note || "";
  const filters = document.getElementById("filters"), mistakes = document.getElementById("mistakes");
  filters.innerHTML = ""; mistakes.innerHTML = "";
  if (s.filters) {
    document.getElementById("filters-layer").textContent = `(layer ${s.filters.layer})`;
    const [h, w] = s.filters.shape;
    for (const f of s.filters.images) filters.appendChild(image(f.flat(), h, w));
  }
  for (const m of s.misclassified) {
    const fig = document.createElement("figure");
    fig.appendChild(image(m.pixels, 28, 28));
    const cap = document.createElement("figcaption"); cap.textContent = `${m.label} → ${m.predicted}`;
    fig.appendChild(cap); mistakes.appendChild(fig);
  }
}

async function poll() {
  try {
    const run = await (await fetch("/api/run")).json();
    polls++;
    if (run.generation !== generation) { generation = run.generation; shown = -1; }
    notes(run);
    const count = run.epochs.length + (run.final ? 1 : 0);
    if (count !== shown) { shown = count; draw(run); }
    await snapshot();
  } catch (err) {
    document.getElementById("waiting").textContent = `the server does not answer (${err}); retrying`;
  }
  setTimeout(poll, 1000);
}

fetch("/api/info").then(r => r.json()).then(info => {
  document.getElementById("run-name").textContent = info.run || "";
  document.getElementById("draw-link").hidden = !info.serving;
});
window.nndlLive = {get polls() { return polls; }, get shown() { return shown; }};
poll();
})();
