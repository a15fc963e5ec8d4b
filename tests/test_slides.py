"""3D slides: a GLB (PowerPoint, the web) and a USDZ (Keynote) that play the spread.

Three tiers here (the browser tier is tests/e2e/test_glb_three.py):

- the slide model on the case, in-process: sleeves, arrows, heads and masses against
  ``Spread.state_at`` and the renderer's own arrowhead matrices;
- the CLI as a user runs it: sizes, the printed time <-> date mapping read back from the GLB,
  bad input, no half-written files;
- the files checked by their own tools: the Khronos glTF validator (node) and USD's
  ``UsdUtils.ComplianceChecker(arkit=True)``, each also shown a broken file so that a check
  that checks nothing would fail.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.export.gltf import accessor_array, glb_bytes, read_glb
from app.export.slides import (
    AXES,
    BAND_MM,
    SlideOptions,
    Track,
    build_slide,
    clip_linear,
    quat_from_y,
    switch_track,
    to_slide,
)
from app.spread.calendar import format_day, parse_day
from app.spread.routes import arc_length
from tests.conftest import ROOT, run_cli

MAX_BYTES = 8_000_000  # the issue's limit per file, for the case with the built-in anatomy
GLB_PAGE = ROOT / "tests" / "e2e" / "glb_page"
USD_PLUGINS = ROOT / "tests" / "usd_plugins" / "usdShaders" / "resources"
MOMENT_RE = re.compile(r"^\s+(\d+\.\d+) s = (\d{4}-\d{2}-\d{2})")


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slide(case_scene):
    return build_slide(case_scene)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The case exported by the CLI: {suffix: (path, stderr)}."""
    d = tmp_path_factory.mktemp("slides")
    out = {}
    for suffix in (".glb", ".usdz"):
        path = d / f"case{suffix}"
        r = run_cli("export", "-o", str(path))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(path)
        out[suffix] = (path, r.stderr)
    return out


def items_of(slide, kind: str):
    return [it for it in slide.items if it.extras.get("kind") == kind]


def value_at(item, path: str, tau: float) -> np.ndarray:
    for tr in item.tracks:
        if tr.path == path:
            return tr.at(tau)
    return np.asarray(getattr(item, path), float)


def shown(item, tau: float) -> bool:
    return bool(np.prod(value_at(item, "scale", tau)) != 0)


def printed_moments(stderr: str) -> list[tuple[float, str]]:
    return [(float(m.group(1)), m.group(2)) for m in map(MOMENT_RE.match, stderr.splitlines())
            if m]


def node_exe() -> str:
    """node, with the validator installed; skip without node, fail without the packages."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the glTF validator runs on node)")
    if not (GLB_PAGE / "node_modules" / "gltf-validator").is_dir():
        pytest.fail(f"{GLB_PAGE}/node_modules is missing: run `npm ci` in {GLB_PAGE} "
                    "(.ci/run does this)")
    return node


def validate_glb(path: Path) -> dict:
    r = subprocess.run([node_exe(), "validate.mjs", str(path)], cwd=GLB_PAGE,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


USD_CHECK = r"""
import json, sys
from pxr import Sdr, Tf, UsdUtils
try:
    registry = Sdr.Registry()
except Tf.ErrorException as exc:
    # usd-core ships usdHydra's discovery plugin without the deprecated hydra shaders it looks
    # for; its complaint is harmless, and the registry is built all the same
    if "usdHydra" not in str(exc):
        raise
    registry = Sdr.Registry()
known = bool(registry.GetShaderNodeByIdentifier("UsdPreviewSurface"))
checker = UsdUtils.ComplianceChecker(arkit=True, skipARKitRootLayerCheck=False,
                                     rootPackageOnly=False, skipVariants=False, verbose=False)
checker.CheckCompliance(sys.argv[1])
print(json.dumps({"shader_known": known, "errors": checker.GetErrors(),
                  "failed": checker.GetFailedChecks(), "warnings": checker.GetWarnings()}))
"""


def usd_compliance(path: Path) -> dict:
    """USD's ARKit compliance check in a fresh process that knows UsdPreviewSurface."""
    # one worker thread: shader discovery's errors then always reach Python the same way (with
    # more, usdHydra's complaint is raised only when its plugin happens to run on the main thread)
    env = dict(os.environ, PXR_PLUGINPATH_NAME=str(USD_PLUGINS), PXR_WORK_THREAD_LIMIT="1")
    r = subprocess.run([sys.executable, "-c", USD_CHECK, str(path)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


# -- the pieces ----------------------------------------------------------------------------------
def test_axes_are_metres_y_up_front_on_z():
    assert np.isclose(np.linalg.det(AXES), 1.0)  # a rotation: nothing mirrored
    assert np.allclose(to_slide([[1000.0, 0, 0]]), [[1, 0, 0]])  # patient's left -> +X
    assert np.allclose(to_slide([[0, 0, 1000.0]]), [[0, 1, 0]])  # superior -> +Y (up)
    assert np.allclose(to_slide([[0, -1000.0, 0]]), [[0, 0, 1]])  # anterior -> +Z (front)


def test_quaternions_turn_y_onto_a_direction():
    rng = np.random.default_rng(3)
    for d in [*rng.normal(size=(20, 3)), (0, -1, 0), (0, 1, 0)]:
        d = np.asarray(d, float) / np.linalg.norm(d)
        x, y, z, w = quat_from_y(d)
        # rotate +Y by q: the second column of the rotation matrix
        col = np.array([2 * (x * y - z * w), 1 - 2 * (x * x + z * z), 2 * (y * z + x * w)])
        assert np.allclose(col, d, atol=1e-9)


def test_switch_and_linear_tracks():
    t = switch_track([(2.0, 5.0)], 10.0)
    assert isinstance(t, Track) and t.step
    assert [t.at(x)[0] for x in (0, 1.99, 2.0, 4.99, 5.0, 10)] == [0, 0, 1, 1, 0, 0]
    assert switch_track([(-3.0, float("inf"))], 10.0) is True  # on before the clip starts
    assert switch_track([(11.0, float("inf"))], 10.0) is False  # after it ends
    lin = clip_linear(np.array([-2.0, 2.0, 20.0]), np.array([[0.0] * 3, [4.0] * 3, [22.0] * 3]),
                      10.0, "scale")
    assert lin.times[0] == 0 and lin.times[-1] == 10
    assert np.allclose(lin.at(0)[0], 2.0) and np.allclose(lin.at(10)[0], 12.0)
    const = clip_linear(np.array([-5.0, -1.0]), np.array([[1.0] * 3, [3.0] * 3]), 10.0, "scale")
    assert np.allclose(const, 3.0)  # all keys before the clip: a constant, no track


# -- the slide model against state_at -------------------------------------------------------------
def test_sleeves_show_what_state_at_says_to_within_one_segment(case_scene, slide):
    """At 80 moments, each nerve's shown sleeve covers its involved fraction +- one band."""
    sp, tm = case_scene.spread, slide.timemap
    bands = {n: max(1, round(arc_length(sp.centrelines[n])[-1] / BAND_MM))
             for n in sp.involved_nodes()}
    sleeves = items_of(slide, "sleeve")
    assert {it.extras["sleeve_of"] for it in sleeves} == set(sp.involved_nodes())
    worst = 0.0
    for t in np.linspace(sp.start_time, sp.duration, 80):
        state = sp.state_at(t)
        cover: dict[str, float] = {}
        for it in sleeves:
            if shown(it, float(tm.to_clip(t))):
                u0, u1 = it.extras["u"]
                cover[it.extras["sleeve_of"]] = cover.get(it.extras["sleeve_of"], 0.0) + u1 - u0
        for node_id in case_scene.spread.centrelines:
            err = (cover.get(node_id, 0.0) - state.involvement(node_id)) * bands.get(node_id, 1)
            worst = max(worst, abs(err))
            assert abs(err) <= 1.0, (t, node_id, cover.get(node_id), state.involvement(node_id))
    assert worst > 0.2  # the check sees the half-band steps, so it could fail


@pytest.mark.parametrize("name", ["conus_route", "parallel_spread"])
def test_the_alternative_scenarios_follow_their_own_state_at(name):
    from app.case import load_scene, resolve_scene_path

    scene = load_scene(resolve_scene_path(name))
    sp = scene.spread
    built = build_slide(scene)
    sleeves = items_of(built, "sleeve")
    for t in np.linspace(sp.start_time, sp.duration, 15):
        state = sp.state_at(t)
        tau = float(built.timemap.to_clip(t))
        for node_id in sp.involved_nodes():
            cover = sum(it.extras["u"][1] - it.extras["u"][0] for it in sleeves
                        if it.extras["sleeve_of"] == node_id and shown(it, tau))
            one_band = 1.0 / max(1, round(arc_length(sp.centrelines[node_id])[-1] / BAND_MM))
            assert abs(cover - state.involvement(node_id)) <= one_band + 1e-6, (
                name, t, node_id)


def test_the_front_runs_ahead_of_the_involved_colour(case_scene, slide):
    """While a nerve fills, the bands at its leading end are the leading-edge ones."""
    sp, tm = case_scene.spread, slide.timemap
    t = sp.time_of_date("2012-11-01")  # the left lumbosacral trunk is filling
    tau = float(tm.to_clip(t))
    on = [it for it in items_of(slide, "sleeve")
          if it.extras["sleeve_of"] == "lumbosacral_trunk_l" and shown(it, tau)]
    front = [it.extras["u"][1] for it in on if it.extras["phase"] == "front"]
    calm = [it.extras["u"][1] for it in on if it.extras["phase"] == "involved"]
    assert front and calm
    # the front bands lead at one end of the run (this trunk fills from u = 1 toward 0)
    assert min(front) > max(calm) or max(front) < min(calm)
    assert 0 < sp.state_at(t).involvement("lumbosacral_trunk_l") < 1


def test_arrows_grow_with_their_fronts(case_scene, slide):
    from app.render.spread_layer import DASH, GAP

    sp, tm = case_scene.spread, slide.timemap
    segments = items_of(slide, "arrow")
    for t in np.linspace(sp.start_time, sp.duration, 40):
        tau = float(tm.to_clip(t))
        for rs in sp.state_at(t).routes:
            mine = [it for it in segments if it.extras["route"] == rs.id]
            reach = 0.0
            for it in mine:
                y = value_at(it, "scale", tau)[1]
                if y > 0:
                    s0, s1 = it.extras["s"]
                    reach = max(reach, s0 + (s1 - s0) * min(1.0, y / it.extras["length_m"]))
            tol = (DASH + GAP) if rs.style == "dashed" else 4.5  # a dash period, a segment
            if not rs.started:
                assert reach == 0.0, (t, rs.id)
            else:
                assert abs(reach - rs.front_s) <= tol, (t, rs.id, reach, rs.front_s)


def test_masses_swell_exactly_as_the_model_says(case_scene, slide):
    sp, tm = case_scene.spread, slide.timemap
    masses = {it.extras["mass"]: it for it in items_of(slide, "mass")}
    assert set(masses) == {m.id for m in sp.masses}
    for t in np.linspace(sp.start_time, sp.duration, 97):
        for ms in sp.state_at(t).masses:
            got = value_at(masses[ms.id], "scale", float(tm.to_clip(t)))
            assert np.allclose(got, ms.radius / 1000.0, atol=2e-6), (t, ms.id)


def test_arrowheads_sit_where_the_renderer_draws_them(case_scene, slide):
    """Head positions against SpreadLayer.uniforms (the matrices VTK and vtk.js apply)."""
    from app.render.scene_view import SceneView, make_plotter
    from app.render.spread_layer import SpreadLayer

    sp, tm = case_scene.spread, slide.timemap
    plotter = make_plotter((64, 64))
    try:
        layer = SpreadLayer(SceneView(case_scene, plotter, node_ids=[]), sp)
        heads = {it.extras["route"]: it for it in items_of(slide, "head")}
        for t in np.linspace(sp.start_time, sp.duration, 40):
            u = layer.uniforms(sp.state_at(t))
            for rid, h in u["heads"].items():
                tau = float(tm.to_clip(t))
                assert shown(heads[rid], tau) == h["visible"], (t, rid)
                if not h["visible"]:
                    continue
                m = np.asarray(h["matrix"]).reshape(4, 4)
                want = to_slide(m[:3, 3][None])[0]
                got = value_at(heads[rid], "translation", tau)
                assert np.linalg.norm(got - want) < 1.5e-3, (t, rid)  # metres
    finally:
        plotter.close()


def test_nodes_are_named_by_scene_id_with_human_names(case_scene, slide):
    names = {it.name: it for it in slide.items}
    for node in case_scene.drawable():
        assert names[node.id].label == node.name
        assert names[node.id].extras["name"] == node.name
    assert names["ramus_s1_l"].label == "Left S1 ventral ramus"
    no_organs = build_slide(case_scene, SlideOptions(organs=False))
    kept = {it.name for it in no_organs.items}
    assert {"bladder", "prostate", "rectum", "organs"}.isdisjoint(kept)
    assert {"sacrum", "ramus_s1_l", "dural_sac", "piriformis_l"} <= kept


# -- the files -----------------------------------------------------------------------------------
def test_export_prints_the_mapping_and_the_glb_round_trips(case_scene, exported):
    path, stderr = exported[".glb"]
    assert path.stat().st_size <= MAX_BYTES
    moments = printed_moments(stderr)
    assert moments[0] == (0.0, "2008-05-01") and moments[-1] == (58.0, "2014-09-01")
    assert (52.0, "2014-04-01") in moments
    doc, blob = read_glb(path)
    (anim,) = doc["animations"]
    ends = [max(doc["accessors"][s["input"]]["max"]) for s in anim["samplers"]]
    assert max(ends) == pytest.approx(58.0)  # what three.js and PowerPoint take as its length
    stored = [(m["time"], m["date"]) for m in anim["extras"]["moments"]]
    assert [d for _, d in stored] == [d for _, d in moments]
    assert np.allclose([t for t, _ in stored], [t for t, _ in moments], atol=5e-4)  # printed %.3f

    # Every sleeve's switch-on time, read as a date through the printed mapping alone,
    # is the day the spread model says tumour reaches that band's middle.
    sp = case_scene.spread
    times = np.array([t for t, _ in moments])
    days = np.array([parse_day(d) for _, d in moments])
    nodes = doc["nodes"]
    checked = 0
    for ch in anim["channels"]:
        node = nodes[ch["target"]["node"]]
        extras = node.get("extras", {})
        if extras.get("phase") != "front" or ch["target"]["path"] != "scale":
            continue
        sampler = anim["samplers"][ch["sampler"]]
        keys = accessor_array(doc, blob, sampler["input"])
        values = accessor_array(doc, blob, sampler["output"])
        on = float(keys[np.flatnonzero(values[:, 0] > 0)[0]])
        assert on > 0  # with the whole timeline, every front starts inside the clip
        day = float(np.interp(on, times, days))
        u_mid = sum(extras["u"]) / 2
        want = float(sp.arrival_days(extras["sleeve_of"], np.array([u_mid]))[0])
        assert abs(day - want) < 1.0, (node["name"], format_day(day), format_day(want))
        checked += 1
    assert checked > 200


def test_a_range_and_a_duration_stretch_the_clip(tmp_path):
    out = tmp_path / "part.glb"
    r = run_cli("export", "-o", str(out), "--from", "2013-08", "--to", "2014-04",
                "--duration", "12", "--no-organs")
    assert r.returncode == 0, r.stderr
    moments = printed_moments(r.stderr)
    assert moments == [(0.0, "2013-08-01"), (6.0, "2013-11-01"), (12.0, "2014-04-01")]
    doc, _ = read_glb(out)
    (anim,) = doc["animations"]
    assert max(max(doc["accessors"][s["input"]]["max"]) for s in anim["samplers"]) == 12.0
    names = {n["name"] for n in doc["nodes"]}
    assert "bladder" not in names and "sacrum" in names


def test_files_stay_under_8_mb(exported):
    for path, _ in exported.values():
        assert 100_000 < path.stat().st_size <= MAX_BYTES, path


def test_the_khronos_validator_finds_no_errors(exported, tmp_path):
    path, _ = exported[".glb"]
    report = validate_glb(path)
    issues = report["issues"]
    assert issues["numErrors"] == 0, issues["messages"][:10]
    assert issues["numWarnings"] == 0, issues["messages"][:10]
    assert report["info"]["animationCount"] == 1
    # the same validator on a broken copy (a wrong POSITION bound) does report it
    doc, blob = read_glb(path)
    acc = doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
    doc["accessors"][acc]["max"] = [v + 1.0 for v in doc["accessors"][acc]["max"]]
    broken = tmp_path / "broken.glb"
    broken.write_bytes(glb_bytes(doc, blob))
    assert validate_glb(broken)["issues"]["numErrors"] > 0


def test_the_usdz_passes_usds_arkit_compliance_checker(exported, tmp_path):
    path, _ = exported[".usdz"]
    result = usd_compliance(path)
    assert result["shader_known"], "UsdPreviewSurface unknown: the type rule would not run"
    assert result["errors"] == [] and result["failed"] == [], result
    assert result["warnings"] == [], result
    # and the checker does fail a stage that breaks the rules (Z up, a curve prim)
    from pxr import Sdf, Usd, UsdGeom, UsdUtils

    layer = tmp_path / "bad.usdc"
    stage = Usd.Stage.CreateNew(str(layer))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/bad")
    stage.SetDefaultPrim(root.GetPrim())
    UsdGeom.BasisCurves.Define(stage, Sdf.Path("/bad/curve"))
    stage.GetRootLayer().Save()
    bad = tmp_path / "bad.usdz"
    assert UsdUtils.CreateNewARKitUsdzPackage(str(layer), str(bad))
    failed = " ".join(usd_compliance(bad)["failed"])
    assert "upAxis" in failed and "BasisCurves" in failed


def test_the_usdz_plays_the_same_animation_as_the_glb(case_scene, slide, exported):
    from pxr import Usd, UsdGeom

    path, _ = exported[".usdz"]
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == "Y" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    fps = stage.GetTimeCodesPerSecond()
    assert stage.GetEndTimeCode() / fps == pytest.approx(slide.duration)
    prims = {p.GetName(): p for p in stage.Traverse() if p.IsA(UsdGeom.Xform)}
    assert prims["ramus_s1_l"].GetDisplayName() == "Left S1 ventral ramus"
    picks = items_of(slide, "sleeve")[::37] + items_of(slide, "mass") + items_of(slide, "head")
    for it in picks:
        xf = UsdGeom.Xformable(prims[it.name])
        for tau in np.linspace(0.0, slide.duration, 23):
            m = np.array(xf.GetLocalTransformation(Usd.TimeCode(tau * fps)))  # row vectors
            scale = np.linalg.norm(m[:3, :3], axis=1)
            assert np.allclose(scale, value_at(it, "scale", tau), atol=2e-5), (it.name, tau)
            assert np.allclose(m[3, :3], value_at(it, "translation", tau), atol=1e-5)


# -- bad input -------------------------------------------------------------------------------------
def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_bad_input_is_refused_and_leaves_nothing(tmp_path):
    (tmp_path / "a_file").write_text("x")
    cases = [
        (["-o", str(tmp_path / "missing" / "case.glb")], "does not exist"),
        (["-o", str(tmp_path / "a_file" / "case.usdz")], "is not a folder"),
        (["-o", str(tmp_path / "case.glb"), "--from", "2001-01"], "outside the timeline"),
        (["-o", str(tmp_path / "case.glb"), "--to", "2030-01-01"], "outside the timeline"),
        (["-o", str(tmp_path / "case.usdz"), "--from", "2014-01", "--to", "2013-01"],
         "runs backwards"),
        (["-o", str(tmp_path / "case.glb"), "--duration", "-3"], "--duration"),
        (["-o", str(tmp_path / "clip.mp4"), "--no-organs"], "only .glb and .usdz"),
    ]
    if os.geteuid() == 0:
        cases.append((["-o", "/sys/case.glb"], "cannot write there"))
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((["-o", str(locked / "case.glb")], "cannot write there"))
    for args, words in cases:
        r = run_cli("export", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert words in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert [n for n in leftovers(tmp_path) if n != "locked"] == ["a_file"]


def test_a_failing_write_is_reported_and_cleaned_up(tmp_path):
    """A file size limit makes the write fail half way, as a full disk would."""
    def limit():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    for name in ("case.glb", "case.usdz"):
        r = subprocess.run([sys.executable, "-m", "app", "export", "-o", str(tmp_path / name)],
                           cwd=ROOT, capture_output=True, text=True, preexec_fn=limit,
                           timeout=300)
        assert r.returncode == 1, r.stderr
        assert f"pelvic-spread: {tmp_path / name}: " in r.stderr
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr
        assert "animation:" not in r.stderr  # the mapping is printed only for a written file
        assert leftovers(tmp_path) == []


def test_a_scene_without_a_timeline_is_a_still_model(tmp_path):
    out = tmp_path / "anatomy.glb"
    r = run_cli("export", "base_anatomy", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "no timeline" in r.stderr
    doc, _ = read_glb(out)
    assert "animations" not in doc and len(doc["meshes"]) > 20
    r = run_cli("export", "base_anatomy", "-o", str(out), "--from", "2012-01")
    assert r.returncode == 1 and "no spread timeline" in r.stderr


def test_glb_header_is_what_the_spec_says(exported):
    data = exported[".glb"][0].read_bytes()
    magic, version, length = struct.unpack_from("<III", data)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0


def test_the_committed_page_bundle_is_built_from_its_source(tmp_path):
    """tests/e2e/glb_page/page.bundle.js (three.js and the page) matches src/ and the lock."""
    out = tmp_path / "page.bundle.js"
    r = subprocess.run([node_exe(), "build.mjs", str(out)], cwd=GLB_PAGE, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (GLB_PAGE / "page.bundle.js").read_bytes(), (
        "page.bundle.js is stale: run `npm run build` in tests/e2e/glb_page")
