"""The slab in the viewer, without a browser: findings set date and slab, the panel follows."""

from __future__ import annotations

import pytest

from app.case import DEFAULT_SCENE
from app.web.keys import Slab, Timeline


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    from trame.app import get_server

    from app.web.app import ViewerApp

    server = get_server("web-slab-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, export_dir=tmp_path_factory.mktemp("exports"))
    server.state.ready()
    yield app
    app.engine.close()


@pytest.fixture
def app(viewer):
    viewer.state[Slab.ON] = False
    viewer.state.flush()
    return viewer


def test_findings_and_presets_reach_the_page(app):
    s = app.state
    ids = [f["id"] for f in s[Slab.FINDINGS]]
    assert ids[:2] == ["mri_2012_s1", "mri_2012_notch"] and "pet_2014_s1" in ids
    assert {p["label"] for p in s[Slab.PRESETS]} == {
        "Fig. 3: axial at S1", "Fig. 2: axial at the sciatic notch"}
    times = [f["time"] for f in s[Slab.FINDINGS]]
    assert times == sorted(times)


def test_a_finding_sets_the_date_the_slab_and_the_caption(app):
    s = app.state
    app.slab.finding("mri_2013_s1")
    s.flush()
    assert s[Timeline.DATE] == "2013-08-01"
    assert s[Slab.ON] and s[Slab.SPEC] == "axial:S1,thickness=6"
    assert s[Slab.FINDING]["title"] == "MRI, August 2013" and "sacral canal" in \
        s[Slab.FINDING]["text"]
    assert s[Slab.PANEL].startswith("data:image/jpeg;base64,")
    planes = s[Slab.PLANES]
    assert planes[0][5] == 1.0 and planes[1][5] == -1.0 and planes[1][2] - planes[0][2] == 6.0
    # the page's player gets the same slab: planes, the caps the server cut, small
    import json

    msg = s[Slab.MESSAGE]
    assert msg["planes"] == [[pytest.approx(v) for v in p] for p in planes]
    assert {c["node"] for c in msg["caps"]} >= {"sacrum", "dural_sac", "ramus_s1_l"}
    assert "panel" not in msg and len(json.dumps(msg)) < 60_000
    # the server's own actors are clipped and the cut solids capped (remote pictures)
    sacrum = app.engine.view.actors["sacrum"].GetMapper()
    assert sacrum.GetNumberOfClippingPlanes() == 2
    caps = app.slab.layer.cap_actors
    assert caps[("sacrum", "lower")].GetVisibility() and caps[("sacrum", "upper")].GetVisibility()


def test_the_panel_follows_the_timeline_and_keys_move_the_slab(app):
    s = app.state
    app.slab.preset("fig3_s1")
    s.flush()
    app.timeline.seek(app.engine.spread.time_of_date("2012-03"))
    s.flush()
    march = s[Slab.PANEL]
    app.timeline.seek(app.engine.spread.time_of_date("2014-04"))
    s.flush()
    assert s[Slab.PANEL] != march
    pos = s[Slab.POS]
    app.slab.step(1)
    s.flush()
    assert s[Slab.POS] == pytest.approx(pos + 2.0)
    assert s[Slab.SPEC].startswith("axial:z=")  # off the named level now
    s[Slab.ON] = False
    s.flush()
    assert s[Slab.PLANES] is None and s[Slab.PANEL] == "" and s[Slab.MESSAGE] is None
    assert app.engine.view.actors["sacrum"].GetMapper().GetNumberOfClippingPlanes() == 0


def test_a_bad_preset_says_so(app):
    app.slab.preset("nowhere")
    app.state.flush()
    assert any("no slab preset 'nowhere'" in m["text"] for m in app.state["app_messages"])


def test_slab_js_spells_no_name_by_hand():
    """``static/slab.js`` reads every state key and trigger from ``keys.py`` (as viewer.js)."""
    import re
    from pathlib import Path

    from app.web import keys

    text = (Path(keys.__file__).resolve().parent / "static" / "slab.js").read_text()
    names = keys.js_names()
    used = re.findall(r"\bN\.([A-Za-z]+)\.([A-Z_]+)\b", text)
    assert used and all(g in names and n in names[g] for g, n in used), used
    values = {v for group in names.values() for v in group.values()} - {"view"}
    spelled = [lit for _, lit in re.findall(r"""(["'`])([A-Za-z_][A-Za-z0-9_]*)\1""", text)
               if lit in values or re.match(r"^sl_[a-z_]*$", lit)]
    assert not spelled, spelled
