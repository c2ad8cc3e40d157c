"""The draw page's figures in headless Chromium: time from stroke to answer, and the page's size.

For each model: serve it (``nndl serve``'s app on a free loopback port), load the page, then replay
the stored strokes (tests/data/strokes) 100 times, cycling through them.  "Stroke to answer" is
measured by the page itself (``performance.now()``) from the end of the stroke — the pad holds the
drawing — to the top-3 bars in the page: reading the pad, the MNIST preprocessing in JavaScript,
onnxruntime-web (WebAssembly, one thread) and the bars (before the browser's next paint).  The
page's size is the sum of the bodies of everything it loaded (Resource Timing ``encodedBodySize``,
no compression: the server sends files as they are), the document, runtime and model included.

    PYTHONPATH=src python bench/page_figures.py --out docs/results/onnx/page.jsonl
    PYTHONPATH=src python bench/page_figures.py --layers --out docs/results/onnx/layers-web.jsonl

``--layers``: every layer kind of the parity table run by the page's onnxruntime-web, against nndl.

Needs Chromium and chromium-driver (Debian) and selenium.  Timings depend on the machine (and on
how busy it is); quote them with the machine.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from browser import chromium_driver, running  # noqa: E402

MODELS = ["docs/results/onnx/book-784-30-10.npz", "docs/results/ch6-relu.npz", "docs/results/ch6-batchnorm/seed1.npz"]
STROKES = sorted((REPO / "tests" / "data" / "strokes").glob("*.json"))


def call(driver, script: str, *args):
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => {script}).then(done, e => done({{error: String(e)}}));", *args)


def run_in_page(driver, model_bytes: bytes, x):
    """The outputs of the page's onnxruntime-web (wasm, one thread) for ONNX ``model_bytes`` on the examples
    ``x``: float32 rows or sequences, or integer token ids (sent as int64)."""
    import base64

    import numpy

    x = numpy.asarray(x)
    ids = x.dtype.kind in "iu"
    out = call(driver, """(async (model, values, dims, ids) => {
        const bytes = Uint8Array.from(atob(model), c => c.charCodeAt(0));
        const session = await ort.InferenceSession.create(bytes, {executionProviders: ["wasm"]});
        const input = ids ? new ort.Tensor("int64", BigInt64Array.from(values.map(v => BigInt(v))), dims)
                          : new ort.Tensor("float32", Float32Array.from(values), dims);
        return Array.from((await session.run({input}))["output"].data);
    })(arguments[0], arguments[1], arguments[2], arguments[3])""",
               base64.b64encode(model_bytes).decode(), x.ravel().tolist(), list(x.shape), ids)
    if isinstance(out, dict):
        raise RuntimeError(f"onnxruntime-web: {out.get('error')}")
    return numpy.array(out, dtype=numpy.float32).reshape(len(x), -1)


def layers_in_browser(rows: int = 16) -> list[dict]:
    """Every case of bench/onnx_parity.py run by onnxruntime-web in the page, against nndl."""
    import numpy

    import onnx_parity
    from nndl.cli.serve_cmd import model_for_page
    from nndl.export.onnx import to_onnx
    from nndl.serve.app import create_app

    data, info = model_for_page(REPO / MODELS[0])
    results = []
    with running(create_app(data, info)) as url:
        driver = chromium_driver()
        try:
            driver.get(url + "/")
            call(driver, "window.nndl.ready")
            for name in onnx_parity.ALL_CASE_NAMES:
                network, x = onnx_parity.build_case(name)
                x = x[:rows]
                ours = network.predict_proba(x)
                ours = ours.reshape(-1, ours.shape[-1])                  # classes per step for a sequence
                theirs = run_in_page(driver, to_onnx(network).SerializeToString(), x).reshape(ours.shape)
                results.append({"case": name, "examples": len(x), "runtime": "onnxruntime-web 1.30.0 wasm",
                                "max_abs_diff": float(numpy.abs(ours.astype(numpy.float64) - theirs).max()),
                                "same_class": float((ours.argmax(1) == theirs.argmax(1)).mean())})
        finally:
            driver.quit()
    return results


def measure(model: str, repeats: int) -> dict:
    from nndl.cli.serve_cmd import model_for_page
    from nndl.serve.app import create_app

    data, info = model_for_page(REPO / model)
    records = [json.loads(p.read_text()) for p in STROKES]
    with running(create_app(data, info)) as url:
        driver = chromium_driver()
        try:
            start = time.perf_counter()
            driver.get(url + "/")
            call(driver, "window.nndl.ready")
            ready = time.perf_counter() - start
            for record in records[:3]:                       # warm up (the first run compiles kernels)
                call(driver, "window.nndl.replay(arguments[0])", record)
            answers = [call(driver, "window.nndl.replay(arguments[0])", records[i % len(records)])
                       for i in range(repeats)]
            sizes = driver.execute_script(
                "const r = performance.getEntriesByType('resource').map(e => [e.name, e.encodedBodySize]);"
                "const n = performance.getEntriesByType('navigation')[0];"
                "return r.concat([[n.name, n.encodedBodySize]]);")
            version = driver.capabilities.get("browserVersion")
        finally:
            driver.quit()
    total = sum(size for _, size in sizes)
    runtime = sum(size for name, size in sizes if "/static/ort/" in name)
    model_bytes = sum(size for name, size in sizes if name.endswith("/model.onnx"))
    ms = sorted(a["ms"] for a in answers)
    return {"model": model, "repeats": repeats, "stroke_to_answer_ms_median": round(statistics.median(ms), 2),
            "stroke_to_answer_ms_p90": round(ms[int(0.9 * repeats) - 1], 2), "stroke_to_answer_ms_max": round(ms[-1], 2),
            "inference_ms_median": round(statistics.median(a["inferenceMs"] for a in answers), 2),
            "page_bytes": total, "page_mb": round(total / 1e6, 2), "runtime_bytes": runtime, "model_bytes": model_bytes,
            "files": len(sizes), "page_ready_s": round(ready, 2), "chromium": version, "threads": 1}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--out", help="also write the JSON lines here")
    parser.add_argument("--layers", action="store_true",
                        help="instead: every layer kind of bench/onnx_parity.py in onnxruntime-web against nndl")
    parser.add_argument("models", nargs="*", default=MODELS)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    lines = []
    rows = layers_in_browser() if args.layers else (measure(model, args.repeats) for model in args.models)
    for row in rows:
        lines.append(json.dumps(row))
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
