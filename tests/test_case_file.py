"""One case file, one truth: every picture says what the scene file says.

The legend on the page, in a still, in a clip frame and in the browser's screenshot are the
same entries for every scenario; a clip exported from the browser is the page's view (stage
start by date, camera, structures, labels); a case written by ``new-case`` loads, plays and
exports with its own record.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.case import DEFAULT_SCENE, SCENES_DIR, load_scene
from app.web.keys import App, Export, Structure, Timeline, View
from tests.imagecmp import compare

SCENARIOS = ("bilateral_plexopathy", "parallel_spread", "conus_route")


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    from trame.app import get_server

    from app.web.app import ViewerApp

    server = get_server("case-file-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, export_dir=tmp_path_factory.mktemp("exports"))
    server.state.ready()
    yield app
    app.engine.close()


def flush(app):
    app.state.flush()
    return app.state


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_picture_lists_the_same_legend(viewer, name):
    from app.export.pipeline import ClipFrames, ExportOptions
    from app.export.plan import make_plan
    from app.render.still import FrameRenderer

    scene = load_scene(SCENES_DIR / f"{name}.yaml")
    in_file = [(e.style, e.text) for e in scene.spread.legend]
    assert in_file, "every scenario states what its arrows mean"
    viewer.state[App.SCENARIO] = name
    page = [(e["style"], e["text"]) for e in flush(viewer)[App.LEGEND]]
    still = FrameRenderer(scene, (320, 180), "anterior")
    clip = ClipFrames(scene, make_plan(scene.spread, fps=5, duration=1.0), (320, 180),
                      "anterior", ExportOptions(size=(320, 180)))
    try:
        in_still = [(e.style, e.label) for e in still.overlay.legend]
        in_clip = [(e.style, e.label) for e in clip.caption_overlay().legend]
    finally:
        still.close()
        clip.close()
    from app.render.captions import overlay_for

    in_screenshot = [(e.style, e.label) for e in overlay_for(viewer.engine.scene,
                                                              (640, 360)).legend]
    assert page == in_still == in_clip == in_screenshot == in_file
    styles_drawn = {r.style for r in scene.spread.routes if r.arrow}
    assert {s for s, _ in in_file} == styles_drawn  # no arrow the scenario does not draw


def test_the_legend_in_the_screenshot_is_drawn_from_the_file(viewer):
    """The parallel scenario draws no dashed arrow, so its screenshot has no dashed entry:
    the legend patch differs from the case's, whose file lists both."""
    from app.render.captions import overlay_for

    viewer.state[App.SCENARIO] = "parallel_spread"
    flush(viewer)
    parallel = overlay_for(viewer.engine.scene, (640, 360))._legend_patch()
    viewer.state[App.SCENARIO] = "bilateral_plexopathy"
    flush(viewer)
    case = overlay_for(viewer.engine.scene, (640, 360))._legend_patch()
    assert parallel.premul.shape[0] < case.premul.shape[0]  # one row instead of two


def test_a_browser_clip_of_a_stage_starts_on_its_first_day(viewer):
    from app.export.plan import make_plan

    viewer.state[App.SCENARIO] = "bilateral_plexopathy"
    flush(viewer)
    spread = viewer.engine.spread
    viewer.timeline.seek(spread.time_of_date("2013-06-15"))  # inside "PSA rising"
    s = flush(viewer)
    assert s[Timeline.CAPTION]["title"] == "PSA rising"
    s[Export.RANGE] = "stage"
    opts = viewer.export.options()
    assert (opts["start"], opts["end"]) == ("2013-05-01", "2013-08-01")
    plan = make_plan(spread, fps=10, start=opts["start"], end=opts["end"])
    first = spread.state_at(plan.time_at(0))
    assert first.stage.id == "psa_rises" and first.date == "2013-05-01"
    s[Export.RANGE] = "whole"
    flush(viewer)


def test_a_browser_clip_is_the_pages_view(viewer, tmp_path):
    """Hidden structures, a colour, a moved camera: the clip's frame is the page's picture."""
    from app.export.cli import look_from_view_file
    from app.render.still import FrameRenderer
    from app.web.engine import Camera

    app = viewer
    app.state[App.SCENARIO] = "bilateral_plexopathy"
    flush(app)
    app.structure.reset()
    t = app.engine.spread.time_of_date("2013-12-01")
    app.timeline.seek(t)
    app.structure.toggle("bladder")
    app.structure.set_color("hip_l", "#3366cc")
    app.camera.moved(Camera((350.0, -260.0, 120.0), (0.0, 10.0, -40.0), (0.0, 0.0, 1.0),
                            30.0).as_dict())
    s = flush(app)
    assert s[View.CAMERA] == "" and "bladder" in s[Structure.HIDDEN]
    opts = app.export.options()
    view_file = tmp_path / "view.json"
    view_file.write_text(json.dumps(opts["view"]))
    look = look_from_view_file(view_file)
    assert look.camera is not None and look.hidden == ("bladder",)
    page = np.asarray(Image.open(io.BytesIO(base64.b64decode(app.screenshot(640, 360))))
                      .convert("RGB"))
    renderer = FrameRenderer(load_scene(DEFAULT_SCENE), (640, 360), opts["camera"], look=look)
    try:
        frame = renderer.image(t)
    finally:
        renderer.close()
    Image.fromarray(frame).save(tmp_path / "clip.png")
    Image.fromarray(page).save(tmp_path / "page.png")
    compare(frame, tmp_path / "page.png")
    app.structure.reset()
    app.camera.goto("anterior", animate=False)
    flush(app)


def test_labels_burned_into_a_clip_when_the_page_shows_them(tmp_path):
    from app.render.look import Look
    from app.render.still import FrameRenderer

    scene = load_scene(DEFAULT_SCENE)
    t = scene.spread.time_of_date("2014-04")
    plain = FrameRenderer(scene, (640, 360), "anterior", captions=False)
    labelled = FrameRenderer(scene, (640, 360), "anterior", captions=False,
                             look=Look(labels=True))
    try:
        a, b = plain.image(t), labelled.image(t)
    finally:
        plain.close()
        labelled.close()
    changed = np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 40
    assert 0.002 < changed.mean() < 0.2  # a few label boxes, not a different picture
    assert len(labelled.labels.anchors) >= 5


def test_a_new_case_loads_plays_and_exports_with_its_own_record(tmp_path, monkeypatch):
    from app.authoring import new_case
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    path = new_case("my_case")
    scene = load_scene(path)
    sp = scene.spread
    assert [v.value for v in sp.record.values] == [0, 0.8, 2.5]
    state = sp.state_at(sp.time_of_date("2021-06"))
    assert state.stage.title == "Left leg symptoms" and state.psa_text == "PSA 0.8 ng/ml"
    assert sp.state_at(sp.time_of_date("2021-06")).involvement("sciatic_l") > 0
    assert main(["export", str(path), "-o", "clip.gif", "--size", "160x90", "--fps", "4",
                 "--duration", "1"]) == 0
    assert Path("clip.gif").stat().st_size > 1000
    # a second case of the same name is refused, and nothing is overwritten
    before = path.read_text()
    with pytest.raises(Exception, match="already exists"):
        new_case("my_case")
    assert path.read_text() == before
