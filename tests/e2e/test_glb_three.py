"""The GLB in a real browser: three.js plays it as a web page (or PowerPoint) would.

Headless Chromium opens ``tests/e2e/glb_page`` (three.js bundled into ``page.bundle.js``; no
CDN, no network) from a local server, loads the exported case, plays its one animation to
three dates and reports which sleeve bands it shows. The dates come from the mapping the
export printed, so this is also a round trip of that mapping.

What the screenshot comparison asserts (three.js and VTK shade differently, and the stills
draw arrows and masses over the bones, which core glTF cannot ask for, so pixels differ):
the silhouettes agree (IoU of non-white pixels >= 0.97), the plum "involved" nerve pixels
agree to within 4 px both ways (>= 0.85 of VTK's found in three.js, >= 0.75 the other way),
and 40-px block means differ by <= 15 levels. A three.js picture of an earlier date fails
the plum test against the same still, so the check can tell dates apart.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from app.export.slides import BAND_MM
from app.spread.routes import arc_length
from tests.conftest import ROOT, run_cli
from tests.e2e.conftest import CHROMIUM, launch_chromium

PAGE_DIR = ROOT / "tests" / "e2e" / "glb_page"
OUTPUT = ROOT / "tests" / "output"
SIZE = (1280, 720)
DATES = ("2011-06-01", "2013-08-01", "2014-04-01")
MOMENT_RE = re.compile(r"^\s+(\d+\.\d+) s = (\d{4}-\d{2}-\d{2})")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder with the page, its bundle and the exported case; served on 127.0.0.1."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (CI installs it)")
    d = tmp_path_factory.mktemp("glb_site")
    for name in ("index.html", "page.bundle.js"):
        shutil.copy(PAGE_DIR / name, d / name)
    r = run_cli("export", "-o", str(d / "case.glb"))
    assert r.returncode == 0, r.stderr
    moments = {date: float(t) for t, date in (
        m.groups() for m in map(MOMENT_RE.match, r.stderr.splitlines()) if m)}
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(d)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/index.html",
           "moments": moments, "dir": d}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        p = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
        p.errors = []
        p.on("pageerror", lambda e: p.errors.append(str(e)))
        p.goto(site["url"])
        p.wait_for_function("window.slide && window.slide.ready === true", timeout=60_000)
        p.info = p.evaluate("([w, h]) => window.slide.load('case.glb', w, h)", list(SIZE))
        yield p
        browser.close()


def picture(page, tau: float, name: str) -> np.ndarray:
    page.evaluate("t => window.slide.seek(t)", tau)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    page.locator("canvas").screenshot(path=str(path))
    return np.asarray(Image.open(path).convert("RGB"))


def test_three_loads_the_model_and_its_one_animation(page):
    assert page.errors == []
    assert page.info["duration"] == pytest.approx(58.0, abs=1e-3)
    assert page.info["tracks"] > 500 and page.info["nodes"] > 1000
    assert page.info["camera"] == "camera_anterior"
    names = dict(page.evaluate("() => window.slide.names()"))
    assert names["ramus_s1_l"] == "Left S1 ventral ramus"  # outline name = id, human name kept


@pytest.mark.parametrize("date", DATES)
def test_nerves_shown_involved_are_those_state_at_gives(page, site, case_scene, date):
    sp = case_scene.spread
    tau = site["moments"].get(date)
    assert tau is not None, f"the export printed no mapping for {date}"
    picture(page, tau, f"glb_three_{date}.png")
    shown = page.evaluate("() => window.slide.shown('sleeve')")
    cover: dict[str, float] = {}
    for band in shown:
        u0, u1 = band["u"]
        cover[band["sleeve_of"]] = cover.get(band["sleeve_of"], 0.0) + u1 - u0
    state = sp.state_at(sp.time_of_date(date))
    involved = {n for n in sp.centrelines if state.involvement(n) > 0}
    assert involved, date
    for node_id in sp.centrelines:
        one_band = 1.0 / max(1, round(arc_length(sp.centrelines[node_id])[-1] / BAND_MM))
        got, want = cover.get(node_id, 0.0), state.involvement(node_id)
        assert abs(got - want) <= one_band + 1e-6, (date, node_id, got, want)
    assert page.errors == []


# -- the picture against the still ------------------------------------------------------------
def _foreground(img: np.ndarray) -> np.ndarray:
    return img.min(axis=2) < 235


def _plum(img: np.ndarray) -> np.ndarray:
    """Pixels of the calm 'involved' nerve colour (more blue and red than green)."""
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return (b > g + 25) & (r > g + 15) & (b > 90) & (r < 200)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(px):
        p = np.pad(out, 1)
        out = p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return out


def _near(a: np.ndarray, b: np.ndarray, px: int = 4) -> float:
    """Share of ``a``'s pixels within ``px`` of one of ``b``'s."""
    return float((a & _dilate(b, px)).sum() / max(a.sum(), 1))


def _blocks(img: np.ndarray, k: int = 40) -> np.ndarray:
    h, w = img.shape[0] // k * k, img.shape[1] // k * k
    return img[:h, :w].astype(float).reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


def similarity(three: np.ndarray, vtk: np.ndarray) -> dict[str, float]:
    fa, fb = _foreground(three), _foreground(vtk)
    pa, pb = _plum(three), _plum(vtk)
    return {"silhouette_iou": float((fa & fb).sum() / max((fa | fb).sum(), 1)),
            "plum_recall": _near(pb, pa), "plum_precision": _near(pa, pb),
            "block_mad": float(np.abs(_blocks(three) - _blocks(vtk)).mean())}


def test_the_2014_04_picture_looks_like_render(page, site, tmp_path):
    still = tmp_path / "render_2014-04.png"
    r = run_cli("render", "--date", "2014-04", "--size", f"{SIZE[0]}x{SIZE[1]}",
                "--no-captions", "-o", str(still))
    assert r.returncode == 0, r.stderr
    vtk = np.asarray(Image.open(still).convert("RGB"))
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(still, OUTPUT / "glb_render_2014-04.png")
    three = picture(page, site["moments"]["2014-04-01"], "glb_three_2014-04-01.png")
    assert three.shape == vtk.shape
    s = similarity(three, vtk)
    assert s["silhouette_iou"] >= 0.97, s
    assert s["plum_recall"] >= 0.85 and s["plum_precision"] >= 0.75, s
    assert s["block_mad"] <= 15.0, s
    earlier = picture(page, site["moments"]["2013-08-01"], "glb_three_2013-08-01.png")
    assert similarity(earlier, vtk)["plum_recall"] < 0.85  # the check tells dates apart
