"""The draw-a-digit page in headless Chromium: replayed strokes give the same 28x28 array as Python's
preprocessing (``nndl predict``'s) and the same class; photo upload; the unsure threshold; no request
leaves the server.  Screenshots go to $NNDL_SCREENSHOTS (docs/screenshots for the README)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from browser import chromium_driver, running, save_screenshot

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "docs" / "results" / "ch6-relu.npz"
STROKES = sorted((REPO / "tests" / "data" / "strokes").glob("*.json"))


def call(driver, script: str, *args):
    """Run ``script`` (an expression giving a promise) in the page and wait for its value."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => {script}).then(done, e => done({{error: String(e)}}));", *args)


@pytest.fixture(scope="module")
def network():
    from nndl import io

    return io.load(MODEL)


@pytest.fixture(scope="module")
def page(network):
    from nndl.cli.serve_cmd import model_for_page
    from nndl.serve.app import create_app

    data, info = model_for_page(MODEL)
    with running(create_app(data, info)) as url:
        driver = chromium_driver()
        try:
            driver.get(url + "/")
            assert call(driver, "window.nndl.ready.then(() => 'ready')") == "ready"
            yield driver, url
        finally:
            driver.quit()


@pytest.mark.parametrize("path", STROKES, ids=[p.stem for p in STROKES])
def test_replayed_strokes_match_python(page, network, path, tmp_path):
    from nndl.data.images import load_digit_image

    driver, _ = page
    record = json.loads(path.read_text())
    result = call(driver, "window.nndl.replay(arguments[0])", record)
    assert "error" not in result, result
    js = np.array(result["pixels"], dtype=np.float64)
    png = tmp_path / f"{path.stem}.png"                      # the pad as a user would save it ...
    png.write_bytes(base64.b64decode(call(driver, "window.nndl.padPNG()").split(",", 1)[1]))
    python = load_digit_image(png)                            # ... and read by nndl predict
    assert js.shape == python.shape == (784,)
    assert np.abs(js - python).max() <= 1 / 255
    p = network.predict_proba(python[None])[0]
    assert result["prediction"] == str(int(p.argmax()))
    assert np.abs(np.array(result["probabilities"]) - p).max() <= 1e-4


def test_most_fixture_digits_are_recognised(page):
    """Not a parity check but the point of the page: drawn digits get their class."""
    driver, _ = page
    right = sum(call(driver, "window.nndl.replay(arguments[0])", json.loads(p.read_text()))["prediction"] ==
                json.loads(p.read_text())["digit"] for p in STROKES)
    assert right >= len(STROKES) - 3, right


def test_unsure_threshold(page):
    driver, _ = page
    call(driver, "window.nndl.replay(arguments[0])", json.loads((STROKES[0]).read_text()))
    driver.execute_script("const t = document.getElementById('threshold'); t.value = 1; "
                          "t.dispatchEvent(new Event('input'));")
    assert driver.find_element("id", "verdict").text.startswith("unsure")
    driver.execute_script("const t = document.getElementById('threshold'); t.value = 0; "
                          "t.dispatchEvent(new Event('input'));")
    assert not driver.find_element("id", "verdict").text.startswith("unsure")


def test_mouse_drawing(page):
    """Real pointer events (Selenium's mouse) draw on the pad and get an answer."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = page
    driver.execute_script("document.getElementById('clear').click()")
    pad = driver.find_element("id", "pad")
    ActionChains(driver).move_to_element_with_offset(pad, 0, -100).click_and_hold() \
        .move_by_offset(0, 60).move_by_offset(0, 60).move_by_offset(0, 60).release().perform()
    last = driver.execute_script("return window.nndl.last")
    assert last and len(last["pixels"]) == 784 and last["prediction"] in [str(i) for i in range(10)]


def test_photo_upload(page, tmp_path):
    from PIL import Image, ImageDraw

    driver, _ = page
    photo = tmp_path / "seven.jpg"                       # dark ink on grey paper, off-centre, as a photo
    image = Image.new("RGB", (900, 700), (200, 196, 185))
    ImageDraw.Draw(image).line([(420, 150), (640, 150), (520, 560)], fill=(30, 30, 40), width=45)
    image.save(photo, quality=90)
    driver.execute_script("window.nndlPhotoBefore = window.nndl.last")
    driver.find_element("id", "photo").send_keys(str(photo))
    last = call(driver, "new Promise(r => { const t = setInterval(() => { if (window.nndl.last !== "
                        "window.nndlPhotoBefore) { clearInterval(t); r(window.nndl.last); } }, 50); })")
    assert last["prediction"] == "7", last.get("probabilities")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    driver.execute_script("window.nndlPhotoBefore = window.nndl.last")
    driver.find_element("id", "photo").send_keys(str(bad))
    last = call(driver, "new Promise(r => { const t = setInterval(() => { if (window.nndl.last !== "
                        "window.nndlPhotoBefore) { clearInterval(t); r(window.nndl.last); } }, 50); })")
    assert "not an image" in last["error"]
    assert "not an image" in driver.find_element("id", "status").text
    again = call(driver, "window.nndl.replay(arguments[0])", json.loads(STROKES[0].read_text()))
    assert again["prediction"]                            # the page (and the server) go on


def test_page_needs_no_internet_and_screenshot(page):
    driver, url = page
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(name.startswith(url) for name in resources), resources
    assert any(name.endswith(".wasm") for name in resources)
    call(driver, "window.nndl.replay(arguments[0])",
         json.loads((REPO / "tests" / "data" / "strokes" / "off-centre-7-right.json").read_text()))
    driver.execute_script("const t = document.getElementById('threshold'); t.value = 0.6; "
                          "t.dispatchEvent(new Event('input'));")
    save_screenshot(driver, "draw-page.png")


def test_touch_drawing(page):
    """A finger on a touch screen (Chromium's touch events through the DevTools protocol) draws too."""
    driver, _ = page
    driver.execute_script("document.getElementById('clear').click(); window.nndlBefore = window.nndl.last")
    box = driver.execute_script("const r = document.getElementById('pad').getBoundingClientRect(); "
                                "return [r.left, r.top];")
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    points = [(150, 40 + 10 * i) for i in range(21)]
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
        {"x": box[0] + points[0][0], "y": box[1] + points[0][1]}]})
    for x, y in points[1:]:
        driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": box[0] + x, "y": box[1] + y}]})
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    last = call(driver, "new Promise(r => { const t = setInterval(() => { if (window.nndl.last !== "
                        "window.nndlBefore) { clearInterval(t); r(window.nndl.last); } }, 50); })")
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
    assert last["prediction"] == "1", last["probabilities"]


def test_every_layer_kind_runs_in_onnxruntime_web(page):
    """Each case of the parity table (bench/onnx_parity.py) run by the page's runtime, against nndl."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    import onnx_parity
    from page_figures import run_in_page

    from nndl.export.onnx import to_onnx

    driver, _ = page
    worst = {}
    for name in onnx_parity.ALL_CASE_NAMES:
        network, x = onnx_parity.build_case(name)
        x = x[:16]
        ours = network.predict_proba(x)
        ours = ours.reshape(-1, ours.shape[-1])                     # classes per step for a sequence output
        theirs = run_in_page(driver, to_onnx(network).SerializeToString(), x).reshape(ours.shape)
        worst[name] = float(np.abs(ours - theirs).max())
        assert np.array_equal(ours.argmax(1), theirs.argmax(1)), name
    assert max(worst.values()) <= 1e-5, worst


def _random_drawing(rng, transparent: bool):
    """An RGBA image of random size with random strokes: ink and paper of any polarity and shade."""
    from PIL import Image, ImageDraw

    w, h = (int(v) for v in rng.integers(12, 420, 2))
    paper, ink = (0, 0) if transparent else (int(v) for v in rng.choice([[255, 0], [0, 255], [220, 40], [30, 200]]))
    image = Image.new("RGBA", (w, h), (paper, paper, paper, 0 if transparent else 255))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        points = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(int(rng.integers(2, 6)))]
        shade = ink + int(rng.integers(-20, 21)) if not transparent else int(rng.integers(0, 120))
        alpha = 255 if not transparent else int(rng.integers(90, 256))
        draw.line(points, fill=(max(0, min(255, shade)),) * 3 + (alpha,), width=int(rng.integers(1, 25)))
    if rng.random() < 0.3:                                  # anti-aliased edges: a down-scaled copy
        image = image.resize((max(8, w // 2), max(8, h // 2)), Image.Resampling.LANCZOS)
    return image


def test_javascript_preprocessing_equals_python_on_random_drawings(page):
    """Any size, any polarity, grey or transparent paper, thin and thick strokes, edges touching the border."""
    import io

    from nndl.data.images import load_digit_bytes
    from nndl.errors import NndlError

    driver, _ = page
    rng = np.random.default_rng(16)
    compared = blank = 0
    for case in range(60):
        image = _random_drawing(rng, transparent=case % 4 == 3)
        png = io.BytesIO()
        image.save(png, "PNG")
        try:
            python = load_digit_bytes(png.getvalue())
        except NndlError as exc:
            assert "blank" in str(exc)
            python = None
        js = driver.execute_script(
            "const bytes = Uint8ClampedArray.from(atob(arguments[0]), c => c.charCodeAt(0));"
            "const p = nndlPreprocess.prepareDigit(bytes, arguments[1], arguments[2]);"
            "return p === null ? null : Array.from(p);",
            base64.b64encode(image.tobytes()).decode(), *image.size)
        if python is None:
            assert js is None, case
            blank += 1
            continue
        assert js is not None, case
        assert np.abs(np.array(js) - python).max() <= 1 / 255, case
        compared += 1
    assert compared >= 50
