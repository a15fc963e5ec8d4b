"""The rules for what pages send (``app/web/rules.py``) and the guard that applies them.

No browser and no socket: the table is checked against ``keys.py``, the page's template and
``viewer.js``; the guard's screening is called with the messages a hostile page sends.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from app.web import keys, rules
from app.web.guard import StateGuard
from app.web.keys import App, Export, Structure, Timeline, View

STATIC = Path(keys.__file__).resolve().parent / "static"

# The 20 malformed messages of the issue (and the like): (key, value) changes and triggers.
BAD_CHANGES = [
    (Timeline.TIME, "abc"), (Timeline.TIME, 1e308), (Timeline.TIME, math.nan),
    (Timeline.TIME, None), (Timeline.TIME, -1e9), (Timeline.SPEED, 0), (Timeline.SPEED, -5),
    (Timeline.SPEED, "fast"), (App.SCENARIO, "../../etc/passwd"),
    (View.CAMERA_GOTO, {"seq": 1, "camera": "junk"}), (View.CAMERA, [1, 2, 3]),
    (Timeline.STAGE, 1e9), (Timeline.PLAYING, "yes"), (Structure.HIDDEN, "everything"),
    (Export.SIZE, "99999x99999"), (Structure.SEARCH, "x" * 5000), ("no_such_key", 1),
    (View.MODE, "both"), (App.PANEL, 1), (Export.FPS, math.inf),
]
BAD_TRIGGERS = [
    ("no_such_trigger", []), ("tl_stage", [1e9]), ("tl_seek", ["abc"]), ("tl_seek", []),
    ("cam_moved", [{"position": [0, 0, "x"], "focalPoint": [0, 0, 0], "viewUp": [0, 0, 1],
                    "viewAngle": 30}]),
    ("cam_moved", [{"position": [0, 0, 0], "focalPoint": [0, 0, 0], "viewUp": [0, 0, 1],
                    "viewAngle": 30}]),
    ("cam_preset", ["../x"]), ("st_set_opacity", ["bladder", 2]), ("st_toggle", [None]),
    ("tl_toggle", [1, 2, 3]), (None, []), ("ex_start", "notalist"),
    ("ex_start", [{"ex_format": "exe"}]), ("ex_start", [{"ex_size": "99999x99999"}]),
    ("ex_start", [{"tl_time": 3}]), ("ex_start", ["mp4"]), ("ex_start", [{"ex_fps": 0}]),
]


class FakeState(dict):
    """Enough of trame's state for the guard (``[]`` gives None for a missing key)."""

    def __getitem__(self, key):
        return self.get(key)

    def setdefault(self, key, value):
        return super().setdefault(key, value)

    def client_only(self, *_):
        pass


class FakeApp:
    def __init__(self, state):
        self.state = state


@pytest.fixture
def guard():
    state = FakeState({
        App.SCENARIO: "bilateral_plexopathy",
        App.SCENARIOS: [{"value": "bilateral_plexopathy"}, {"value": "conus_route"},
                        {"value": "parallel_spread"}],
        Timeline.START: 0.0, Timeline.DURATION: 120.0, Timeline.TIME: 50.0,
        Timeline.SPEED: 1.0, Structure.DEFAULTS: {"bladder": {}, "sacrum": {}},
        View.MODE: "local",
    })
    return StateGuard(FakeApp(state))


def key_names() -> set[str]:
    out = set()
    for name, cls in vars(keys).items():
        if isinstance(cls, type) and cls.__module__ == keys.__name__ and name != "Trigger":
            out.update(v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str))
    return out


def test_every_key_has_a_rule_or_is_listed_as_the_servers():
    names = key_names()
    assert names, "no keys found in keys.py"
    undecided = sorted(k for k in names if k not in rules.WRITABLE
                       and not rules.server_only(k) and k not in rules.CLIENT_ONLY)
    assert not undecided, (f"keys with no rule in app/web/rules.py: {undecided} (add a rule to "
                           "WRITABLE, or list them in SERVER_ONLY or CLIENT_ONLY)")
    both = sorted(k for k in rules.WRITABLE if rules.server_only(k) or k in rules.CLIENT_ONLY)
    assert not both, f"both writable and server-only/client-only: {both}"
    stale = sorted(set(rules.WRITABLE) - names)
    assert not stale, f"rules for keys keys.py does not define: {stale}"


def page_written_keys(template: str, script: str) -> set[str]:
    """Keys the page itself writes: v-models, assignments in event handlers, viewer.js set()."""
    out = set(re.findall(r'v-model(?:\.number)?(?::\w+)?="(\w+)"', template))
    for handler in re.findall(r'@[\w:.-]+="([^"]*)"', template):
        out.update(re.findall(r"(?<![\w.])([A-Za-z_]\w*)\s*=(?![=>])", handler))
    names = {f"{cls}.{k}": v for cls, d in _js_names().items() for k, v in d.items()}
    for arg in re.findall(r"(?<![\w.])set\(\s*(\"\w+\"|'\w+'|N\.\w+\.\w+)", script):
        if arg[0] in "'\"":
            out.add(arg.strip("'\""))
        else:
            assert arg[2:] in names, f"viewer.js sets {arg}, which keys.py does not name"
            out.add(names[arg[2:]])
    return out


def _js_names() -> dict[str, dict[str, str]]:
    return keys.js_names() if hasattr(keys, "js_names") else {}


def test_every_key_the_page_writes_has_a_rule():
    from trame.app import get_server

    from app.case import DEFAULT_SCENE
    from app.web.app import ViewerApp

    server = get_server("rules-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, build_later=True)
    try:
        template = server.state["trame__template_main"]  # the page, as trame sends it
        written = page_written_keys(template, (STATIC / "viewer.js").read_text())
        assert {App.SCENARIO, Timeline.TIME, Structure.SEARCH} <= written  # the scan works
        missing = sorted(k for k in written if k not in rules.WRITABLE
                         and k not in rules.CLIENT_ONLY)
        assert not missing, f"the page writes keys with no rule in app/web/rules.py: {missing}"
        # every trigger the app registers has a rule, and every rule a trigger
        registered = {n for n in server.controller._triggers
                      if not n.startswith(rules.GENERATED_TRIGGER)}
        assert registered == set(rules.TRIGGERS), (
            f"triggers with no rule: {sorted(registered - set(rules.TRIGGERS))}; "
            f"rules for no trigger: {sorted(set(rules.TRIGGERS) - registered)}")
    finally:
        app.engine.close()


def test_the_twenty_malformed_changes_are_all_refused(guard):
    changes = [{"key": k, "value": v} for k, v in BAD_CHANGES] + [{"value": 3}, "junk", 7]
    accepted, refused = guard.screen_changes("page-1", changes)
    assert accepted == []
    assert len(refused) == len(changes)
    assert all(why for _, why in refused)
    assert guard.screen_changes("page-1", {"key": Timeline.TIME}) == (
        [], [(None, "a list of changes")])


def test_good_changes_pass_and_bad_ones_beside_them_do_not(guard):
    accepted, refused = guard.screen_changes("p", [
        {"key": Timeline.TIME, "value": 60}, {"key": Timeline.SPEED, "value": 4},
        {"key": Timeline.SPEED, "value": 2.0}, {"key": Timeline.TIME, "value": "abc"},
        {"key": Structure.SELECTED, "value": "bladder"}, {"key": View.LABELS, "value": True}])
    assert [c["key"] for c in accepted] == [Timeline.TIME, Timeline.SPEED,
                                            Structure.SELECTED, View.LABELS]
    assert [k for k, _ in refused] == [Timeline.SPEED, Timeline.TIME]  # twice; then "abc"
    assert "from 0 to 120" in refused[1][1]


def test_malformed_triggers_are_refused_and_good_ones_pass(guard):
    for name, args in BAD_TRIGGERS:
        assert guard.screen_trigger("p", name, args, {}) is not None, (name, args)
    assert guard.screen_trigger("p", "tl_seek", [12.5], {}) is None
    assert guard.screen_trigger("p", "st_isolate", [""], {}) is None
    assert guard.screen_trigger("p", "cam_moved", [{
        "position": [0, -500, 0], "focalPoint": [0, 0, 0], "viewUp": [0, 0, 1],
        "viewAngle": 30}], {}) is None
    assert guard.screen_trigger("p", "tl_seek", [1], {"force": True}) is not None


def test_scenario_switches_and_exports_are_limited_per_page_per_second(guard):
    def switch(page, name):
        return guard.screen_changes(page, [{"key": App.SCENARIO, "value": name}])[1]

    names = ["conus_route", "parallel_spread", "conus_route"]
    assert [bool(switch("a", n)) for n in names] == [False, False, True]
    assert not switch("b", "conus_route")  # another page has its own allowance
    choices = {"ex_size": "320x180", "ex_fps": 10, "ex_format": "gif", "ex_range": "dates",
               "ex_from": "2012-01", "ex_to": "2013-08"}  # what the Export button sends
    assert guard.screen_trigger("a", "ex_start", [choices], {}) is None
    assert "per second" in guard.screen_trigger("a", "ex_start", [], {})
    assert guard.rate("a", "export", now=10**9) is None  # a second later: allowed again


def test_the_sender_gets_the_servers_value_back_with_a_note(guard):
    _, refused = guard.screen_changes("p", [{"key": Timeline.TIME, "value": "abc"},
                                            {"key": "no_such_key", "value": 1}])
    back = guard.answer("p", refused)
    assert back[Timeline.TIME] == 50.0
    assert "no_such_key" not in back
    notes = back[App.NOTES]
    assert len(notes) == 2 and "tl_time" in notes[0]["text"]
    for _ in range(5):
        notes = guard.answer("p", refused[:1])[App.NOTES]
    assert len(notes) == 3  # only the newest few
    assert guard.answer("q", refused[:1])[App.NOTES][0]["id"] > notes[-1]["id"]
    guard.forget("p")
    assert len(guard.answer("p", refused[:1])[App.NOTES]) == 1
