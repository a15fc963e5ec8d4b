"""Words are drawn on top of the 3D picture, the same way in stills, clips and the screenshot.

At the axial view of S1 in August 2013 an arrow and the sacral-canal mass run through the
caption's corner of the picture; the caption's text must not change whether they are drawn or
not. Clip frames and the browser's screenshot burn in the very same drawing.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.render.captions import caption_text, overlay_for
from app.render.still import FrameRenderer

SIZE = (960, 540)
CAMERA = "axial_s1"
DATE = "2013-08"


def opaque_text(overlay, state, shape) -> np.ndarray:
    """Pixels the drawing covers fully (text, the legend's arrows): nothing may show there."""
    mask = np.zeros(shape[:2], dtype=bool)
    for patch in overlay.patches(caption_text(state)):
        h, w = patch.inv_alpha.shape[:2]
        region = mask[patch.y:patch.y + h, patch.x:patch.x + w]
        region |= patch.inv_alpha[:region.shape[0], :region.shape[1], 0] == 0
    return mask


@pytest.fixture(scope="module")
def pictures(case_scene):
    """The still, and the 3D alone with and without the spread, at the axial view."""
    t = case_scene.spread.time_of_date(DATE)
    with_spread = FrameRenderer(case_scene, SIZE, CAMERA)
    anatomy = FrameRenderer(case_scene, SIZE, CAMERA, spread=False)
    try:
        still = with_spread.image(t)
        spread_3d, state = with_spread.render(t)
        anatomy_3d, _ = anatomy.render(t)
    finally:
        with_spread.close()
        anatomy.close()
    return {"t": t, "still": still, "spread_3d": spread_3d, "anatomy_3d": anatomy_3d,
            "state": state}


def test_text_pixels_do_not_depend_on_the_spread_behind_them(case_scene, pictures):
    state = pictures["state"]
    assert state.stage.title == "A mass in the sacral canal"
    overlay = overlay_for(case_scene, SIZE)
    text = opaque_text(overlay, state, pictures["still"].shape)
    assert text.sum() > 2000  # the caption, date, PSA, legend and credit are there

    # the spread really does run behind the words (else this test could not fail) ...
    spread_3d = pictures["spread_3d"].astype(int)
    behind = (np.abs(spread_3d - pictures["anatomy_3d"]).max(axis=2) > 40) & text
    assert behind.sum() > 50, behind.sum()
    # ... yet every text pixel of the still is what the drawing gives on a plain background
    plain = overlay.draw(np.full_like(pictures["still"], 255), state)
    assert np.array_equal(pictures["still"][text], plain[text])
    # and the still is the 3D picture with exactly that drawing on top
    expected = overlay.draw(pictures["spread_3d"].copy(), state)
    assert np.array_equal(pictures["still"], expected)


def test_title_is_not_crossed_in_the_render_command(case_scene, tmp_path):
    """The reported case, through the command line: the title's words stay whole."""
    from tests.conftest import run_cli

    out = tmp_path / "axial.png"
    r = run_cli("render", "-o", str(out), "--camera", CAMERA, "--date", DATE,
                "--size", f"{SIZE[0]}x{SIZE[1]}")
    assert r.returncode == 0, r.stderr
    got = np.asarray(Image.open(out).convert("RGB"))
    t = case_scene.spread.time_of_date(DATE)
    state = case_scene.spread.state_at(t)
    overlay = overlay_for(case_scene, SIZE)
    text = opaque_text(overlay, state, got.shape)
    plain = overlay.draw(np.full_like(got, 255), state)
    assert np.array_equal(got[text], plain[text])


def test_a_clip_frame_is_the_still(case_scene, tmp_path):
    """Frame 0 of a PNG clip from the same moment and camera is the still, pixel for pixel."""
    from app.export import ExportOptions, export_clip
    from app.export.plan import make_plan

    size = (480, 270)
    options = ExportOptions(size=size, fps=1, start=DATE, end="2013-10", camera=CAMERA)
    export_clip(case_scene, tmp_path / "frames", options)
    frame = np.asarray(Image.open(tmp_path / "frames" / "frame_00000.png").convert("RGB"))
    plan = make_plan(case_scene.spread, fps=1, start=DATE, end="2013-10")
    r = FrameRenderer(case_scene, size, CAMERA)
    try:
        still = r.image(plan.time_at(0))
    finally:
        r.close()
    assert np.array_equal(frame, still)


def test_the_browser_screenshot_burns_in_the_same_drawing(pictures, tmp_path):
    """The web app's screenshot: the engine's 3D view, then the drawing stills get."""
    import base64
    import io

    from trame.app import get_server

    from app.case import DEFAULT_SCENE
    from app.web.app import ViewerApp

    server = get_server("text-on-top-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, export_dir=tmp_path / "exports")
    try:
        server.state.ready()
        app.engine.set_camera(app.engine.preset(CAMERA))
        app.engine.set_time(pictures["t"])
        shot = np.asarray(Image.open(io.BytesIO(base64.b64decode(
            app.screenshot(*SIZE)))).convert("RGB"))
        state = app.engine.state_at(app.engine.time)
        overlay = overlay_for(app.engine.scene, SIZE)
        text = opaque_text(overlay, state, shot.shape)
        plain = overlay.draw(np.full_like(shot, 255), state)
        assert np.array_equal(shot[text], plain[text])
        assert np.array_equal(shot[text], pictures["still"][text])  # the still's words
    finally:
        app.engine.close()
