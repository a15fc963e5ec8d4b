"""The slab in offscreen VTK: clipped, capped, and ``render --slab`` against a reference."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REFERENCES, run_cli
from tests.imagecmp import compare, load


def _interior_points(scene, node_id: str, plane, step: float = 1.0, inset: float = 1.5):
    """Points inside the node's section (away from its edge), in 3D on ``plane``."""
    from app.imaging.section import cut, fill

    sec = cut(scene.mesh(node_id), plane)
    lo, hi = sec.points.min(axis=0), sec.points.max(axis=0)
    n = np.ceil((hi - lo) / step).astype(int) + 1
    px = (sec.points - lo) / step
    mask = fill(px, sec.segments, (int(n[1]), int(n[0])))
    k = int(np.ceil(inset / step))
    m = np.pad(mask, 1)
    for _ in range(k):
        m[1:-1, 1:-1] &= m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    rows, cols = np.nonzero(m[1:-1, 1:-1])
    uv = lo + (np.column_stack([cols, rows]) + 0.5) * step
    return plane.to3d(uv)


@pytest.fixture(scope="module")
def bone_slab(case_scene):
    """The case at the S1 slab with only the bones showing, seen straight from the feet."""
    from app.model.slab import parse_slab
    from app.render.scene_view import apply_camera
    from app.render.slab import SlabFrames, slab_camera

    slab = parse_slab("axial:S1", case_scene.landmarks)
    frames = SlabFrames(case_scene, slab, (800, 600), spread=False, captions=False)
    apply_camera(frames.frames.plotter, slab_camera(case_scene, slab, tilt_deg=0.0))
    for node in case_scene.drawable():
        if "skeletal" not in node.systems:
            frames.frames.view.set_visibility(node.id, False)
    frames.slab_layer.sync_visibility()
    yield frames, slab
    frames.close()


def _background_share(frames, points) -> float:
    plotter = frames.frames.plotter
    plotter.render()
    image = np.asarray(plotter.screenshot(return_img=True))[:, :, :3]
    h, w = image.shape[:2]
    ren = plotter.renderer
    hits = []
    for p in points:
        ren.SetWorldPoint(*p, 1.0)
        ren.WorldToDisplay()
        x, y, _ = ren.GetDisplayPoint()
        c, r = int(round(x)), int(round(h - 1 - y))
        if 0 <= r < h and 0 <= c < w:
            hits.append(image[r, c])
    hits = np.asarray(hits)
    assert len(hits) > 200
    return float((hits.min(axis=1) > 248).mean())


@pytest.mark.parametrize("bone", ["sacrum", "hip_l", "hip_r"])
def test_caps_close_every_cut_bone(bone_slab, case_scene, bone):
    """Inside a cut bone's section no background shows through; without the caps it does."""
    from app.imaging.section import Plane

    frames, slab = bone_slab
    lower = Plane.for_slab("axial", 2, slab.bounds[0])  # the face the camera looks at
    points = _interior_points(case_scene, bone, lower)
    assert _background_share(frames, points) < 0.01
    caps = [a for (nid, _f), a in frames.slab_layer.cap_actors.items() if nid == bone]
    assert caps
    try:
        for actor in caps:
            actor.SetVisibility(False)
        assert _background_share(frames, points) > 0.3  # the test can see a hollow shell
    finally:
        frames.slab_layer.sync_visibility()


def test_caps_do_not_depend_on_winding(case_scene):
    """A solid wound inward gets the very same caps (area, facing) as wound outward."""
    import dataclasses

    from app.model.mesh import TriMesh
    from app.model.slab import parse_slab
    from app.render.slab import CapMaker

    slab = parse_slab("axial:S1", case_scene.landmarks)
    mesh = case_scene.mesh("sacrum")
    flipped = TriMesh(mesh.points, mesh.faces[:, ::-1].copy())

    def areas(scene):
        out = {}
        for cap in CapMaker(scene, ["sacrum"]).caps(slab):
            p = cap.points.astype(float)
            t = cap.triangles
            n = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
            out[cap.face] = 0.5 * n[:, 2].sum()  # signed along +z
        return out

    scene2 = dataclasses.replace(case_scene, _mesh_cache={"sacrum": flipped})
    a, b = areas(case_scene), areas(scene2)
    assert a["upper"] > 1000 and a["lower"] < -1000  # upper faces up, lower faces down
    assert b == pytest.approx(a)


def test_moving_the_slab_changes_planes_and_caps_only(case_scene):
    """A move re-aims two planes and swaps cap arrays; the scene's own surfaces stay as built."""
    from app.model.slab import parse_slab
    from app.render.slab import SlabFrames

    slab = parse_slab("axial:S1", case_scene.landmarks)
    frames = SlabFrames(case_scene, slab, (320, 240), captions=False)
    try:
        polys = {nid: a.GetMapper().GetInput() for nid, a in frames.frames.view.actors.items()}
        mtimes = {nid: p.GetMTime() for nid, p in polys.items()}
        frames.move(slab.moved(-20.0))
        assert frames.slab_layer.lower.GetOrigin()[2] == pytest.approx(slab.bounds[0] - 20.0)
        for nid, actor in frames.frames.view.actors.items():
            assert actor.GetMapper().GetInput() is polys[nid]
            assert polys[nid].GetMTime() == mtimes[nid]
        frames.slab_layer.set(None)  # no slab: whole again, no clipping planes left behind
        for actor in frames.frames.view.actors.values():
            assert actor.GetMapper().GetNumberOfClippingPlanes() == 0
        assert not any(a.GetVisibility() for a in frames.slab_layer.cap_actors.values())
    finally:
        frames.close()


def test_render_slab_with_panel_matches_reference(tmp_path):
    out = tmp_path / "slab.png"
    result = run_cli("render", "-o", str(out), "--slab", "axial:S1", "--panel", "mr",
                     "--date", "2014-04", "--size", "960x360")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("slab.png")
    image = load(out)
    assert image.shape == (360, 960, 3)
    compare(image, REFERENCES / "slab_s1_2014-04.png")


@pytest.mark.parametrize("args, words", [
    (["--slab", "axial:S9"], "unknown level 'S9'"),
    (["--panel", "mr"], "--panel mr needs a slab"),
    (["--slab", "axial:S1", "--camera", "nowhere"], "unknown camera 'nowhere'"),
])
def test_render_slab_bad_input(tmp_path, args, words):
    out = tmp_path / "bad.png"
    result = run_cli("render", "-o", str(out), *args)
    assert result.returncode != 0
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_export_side_by_side_frames_carry_the_panel(tmp_path, case_scene):
    """Clip frames put the MR panel of the frame's moment on the right half, unchanged, and
    the captions on the 3D half only."""
    from app.export.pipeline import ExportOptions, export_clip
    from app.imaging.panel import MRPanel
    from app.model.slab import parse_slab

    out = tmp_path / "frames"
    options = ExportOptions(size=(640, 360), fps=2, start="2012-03", end="2014-04",
                            duration=1.0, slab="axial:S1", layout="side-by-side")
    result = export_clip(case_scene, out, options)
    assert result.frames == 2
    first, last = (load(p) for p in sorted(out.glob("frame_*.png")))
    slab = parse_slab("axial:S1", case_scene.landmarks)
    panel = MRPanel(case_scene)
    spread = case_scene.spread
    for image, date in ((first, "2012-03"), (last, "2014-04")):
        assert image.shape == (360, 640, 3)
        expected = panel.draw(slab, spread.state_at(spread.time_of_date(date)), (320, 360))
        assert np.array_equal(image[:, 320:], expected.image)
        assert image[:, :320].mean() > 180  # the 3D half: white background, captions
    assert not np.array_equal(first[:, 320:], last[:, 320:])


@pytest.mark.parametrize("args, words", [
    (["--layout", "side-by-side"], "add --slab axial:S1"),
    (["--slab", "sagittal:y=3"], "a sagittal slab is placed by x=MM"),
])
def test_export_slab_bad_input(tmp_path, args, words):
    out = tmp_path / "clip.mp4"
    result = run_cli("export", "-o", str(out), *args)
    assert result.returncode != 0
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_slab_message_is_small_and_decodes(case_scene):
    """A move sends two planes, quantised caps and a JPEG panel: under 60 KB, and the caps come
    back within a twentieth of a millimetre of where the server cut them."""
    import json

    from app.imaging.panel import MRPanel, panel_jpeg
    from app.model.slab import parse_slab
    from app.render.slab import CapMaker, decode_cap, slab_message

    slab = parse_slab("axial:S1", case_scene.landmarks)
    spread = case_scene.spread
    maker = CapMaker(case_scene, [n.id for n in case_scene.drawable()], spread)
    caps = maker.caps(slab)
    picture = MRPanel(case_scene).draw(slab, spread.state_at(spread.time_of_date("2014-04")))
    msg = slab_message(slab, caps, panel_jpeg(picture))
    size = len(json.dumps(msg))
    assert size < 60_000, size
    assert msg["planes"][0][2] == pytest.approx(slab.bounds[0])
    assert msg["planes"][1][5] == -1.0  # the upper plane keeps what is below it
    assert msg["panel"].startswith("data:image/jpeg;base64,")
    for cap, item in zip(caps, msg["caps"]):
        points, tris = decode_cap(item)
        assert np.abs(points - cap.points).max() < 0.05
        assert np.array_equal(tris, cap.triangles)
    coloured = [item for item in msg["caps"] if "arrival" in item]
    assert {item["node"] for item in coloured} >= {"ramus_s1_l", "ramus_s1_r"}
