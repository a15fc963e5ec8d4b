"""The slab and the MR panel in a real Chromium: finding marks, keys, local vs remote."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.e2e.conftest import set_state, state, trigger, wait_state


def _shot(page) -> np.ndarray:
    png = page.locator("#view3d").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _settled(page) -> np.ndarray:
    last = _shot(page)
    for _ in range(20):  # two pictures in a row alike
        page.wait_for_timeout(300)
        now = _shot(page)
        if np.abs(now - last).mean() < 0.2:
            return now
        last = now
    return last


def test_a_finding_mark_sets_date_level_and_panel(page):
    wait_state(page, "sl_findings", "v && v.length > 0", 120_000)  # the server's scene is in
    page.locator("#finding-mri_2012_s1").click()
    wait_state(page, "tl_date", "v === '2012-03-01'")
    wait_state(page, "sl_spec", "v === 'axial:S1,thickness=6'")
    page.locator("#mr-image").wait_for()
    src = page.locator("#mr-image").get_attribute("src")
    assert src.startswith("data:image/jpeg;base64,")
    assert "left S1 root" in page.locator("#mr-finding").inner_text()
    page.wait_for_function("window.pelvic.slabClipped > 40")  # the planes are on the mappers
    # the panel follows the timeline: the mass fills the canal in August 2013
    page.locator("#finding-mri_2013_s1").click()
    wait_state(page, "tl_date", "v === '2013-08-01'")
    page.wait_for_function(f"() => document.querySelector('#mr-image').src !== {src!r}")
    assert "sacral canal" in page.locator("#mr-finding").inner_text()


def test_keys_move_the_slab(page):
    trigger(page, "sl_preset", "fig3_s1")
    wait_state(page, "sl_spec", "v === 'axial:S1,thickness=6'")
    before = state(page, "sl_pos")
    page.locator("body").press("ArrowUp")
    wait_state(page, "sl_pos", f"Math.abs(v - {before + 2.0}) < 1e-6")
    page.locator("body").press("ArrowDown")
    page.locator("body").press("ArrowDown")
    wait_state(page, "sl_pos", f"Math.abs(v - {before - 2.0}) < 1e-6")


def _only(page, what: str) -> np.ndarray:
    """The 3D view with only the player (local) or only the server's image (remote) shown:
    no overlay, and no chance of taking the player's picture for the server's."""
    sel = {"local": ".ps-player", "remote": ".ps-remote"}[what]
    page.evaluate("""css => { let s = document.getElementById('only-view');
      if (!s) { s = document.createElement('style'); s.id = 'only-view';
                document.head.appendChild(s); }
      s.textContent = css; }""",
                  f"#view3d * {{visibility: hidden !important}} #view3d {sel}, "
                  f"#view3d {sel} * {{visibility: visible !important}}")
    try:
        last = _shot(page)
        for _ in range(30):  # two pictures in a row alike, and something drawn
            page.wait_for_timeout(300)
            now = _shot(page)
            if np.abs(now - last).mean() < 0.2 and now.std() > 5:
                break
            last = now
    finally:
        page.evaluate("() => document.getElementById('only-view').remove()")
    box = page.locator("#view3d canvas").first.bounding_box()
    return now[: int(box["height"]), : int(box["width"])]


def _differ(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.abs(a - b)
    return float(d.mean()), float((d.max(axis=2) > 40).mean())


def test_slab_local_remote_and_render_agree(page, tmp_path):
    """The page's player clips with the planes and draws the caps it is sent, and places the
    mass discs itself; the server clips and caps its own actors; ``render --slab`` draws the
    slab by itself: at S1 in August 2013 (the mass cut by both faces) the three pictures agree
    within the project's tolerance."""
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT

    wait_state(page, "sl_findings", "v && v.length > 0", 120_000)
    trigger(page, "sl_finding_go", "mri_2013_s1")
    wait_state(page, "sl_spec", "v === 'axial:S1,thickness=6'")
    wait_state(page, "tl_date", "v === '2013-08-01'")
    wait_state(page, "sl_msg", "v !== null && v.caps.length > 10")
    page.wait_for_function("window.pelvic.slabClipped > 40 && window.pelvic.slabCaps > 10")
    page.wait_for_timeout(1500)
    local = _only(page, "local")
    set_state(page, "sl_on", False)
    page.wait_for_timeout(1500)
    whole = _only(page, "local")
    assert np.abs(local - whole[:, : local.shape[1]]).mean() > 3.0  # the slab shows
    set_state(page, "sl_on", True)
    wait_state(page, "sl_msg", "v !== null")
    page.wait_for_timeout(1500)
    assert _differ(_only(page, "local"), local)[0] < 0.5
    tl_time = state(page, "tl_time")
    set_state(page, "viewMode", "remote")
    try:
        page.wait_for_timeout(2000)
        remote = _only(page, "remote")
    finally:
        # (a page's state writes wait while it has a call in flight, and triggers do not: a
        # write here could land after the next test's first trigger, so the slab stays on)
        set_state(page, "viewMode", "local")
    h, w = local.shape[:2]
    ref = tmp_path / "render.png"
    r = subprocess.run([sys.executable, "-m", "app", "render", "--slab", "axial:S1,thickness=6",
                        "--time", str(tl_time), "--size", f"{w}x{h}", "--no-captions", "-o",
                        str(ref)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rendered = np.asarray(Image.open(ref).convert("RGB")).astype(int)
    for name, (a, b) in {"local vs remote": (local, remote), "local vs render": (local, rendered),
                         "remote vs render": (remote, rendered)}.items():
        mean, changed = _differ(a, b)
        print(f"{name}: mean abs diff {mean:.2f}, {changed:.2%} pixels changed")
        assert mean <= 4.0 and changed <= 0.03, (
            f"{name}: mean {mean:.2f}, {changed:.1%} pixels changed")


def test_dragging_the_grip_moves_the_slab(page):
    """The grip in the 3D view: dragging it along its arrow moves the slab that way, and the
    server's slab (the panel's level and the player's planes) follows."""
    trigger(page, "sl_preset", "fig3_s1")
    wait_state(page, "sl_spec", "v === 'axial:S1,thickness=6'")
    wait_state(page, "sl_on", "v === true")
    page.wait_for_function("window.pelvic.slabGrip && window.pelvic.slabGrip()", timeout=60_000)
    # the preset's camera has arrived (it glides there): the grip stays put
    page.wait_for_function("""() => new Promise(r => { const a = window.pelvic.slabGrip();
      setTimeout(() => { const b = window.pelvic.slabGrip();
        r(a && b && Math.hypot(a.x - b.x, a.y - b.y) < 0.5); }, 400); })""", timeout=60_000)
    before = state(page, "sl_pos")
    planes = page.evaluate("window.pelvic.player.getSlab().planes")
    grip = page.evaluate("window.pelvic.slabGrip()")
    # which way is superior on screen: the grip's own geometry, read back from the player
    up = page.evaluate("""() => { const p = window.pelvic.player, c = p.getCamera().focalPoint;
      const a = p.toScreen(c), b = p.toScreen([c[0], c[1], c[2] + 10]);
      return [b[0] - a[0], b[1] - a[1]]; }""")
    scale = 30 / max(1e-6, (up[0] ** 2 + up[1] ** 2) ** 0.5)  # about 30 px along the axis
    page.mouse.move(grip["x"], grip["y"])
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(grip["x"] + up[0] * scale * k / 5, grip["y"] + up[1] * scale * k / 5)
        page.wait_for_timeout(60)
    page.mouse.up()
    wait_state(page, "sl_pos", f"v > {before} + 1")
    # the server took it: the slab is no longer at its named level, and the player's planes
    # are those of the last position sent (the drag sends some on the way)
    wait_state(page, "sl_spec", "v.startsWith('axial:z=')")
    page.wait_for_function("""() => { const p = window.pelvic.player.getSlab().planes;
      return p && Math.abs((p[0][2] + p[1][2]) / 2 - window.trame.state.get('sl_pos')) < 0.6; }""")
    moved = state(page, "sl_pos")
    after = page.evaluate("window.pelvic.player.getSlab().planes")
    assert moved > before + 1
    assert abs(after[0][2] - planes[0][2] - (moved - before)) < 0.6, (before, moved, planes,
                                                                      after)
    # the grip followed the slab
    grip2 = page.evaluate("window.pelvic.slabGrip()")
    assert (grip2["x"] - grip["x"]) * up[0] + (grip2["y"] - grip["y"]) * up[1] > 0, (
        grip, grip2, up, before, moved)


def test_the_legend_stays_clear_of_the_view_buttons_when_the_panel_narrows_the_view(page):
    """With the MR panel open over the right of the 3D view, the camera presets and the slab's
    buttons move left, to where the legend is: the legend then sits above them instead of
    under them, and goes back down when the panel closes."""
    overlaps = """() => {
        const l = document.getElementById('legend').getBoundingClientRect();
        return [...document.querySelectorAll('#presets, #slab .ps-slab-bar')]
            .map(el => el.getBoundingClientRect())
            .filter(r => r.width && r.left < l.right && r.right > l.left
                         && r.top < l.bottom && r.bottom > l.top).length; }"""
    trigger(page, "sl_preset", "fig3_s1")
    wait_state(page, "sl_panel", "!!v")
    page.wait_for_timeout(400)
    assert page.evaluate(overlaps) == 0
    assert page.evaluate("() => document.getElementById('legend').style.bottom") != ""
    set_state(page, "sl_on", False)
    wait_state(page, "sl_panel", "!v")
    page.wait_for_timeout(400)
    assert page.evaluate(overlaps) == 0
    assert page.evaluate("() => document.getElementById('legend').style.bottom") == ""
