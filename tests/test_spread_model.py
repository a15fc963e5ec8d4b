"""The spread model without a renderer: determinism, monotony, the case's dated findings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_spread_support import load_synthetic

from app.spread.calendar import SpreadTimeError
from app.spread.routes import nearest_u

DATES = ("2011-06", "2012-03", "2013-08", "2013-11", "2014-04")
ALTERNATIVES = ("parallel_spread.yaml", "conus_route.yaml")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The case scenario on the synthetic network."""
    return load_synthetic(tmp_path_factory.mktemp("case"))


@pytest.fixture(scope="module")
def real_case():
    """The case scene on the project's anatomy (skipped until that anatomy exists)."""
    from app.case import DEFAULT_SCENE, load_scene

    base = DEFAULT_SCENE.parent / "base_anatomy.yaml"
    if not base.exists():
        pytest.skip(f"{base.name} not there yet")
    return load_scene(DEFAULT_SCENE)


@pytest.fixture(params=["synthetic", "anatomy"])
def scene(request, case):
    if request.param == "synthetic":
        return case
    return request.getfixturevalue("real_case")


def at(scene, date):
    return scene.spread.state_at(scene.spread.time_of_date(date))


def times(spread, n=241):
    return np.linspace(0.0, spread.duration, n)


# -- determinism ------------------------------------------------------------------------------
def test_state_is_frozen_and_deterministic(scene):
    sp = scene.spread
    a, b = sp.state_at(17.25), sp.state_at(17.25)
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.time = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.nodes["sciatic_l"] = None  # type: ignore[index]


def test_seeking_backwards_equals_playing_forwards(scene):
    sp = scene.spread
    ts = times(sp, 97)
    forward = [sp.state_at(t) for t in ts]
    backward = [sp.state_at(t) for t in ts[::-1]][::-1]
    shuffled_order = np.random.default_rng(3).permutation(len(ts))
    shuffled = {int(i): sp.state_at(ts[i]) for i in shuffled_order}
    assert forward == backward
    assert forward == [shuffled[i] for i in range(len(ts))]


def test_involvement_never_decreases(scene):
    sp = scene.spread
    states = [sp.state_at(t) for t in times(sp)]
    for nid in sp.centrelines:
        inv = np.array([s.involvement(nid) for s in states])
        assert np.all(np.diff(inv) >= 0), nid
        assert inv.min() >= 0 and inv.max() <= 1
    for i, r in enumerate(sp.routes):
        prog = np.array([s.routes[i].progress for s in states])
        assert np.all(np.diff(prog) >= -1e-12), r.id
    for i in range(len(sp.masses)):
        radius = np.array([s.masses[i].radius for s in states])
        assert np.all(np.diff(radius) >= 0)


def test_arrival_matches_involvement(scene):
    """A node point counts as involved exactly when its arrival time has passed."""
    sp = scene.spread
    for nid in sp.involved_nodes():
        arrival = sp.arrival(nid)
        assert arrival.shape == (len(sp.centrelines[nid]),)
        first = sp.first_arrival(nid)
        assert np.isfinite(first)
        assert sp.involvement(nid, first - 1e-6) == 0.0
        assert sp.involvement(nid, first + 1e-3) > 0.0


def test_surface_arrival_from_u(scene):
    sp = scene.spread
    u = np.linspace(0, 1, 11)
    got = sp.arrival_for_u("sciatic_l", u)
    assert np.all(np.isfinite(got))
    assert np.all(np.diff(got) > 0), "the front runs down the sciatic nerve, proximal to distal"
    assert np.all(np.isinf(sp.arrival_for_u("ramus_s4_r", u))), "never reached"


# -- the case's dates (CASE.md) -----------------------------------------------------------------
def test_left_before_right(scene):
    sp = scene.spread
    for nid in sp.centrelines:
        if not nid.endswith("_l"):
            continue
        twin = nid[:-2] + "_r"
        left, right = sp.first_arrival(nid), sp.first_arrival(twin)
        if np.isfinite(right):
            assert left < right, nid
    first_left = min(sp.first_arrival(n) for n in sp.centrelines if n.endswith("_l"))
    first_right = min(sp.first_arrival(n) for n in sp.centrelines if n.endswith("_r"))
    assert first_left < first_right


def test_2011_06_left_only_starting(scene):
    s = at(scene, "2011-06")
    assert s.involvement("sacral_plexus_l") > 0
    assert s.involvement("sciatic_l") > 0
    assert s.involvement("dural_sac") == 0
    assert all(s.involvement(n) == 0 for n in s.nodes if n.endswith("_r"))


def test_2012_03_left_sciatic_s1_s2_and_dura_only_touched(scene):
    s = at(scene, "2012-03")
    for nid in ("sciatic_l", "ramus_s1_l", "ramus_s2_l"):
        assert s.involvement(nid) > 0.95, nid
    assert 0 < s.involvement("dural_sac") < 0.1
    mass = {m.id: m for m in s.masses}["sacral_canal_mass"]
    assert not mass.visible, "rim enhancement, no mass yet"
    assert all(s.involvement(n) == 0 for n in s.nodes if n.endswith("_r"))
    assert s.stage.id == "left_mri"


def test_2013_08_sacral_canal_mass_and_right_untouched(scene):
    s = at(scene, "2013-08")
    mass = {m.id: m for m in s.masses}["sacral_canal_mass"]
    assert mass.radius >= 6
    assert s.involvement("lumbosacral_trunk_l") > 0.95
    assert s.involvement("dural_sac") > at(scene, "2012-03").involvement("dural_sac")
    assert all(s.involvement(n) == 0 for n in s.nodes if n.endswith("_r"))
    assert all(r.progress == 0 for r in s.routes if r.style == "dashed")


def test_2013_11_right_side_reached(scene):
    s = at(scene, "2013-11")
    assert s.involvement("ramus_s1_r") > 0.95
    assert s.involvement("sciatic_r") > 0
    assert any(r.progress > 0 for r in s.routes if r.style == "dashed")


def test_2014_04_presentation(scene):
    s = at(scene, "2014-04")
    for nid in ("ramus_s2_l", "ramus_s2_r", "ramus_s3_l", "ramus_s3_r", "ramus_l4_l",
                "ramus_l5_l", "ramus_s1_l", "ramus_s1_r", "sciatic_l", "sciatic_r"):
        assert s.involvement(nid) > 0.95, nid
    for nid in ("ramus_l4_r", "ramus_l5_r", "ramus_s4_r", "pelvic_splanchnic_r"):
        assert s.involvement(nid) == 0, nid
    assert s.stage.id == "presentation" and s.psa == 5.0


def test_dashed_routes_cross_midline_only_inside_dural_sac(scene):
    sp = scene.spread
    sac = scene.nerves()["dural_sac"]
    dashed = [r for r in sp.routes if r.style == "dashed"]
    assert dashed
    for r in dashed:
        x = r.path[:, 0]
        crossings = []
        for i in range(len(x) - 1):
            a, b = x[i], x[i + 1]
            if a == 0:
                crossings.append(r.path[i])
            elif a * b < 0:
                w = a / (a - b)
                crossings.append(r.path[i] + w * (r.path[i + 1] - r.path[i]))
        assert crossings, f"{r.id} should cross the midline"
        for p in crossings:
            _, d = nearest_u(sac.centreline, p)
            assert d <= sac.radius + 0.5, f"{r.id} crosses the midline {d:.1f} mm from the sac"
    for r in sp.routes:
        if r.style == "solid":
            side = np.sign(r.path[np.abs(r.path[:, 0]) > 1.0, 0])
            assert len(set(side)) <= 1, f"solid route {r.id} changes side"


# -- time and dates -----------------------------------------------------------------------------
def test_dates_round_trip(case):
    sp = case.spread
    assert sp.duration > 0
    assert sp.date_of_time(0) == "2008-05-01"
    assert sp.date_of_time(sp.time_of_date("2013-11-01")) == "2013-11-01"
    assert sp.time_of_date("2012-03") == sp.time_of_date("2012-03-01")
    assert sp.state_at(sp.time_of_date("2014-04")).date == "2014-04-01"


@pytest.mark.parametrize("bad", ["2007-01", "2030-01-01", "2012-13", "2012-02-30", "March",
                                 "2012/03", ""])
def test_bad_dates_are_clear_errors(case, bad):
    with pytest.raises(SpreadTimeError) as err:
        case.spread.time_of_date(bad)
    assert "date" in str(err.value) or "YYYY" in str(err.value)


@pytest.mark.parametrize("bad", [-1.0, 1e9, float("nan"), "soon"])
def test_bad_times_are_clear_errors(case, bad):
    with pytest.raises(SpreadTimeError):
        case.spread.check_time(bad)


def test_stages_cover_the_timeline(case):
    sp = case.spread
    stages = sp.stages
    assert stages[0].start_day == sp.keyframes.first_day
    for a, b in zip(stages, stages[1:], strict=False):
        assert a.end_day <= b.start_day
    for s in stages:
        assert s.caption and s.title
    sources = " ".join(s.source for s in stages)
    assert "Fig. 5" in sources and "Video 1" in sources


# -- the alternatives -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALTERNATIVES)
def test_alternatives_load_and_play(tmp_path, name):
    scene = load_synthetic(tmp_path, name)
    sp = scene.spread
    states = [sp.state_at(t) for t in times(sp, 61)]
    assert states[-1].stage is not None
    assert any(v.involvement > 0 for v in states[-1].nodes.values())
    assert "less likely" in " ".join(s.caption for s in sp.stages).lower()
    for nid in sp.centrelines:
        inv = [s.involvement(nid) for s in states]
        assert inv == sorted(inv)


def test_parallel_spread_has_no_dural_bridge(tmp_path):
    sp = load_synthetic(tmp_path, "parallel_spread.yaml").spread
    assert all(r.style == "solid" for r in sp.routes)
    assert all(c.node != "dural_sac" for r in sp.routes for c in r.coverage
               if r.id.endswith("_r") or "right" in r.id)
    assert np.isfinite(sp.first_arrival("pelvic_splanchnic_r"))
    assert sp.first_arrival("pelvic_splanchnic_l") < sp.first_arrival("pelvic_splanchnic_r")


def test_conus_route_goes_through_the_conus(tmp_path):
    scene = load_synthetic(tmp_path, "conus_route.yaml")
    sp = scene.spread
    conus = scene.landmarks["conus_medullaris"]
    dashed = [r for r in sp.routes if r.style == "dashed"]
    assert dashed
    assert min(np.linalg.norm(r.path - conus, axis=1).min() for r in sp.routes) < 10
    assert np.isfinite(sp.first_arrival("cauda_equina"))


@pytest.mark.parametrize("name", ["bilateral_plexopathy.yaml", *ALTERNATIVES])
def test_routes_follow_the_nerves_of_the_anatomy(name):
    """On the project's anatomy, routes run along nerves: no long straight jumps between
    segments (only the first step, from the prostate bed to its plexus, may bridge tissue)."""
    from app.case import SCENES_DIR, load_scene

    if not (SCENES_DIR / "base_anatomy.yaml").exists():
        pytest.skip("base_anatomy.yaml not there yet")
    scene = load_scene(SCENES_DIR / name)
    for r in scene.spread.routes:
        steps = np.linalg.norm(np.diff(r.path, axis=0), axis=1)
        assert steps[0] <= 30, r.id
        assert steps[1:].max() <= 15, (r.id, float(steps[1:].max()))
