"""Scenario and timeline validation: every problem names the file, the line and the key path."""

from __future__ import annotations

import textwrap

import pytest

from app.case import load_scene
from app.errors import SceneError

HEAD = """\
name: tiny
nodes:
  - {id: root_l, kind: nerve, side: left, centreline: [[10, 0, 0], [30, 0, -20]], radius: 2}
  - {id: trunk_l, kind: nerve, side: left, centreline: [[30, 0, -20], [40, 0, -120]], radius: 3}
  - {id: sac, kind: nerve, centreline: [[0, 0, 40], [0, 0, -20]], radius: 5}
landmarks:
  seed: [30, -10, -60]
  far_away: [500, 500, 500]
"""
TIMELINE = """\
timeline:
  keyframes:
    - {time: 0, date: 2010-01}
    - {time: 10, date: 2012-01}
  stages:
    - {id: one, title: One, start: 2010-01, caption: First.}
    - {id: two, title: Two, start: 2011-01, caption: Second., psa: 1.5}
"""
ROUTE = """\
scenario:
  routes:
    - id: down
      style: solid
      start: 2010-02
      end: 2011-06
      segments:
        - node: root_l
        - node: trunk_l
"""


def load(tmp_path, text: str):
    path = tmp_path / "scene.yaml"
    path.write_text(textwrap.dedent(text))
    return load_scene(path)


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(SceneError) as err:
        load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_minimal_scenario_loads(tmp_path):
    scene = load(tmp_path, HEAD + ROUTE + TIMELINE)
    sp = scene.spread
    assert [r.id for r in sp.routes] == ["down"]
    assert sp.duration == 10
    assert sp.state_at(10).routes[0].progress == 1.0
    assert sp.state_at(sp.time_of_date("2011-02")).stage.psa == 1.5
    # defaults: root_l from its start, trunk_l from the point nearest the root's end
    cov = sp.routes[0].coverage
    assert (cov[0].u_from, cov[0].u_to) == (0.0, 1.0)
    assert cov[1].u_from == pytest.approx(0.0) and cov[1].u_to == 1.0


@pytest.mark.parametrize("old, new, needle, message", [
    ("      style: solid", "      style: dotted", "style: dotted",
     "scenario.routes[0].style: expected one of solid, dashed, got string 'dotted'"),
    ("      start: 2010-02", "      start: 2009-02", "start: 2009-02",
     "scenario.routes[0].start: start 2009-02-01 is outside the timeline"),
    ("      start: 2010-02", "      start: Feb 2010", "start: Feb 2010",
     "expected a date YYYY-MM or YYYY-MM-DD, got 'Feb 2010'"),
    ("        - node: trunk_l", "        - node: trunk_x", "node: trunk_x",
     "scenario.routes[0].segments[1].node: unknown node 'trunk_x'"),
    ("        - node: trunk_l", "        - {node: trunk_l, to: far_away}", "to: far_away",
     "landmark 'far_away' is"),
    ("        - node: trunk_l", "        - {node: trunk_l, from: 1.5}", "from: 1.5",
     "scenario.routes[0].segments[1].from: expected a number in [0.0, 1.0]"),
    ("        - node: trunk_l", "        - {node: trunk_l, colour: red}", "colour: red",
     "unknown key 'colour'"),
    ("      end: 2011-06\n", "", "- id: down",
     "the route needs its timing"),
    ("      end: 2011-06", "      end: 2010-01-15", "end: 2010-01-15",
     "must end after 2010-02-01"),
])
def test_route_problems(tmp_path, old, new, needle, message):
    text = HEAD + ROUTE.replace(old, new) + TIMELINE
    found = problems(tmp_path, text)
    assert any(message in p for p in found), found
    hit = next(p for p in found if message in p)
    assert hit.startswith(f"{tmp_path / 'scene.yaml'}:")
    if needle:
        assert f":{line_of(text, needle)}:" in hit, (hit, line_of(text, needle))


def test_scenario_without_timeline(tmp_path):
    found = problems(tmp_path, HEAD + ROUTE)
    assert any("a scenario needs a top-level 'timeline'" in p for p in found)


def test_reach_must_increase(tmp_path):
    route = ROUTE.replace("        - node: root_l\n",
                          "        - {node: root_l, reach: 2011-01}\n").replace(
        "        - node: trunk_l\n", "        - {node: trunk_l, reach: 2010-06}\n").replace(
        "      end: 2011-06\n", "")
    found = problems(tmp_path, HEAD + route + TIMELINE)
    assert any("reach 2010-06-01 must come after 2011-01-01" in p for p in found), found


def test_keyframes_and_stages(tmp_path):
    bad = TIMELINE.replace("{time: 10, date: 2012-01}", "{time: 10, date: 2009-01}")
    found = problems(tmp_path, HEAD + ROUTE + bad)
    assert any("timeline.keyframes[1].date: keyframe dates must increase" in p for p in found)
    bad = TIMELINE.replace("start: 2011-01, caption", "start: 2009-06, caption")
    found = problems(tmp_path, HEAD + ROUTE + bad)
    assert any("timeline.stages[1].start: start 2009-06-01 is outside the timeline" in p
               for p in found), found


def test_masses_only_grow(tmp_path):
    masses = ("  masses:\n"
              "    - id: lump\n"
              "      at: seed\n"
              "      growth: [{date: 2010-06, radius: 4}, {date: 2011-06, radius: 2}]\n")
    found = problems(tmp_path, HEAD + ROUTE + masses + TIMELINE)
    assert any("a mass only grows" in p for p in found), found


def test_every_problem_reported_at_once(tmp_path):
    text = HEAD + ROUTE.replace("style: solid", "style: dotted").replace(
        "node: trunk_l", "node: nope") + TIMELINE
    found = problems(tmp_path, text)
    assert len(found) >= 2
