"""The browser player from an exported page: the same picture as ``render``, the same numbers
as ``SpreadLayer.uniforms``, no network at all from file://, a static site over HTTP, and the
same picture in Debian's Firefox (firefox-esr under Xvfb, where installed).

Pixel tolerance: the project's (tests/imagecmp.py): mean absolute difference at most 4 levels
of 255, and at most 3% of pixels differing by more than 40 levels.
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.case import load_scene
from app.model.loader import resolve_scene_path
from app.player.export import export_html, export_site
from tests.e2e.conftest import CHROMIUM, launch_chromium, watch_errors
from tests.imagecmp import compare

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output" / "player"
SIZE = (960, 540)
MOMENTS = [("2011-09", "anterior"), ("2012-03", "anterior"), ("2014-04", "anterior"),
           ("2013-08", "axial_s1")]


@pytest.fixture(scope="module")
def scene():
    return load_scene(resolve_scene_path(None))


@pytest.fixture(scope="module")
def case_html(scene, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("player") / "case.html"
    export_html(scene, out, size=SIZE)
    return out


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def open_player(browser, url: str, size=(1280, 800), context=None):
    """The page once its first frame is drawn. Playwright's own scripts need eval, which the
    offline page's Content-Security-Policy forbids: pages are opened with ``bypass_csp`` (the
    request log, not the CSP, is what the offline test checks)."""
    if context is None:
        page = browser.new_page(viewport={"width": size[0], "height": size[1]}, bypass_csp=True)
    else:
        page = context.new_page()
    watch_errors(page)
    page.goto(url)
    page.wait_for_function("window.pelvic && (window.pelvic.ready || window.pelvic.error)",
                           timeout=90_000)
    assert page.evaluate("window.pelvic.error || null") is None
    return page


def canvas_pixels(page) -> np.ndarray:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                  "requestAnimationFrame(() => setTimeout(r, 100))))")
    png = page.locator(".psp-canvas canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# a second player in the page over the first, the same case and moment, given `options`
SECOND_PLAYER = """
            const S = window.PelvicSpread, a = window.pelvic.player;
            const box = document.createElement('div');
            box.style.cssText = `position:fixed; left:0; top:0; width:${w}px; height:${h}px`;
            document.body.appendChild(box);
            const bundle = await S.decodeBundle(document.getElementById('ps-bundle').textContent);
            const b = S.createPlayer(box, bundle, Object.assign({size: [w, h], interactive: false,
                camera: a.getCamera().preset, time: a.getTime()}, options));
            await b.ready;"""


def render_still(folder: Path, date: str, camera: str) -> Path:
    """`pelvic-spread render --no-captions` at ``date`` and ``camera``, the player's size."""
    out = folder / f"render_{date}_{camera}.png"
    r = subprocess.run([sys.executable, "-m", "app", "render", "--date", date, "--camera",
                        camera, "--size", f"{SIZE[0]}x{SIZE[1]}", "--no-captions", "-o",
                        str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


# -- the same picture as `render` ---------------------------------------------------------------
@pytest.mark.parametrize(("date", "camera"), MOMENTS)
def test_player_frame_matches_render(chromium, case_html, tmp_path, date, camera):
    ref = render_still(tmp_path, date, camera)
    page = open_player(chromium, f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}"
                       f"&date={date}&camera={camera}", size=SIZE)
    try:
        img = canvas_pixels(page)
        assert page.errors == []
    finally:
        page.close()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(OUTPUT / f"player_{date}_{camera}.png")
    shutil.copy(ref, OUTPUT / f"render_{date}_{camera}.png")
    diff = np.abs(img.astype(np.int16) - np.asarray(Image.open(ref).convert("RGB"), np.int16))
    print(f"{date} {camera}: mean abs diff {diff.mean():.2f}, "
          f"{(diff.max(axis=2) > 40).mean():.2%} pixels changed")
    assert (img != 255).any(axis=2).mean() > 0.2, "the scene is drawn"
    compare(img, ref)


def test_time_moves_the_spread_without_uploading_anything(chromium, case_html):
    """Per frame the player changes two numbers a colour table (its mapping), matrices and
    visibility: at times across the spread the picture changes while no buffer or texture is
    sent to the GPU again. (That the colours are right: test_player_frame_matches_render.)"""
    page = open_player(chromium, f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}", size=SIZE)
    try:
        got = page.evaluate("""([w, h]) => {
            const a = window.pelvic.player, P = WebGL2RenderingContext.prototype;
            const calls = ['bufferData', 'bufferSubData', 'texImage2D', 'texSubImage2D'];
            const real = Object.fromEntries(calls.map((c) => [c, P[c]]));
            const pixels = (t, uploads) => {
                a.setTime(t);
                calls.forEach((c) => {
                    P[c] = function (...x) { uploads.n++; return real[c].apply(this, x); };
                });
                try { a.render(); } finally { calls.forEach((c) => { P[c] = real[c]; }); }
                const gl = a.canvas().getContext('webgl2'), px = new Uint8Array(w * h * 4);
                gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
                return px;
            };
            const tl = a.header.timeline, out = [];
            let last = null;
            for (const f of [0.2, 0.35, 0.5, 0.65, 0.8, 0.95]) {
                const up = {n: 0};
                const x = pixels(tl.start + f * (tl.duration - tl.start), up);
                let moved = 0;
                for (let i = 0; last && i < x.length; i += 4) {
                    if (Math.abs(x[i] - last[i]) + Math.abs(x[i + 1] - last[i + 1]) > 40) moved++;
                }
                last = x;
                out.push({f, moved, uploads: up.n});
            }
            return out; }""", list(SIZE))
        assert page.errors == []
    finally:
        page.close()
    assert all(row["uploads"] == 0 for row in got), got
    assert sum(row["moved"] for row in got[1:]) > 500, got  # the spread moved between times


def test_fxaa_antialiases_the_view_as_render_does(chromium, case_html, tmp_path):
    """The drawing buffer is single-sampled (four samples a pixel cost software WebGL more
    than half of each frame) and an FXAA pass smooths the edges, as `render` does with VTK's:
    the filtered frame is nearer the still than the same frame unfiltered (fxaa: false)."""
    date = "2014-04"
    ref = render_still(tmp_path, date, "anterior")
    page = open_player(chromium, f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}"
                       f"&date={date}&camera=anterior", size=SIZE)
    try:
        got = page.evaluate("""async ([w, h, options]) => {""" + SECOND_PLAYER + """
            const pixels = (p) => {
                p.render();
                const gl = p.canvas().getContext('webgl2'), px = new Uint8Array(w * h * 4);
                gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
                return Array.from(px);
            };
            const gl = a.canvas().getContext('webgl2');
            return {samples: gl.getParameter(gl.SAMPLES),
                    antialias: gl.getContextAttributes().antialias,
                    fxaa: pixels(a), plain: pixels(b)};
        }""", [*SIZE, {"fxaa": False}])
        assert page.errors == []
    finally:
        page.close()
    assert got["samples"] == 0 and got["antialias"] is False
    want = np.asarray(Image.open(ref).convert("RGB"), np.int16)

    def picture(px):  # readPixels' rows run bottom up
        return np.asarray(px, np.int16).reshape(SIZE[1], SIZE[0], 4)[::-1, :, :3]

    fxaa, plain = picture(got["fxaa"]), picture(got["plain"])
    changed = (np.abs(fxaa - plain).max(axis=2) > 8).mean()
    near = [np.abs(x - want).mean() for x in (fxaa, plain)]
    off = [(np.abs(x - want).max(axis=2) > 40).mean() for x in (fxaa, plain)]
    print(f"fxaa changed {changed:.2%} of pixels; mean abs diff to render {near[0]:.2f} vs "
          f"{near[1]:.2f} unfiltered; off by > 40: {off[0]:.2%} vs {off[1]:.2%}")
    assert 0.002 < changed < 0.2, changed  # edges, not the whole picture
    assert near[0] < near[1] and off[0] < off[1], (near, off)


def test_translucent_surfaces_blend_in_one_pass_as_render_does(chromium, case_html):
    """Translucent surfaces blend in actor order with depth writes off, after every opaque
    surface of their layer (as `render` draws them without depth peeling): one draw each, in
    the page's own framebuffer, no offscreen pass."""
    page = open_player(chromium, case_html.as_uri())
    try:
        seen = page.evaluate("""() => {
            const p = window.pelvic.player, P = WebGL2RenderingContext.prototype;
            const real = {bind: P.bindFramebuffer, draw: P.drawElements, mask: P.depthMask,
                          clear: P.clear};
            let offscreen = 0, mask = true;
            const layers = [[]];
            P.bindFramebuffer = function (t, fb) { if (fb) offscreen++;
                                                   return real.bind.call(this, t, fb); };
            P.depthMask = function (on) { mask = on; return real.mask.call(this, on); };
            P.clear = function (bits) {
                if ((bits & this.DEPTH_BUFFER_BIT) && layers[layers.length - 1].length)
                    layers.push([]);
                return real.clear.call(this, bits); };
            P.drawElements = function (...a) { layers[layers.length - 1].push(mask);
                                               return real.draw.apply(this, a); };
            try { p.render(); } finally { Object.assign(P, {bindFramebuffer: real.bind,
                drawElements: real.draw, depthMask: real.mask, clear: real.clear}); }
            return {offscreen, layers, actors: p.header.actors.length};
        }""")
    finally:
        page.close()
    assert seen["offscreen"] == 0
    assert len(seen["layers"]) == 2, seen  # the anatomy, then the spread over it
    for draws in seen["layers"]:
        k = draws.index(False) if False in draws else len(draws)
        assert all(draws[:k]) and not any(draws[k:]), draws  # opaque first, then blended
    anatomy = seen["layers"][0]
    assert 0 < anatomy.count(False) < len(anatomy)  # the bladder and its kind blend
    assert sum(map(len, seen["layers"])) <= seen["actors"]


def test_opaque_closed_surfaces_skip_their_back_faces(chromium, case_html):
    """An opaque surface that the bundle marks closed (bones, nerves, the prostate) is drawn
    with back faces culled; a translucent one (the bladder, 0.55) is drawn whole, and a change
    of opacity moves a surface from one kind to the other at the next frame."""
    page = open_player(chromium, case_html.as_uri())
    try:
        count = """() => {
            const p = window.pelvic.player, P = WebGL2RenderingContext.prototype;
            const draw = P.drawElements, seen = {culled: 0, whole: 0};
            P.drawElements = function (...a) {
                seen[this.isEnabled(this.CULL_FACE) && this.getParameter(this.CULL_FACE_MODE)
                     === this.BACK ? 'culled' : 'whole']++;
                return draw.apply(this, a);
            };
            try { p.render(); } finally { P.drawElements = draw; }
            return seen; }"""
        before = page.evaluate(count)
        page.evaluate("() => { const p = window.pelvic.player; "
                      "p.setLook('bladder', {opacity: 1}); p.setLook('hip_l', {opacity: 0.5});"
                      "p.setLook('sacrum', {opacity: 0.5}); }")
        after = page.evaluate(count)
    finally:
        page.close()
    assert before["culled"] >= 20 and before["whole"] >= 5, before
    assert after["culled"] == before["culled"] - 1, (before, after)  # +bladder, -hip, -sacrum
    assert after["whole"] == before["whole"] + 1, (before, after)


def test_browser_state_equals_python_uniforms(chromium, case_html, scene):
    """What the browser computes per frame is what ``SpreadLayer.uniforms`` gives."""
    from app.render.scene_view import SceneView, make_plotter
    from app.render.spread_layer import SpreadLayer

    spread = scene.spread
    times = [float(t) for t in np.linspace(spread.start_time, spread.duration, 53)]
    times += [spread.keyframes.time_of_day(s.start_day) for s in spread.stages]
    plotter = make_plotter((64, 64))
    try:
        layer = SpreadLayer(SceneView(scene, plotter), spread)
        want = [(layer.uniforms(spread.state_at(t)), spread.state_at(t)) for t in times]
    finally:
        plotter.close()
    page = open_player(chromium, case_html.as_uri())
    try:
        got = page.evaluate("ts => ts.map(t => window.pelvic.player.stateAt(t))", times)
    finally:
        page.close()
    for (u, state), g in zip(want, got, strict=True):
        assert g["nerveRange"] == pytest.approx(u["nerve_range"], abs=1e-9)
        assert g["arrowRange"] == pytest.approx(u["arrow_range"], abs=1e-9)
        assert g["label"] == u["label"]
        assert g["date"] == state.date
        assert g["psaText"] == state.psa_text
        assert (g["stage"] or {}).get("id") == (state.stage.id if state.stage else None)
        for rid, h in u["heads"].items():
            assert g["heads"][rid]["visible"] == h["visible"], (state.time, rid)
            if h["visible"]:
                assert g["heads"][rid]["matrix"] == pytest.approx(h["matrix"], abs=2e-3)
        for mid, m in u["masses"].items():
            assert g["masses"][mid]["visible"] == m["visible"]
            assert g["masses"][mid]["matrix"] == pytest.approx(m["matrix"], abs=1e-6)


def test_player_api_driven_from_outside(chromium, case_html, scene):
    """What `serve` and lecture followers use: anchored playback, stage and camera calls,
    events, visibility, and a clean destroy."""
    page = open_player(chromium, case_html.as_uri())
    try:
        out = page.evaluate("""async () => {
          const bundle = await PelvicSpread.decodeBundle(
            document.getElementById('ps-bundle').textContent);
          const box = document.createElement('div');
          box.style.cssText = 'position:fixed;left:0;top:0;width:480px;height:320px';
          document.body.appendChild(box);
          const p = PelvicSpread.createPlayer(box, bundle, {time: 5});
          await p.ready;
          const seen = {stage: [], camera: [], play: [], visibility: []};
          p.on('stage', (i) => seen.stage.push(i));
          p.on('camera', (c, info) => seen.camera.push(info));
          p.on('play', (e) => seen.play.push(e.playing));
          p.on('visibility', (v) => seen.visibility.push(v));
          // a follower joining late: the presenter started at t=10 two seconds ago
          p.play({anchorTime: 10, anchorWallClock: Date.now() - 2000, speed: 1});
          const playing = p.getTime();
          p.pause();
          p.setStage(2);
          const staged = p.getTime();
          const cam = bundle.header.cameras[1];
          await p.setCamera({position: cam.position, focalPoint: cam.focalPoint,
                             viewUp: cam.viewUp, viewAngle: cam.viewAngle}, {animate: 0.2});
          const camera = p.getCamera();
          p.setVisible('skeleton', false);
          const shown = p.shown('sacrum');
          const own = p.isVisible('sacrum');
          p.destroy();
          await new Promise((r) => setTimeout(r, 200));
          return {playing, staged, camera, shown, own, seen, left: box.childElementCount};
        }""")
        assert page.errors == []
    finally:
        page.close()
    stage2 = scene.spread.keyframes.time_of_day(scene.spread.stages[2].start_day)
    assert out["playing"] == pytest.approx(12.0, abs=0.3)
    assert out["staged"] == pytest.approx(stage2)
    assert 2 in out["seen"]["stage"]
    assert out["seen"]["play"] == [True, False]
    cam = list(scene.cameras.values())[1]
    assert out["camera"]["position"] == pytest.approx(list(cam.position), abs=1e-6)
    assert out["camera"]["preset"] is None
    assert out["seen"]["camera"][-1] == {"source": "api", "end": True}
    assert out["shown"] is False and out["own"] is True
    assert out["seen"]["visibility"] == [{"skeleton": False}]
    assert out["left"] == 0


# -- offline: no request, plays, scrubs, keys ------------------------------------------------------
def test_offline_page_makes_no_request_and_plays(chromium, case_html, scene):
    url = case_html.as_uri()
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    seen: list[str] = []
    blocked: list[str] = []
    context.on("request", lambda r: seen.append(r.url))

    def gate(route):
        if route.request.url.split("?")[0] == url:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    try:
        page = open_player(chromium, url, context=context)
        player = "window.pelvic.player"
        tl = scene.spread
        stages = [tl.keyframes.time_of_day(s.start_day) for s in tl.stages]
        img = canvas_pixels(page)
        assert (img != 255).any(axis=2).mean() > 0.2, "the scene is drawn"

        # scrub to just before a stage, play across it: time runs, the caption changes
        k = 3
        page.evaluate("t => { const r = document.getElementById('scrub'); r.value = String(t);"
                      " r.dispatchEvent(new Event('input', {bubbles: true})); }",
                      stages[k] - 0.6)
        assert page.evaluate(f"{player}.getTime()") == pytest.approx(stages[k] - 0.6, abs=0.02)
        assert page.inner_text("#caption-title") == tl.stages[k - 1].title
        # at a quarter of the speed: a stage lasts long enough for a busy machine to look
        page.select_option("select.psp-speed", "0.25")
        page.locator("#view3d canvas").click(position={"x": 5, "y": 5})
        page.keyboard.press("Space")
        page.wait_for_function(f"{player}.getTime() > {stages[k] + 0.05}", timeout=30_000)
        playing, shown, stage = page.evaluate(
            f"[{player}.isPlaying(), document.getElementById('caption-title').textContent, "
            f"{player}.state().stage.title]")
        assert playing
        assert shown == stage == tl.stages[k].title
        page.keyboard.press("Space")
        t0 = page.evaluate(f"{player}.getTime()")
        page.wait_for_timeout(400)
        assert page.evaluate(f"{player}.getTime()") == t0, "paused"

        # arrows step through the stages
        page.keyboard.press("ArrowRight")
        assert page.evaluate(f"{player}.getTime()") == pytest.approx(stages[k + 1])
        assert page.inner_text("#caption-title") == tl.stages[k + 1].title
        page.keyboard.press("ArrowLeft")
        assert page.evaluate(f"{player}.getTime()") == pytest.approx(stages[k])

        # 1-9 choose camera presets (the second one: its button lights up)
        second = list(scene.cameras)[1]
        page.keyboard.press("2")
        page.wait_for_function(f"{player}.getCamera().preset === {second!r}", timeout=30_000)
        page.wait_for_selector(f"button.psp-on[data-preset={second!r}]")
        page.keyboard.press("1")

        # labels, and hiding a group of structures
        page.keyboard.press("l")
        assert page.evaluate(f"{player}.getLabels()")
        page.click("#structures-button")
        before = canvas_pixels(page)
        page.uncheck("input[data-node='skeleton']")
        assert not page.evaluate(f"{player}.shown('sacrum')")
        after = canvas_pixels(page)
        assert np.abs(after.astype(int) - before.astype(int)).max(axis=2).mean() > 5
        assert page.errors == []
    finally:
        context.close()
    assert blocked == [], f"requests beyond the file: {blocked}"
    assert {u.split("?")[0] for u in seen} == {url}


def test_the_view_fills_its_box_from_the_first_frame_and_follows_it(chromium, case_html):
    """The page lays out its timeline after the player is made: the canvas takes the view's
    size before its first frame (or the bottom of the picture hides under the timeline), and
    follows the view whenever the layout changes it."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    # the drawing buffer's size at the page's first draw call
    context.add_init_script("""(() => {
        const draw = WebGL2RenderingContext.prototype.drawElements;
        WebGL2RenderingContext.prototype.drawElements = function (...args) {
            if (!window.firstDraw) {
                window.firstDraw = [this.drawingBufferWidth, this.drawingBufferHeight];
            }
            return draw.apply(this, args);
        };
    })()""")
    fit = """() => { const c = window.pelvic.player.canvas();
        const v = document.getElementById('view3d').getBoundingClientRect();
        const r = c.getBoundingClientRect();
        return {view: [v.width, v.height], css: [r.width, r.height],
                buffer: [c.width, c.height]}; }"""
    settle = ("() => new Promise(r => requestAnimationFrame(() => "
              "requestAnimationFrame(() => setTimeout(r, 50))))")
    try:
        page = open_player(chromium, case_html.as_uri(), context=context)
        sizes = page.evaluate(fit)
        view = [round(v) for v in sizes["view"]]
        assert view[1] < 800 - 150, f"the timeline takes room below the view: {sizes}"
        assert [round(v) for v in sizes["css"]] == view and sizes["buffer"] == view, sizes
        assert page.evaluate("window.firstDraw") == view
        # the layout alone changes (no window resize, no call): the canvas follows
        page.evaluate("() => { document.querySelector('.psp-timeline').style.paddingBottom ="
                      " '120px'; }")
        page.evaluate(settle)
        sizes = page.evaluate(fit)
        assert round(sizes["view"][1]) < view[1] - 100, sizes
        assert sizes["buffer"] == [round(v) for v in sizes["view"]], sizes
        assert page.errors == []
    finally:
        context.close()


# -- a static site over HTTP --------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_site_loads_its_assets_over_http(chromium, scene, tmp_path):
    site = tmp_path / "site"
    export_site(scene, site)
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        context = chromium.new_context(bypass_csp=True)
        responses: list[tuple[str, int]] = []
        context.on("response", lambda r: responses.append((r.url, r.status)))
        page = open_player(chromium, base, context=context)
        assert page.evaluate("window.pelvic.player.getTime()") > 0
        assert page.errors == []
        page.wait_for_timeout(500)  # the browser's own requests (an icon) fail only in its console
        assert page.console_errors == []
        context.close()
    finally:
        server.shutdown()
    fetched = {u[len(base):] for u, _ in responses}
    assert all(s == 200 for _, s in responses), responses
    assert all(u.startswith(base) for u, _ in responses)
    names = {p.name for p in site.iterdir() if not p.name.endswith(".gz")} | {
        p.name for p in site.glob("case.*.bin.gz")}
    assert fetched == (names - {"index.html"}) | {""}


# -- Firefox ---------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _firefox_frame(url: str, size: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """Open ``url`` in Debian's Firefox and return its picture, driven over WebDriver BiDi
    (Firefox's own remote protocol; Playwright needs a patched Firefox). Firefox needs a
    display for WebGL (headless it has no GL driver here): it runs under Xvfb, with WebGL
    allowed on Mesa's software rasteriser."""
    import asyncio
    import base64

    import aiohttp

    port = _free_port()
    with tempfile.TemporaryDirectory() as profile:
        Path(profile, "user.js").write_text('user_pref("webgl.force-enabled", true);\n')
        proc = subprocess.Popen(
            ["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", _firefox(), "--no-remote",
             "--profile", profile, f"--remote-debugging-port={port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, HOME=profile), start_new_session=True)
        try:
            async with aiohttp.ClientSession() as http_session:
                ws = None
                deadline = time.monotonic() + 90
                while ws is None:
                    try:
                        ws = await http_session.ws_connect(f"ws://127.0.0.1:{port}/session")
                    except aiohttp.ClientError:
                        if time.monotonic() > deadline or proc.poll() is not None:
                            raise
                        await asyncio.sleep(0.3)
                counter = 0

                async def call(method: str, params: dict) -> dict:
                    nonlocal counter
                    counter += 1
                    await ws.send_json({"id": counter, "method": method, "params": params})
                    while True:
                        msg = await asyncio.wait_for(ws.receive_json(), 120)
                        if msg.get("id") == counter:
                            assert msg.get("type") == "success", msg
                            return msg["result"]

                await call("session.new", {"capabilities": {}})
                ctx = (await call("browsingContext.getTree", {}))["contexts"][0]["context"]
                await call("browsingContext.setViewport",
                           {"context": ctx, "viewport": {"width": size[0], "height": size[1]}})
                await call("browsingContext.navigate",
                           {"context": ctx, "url": url, "wait": "complete"})
                ready = await call("script.evaluate", {
                    "expression": "new Promise(r => { const f = () => (window.pelvic && "
                                  "(window.pelvic.ready || window.pelvic.error)) ? "
                                  "r(JSON.stringify({error: window.pelvic.error || null, "
                                  "marks: window.pelvic.marks})) : setTimeout(f, 100); f(); })",
                    "target": {"context": ctx}, "awaitPromise": True})
                info = json.loads(ready["result"]["value"])
                shot = await call("browsingContext.captureScreenshot", {"context": ctx})
                await call("session.end", {})
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB"))
    return img, info


def _firefox() -> str | None:
    return shutil.which("firefox-esr") or shutil.which("firefox")


def test_firefox_draws_the_same_picture(case_html, tmp_path):
    import asyncio

    if _firefox() is None or shutil.which("xvfb-run") is None:
        pytest.skip("firefox-esr or xvfb-run not installed (.ci/run installs both)")
    date = "2014-04"
    url = f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}&date={date}"
    # a thread of its own: Playwright's sync API may hold this thread's event loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        img, info = pool.submit(asyncio.run, _firefox_frame(url, SIZE)).result()
    assert info["error"] is None, info
    OUTPUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(OUTPUT / f"firefox_{date}_anterior.png")
    ref = tmp_path / "render.png"
    r = subprocess.run([sys.executable, "-m", "app", "render", "--date", date, "--size",
                        f"{SIZE[0]}x{SIZE[1]}", "--no-captions", "-o", str(ref)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    diff = np.abs(img.astype(np.int16) - np.asarray(Image.open(ref).convert("RGB"), np.int16))
    print(f"firefox {date}: first frame {info['marks']['firstFrame']:.0f} ms, mean abs diff "
          f"{diff.mean():.2f}, {(diff.max(axis=2) > 40).mean():.2%} pixels changed")
    assert (img != 255).any(axis=2).mean() > 0.2, "Firefox draws the scene"
    compare(img, ref)
