"""Imaging findings and slab presets on the timeline: parsed once, errors with FILE:LINE."""

from __future__ import annotations

import string
import textwrap

import pytest

from app.case import load_scene
from app.errors import SceneError
from app.model.slab import parse_slab

SCENE = """\
name: tiny
nodes:
  - {id: root_l, kind: nerve, side: left, centreline: [[10, 0, 0], [30, 0, -20]], radius: 2}
  - {id: sac, kind: nerve, centreline: [[0, 0, 40], [0, 0, -20]], radius: 5}
landmarks:
  sacral_canal_s1_s2: [0, 40, 0]
scenario:
  legend: {solid: along the nerve}
  routes:
    - {id: down, style: solid, start: 2010-02, end: 2011-06, segments: [{node: root_l}]}
timeline:
  keyframes:
    - {time: 0, date: 2010-01}
    - {time: 10, date: 2012-01}
  stages:
    - {id: one, title: One, start: 2010-01, caption: First.}
  findings:
    - id: scan
      date: $date
      modality: $modality
      slab: $slab
      enlarged: [$node]
      figure: Fig. 9
      text: The root is thick.
$extra"""


def scene_text(date="2011-03", modality="MRI", slab="axial:S1", node="root_l", extra=""):
    return string.Template(SCENE).substitute(date=date, modality=modality, slab=slab, node=node,
                                             extra=extra)


def load(tmp_path, text: str):
    path = tmp_path / "scene.yaml"
    path.write_text(textwrap.dedent(text))
    return load_scene(path)


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(SceneError) as err:
        load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def test_a_finding_parses(tmp_path):
    spread = load(tmp_path, scene_text()).spread
    (finding,) = spread.findings
    assert (finding.id, finding.modality, finding.slab, finding.figure) == (
        "scan", "MRI", "axial:S1", "Fig. 9")
    assert finding.enlarged == ("root_l",) and finding.enhancing == ()
    assert spread.findings_on(finding.day) == (finding,)
    assert spread.findings_on(finding.day + 40) == ()


@pytest.mark.parametrize("kw, line, words", [
    ({"modality": "CT"}, 20, "expected one of MRI, PET"),
    ({"slab": "axial:S7"}, 21, "unknown level 'S7'"),
    ({"slab": "axial:S2"}, 21, "level S2 needs the landmark(s) anterior_foramen_s2_l"),
    ({"node": "nowhere"}, 22, "unknown node 'nowhere'"),
    ({"date": "2013-02"}, 19, "finding date 2013-02-01 is outside the timeline"),
    ({"extra": "      colour: red\n"}, 25, "unknown key 'colour'"),
    ({"extra": "    - {id: scan, date: 2011-04, modality: PET, slab: 'axial:z=0', text: x}\n"},
     25, "duplicate finding id 'scan'"),
])
def test_bad_findings_name_file_line_and_field(tmp_path, kw, line, words):
    found = problems(tmp_path, scene_text(**kw))
    assert any(f"scene.yaml:{line}:" in p and words in p for p in found), found
    assert any("timeline.findings" in p for p in found), found


def test_slab_presets(tmp_path):
    extra = ("  slab_presets:\n"
             "    - {id: fig3, label: 'Fig. 3: axial at S1', slab: 'axial:S1'}\n"
             "    - {id: low, label: Low, slab: 'axial:z=-40,thickness=4'}\n")
    spread = load(tmp_path, scene_text(extra=extra)).spread
    assert [p.label for p in spread.slab_presets] == ["Fig. 3: axial at S1", "Low"]
    bad = extra.replace("axial:z=-40,thickness=4", "axial:z=-40,thickness=-4")
    found = problems(tmp_path, scene_text(extra=bad))
    assert any("scene.yaml:27:" in p and "thickness -4 mm is out of range" in p
               for p in found), found


def test_the_case_lists_its_scans(case_scene):
    """The case's MRI and PET findings, in date order, on slabs the scene can place, with the
    presets of the paper's Figures 2 and 3."""
    spread = case_scene.spread
    dates = [f.date for f in spread.findings]
    assert dates == sorted(dates)
    assert {f.modality for f in spread.findings} == {"MRI", "PET"}
    by_id = {f.id: f for f in spread.findings}
    assert by_id["mri_2012_s1"].slab == "axial:S1" and by_id["mri_2012_s1"].figure == "Fig. 3A"
    assert "ramus_s1_l" in by_id["mri_2012_s1"].enhancing
    assert "ramus_s1_r" not in by_id["mri_2012_s1"].enhancing
    assert by_id["mri_2013_s1"].figure == "Fig. 3B"
    for f in spread.findings:
        parse_slab(f.slab, case_scene.landmarks)
    labels = {p.label: p.slab for p in spread.slab_presets}
    assert labels == {"Fig. 3: axial at S1": "axial:S1",
                      "Fig. 2: axial at the sciatic notch": "axial:sciatic_notch"}


def test_findings_agree_with_the_spread(case_scene):
    """Each nerve a finding calls enhancing is involved in the model by the finding's date
    (the animation and the imaging tell one story)."""
    spread = case_scene.spread
    for f in spread.findings:
        state = spread.state_at(spread.keyframes.time_of_day(f.day))
        for nid in f.enhancing:
            if nid == "dural_sac":
                continue  # a rim of the sac, not a length of nerve
            assert state.involvement(nid) > 0, (f.id, nid)
