// MNIST's own preparation of a digit, step by step as nndl.data.images does it in Python
// (load_digit_image), so the browser gives `nndl predict` the same 28x28 array:
//   1. grey levels in [0, 1] (transparent areas count as white paper);
//   2. ink polarity: a light border (dark ink on paper) is inverted;
//   3. background (the border's median) to 0, strongest ink to 1, values below 0.15 to 0;
//   4. crop to the bounding box of the ink;
//   5. scale the longer side to 20 pixels keeping the aspect ratio: Pillow's anti-aliased
//      bilinear resampling (a triangle filter as wide as the reduction), rows then columns;
//   6. paste into a black 28x28 field with the centre of mass at pixel (14, 14).
(() => {
"use strict";

const SIZE = 28, BOX = 20, CENTRE = 14, INK_THRESHOLD = 0.15;

// Python's round(): halves to the even neighbour.
function roundHalfEven(x) {
  const r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

// numpy.median
function median(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length, m = n >> 1;
  return n % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// A colour value c of alpha a over opaque white paper, in the integer arithmetic of Pillow's
// alpha_composite (7 bits of precision; the division by 255 done as two shifts).
function overWhite(c, a) {
  const t = 128 * (c * a + 255 * (255 - a)) + (0x80 << 7);
  return (((t >> 8) + t) >> 8) >> 7;
}

// RGBA bytes (canvas ImageData) -> grey levels in [0, 1], alpha composited onto white, then
// Pillow's convert("L"): L = (19595 R + 38470 G + 7471 B + 32768) >> 16.
function greyLevels(rgba, width, height) {
  const grey = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) {
    let r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    const a = rgba[4 * i + 3];
    if (a !== 255) { r = overWhite(r, a); g = overWhite(g, a); b = overWhite(b, a); }
    grey[i] = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) / 255;
  }
  return grey;
}

// Steps 2-3: white ink on black, background 0, strongest ink 1; null if blank.
function normalise(grey, w, h) {
  const border = [];
  for (let x = 0; x < w; x++) border.push(grey[x], grey[(h - 1) * w + x]);
  for (let y = 0; y < h; y++) border.push(grey[y * w], grey[y * w + w - 1]);
  let background = median(border);
  const ink = new Float64Array(w * h);
  const invert = background > 0.5;
  if (invert) background = 1 - background;
  let peak = -Infinity;
  for (let i = 0; i < w * h; i++) {
    ink[i] = (invert ? 1 - grey[i] : grey[i]) - background;
    if (ink[i] > peak) peak = ink[i];
  }
  if (peak < INK_THRESHOLD) return null;
  for (let i = 0; i < w * h; i++) {
    const v = Math.min(Math.max(ink[i] / peak, 0), 1);
    ink[i] = v < INK_THRESHOLD ? 0 : v;
  }
  return ink;
}

// Step 4: the bounding box of the non-zero pixels, as {data, w, h}.
function crop(ink, w, h) {
  let top = h, bottom = -1, left = w, right = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (ink[y * w + x] !== 0) {
      if (y < top) top = y; if (y > bottom) bottom = y;
      if (x < left) left = x; if (x > right) right = x;
    }
  }
  const cw = right - left + 1, ch = bottom - top + 1;
  const out = new Float64Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) out[y * cw + x] = ink[(y + top) * w + x + left];
  return {data: out, w: cw, h: ch};
}

// Pillow's resampling coefficients for one axis (bilinear filter, support 1, widened by the reduction).
function coefficients(inSize, outSize) {
  const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = filterScale;
  const result = [];
  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(centre + support + 0.5), inSize) - xmin;
    const k = new Float64Array(Math.max(xmax, 0));
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - centre + 0.5) / filterScale);
      k[x] = t < 1 ? 1 - t : 0;
      total += k[x];
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) k[x] /= total;
    result.push([xmin, k]);
  }
  return result;
}

// Step 5 on a float32 image (Pillow mode "F"): each pass sums in double, stores float32.
function resizeBilinear(img, w, h, w2, h2) {
  let data = Float32Array.from(img), cw = w;
  if (w2 !== w) {
    const c = coefficients(w, w2), out = new Float32Array(w2 * h);
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w2; xx++) {
      const [xmin, k] = c[xx];
      let s = 0;
      for (let i = 0; i < k.length; i++) s += data[y * w + xmin + i] * k[i];
      out[y * w2 + xx] = s;
    }
    data = out; cw = w2;
  }
  if (h2 !== h) {
    const c = coefficients(h, h2), out = new Float32Array(cw * h2);
    for (let yy = 0; yy < h2; yy++) {
      const [ymin, k] = c[yy];
      for (let x = 0; x < cw; x++) {
        let s = 0;
        for (let i = 0; i < k.length; i++) s += data[(ymin + i) * cw + x] * k[i];
        out[yy * cw + x] = s;
      }
    }
    data = out;
  }
  return Float64Array.from(data, v => Math.min(Math.max(v, 0), 1));
}

function fitBox(box) {
  const scale = BOX / Math.max(box.h, box.w);
  const w2 = Math.max(1, roundHalfEven(box.w * scale)), h2 = Math.max(1, roundHalfEven(box.h * scale));
  return {data: resizeBilinear(box.data, box.w, box.h, w2, h2), w: w2, h: h2};
}

// Step 6: the centre of mass at (14, 14), shifted by whole pixels, kept inside the field.
function centre(digit) {
  const {data, w, h} = digit;
  let mass = 0, row = 0, col = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = data[y * w + x];
    mass += v; row += v * y; col += v * x;
  }
  row /= mass; col /= mass;
  const top = Math.min(Math.max(roundHalfEven(CENTRE - row), 0), SIZE - h);
  const left = Math.min(Math.max(roundHalfEven(CENTRE - col), 0), SIZE - w);
  const field = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) field[(y + top) * SIZE + x + left] = data[y * w + x];
  return field;
}

// The 784 float32 inputs of an RGBA image, or null if it holds no digit.
function prepareDigit(rgba, width, height) {
  const ink = normalise(greyLevels(rgba, width, height), width, height);
  if (ink === null) return null;
  return centre(fitBox(crop(ink, width, height)));
}

window.nndlPreprocess = {prepareDigit, roundHalfEven, median};
})();
