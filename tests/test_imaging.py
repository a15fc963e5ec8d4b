"""Slabs, plane sections and the schematic MR panel: pure numpy, no renderer."""

from __future__ import annotations

import numpy as np
import pytest

from app.imaging.section import Plane, Sectioner, cut, fill
from app.model.mesh import TriMesh
from app.model.slab import LEVELS, Slab, SlabError, parse_slab


# -- slabs ---------------------------------------------------------------------------------
def test_named_level_comes_from_the_landmarks(case_scene):
    slab = parse_slab("axial:S1", case_scene.landmarks)
    level = LEVELS[("axial", "S1")]
    assert slab.level == "S1" and slab.orientation == "axial"
    assert slab.position == pytest.approx(level.position(case_scene.landmarks), abs=1e-3)
    # the S1 level cuts the sacral canal where the case's mass sits, and both S1 roots
    lo, hi = slab.bounds
    mass = case_scene.landmarks["sacral_canal_s1_s2"]
    assert lo - 7.0 < mass[2] < hi + 7.0
    for side in "lr":
        z = case_scene.nodes[f"ramus_s1_{side}"].path.centreline[:, 2]
        assert z.min() < slab.position < z.max()


def test_explicit_slab_and_round_trip():
    slab = parse_slab("axial:z=-40,thickness=4")
    assert (slab.orientation, slab.position, slab.thickness, slab.level) == ("axial", -40, 4, "")
    assert parse_slab(slab.spec()) == slab
    moved = slab.moved(2.5)
    assert moved.position == -37.5 and moved.bounds == (-39.5, -35.5)
    assert parse_slab("coronal:y=45").axis == 1
    assert parse_slab("sagittal:x=0,context=faint").context == "faint"


def test_landmark_as_level(case_scene):
    slab = parse_slab("axial:sacral_promontory", case_scene.landmarks)
    assert slab.position == pytest.approx(case_scene.landmarks["sacral_promontory"][2])


@pytest.mark.parametrize("text, words", [
    ("S1", "expected ORIENTATION:LEVEL"),
    ("oblique:S1", "unknown orientation 'oblique'"),
    ("axial:S9", "unknown level 'S9'"),
    ("axial:z=abc", "z must be a number of mm"),
    ("coronal:z=3", "a coronal slab is placed by y=MM"),
    ("axial:S1,thickness=0", "thickness 0 mm is out of range"),
    ("axial:S1,colour=red", "unknown option 'colour'"),
    ("axial:S1,context=dim", "expected hidden or faint"),
])
def test_bad_slab_texts_say_what_was_expected(case_scene, text, words):
    with pytest.raises(SlabError, match=words):
        parse_slab(text, case_scene.landmarks)


def test_level_needs_its_landmarks():
    with pytest.raises(SlabError, match="needs the landmark"):
        parse_slab("axial:S1", {})


# -- sections ------------------------------------------------------------------------------
def _box(lo: float, hi: float, inward: bool = False) -> TriMesh:
    """A closed cube as 12 triangles (outward wound, or inward)."""
    c = np.array([[x, y, z] for z in (lo, hi) for y in (lo, hi) for x in (lo, hi)], float)
    faces = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                      [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]])
    return TriMesh(c, faces[:, ::-1].copy() if inward else faces)


def _merge(*meshes: TriMesh) -> TriMesh:
    pts, faces, off = [], [], 0
    for m in meshes:
        pts.append(m.points)
        faces.append(m.faces + off)
        off += len(m.points)
    return TriMesh(np.vstack(pts), np.vstack(faces))


@pytest.mark.parametrize("inward", [False, True])
def test_section_of_a_hollow_box_ignores_winding(inward):
    """A box with a box-shaped cavity (the inner surface wound the other way, as a real hollow
    solid's is) cuts into an outer loop and a hole, whichever way the whole is wound."""
    outer = _box(-10, 10, inward=inward)
    inner = _box(-4, 4, inward=not inward)
    plane = Plane.for_slab("axial", 2, 0.5)
    sec = cut(_merge(outer, inner), plane)
    assert len(sec.loops) == 2 and sorted(sec.depth) == [0, 1] and sec.open_chains == 0
    assert sec.area() == pytest.approx(400 - 64)
    loops = sec.oriented_loops()
    areas = sorted(_signed(sec.points[lp]) for lp in loops)
    assert areas == pytest.approx([-64, 400])  # hole clockwise, outer counter-clockwise


def _signed(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def test_fast_sectioner_agrees_with_plain_cut(case_scene):
    ids = ["sacrum", "hip_l", "dural_sac", "ramus_s1_l"]
    sectioner = Sectioner({nid: case_scene.mesh(nid) for nid in ids})
    for z in (-30.0, -2.0, 5.0):
        plane = Plane.for_slab("axial", 2, z)
        for nid in ids:
            a = sectioner.cut(nid, plane, 2)
            b = cut(case_scene.mesh(nid), plane)
            assert a.area() == pytest.approx(b.area(), abs=1e-6)
            assert a.open_chains == 0


def test_every_solid_closes_under_a_cut(case_scene):
    """Each closed surface of the case cuts into closed loops at the S1 level (caps need it)."""
    plane = Plane.for_slab("axial", 2, parse_slab("axial:S1", case_scene.landmarks).position)
    cut_any = 0
    for node in case_scene.drawable():
        sec = cut(case_scene.mesh(node.id), plane)
        if sec.empty:
            continue
        cut_any += 1
        assert sec.open_chains == 0 and sec.loops, node.id
        assert sec.area() > 0, node.id
    assert cut_any >= 5


def test_fill_matches_the_area():
    ang = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    circle = np.column_stack([50 + 30 * np.cos(ang), 50 + 30 * np.sin(ang)])
    hole = np.column_stack([50 + 10 * np.cos(ang), 50 + 10 * np.sin(ang)])
    pts = np.vstack([circle, hole])
    idx = np.arange(200)
    segs = np.vstack([np.column_stack([idx, np.roll(idx, -1)]),
                      200 + np.column_stack([idx, np.roll(idx, -1)])])
    mask = fill(pts, segs, (100, 100))
    assert mask.sum() == pytest.approx(np.pi * (900 - 100), rel=0.02)
    assert not mask[50, 50] and mask[50, 70] and not mask[5, 5]


# -- the MR panel --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def panel(case_scene):
    from app.imaging.panel import MRPanel

    return MRPanel(case_scene)


def _draw(panel, scene, date, spec="axial:S1", **kw):
    slab = parse_slab(spec, scene.landmarks)
    return panel.draw(slab, scene.spread.state_at(scene.spread.time_of_date(date)), **kw)


def _canal(picture) -> float:
    """Mean grey of a disc of 4 mm around the dural sac's centre: CSF dark, a mass bright."""
    x, y = picture.centres["dural_sac"]
    r = 4.0 / picture.mm_per_px
    ys, xs = np.mgrid[0:picture.image.shape[0], 0:picture.image.shape[1]]
    disc = np.hypot(xs + 0.5 - x, ys + 0.5 - y) <= r
    return float(picture.image[disc].mean())


def test_s1_panel_follows_the_case(panel, case_scene):
    """At S1: the left S1 ramus bright and the right dark in March 2012; both bright in April
    2014; the sacral canal dark (CSF) in March 2012 and filled by the mass in August 2013."""
    mar12 = _draw(panel, case_scene, "2012-03")
    aug13 = _draw(panel, case_scene, "2013-08")
    apr14 = _draw(panel, case_scene, "2014-04")
    bright, dark = 200, 130
    assert mar12.probe_node("ramus_s1_l") > bright
    assert mar12.probe_node("ramus_s1_r") < dark
    assert apr14.probe_node("ramus_s1_l") > bright
    assert apr14.probe_node("ramus_s1_r") > bright
    assert _canal(mar12) < 90
    assert _canal(aug13) > 170
    # radiological convention: the patient's left on the image's right, anterior up
    w = mar12.image.shape[1]
    assert mar12.centres["ramus_s1_l"][0] > w / 2 > mar12.centres["ramus_s1_r"][0]
    sac_y = mar12.centres["dural_sac"][1]
    lst_y = mar12.centres["lumbosacral_trunk_l"][1]
    assert lst_y < sac_y  # the lumbosacral trunk lies in front of the canal


def test_involved_nerves_are_enlarged(panel, case_scene):
    """A nerve's section grows with its involvement: count the bright pixels around it."""
    mar12 = _draw(panel, case_scene, "2012-03", labels=False)
    apr14 = _draw(panel, case_scene, "2014-04", labels=False)

    def bright_area(picture, nid):
        x, y = picture.centres[nid]
        r = int(12 / picture.mm_per_px)
        patch = picture.image[int(y) - r:int(y) + r, int(x) - r:int(x) + r, 0]
        return int((patch > 180).sum())

    assert bright_area(mar12, "ramus_s1_r") == 0
    assert bright_area(apr14, "ramus_s1_r") > 0.8 * bright_area(apr14, "ramus_s1_l") > 0
    assert apr14.enhancement["ramus_s1_r"] == pytest.approx(1.0)


def test_sciatic_notch_panel(panel, case_scene):
    mar12 = _draw(panel, case_scene, "2012-03", "axial:sciatic_notch")
    apr14 = _draw(panel, case_scene, "2014-04", "axial:sciatic_notch")
    assert mar12.probe_node("sciatic_l") > 200 and mar12.probe_node("sciatic_r") < 130
    assert apr14.probe_node("sciatic_r") > 200


def test_labels_toggle_and_furniture(panel, case_scene):
    on = _draw(panel, case_scene, "2012-03", size=(400, 400))
    off = _draw(panel, case_scene, "2012-03", size=(400, 400), labels=False)
    assert on.image.shape == (400, 400, 3)
    label_ink = (np.abs(on.image.astype(int) - off.image.astype(int)).max(axis=2) > 60).mean()
    assert label_ink > 0.002  # labels add ink
    # the watermark and scale bar sit at the bottom on both
    assert (off.image[-40:].max(axis=2) > 200).sum() > 100


def test_panel_without_a_spread(base_scene):
    from app.imaging.panel import MRPanel

    picture = MRPanel(base_scene).draw(parse_slab("axial:S1", base_scene.landmarks), None,
                                       size=(256, 256))
    assert picture.date == "" and picture.image.shape == (256, 256, 3)
    assert picture.probe_node("ramus_s1_l") < 130  # nothing enhances without a spread


def test_slab_dataclass_json():
    slab = Slab("coronal", 45.0, 3.0)
    data = slab.to_json()
    assert data["spec"] == "coronal:y=45,thickness=3"
    assert parse_slab(data["spec"]) == slab
