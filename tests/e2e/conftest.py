"""End-to-end fixtures: one ``pelvic-spread serve`` and one headless Chromium per module.

Debian's Chromium at /usr/bin/chromium (CI installs it); without it these tests skip.

WebGL: Chromium draws with Mesa's llvmpipe (through ANGLE on EGL, the software GL that VTK's
``render`` uses here) where it has it, and with its own SwiftShader otherwise; on this 2-core
machine llvmpipe takes the browser tests in about 60% of the time. ``PELVIC_SPREAD_WEBGL=
swiftshader`` keeps Chromium's own.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT_S = float(os.environ.get("PELVIC_SPREAD_SERVE_TIMEOUT", "300"))
URL_RE = re.compile(r"Serving .* at (http://\S+)")
BASE_ARGS = ["--no-sandbox", "--disable-background-networking"]
LLVMPIPE_ARGS = ["--ignore-gpu-blocklist", "--enable-gpu", "--use-angle=gl-egl"]
_WEBGL_RENDERER = """() => { const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return ''; const e = gl.getExtension('WEBGL_debug_renderer_info');
  return gl.getParameter(e ? e.UNMASKED_RENDERER_WEBGL : gl.RENDERER); }"""
_chosen: list[list[str]] = []


def chromium_args(pw) -> list[str]:  # noqa: ANN001 - a sync Playwright
    """Chromium's arguments here: llvmpipe's when a probe shows Chromium drawing with it."""
    if not _chosen:
        args = BASE_ARGS
        if os.environ.get("PELVIC_SPREAD_WEBGL", "llvmpipe") == "llvmpipe":
            b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                   args=BASE_ARGS + LLVMPIPE_ARGS)
            try:
                renderer = b.new_page().evaluate(_WEBGL_RENDERER)
            finally:
                b.close()
            if "llvmpipe" in renderer:
                args = BASE_ARGS + LLVMPIPE_ARGS
        _chosen.append(args)
    return list(_chosen[0])


def launch_chromium(pw):  # noqa: ANN001, ANN201 - a sync Playwright, its Browser
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=chromium_args(pw))


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class Served:
    """A running ``python -m app serve`` and the address it printed."""

    def __init__(self, scene: str | None, export_dir: Path):
        env = dict(os.environ, PELVIC_SPREAD_EXPORTS=str(export_dir), PYTHONUNBUFFERED="1")
        args = [sys.executable, "-m", "app", "serve", "--port", "0"] + ([scene] if scene else [])
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url = ""
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                m = URL_RE.search(line)
                if m and not self.url:
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("serve printed no address:\n" + "\n".join(self.lines[-30:]))
        self.started_s = time.monotonic() - self.t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (CI installs it; set "
                    "PELVIC_SPREAD_CHROMIUM to use another)")
    s = Served(None, tmp_path_factory.mktemp("exports"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def watch_errors(page):
    """``page`` keeping its script errors (``page.errors``) and the errors its console shows
    (``page.console_errors``: failed requests show there too, "Failed to load resource")."""
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    return page


def open_page(browser, url: str, width: int = 1280, height: int = 800):
    """A page at ``url`` once its 3D view (the browser player) has drawn its first frame."""
    page = watch_errors(browser.new_page(viewport={"width": width, "height": height},
                                         accept_downloads=True))
    page.goto(url)
    page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true", timeout=90_000)
    return page


@pytest.fixture(scope="module")
def page(browser, served):
    p = open_page(browser, served.url)
    yield p
    p.close()


def state(page, key: str):
    return page.evaluate("k => window.trame.state.get(k)", key)


def set_state(page, key: str, value) -> None:
    page.evaluate("([k, v]) => window.trame.state.set(k, v)", [key, value])


def trigger(page, name: str, *args) -> None:
    page.evaluate("([n, a]) => window.trame.trigger(n, a)", [name, list(args)])


def wait_state(page, key: str, predicate_js: str, timeout: float = 20_000) -> None:
    """Wait until ``predicate_js`` (a JS expression of ``v``) holds for state ``key``."""
    page.wait_for_function(f"() => {{ const v = window.trame.state.get({key!r}); "
                           f"return {predicate_js}; }}", timeout=timeout)


def wait_player(page, scenario: str, timeout: float = 90_000) -> None:
    """Wait until the page's player has drawn ``scenario``'s bundle (a scenario switch loads
    another bundle; the old picture stays until the new one's first frame)."""
    page.wait_for_function(f"() => window.pelvic && window.pelvic.shown === {scenario!r}",
                           timeout=timeout)


def view_pixels(page) -> np.ndarray:
    """What the 3D view shows now (RGB), after the next rendered frames."""
    from PIL import Image

    page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                  "requestAnimationFrame(() => setTimeout(r, 150))))")
    png = page.locator("#view3d canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
