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
    - {id: two, title: Two, start: 2011-01, caption: Second.}
  record:
    values:
      - {date: 2009-06, value: 0}
      - {date: 2011-01, value: 1.5}
"""
ROUTE = """\
scenario:
  legend: {solid: along the nerve}
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
    assert sp.state_at(sp.time_of_date("2011-02")).psa == 1.5
    assert sp.state_at(sp.time_of_date("2011-02")).psa_text == "PSA 1.5 ng/ml"
    assert sp.state_at(0).psa_text == "PSA undetectable"  # measured before the timeline
    assert [(e.style, e.text) for e in sp.legend] == [("solid", "along the nerve")]
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


# -- the scene file is the case: record, legend, merge by id ---------------------------------
def test_a_scene_without_a_record_has_no_marker_values(tmp_path):
    text = (HEAD + ROUTE + TIMELINE).replace("  record:\n    values:\n"
                                             "      - {date: 2009-06, value: 0}\n"
                                             "      - {date: 2011-01, value: 1.5}\n", "")
    sp = load(tmp_path, text).spread
    assert sp.record.values == () and sp.record.events == ()
    assert sp.state_at(5).psa is None and sp.state_at(5).psa_text == ""


def test_record_marker_unit_and_events(tmp_path):
    text = (HEAD + ROUTE + TIMELINE).replace("  record:\n", """\
  record:
    marker: CA-125
    unit: U/ml
    events:
      - {id: scan, date: 2011-03, label: "CT: a node", short: CT, side: left}
      - {id: first, date: 2010-02, label: Symptoms}
""")
    sp = load(tmp_path, text).spread
    assert sp.state_at(sp.time_of_date("2011-06")).psa_text == "CA-125 1.5 U/ml"
    assert [e.id for e in sp.record.events] == ["first", "scan"]  # in date order
    assert sp.record.events[0].side == "none" and sp.record.events[0].short == "Symptoms"


def test_one_format_for_marker_values():
    from app.spread import format_psa

    assert format_psa(0) == "PSA undetectable"
    assert format_psa(0.54) == "PSA 0.54 ng/ml"
    assert format_psa(None) == ""


@pytest.mark.parametrize("old, new, needle, message", [
    ("    - {id: two, title: Two, start: 2011-01, caption: Second.}",
     "    - {id: two, title: Two, start: 2011-01, caption: Second., psa: 3}", "psa: 3",
     "timeline.stages[1]: stages carry no 'psa'"),
    ("      - {date: 2011-01, value: 1.5}", "      - {date: 2009-01, value: 1.5}",
     "date: 2009-01", "timeline.record.values[1].date: values go in date order"),
    ("      - {date: 2011-01, value: 1.5}", "      - {date: 2011-01, value: high}",
     "value: high", "timeline.record.values[1].value: expected a number"),
    ("  legend: {solid: along the nerve}", "  legend: {dashed: across}", "legend:",
     "no text for the arrow style(s) solid"),
    ("      style: solid", "      style: dashed", "style: dashed",
     "a dashed route is a bridge through the dural sac, but this one never meets it"),
    ("        - node: root_l\n", "        - point: nowhere\n        - node: root_l\n",
     "point: nowhere", "unknown landmark 'nowhere'"),
])
def test_case_data_mistakes_are_file_line_errors(tmp_path, old, new, needle, message):
    text = HEAD + ROUTE + TIMELINE
    assert old in text
    text = text.replace(old, new)
    if new == "      style: dashed":
        text = text.replace("{solid: along the nerve}", "{dashed: across}")
    found = problems(tmp_path, text)
    line = line_of(textwrap.dedent(text), needle)
    assert any(f"scene.yaml:{line}: " in p and message in p for p in found), found


def test_a_dashed_route_through_the_sac_is_accepted(tmp_path):
    head = HEAD.replace("radius: 5}", "radius: 5, systems: [meninges]}")
    route = ROUTE.replace("style: solid", "style: dashed").replace(
        "{solid: along the nerve}", "{dashed: across the sac}").replace(
        "        - node: trunk_l\n", "        - node: trunk_l\n        - node: sac\n")
    sp = load(tmp_path, head + route + TIMELINE).spread
    assert [(e.style, e.text) for e in sp.legend] == [("dashed", "across the sac")]


def test_extends_merges_scenario_and_timeline_by_id(tmp_path):
    base = tmp_path / "case.yaml"
    base.write_text(textwrap.dedent(HEAD + ROUTE.replace("""\
        - node: trunk_l
""", """\
        - node: trunk_l
    - id: second
      style: solid
      start: 2010-03
      end: 2011-01
      segments:
        - node: root_r_missing
""").replace("root_r_missing", "root_l") + TIMELINE))
    alt = tmp_path / "alt.yaml"
    alt.write_text(textwrap.dedent("""\
        extends: case.yaml
        scenario:
          legend: {solid: another meaning}
          routes:
            - {id: second, remove: true}
            - id: down
              end: 2011-09
        timeline:
          stages:
            - {id: two, caption: Changed.}
            - {id: zero, title: Zero, start: 2010-06, caption: Inserted.}
        """))
    sp = load_scene(alt).spread
    assert [r.id for r in sp.routes] == ["down"]
    assert sp.route("down").end_day > load_scene(base).spread.route("down").end_day
    assert [s.id for s in sp.stages] == ["one", "zero", "two"]  # date order
    assert sp.stages[2].title == "Two" and sp.stages[2].caption == "Changed."
    assert sp.legend_text("solid") == "another meaning"
    assert [v.value for v in sp.record.values] == [0, 1.5]  # the record is inherited


def test_errors_in_a_merged_section_name_the_file_that_wrote_the_value(tmp_path):
    (tmp_path / "case.yaml").write_text(textwrap.dedent(HEAD + ROUTE + TIMELINE))
    alt = tmp_path / "alt.yaml"
    alt.write_text("extends: case.yaml\nscenario:\n  routes:\n    - id: down\n"
                   "      style: wavy\n")
    with pytest.raises(SceneError) as err:
        load_scene(alt)
    assert [str(p) for p in err.value.problems] == [
        f"{alt}:5: scenario.routes[0].style: expected one of solid, dashed, got string 'wavy'"]


def test_the_alternatives_state_only_what_differs():
    """The alternatives extend the case and are short; the case's record reaches them."""
    from app.case import SCENES_DIR

    case = load_scene(SCENES_DIR / "bilateral_plexopathy.yaml").spread
    for name in ("conus_route", "parallel_spread"):
        path = SCENES_DIR / f"{name}.yaml"
        assert "extends: bilateral_plexopathy.yaml" in path.read_text()
        assert len(path.read_text().splitlines()) < 140
        sp = load_scene(path).spread
        assert sp.record == case.record
        assert not {r.id for r in sp.routes} & {"bridge_right_s1", "bridge_right_s2"}
