"""Names once, on both sides of the wire: state keys and trigger names come from keys.py.

``static/viewer.js`` reads them from ``window.PS_NAMES`` (written from ``keys.js_names()``);
the logic registers triggers and the UI calls them through ``keys.Trigger``; the camera move
exists in Python and in the browser player's ``player/src/camera.js`` (the page's 3D view) and
both give the same cameras.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.web import keys
from app.web.camera_logic import Camera, ease, interpolate

WEB = Path(keys.__file__).resolve().parent
STATIC = WEB / "static"
NAME_USE = re.compile(r"\bN\.([A-Za-z]+)\.([A-Z_]+)\b")
LITERAL = re.compile(r"""(["'`])([A-Za-z_][A-Za-z0-9_]*)\1""")
KEY_SHAPE = re.compile(r"^(app|view|sp|tl|st|sh|ex|cam)_[a-z0-9_]*$|^viewMode$")


def all_values() -> set[str]:
    return {v for group in keys.js_names().values() for v in group.values()}


@pytest.mark.parametrize("script", ["viewer.js"])
def test_scripts_use_only_names_that_keys_py_defines(script):
    text = (STATIC / script).read_text()
    names = keys.js_names()
    for group, name in NAME_USE.findall(text):
        assert group in names and name in names[group], f"{script}: N.{group}.{name} " \
            "is not defined in app/web/keys.py"
    spelled = [lit for _, lit in LITERAL.findall(text)
               if lit in all_values() - {"view"} or KEY_SHAPE.match(lit)]
    assert not spelled, f"{script} spells state keys or triggers by hand: {spelled}"


def test_the_check_catches_a_name_spelled_by_hand(tmp_path):
    """The test above would fail on a stray name (it is not a check that passes anything)."""
    bad = 'const t = get("tl_time"); trigger(N.Trigger.NO_SUCH_TRIGGER);'
    assert [lit for _, lit in LITERAL.findall(bad) if KEY_SHAPE.match(lit)] == ["tl_time"]
    (group, name), = NAME_USE.findall(bad)
    assert name not in keys.js_names()[group]


def test_triggers_are_registered_and_called_by_their_keys_name():
    registered = set()
    for path in WEB.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"""ctrl\.trigger\(["']""", text), f"{path.name}: literal trigger"
        registered |= set(re.findall(r"ctrl\.trigger\(Trigger\.([A-Z_]+)\)", text))
        if path.name.endswith("_ui.py") or path.name == "ui.py":
            assert not re.search(r"trigger\('[a-z]", text), f"{path.name}: literal trigger"
    defined = set(keys.js_names()["Trigger"])
    assert registered == defined, (registered ^ defined)


def test_names_js_is_what_the_page_loads():
    text = keys.js_module()
    assert text.startswith("window.PS_NAMES = ")
    loaded = json.loads(text[len("window.PS_NAMES = "):].rstrip().rstrip(";"))
    assert loaded["Timeline"]["TIME"] == keys.Timeline.TIME
    assert loaded["Trigger"]["TL_TOGGLE"] == "tl_toggle"


PLAYER_CAMERA = Path(__file__).resolve().parents[1] / "player" / "src" / "camera.js"
LOADERS = {
    # the player's module (bundled into app/player/static/player.js)
    "player": (["node", "--input-type=module", "-e"],
               f"import * as c from {json.dumps(PLAYER_CAMERA.as_uri())};"
               "import {readFileSync} from 'fs';"),
}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("which", sorted(LOADERS))
def test_camera_moves_agree_in_python_and_the_browser(which):
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(40):
        a = [rng.normal(0, 300, 3), rng.normal(0, 30, 3), rng.normal(0, 1, 3),
             float(rng.uniform(15, 60))]
        b = [rng.normal(0, 300, 3), rng.normal(0, 30, 3), rng.normal(0, 1, 3),
             float(rng.uniform(15, 60))]
        cases.append((a, b, float(rng.uniform(0, 1))))
    # the awkward ones: opposite directions, same direction, no move at all
    same = [np.array([0.0, -400, 0]), np.zeros(3), np.array([0.0, 0, 1]), 30.0]
    opposite = [np.array([0.0, 400, 0]), np.zeros(3), np.array([0.0, 0, 1]), 30.0]
    cases += [(same, opposite, 0.3), (same, same, 0.5)]
    js_in = [{"a": _js(a), "b": _js(b), "s": s} for a, b, s in cases]
    command, load = LOADERS[which]
    if which == "player" and not PLAYER_CAMERA.exists():
        pytest.skip("the player's source is not there")
    read = "readFileSync" if which == "player" else "require('fs').readFileSync"
    script = (load + f"const cases = JSON.parse({read}(0, 'utf8'));"
              "console.log(JSON.stringify(cases.map((k) => "
              "[c.interpolate(k.a, k.b, c.ease(k.s)), c.ease(k.s)])));")
    out = subprocess.run(command + [script], input=json.dumps(js_in), text=True,
                         capture_output=True, check=True).stdout
    for (a, b, s), (js, js_ease) in zip(cases, json.loads(out), strict=True):
        assert js_ease == pytest.approx(ease(s), abs=1e-12)
        py = interpolate(_cam(a), _cam(b), ease(s))
        assert np.allclose(js["position"], py.position, atol=1e-6)
        assert np.allclose(js["focalPoint"], py.focal_point, atol=1e-6)
        assert np.allclose(js["viewUp"], py.view_up, atol=1e-6)
        assert js["viewAngle"] == pytest.approx(py.view_angle)


def _js(c) -> dict:
    return {"position": list(map(float, c[0])), "focalPoint": list(map(float, c[1])),
            "viewUp": list(map(float, c[2])), "viewAngle": c[3]}


def _cam(c) -> Camera:
    return Camera(tuple(map(float, c[0])), tuple(map(float, c[1])), tuple(map(float, c[2])),
                  c[3])
