"""The viewer's state and handlers, without a browser: the UI state changes as handlers say.

One app (one offscreen plotter) for the module; each test starts from ``reset``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time

import numpy as np
import pytest

from app.model.loader import DEFAULT_SCENE, SCENES_DIR
from app.web.engine import FAINT
from app.web.keys import App, Export, Share, Structure, Timeline, View


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    from trame.app import get_server

    from app.web.app import ViewerApp

    server = get_server("web-state-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, export_dir=tmp_path_factory.mktemp("exports"))
    server.state.ready()
    yield app
    app.engine.close()


@pytest.fixture
def app(viewer):
    s = viewer.state
    if s[App.SCENARIO] != DEFAULT_SCENE.stem:
        viewer.switch_scenario(DEFAULT_SCENE.stem)
    viewer.structure.reset()
    viewer.timeline.pause()
    s[App.MESSAGES] = []
    s.flush()
    return viewer


def flush(app):
    app.state.flush()
    return app.state


def actor(app, node_id):
    return app.engine.view.actors[node_id]


def test_initial_state_describes_the_case(app):
    s = app.state
    assert s[App.SCENARIO] == "bilateral_plexopathy"
    assert {x["value"] for x in s[App.SCENARIOS]} >= {
        "bilateral_plexopathy", "parallel_spread", "conus_route"}
    assert s[Timeline.DURATION] == app.engine.spread.duration
    assert [st["id"] for st in s[Timeline.STAGES]][:2] == ["diagnosis", "prostatectomy"]
    ids = {r["id"] for r in s[Structure.ROWS]}
    assert {"skeleton", "sacrum", "nerves_left"} <= ids
    assert {e["id"] for e in s[Timeline.EVENTS]} == {
        "left_symptoms", "mri_2012", "mri_2013", "right_symptoms", "presentation", "biopsy"}
    assert s[Timeline.PSA][0]["value"] == 6.4 and "<polyline" in s[Timeline.PSA_SVG]
    assert len(s[View.PRESETS]) >= 6 and s[View.PRESETS][0]["key"] == "1"


def test_hide_and_show_a_structure(app):
    assert actor(app, "bladder").GetVisibility()
    app.structure.toggle("bladder")
    s = flush(app)
    assert "bladder" in s[Structure.HIDDEN]
    assert not actor(app, "bladder").GetVisibility()
    assert next(r for r in s[Structure.ROWS] if r["id"] == "bladder")["off"]
    app.structure.toggle("bladder")
    flush(app)
    assert actor(app, "bladder").GetVisibility()


def test_hiding_a_group_hides_its_subtree_and_a_child_can_come_back_alone(app):
    scene = app.engine.scene
    group = scene.nodes["sacrum"].parent
    siblings = [c.id for c in scene.children(group) if c.kind != "group" and c.id != "sacrum"]
    app.structure.toggle(group)
    flush(app)
    assert not actor(app, "sacrum").GetVisibility()
    assert not any(actor(app, c).GetVisibility() for c in siblings)
    app.structure.toggle("sacrum")
    flush(app)
    assert actor(app, "sacrum").GetVisibility()
    assert not any(actor(app, c).GetVisibility() for c in siblings)


def test_isolate_keeps_context_faint_and_toggles_off(app):
    app.structure.isolate("sciatic_l")
    s = flush(app)
    assert s[Structure.ISOLATED] == "sciatic_l"
    assert actor(app, "sciatic_l").GetProperty().GetOpacity() == pytest.approx(1.0)
    assert actor(app, "sacrum").GetVisibility()
    assert actor(app, "sacrum").GetProperty().GetOpacity() <= FAINT
    app.structure.isolate("sciatic_l")
    flush(app)
    assert actor(app, "sacrum").GetProperty().GetOpacity() > FAINT


def test_opacity_and_colour_apply_to_subtrees_and_reset_restores(app):
    default = actor(app, "hip_l").GetProperty().GetOpacity()
    app.structure.set_opacity("hip_l", 0.25)
    app.structure.set_color("bladder", "#00ff00")
    app.structure.set_opacity("hip_l", "not a number")  # ignored
    app.structure.set_color("bladder", "green")  # ignored
    app.structure.set_opacity("no_such_node", 0.5)  # ignored
    flush(app)
    assert actor(app, "hip_l").GetProperty().GetOpacity() == pytest.approx(0.25)
    assert actor(app, "bladder").GetProperty().GetColor() == pytest.approx((0, 1, 0))
    app.structure.reset()
    flush(app)
    assert actor(app, "hip_l").GetProperty().GetOpacity() == pytest.approx(default)
    assert app.state[Structure.OPACITY] == {} and app.state[Structure.COLOR] == {}


def test_search_shows_matches_with_their_ancestors(app):
    app.state[Structure.SEARCH] = "sciatic"
    s = flush(app)
    ids = [r["id"] for r in s[Structure.ROWS]]
    assert "sciatic_l" in ids and "sciatic_r" in ids
    assert app.engine.scene.nodes["sciatic_l"].parent in ids
    assert "bladder" not in ids


def test_seek_sets_date_caption_stage_and_the_servers_spread(app):
    sp = app.engine.spread
    t = sp.time_of_date("2012-06-01")
    app.timeline.seek(t)
    s = flush(app)
    assert s[Timeline.DATE] == "2012-06-01"
    assert s[Timeline.DATE_LABEL] == "June 2012"
    stage = sp.state_at(t).stage
    assert s[Timeline.CAPTION]["title"] == stage.title
    assert s[Timeline.STAGES][s[Timeline.STAGE]]["id"] == stage.id
    # the server's own scene (remote images, screenshots) shows that moment; pages compute
    # it themselves from the time (no per-frame numbers in the state)
    assert app.engine.time == pytest.approx(t)
    lut = next(iter(app.engine.layer.nerve_luts.values()))
    assert lut.GetRange()[1] == pytest.approx(t, abs=1e-3)  # nerve range ends at t
    assert not any(k.startswith("sp_") for k in s.to_dict())
    assert s[Timeline.ANCHOR] is None  # not playing


def test_next_and_previous_stage_jump_to_stage_dates(app):
    sp = app.engine.spread
    app.timeline.seek(sp.time_of_date("2012-01-01"))
    app.timeline.next_stage()
    s = flush(app)
    assert s[Timeline.DATE] == "2012-03-01"
    assert s[Timeline.CAPTION]["title"].startswith("MRI")
    app.timeline.prev_stage()
    s = flush(app)
    assert s[Timeline.DATE] == "2011-06-01"


def test_clinical_event_jumps_to_its_date(app):
    app.timeline.goto_event("right_symptoms")
    assert flush(app)[Timeline.DATE] == "2013-11-01"


def test_play_advances_time_from_the_clock(app):
    sp = app.engine.spread
    start = sp.time_of_date("2011-06-01")
    app.timeline.seek(start)
    app.state[Timeline.SPEED] = 2.0
    flush(app)

    async def play():
        app.timeline.toggle()
        flush(app)
        await asyncio.sleep(0.6)
        app.timeline.pause()
        flush(app)
        await asyncio.sleep(0.1)

    asyncio.run(play())
    t = app.state[Timeline.TIME]
    assert start + 0.5 < t < start + 3.0  # 2x speed for ~0.6 s (slow machines lag)
    assert app.state[Timeline.DATE] > "2011-06-01"
    app.state[Timeline.SPEED] = 1.0
    flush(app)


def test_playback_is_an_anchor_not_a_stream_of_times(app):
    """Pages play from the anchor by themselves: the server sets the time only at stage
    changes and a couple of times a second, and says where playback runs from."""
    sp = app.engine.spread
    start = sp.time_of_date("2011-06-01")
    app.timeline.seek(start)
    flush(app)
    seen: list[float] = []
    app.state.change(Timeline.TIME)(lambda **_: seen.append(app.state[Timeline.TIME]))

    async def play():
        before = time.time() * 1000
        app.timeline.toggle()
        flush(app)
        anchor = app.state[Timeline.ANCHOR]
        await asyncio.sleep(1.6)
        app.state[Timeline.SPEED] = 2.0
        flush(app)
        faster = app.state[Timeline.ANCHOR]
        await asyncio.sleep(0.3)
        app.timeline.pause()
        flush(app)
        await asyncio.sleep(0.1)
        return before, anchor, faster

    before, anchor, faster = asyncio.run(play())
    assert anchor["time"] == pytest.approx(start) and anchor["speed"] == 1.0
    assert before - 50 <= anchor["wall"] <= time.time() * 1000
    # a speed change anchors again, where playback had got to
    assert faster["speed"] == 2.0 and start + 1.3 < faster["time"] < start + 2.5
    assert faster["wall"] > anchor["wall"] + 1000
    assert len(seen) <= 8, seen  # ~2 s of play at 20 frames a second would be 40
    assert app.state[Timeline.ANCHOR] is None and app.state[Timeline.PLAYING] is False
    assert start + 1.8 < app.state[Timeline.TIME] < start + 3.5  # where it was paused
    app.state[Timeline.SPEED] = 1.0
    flush(app)


def test_looks_and_bundle_for_the_pages(app):
    """The players get each drawable's look (the panel's settings worked out on the server),
    and the scenario's bundle as a static file named in the state."""
    app.structure.toggle("bladder")
    app.structure.set_opacity("hip_l", 0.25)
    app.structure.set_color("rectum", "#00ff00")
    looks = flush(app)[View.LOOKS]
    assert looks["bladder"][0] == 0 and looks["sacrum"][0] == 1
    assert looks["hip_l"][1] == pytest.approx(0.25)
    assert looks["rectum"][2] == "#00ff00"
    assert set(looks) == set(app.engine.view.actors)
    app.structure.reset()
    assert flush(app)[View.LOOKS]["bladder"][0] == 1
    assert app.clock() == pytest.approx(time.time() * 1000, abs=1000)


def test_camera_preset_moves_engine_camera_and_tells_browsers(app):
    before = app.state[View.CAMERA_GOTO]
    app.camera.goto("left")
    s = flush(app)
    preset = app.engine.scene.cameras["left"]
    assert s[View.CAMERA] == "left"
    assert s[View.CAMERA_GOTO]["seq"] != (before or {}).get("seq")
    assert s[View.CAMERA_GOTO]["camera"]["position"] == pytest.approx(list(preset.position))
    assert app.engine.camera().position == pytest.approx(preset.position)
    app.camera.goto("nowhere")
    s = flush(app)
    assert s[View.CAMERA] == "left"
    assert "unknown camera 'nowhere'" in s[App.MESSAGES][-1]["text"]


def test_share_round_trip_restores_the_view(app):
    sp = app.engine.spread
    app.timeline.seek(sp.time_of_date("2013-08-15"))
    app.structure.toggle("bladder")
    app.structure.set_opacity("hip_l", 0.4)
    app.camera.goto("posterior")
    app.state[View.LABELS] = True
    flush(app)
    query = app.share.refresh()
    assert flush(app)[Share.QUERY] == query
    saved = app.share.json()
    app.structure.reset()
    app.timeline.seek(0)
    app.camera.goto("anterior")
    app.state[View.LABELS] = False
    flush(app)
    app.share.apply_query(query)
    s = flush(app)
    assert s[Timeline.DATE] == "2013-08-15"
    assert "bladder" in s[Structure.HIDDEN] and s[Structure.OPACITY] == {"hip_l": 0.4}
    assert s[View.CAMERA] == "posterior" and s[View.LABELS] is True
    assert s[App.MESSAGES] == []
    app.timeline.seek(0)
    flush(app)
    app.share.apply_json(saved)
    assert flush(app)[Timeline.DATE] == "2013-08-15"


def test_bad_link_gives_messages_and_the_rest_applies(app):
    app.share.apply_query("?hide=bladder,no_such_node&t=999&camera=sideways&isolate=nope")
    s = flush(app)
    text = " | ".join(m["text"] for m in s[App.MESSAGES])
    assert "unknown structure 'no_such_node'" in text
    assert "outside the timeline" in text
    assert "unknown preset 'sideways'" in text
    assert "'nope'" in text
    assert "bladder" in s[Structure.HIDDEN]
    assert s[Timeline.TIME] == app.engine.spread.duration  # clamped, not broken
    count = len(s[App.MESSAGES])
    app.dismiss(s[App.MESSAGES][0]["id"])
    assert len(flush(app)[App.MESSAGES]) == count - 1


def test_scenario_switch_keeps_the_date(app):
    app.timeline.seek(app.engine.spread.time_of_date("2013-09-01"))
    flush(app)
    app.state[App.SCENARIO] = "parallel_spread"
    s = flush(app)
    assert app.engine.path == (SCENES_DIR / "parallel_spread.yaml").resolve()
    assert s[App.SCENE_TITLE] == app.engine.scene.name
    assert s[Timeline.DATE] == "2013-09-01"
    app.state[App.SCENARIO] = "no_such_scene"
    s = flush(app)
    assert s[App.SCENARIO] == "parallel_spread"
    assert "unknown scenario" in s[App.MESSAGES][-1]["text"]


def test_export_options_and_the_download_route_guard(app):
    ex = app.export
    s = app.state
    s[Export.RANGE] = "whole"
    assert "start" not in ex.options()
    app.timeline.seek(app.engine.spread.time_of_date("2012-04-01"))
    flush(app)
    s[Export.RANGE] = "stage"
    opts = ex.options()
    assert opts["start"] == "2012-03-01" and opts["end"] == "2013-05-01"  # stage dates
    s.update({Export.RANGE: "dates", Export.FROM: "2013-08", Export.TO: "2012-01"})
    with pytest.raises(Exception, match="must come after"):
        ex.options()
    s.update({Export.FROM: "2013-08", Export.TO: "1999-01"})
    answer = ex.start()  # to the asking page alone
    assert "outside the timeline" in answer["error"] and "id" not in answer
    for name in ("../x.mp4", "/etc/passwd", ".jobs", "clip.mp4"):
        assert ex.file_for(name) is None
    s[Export.RANGE] = "whole"
    flush(app)


def test_the_export_click_carries_the_choices_the_page_shows(app):
    """A page writes state only with no call in flight, while a trigger goes at once: the
    choices sent with the click win over shared state that has not caught up yet."""
    ex = app.export
    s = app.state
    s.update({Export.RANGE: "whole", Export.FORMAT: "mp4", Export.SIZE: "640x360",
              Export.FPS: 24})
    opts = ex.options({Export.FORMAT: "gif", Export.SIZE: "320x180", Export.FPS: 10,
                       Export.RANGE: "dates", Export.FROM: "2012-01", Export.TO: "2013-08"})
    assert (opts["format"], opts["size"], opts["fps"]) == ("gif", "320x180", 10)
    assert (opts["start"], opts["end"]) == ("2012-01", "2013-08")
    assert ex.options({Export.FPS: 15})["format"] == "mp4"  # the rest from the state
    answer = ex.start({Export.RANGE: "dates", Export.FROM: "2013-08", Export.TO: "2012-01"})
    assert "must come after" in answer["error"]
    assert s[Export.FORMAT] == "mp4" and s[Export.RANGE] == "whole"  # the state untouched


def test_screenshot_is_a_png_of_the_view(app):
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(app.screenshot(640, 360))))
    assert img.size == (640, 360)
    a = np.asarray(img.convert("RGB"))
    assert a.std() > 10  # not blank


def test_a_scenario_switch_and_back_draws_what_a_fresh_start_draws(app):
    from app.web.engine import ViewerEngine

    t = app.engine.spread.time_of_date("2013-12-01")
    app.state[App.SCENARIO] = "conus_route"
    flush(app)
    app.state[App.SCENARIO] = "bilateral_plexopathy"
    flush(app)
    app.timeline.seek(t)
    app.camera.goto("anterior", animate=False)
    flush(app)
    fresh = ViewerEngine(DEFAULT_SCENE)
    try:
        fresh.set_time(t)
        want = fresh.screenshot((480, 270)).astype(int)
    finally:
        fresh.close()
    got = app.engine.screenshot((480, 270)).astype(int)
    assert np.abs(got - want).mean() < 0.5


def test_axial_preset_hides_the_lumbar_spine_and_gives_it_back(app):
    from app.web.keys import Structure

    app.camera.goto("axial_s1", animate=False)
    flush(app)
    hidden = set(app.state[Structure.HIDDEN])
    assert {"l3", "l4", "l5"} <= hidden
    app.camera.goto("anterior", animate=False)
    flush(app)
    assert not {"l3", "l4", "l5"} & set(app.state[Structure.HIDDEN] or [])
