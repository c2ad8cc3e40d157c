"""Headless Chromium for the page tests (Debian's chromium and chromium-driver), driven by Selenium.

Selenium's own driver download (Selenium Manager) is switched off: the system's
``/usr/bin/chromedriver`` is given to it directly and ``SE_OFFLINE`` is set.  A missing browser
skips the tests, unless ``NNDL_REQUIRE_ORACLES=1`` (as in CI), where it fails them.
"""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from oracles import oracle

CHROMIUM = os.environ.get("NNDL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NNDL_CHROMEDRIVER", "/usr/bin/chromedriver")


def save_screenshot(driver, name: str) -> None:
    """Save the page as PNG ``name`` in the folder ``NNDL_SCREENSHOTS`` names (the README's pictures come from
    ``NNDL_SCREENSHOTS=docs/screenshots``); without it the picture is still taken, into a temporary folder,
    so a test run does not change the tree."""
    import tempfile
    folder = Path(os.environ.get("NNDL_SCREENSHOTS") or tempfile.mkdtemp(prefix="nndl-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(folder / name)), f"no screenshot written to {folder / name}"


def _missing(what: str):
    message = f"{what} (apt-get install chromium chromium-driver)"
    if os.environ.get("NNDL_REQUIRE_ORACLES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def chromium_driver(width: int = 1100, height: int = 800):
    """A headless Chromium WebDriver using the system chromedriver (no download)."""
    oracle("selenium")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() or shutil.which(path)):
            _missing(f"{path} not found")
    os.environ["SE_OFFLINE"] = "true"             # Selenium Manager: never reach the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}", "--force-device-scale-factor=1", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(120)
    return driver


@contextmanager
def running(app):
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    from nndl.serve.app import make_server

    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
