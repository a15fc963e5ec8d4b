"""The viewer in a real Chromium: one server and one page for the module, a few short checks.

The page's 3D view is the browser player, fed the scenario's bundle as a static file and
driven by the shared state (the time, the play anchor, camera presets, looks, labels).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import (
    open_page,
    set_state,
    state,
    trigger,
    view_pixels,
    wait_player,
    wait_state,
)
from tests.imagecmp import compare

REFERENCES = Path(__file__).resolve().parents[1] / "references"


def test_page_shows_a_3d_canvas_with_the_scene(page, served):
    assert served.started_s < 120
    px = view_pixels(page)
    assert px.shape[0] > 200 and px.shape[1] > 300
    background = np.array([255, 255, 255])
    drawn = np.abs(px.astype(int) - background).sum(axis=2) > 30
    assert drawn.mean() > 0.05, "the 3D view is (nearly) blank"
    assert page.evaluate("() => window.pelvic.player.header.actors.length") > 20
    assert page.errors == []
    # nothing failed on the way: trame's client asks for a session launcher first (answered,
    # not a 405), and trame's own requests all found their files
    assert page.console_errors == []
    # the scene came as one static file: content-hashed, compressed, cacheable for good
    bundle = state(page, "view_bundle")
    assert bundle["scenario"] == "bilateral_plexopathy"
    assert re.fullmatch(r"/bundle/bilateral_plexopathy\.[0-9a-f]{16}\.bin", bundle["url"])
    fetched = page.evaluate("() => performance.getEntriesByType('resource')"
                            ".filter(e => e.name.includes('/bundle/')).map(e => e.name)")
    assert [u.split("/", 3)[3] for u in fetched] == [bundle["url"].lstrip("/")]
    res = page.request.get(served.url.rstrip("/") + bundle["url"],
                           headers={"Accept-Encoding": "gzip"})
    assert res.ok and "immutable" in res.headers["cache-control"]
    assert res.headers.get("content-encoding") == "gzip"
    assert page.request.get(served.url.rstrip("/") + "/bundle/nope.0123456789abcdef.bin"
                            ).status == 404


def test_the_first_picture_is_drawn_while_trame_connects(page):
    """The index's head names the bundle: early.js fetches it and draws before trame has
    connected; viewer.js then moves that same player into the 3D view. trame-vtk's script
    (remote images only) comes after the picture."""
    marks = page.evaluate("() => window.pelvic.marks")
    assert marks["earlyStart"] < marks["connected"], marks
    assert marks["firstFrame"] == marks["earlyFirstFrame"], marks
    assert page.evaluate("() => document.querySelectorAll('.ps-early').length") == 0
    assert page.evaluate("""() => { const box = document.getElementById('ps-player');
        return box.querySelectorAll('canvas').length === 1
            && box.contains(window.pelvic.player.canvas()); }""")
    scripts = state(page, "trame__scripts")
    assert not any("trame-vtk" in s or "player.js" in s for s in scripts), scripts
    page.wait_for_function("() => window.pelvic.marks.remoteReady > 0")
    assert page.evaluate("() => typeof window.vue_vtk") == "object"
    # where the view is, for the next page at this window size
    kept = page.evaluate("() => JSON.parse(localStorage.getItem('pelvic-spread.view-rect'))")
    box = page.evaluate("() => { const r = document.getElementById('ps-player')"
                        ".getBoundingClientRect(); return [r.left, r.top, innerWidth - r.right,"
                        " innerHeight - r.bottom]; }")
    rect = kept["rect"]
    assert [rect["left"], rect["top"], rect["right"], rect["bottom"]] == [round(v) for v in box]


def test_a_page_that_joins_draws_the_servers_moment_first(browser, served, page):
    """The early picture is the server's moment, not the bundle's default one; a shared link
    (a view of its own in the address) starts as trame's page did."""
    trigger(page, "tl_seek", 21.0)
    wait_state(page, "tl_time", "Math.abs(v - 21.0) < 1e-6")
    for query, early in (("", True), ("?t=30", False)):
        other = open_page(browser, served.url.rstrip("/") + "/" + query)
        try:
            first = other.evaluate("() => { const e = window.PS_EARLY_PLAYER;"
                                   " return e ? e.firstTime : null; }")
            if early:
                assert first == pytest.approx(21.0, abs=1e-6)
                assert other.evaluate("() => window.pelvic.marks.earlyFirstFrame") > 0
            else:
                assert first is None
                assert "earlyFirstFrame" not in other.evaluate("() => window.pelvic.marks")
        finally:
            other.close()


def test_the_first_picture_leaves_out_what_the_server_hides(browser, served, page):
    """A structure hidden on the server is missing from a joining page's very first picture,
    not shown until trame has connected."""
    trigger(page, "st_toggle", "sacrum")
    wait_state(page, "st_hidden", "v.includes('sacrum')")
    other = open_page(browser, served.url)
    try:
        hidden = other.evaluate("() => window.PS_EARLY_PLAYER.firstHidden")
        assert other.evaluate("() => window.pelvic.marks.earlyFirstFrame") > 0
    finally:
        other.close()
        trigger(page, "st_toggle", "sacrum")
        wait_state(page, "st_hidden", "!v.includes('sacrum')")
    assert "sacrum" in hidden and "hip_l" not in hidden, hidden


def test_tree_lists_the_anatomy(page):
    names = page.locator("#st-tree .ps-name").all_inner_texts()
    assert len(names) >= 5
    page.fill("#st-search", "sciatic")
    wait_state(page, "st_rows", "v.some(r => r.id === 'sciatic_l')")
    assert page.locator("#row-sciatic_l").is_visible()
    page.fill("#st-search", "")
    wait_state(page, "st_search", "!v")


def test_hiding_a_structure_changes_the_picture(page):
    trigger(page, "cam_preset", "anterior")
    trigger(page, "st_reset")
    page.wait_for_timeout(1200)
    before = view_pixels(page)
    group = "skeleton"
    page.locator(f"#row-{group} .ps-eye").click()
    wait_state(page, "st_hidden", f"v.includes({group!r})")
    page.wait_for_timeout(800)
    after = view_pixels(page)
    changed = (np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 40).mean()
    assert changed > 0.02, f"only {changed:.1%} of the view changed"
    page.locator(f"#row-{group} .ps-eye").click()
    wait_state(page, "st_hidden", f"!v.includes({group!r})")


def test_play_advances_the_date_and_caption(page):
    trigger(page, "tl_stage", 2)
    wait_state(page, "tl_stage", "v === 2")
    date0 = state(page, "tl_date")
    set_state(page, "tl_speed", 2)
    page.locator("#tl-play").click()
    # the page plays from the server's anchor by itself (nothing comes per frame)
    page.wait_for_function("() => window.pelvic.player.isPlaying()", timeout=30_000)
    assert state(page, "tl_anchor")["speed"] == 2
    wait_state(page, "tl_stage", "v >= 3", timeout=30_000)
    page.keyboard.press("Space")  # the clicker key pauses
    wait_state(page, "tl_playing", "v === false")
    assert state(page, "tl_date") > date0
    # paused: the player shows exactly the server's time
    page.wait_for_function("() => !window.pelvic.player.isPlaying() && "
                           "window.pelvic.player.getTime() === trame.state.get('tl_time')")
    title = page.locator("#caption-title").inner_text()
    assert title == state(page, "tl_stages")[state(page, "tl_stage")]["title"]
    set_state(page, "tl_speed", 1)


def test_next_stage_jumps_to_its_date(page):
    trigger(page, "tl_stage", 3)
    wait_state(page, "tl_stage", "v === 3")
    stages = state(page, "tl_stages")
    page.locator("#tl-next").click()
    wait_state(page, "tl_stage", "v === 4")
    assert state(page, "tl_date") == stages[4]["start"]
    page.keyboard.press("ArrowRight")
    wait_state(page, "tl_stage", "v === 5")
    assert page.locator("#tl-date").inner_text().endswith(stages[5]["start"][:4])


def test_a_link_restores_the_saved_view(browser, served, page):
    link = "?scenario=bilateral_plexopathy&date=2013-08-01&camera=left&hide=bladder,rectum" \
           "&labels=1&hide_me=1"
    other = open_page(browser, served.url + link)
    try:
        wait_state(other, "tl_date", "v === '2013-08-01'")
        assert set(state(other, "st_hidden")) >= {"bladder", "rectum"}
        assert state(other, "view_camera") == "left"
        assert state(other, "view_labels") is True
        # shared state: the first page follows (a lecturer's second screen)
        wait_state(page, "tl_date", "v === '2013-08-01'")
        # the unknown parameter is reported on the page, the view still works
        assert "hide_me" in other.locator("#messages").inner_text()
        other.locator(".psp-label", has_text="Sacrum").first.wait_for(state="visible")
    finally:
        other.close()
    trigger(page, "st_reset")
    set_state(page, "view_labels", False)
    trigger(page, "app_dismiss")


def test_screenshot_button_downloads_the_view(page):
    trigger(page, "cam_preset", "anterior")
    trigger(page, "st_reset")
    trigger(page, "tl_seek", 48.0)
    wait_state(page, "tl_date", "v >= '2014-01-01'")
    page.wait_for_timeout(800)
    page.set_viewport_size({"width": 1280, "height": 800})
    with page.expect_download() as dl:
        page.locator("#screenshot").click()
    data = Path(dl.value.path()).read_bytes()
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert dl.value.suggested_filename.startswith("pelvic-spread-2014")
    compare(img, REFERENCES / "viewer_screenshot.png", max_mean=6.0, max_changed=0.05)


def test_local_and_remote_show_the_same_spread(page):
    trigger(page, "cam_preset", "anterior")
    trigger(page, "tl_seek", 40.0)
    wait_state(page, "tl_time", "v === 40")
    page.wait_for_timeout(1200)

    def shot() -> np.ndarray:
        png = page.locator("#view3d").screenshot()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)

    local = shot()
    for _ in range(20):  # settled: two pictures in a row alike
        page.wait_for_timeout(300)
        again = shot()
        if np.abs(again - local).mean() < 0.2:
            break
        local = again
    assert (np.abs(local - [255, 140, 31]).sum(axis=2) < 90).mean() > 0  # a leading edge
    set_state(page, "viewMode", "remote")
    try:
        best = 255.0
        for _ in range(80):  # until the server's picture has arrived
            page.wait_for_timeout(250)
            best = min(best, float(np.abs(shot() - local).mean()))
            if best < 3.0:
                break
        assert best < 3.0, f"remote picture differs from local by {best:.1f} levels on average"
    finally:
        set_state(page, "viewMode", "local")


def test_export_dialog_renders_a_clip_to_download(page, served):
    page.locator("#export").click()
    page.locator("#export-dialog").wait_for()
    for key, value in (("ex_size", "320x180"), ("ex_fps", 10), ("ex_format", "mp4"),
                       ("ex_range", "dates"), ("ex_from", "2013-08"), ("ex_to", "2013-10")):
        set_state(page, key, value)
    page.locator("#ex-start").click()
    wait_state(page, "ex_mine", "v && v.id")  # this page's job, in everyone's list
    mine = "window.trame.state.get('ex_jobs').find(j => j.id === v.id)"
    wait_state(page, "ex_mine", f"['done', 'error', 'cancelled'].includes({mine}.state)",
               timeout=150_000)
    job = page.evaluate(f"() => {{ const v = window.trame.state.get('ex_mine'); "
                        f"return {mine}; }}")
    assert job["state"] == "done", job
    link = page.locator("#ex-download")
    assert link.is_visible()
    href = link.get_attribute("href")
    body = page.request.get(served.url.rstrip("/") + href).body()
    assert body[4:8] == b"ftyp" and len(body) > 1000
    # names from the browser cannot reach anything else
    for bad in ("/exports/..%2F..%2Fetc%2Fpasswd", "/exports/.jobs", "/exports/nope.mp4"):
        assert page.request.get(served.url.rstrip("/") + bad).status == 404
    page.keyboard.press("Escape")


def test_number_keys_pick_presets_and_a_reload_keeps_the_shared_view(page):
    page.locator("#view3d").click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    wait_state(page, "view_camera", "v === 'posterior'")
    trigger(page, "tl_stage", 6)
    wait_state(page, "tl_stage", "v === 6")
    page.reload()
    page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true", timeout=90_000)
    assert state(page, "tl_stage") == 6 and state(page, "view_camera") == "posterior"
    cam = page.evaluate("() => window.pelvic.player.getCamera().position")
    assert cam[1] > 300  # behind the patient, as the posterior preset puts it
    page.keyboard.press("1")
    wait_state(page, "view_camera", "v === 'anterior'")
    page.keyboard.press("p")  # presentation mode: the view alone, large captions
    wait_state(page, "app_presenting", "v === true")
    page.locator("#present-exit").wait_for()
    assert not page.locator("#scenario").is_visible()
    assert page.locator(".ps-caption-text").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)") >= 18
    page.keyboard.press("Escape")
    wait_state(page, "app_presenting", "v === false")


def test_scenario_switch_shows_the_alternative(page):
    trigger(page, "tl_seek", 50.0)
    wait_state(page, "tl_time", "v === 50")
    title = state(page, "app_title")
    before = view_pixels(page)
    set_state(page, "app_scenario", "parallel_spread")
    wait_state(page, "app_title", f"v !== {title!r}", timeout=60_000)
    wait_player(page, "parallel_spread")  # its bundle (built once, then from the cache)
    page.wait_for_timeout(500)
    after = view_pixels(page)
    assert state(page, "tl_date") >= "2014-01-01"  # the same moment, another hypothesis
    changed = (np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 40).mean()
    assert changed > 0.002
    set_state(page, "app_scenario", "bilateral_plexopathy")
    wait_state(page, "app_title", f"v === {title!r}", timeout=60_000)
    wait_player(page, "bilateral_plexopathy")
