"""Atlas import on real anatomy: BodyParts3D (STL, one body frame) and Human Reference Atlas
GLB files (metres, +y up), read from ../shared/anatomy and skipped where it is absent.

The checks use the real bones directly: nerve centrelines against point-in-mesh tests on the
atlas meshes, foramina and the greater sciatic foramen against the bone around them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.atlas.surface import Surface
from app.model.meshfile import read_mesh
from tests.conftest import require_anatomy, run_cli

BONES = {"sacrum": "FMA16202", "hip_r": "FMA16586", "hip_l": "FMA16587", "l3": "FMA13074",
         "l4": "FMA13075", "l5": "FMA13076"}


@pytest.fixture(scope="module")
def bp3d(tmp_path_factory):
    """BodyParts3D imported once: (case scene path, loaded scene, bone surfaces, report)."""
    from app.atlas.cli import import_scene
    from app.case import load_scene

    root = require_anatomy("bodyparts3d")
    out = tmp_path_factory.mktemp("bp3d") / "bp3d.yaml"
    report = import_scene(root, out)
    bones = {k: Surface(read_mesh(root / "stl" / f"{v}.stl"), k) for k, v in BONES.items()}
    return out, load_scene(out), bones, report


def test_import_references_every_bodyparts3d_file(bp3d):
    out, scene, _, _ = bp3d
    root = require_anatomy("bodyparts3d").resolve()
    files = sorted((root / "stl").glob("*.stl"))
    used = {n.geometry.file: n for n in scene.nodes.values()
            if n.geometry is not None and n.geometry.file is not None
            and root in n.geometry.file.parents}
    assert set(used) == {f.resolve() for f in files}
    assert used[(root / "stl" / "FMA16202.stl").resolve()].id == "sacrum"
    assert used[(root / "stl" / "FMA16587.stl").resolve()].side == "left"
    assert all(n.geometry.transform is None for n in used.values())  # already LPS mm
    assert root in scene.mesh_roots
    assert not list(out.parent.rglob("*.stl"))  # referenced, never copied


def test_landmarks_are_found_on_the_bones(bp3d):
    _, scene, bones, report = bp3d
    assert not any("not found" in line for line in report), report
    for s in "lr":
        hip = bones[f"hip_{s}"]
        for name in (f"greater_sciatic_notch_{s}", f"ischial_spine_{s}", f"iliac_crest_{s}"):
            # where the model defines a landmark differently, the bone's point is measured_*
            point = scene.landmarks.get(f"measured_{name}", scene.landmarks[name])
            _, dist = hip.closest(point[None])
            assert dist[0] < 1.5, name  # on the hip bone's surface
        acet = scene.landmarks[f"acetabulum_{s}"]
        assert not hip.contains(acet[None])[0]  # the centre of a cup lies outside the bone
    z = [scene.landmarks[f"anterior_foramen_s{k}_l"][2] for k in range(1, 5)]
    assert z == sorted(z, reverse=True)


def _sacrum_is_solid(sacrum: Surface, scene) -> bool:
    """True when the midline of the sacrum, level with the S1 and S2 foramina, is bone all
    the way through (BodyParts3D models no sacral canal)."""
    level = np.mean([scene.landmarks[f"anterior_foramen_s{k}_{s}"] for k in (1, 2)
                     for s in "lr"], axis=0)
    level[0] = scene.landmarks["sacral_promontory"][0]
    hits = sacrum.ray_hits(level + [0, -150, 0], level + [0, 150, 0])
    return len(hits) == 2


def test_no_nerve_centreline_point_inside_the_real_bones(bp3d):
    _, scene, bones, _ = bp3d
    solid = _sacrum_is_solid(bones["sacrum"], scene)
    bad = {}
    for nid, path in scene.nerves().items():
        pts = path.centreline
        allowed = np.zeros(len(pts), bool)
        if solid and nid in ("dural_sac", "cauda_equina", "conus_medullaris"):
            allowed[:] = True  # in the canal the atlas fills with bone
        if solid and nid.startswith("ramus_s") and nid[7] in "1234":
            f = scene.landmarks[f"anterior_foramen_s{nid[7]}_{nid[-1]}"]
            allowed[: int(np.argmin(np.linalg.norm(pts - f, axis=1)))] = True  # canal to foramen
        for name, bone in bones.items():
            inside = bone.contains(pts)
            if name != "sacrum":
                inside_bad = inside
            else:
                inside_bad = inside & ~allowed
            if inside_bad.any():
                bad[(nid, name)] = int(inside_bad.sum())
    assert not bad, bad


def test_each_sacral_ramus_passes_through_its_real_foramen(bp3d):
    _, scene, bones, _ = bp3d
    sacrum = bones["sacrum"]
    for k in range(1, 5):
        for s in "lr":
            centre = scene.landmarks[f"anterior_foramen_s{k}_{s}"]
            ramus = _resample(scene.nerves()[f"ramus_s{k}_{s}"].centreline, 0.5)
            d = np.linalg.norm(ramus - centre, axis=1)
            i = int(np.argmin(d))
            assert d[i] < 5.0, (k, s, d[i])
            # The centre is an opening: free itself, with bone all around it across the ramus.
            assert not sacrum.contains(centre[None])[0]
            t = ramus[min(i + 4, len(ramus) - 1)] - ramus[max(i - 4, 0)]  # +-2 mm
            t /= np.linalg.norm(t)
            e1 = np.cross(t, [1.0, 0.0, 0.0] if abs(t[0]) < 0.9 else [0.0, 1.0, 0.0])
            e1 /= np.linalg.norm(e1)
            e2 = np.cross(t, e1)
            walled = 0
            for a in np.radians(np.arange(0, 360, 45)):
                direction = np.cos(a) * e1 + np.sin(a) * e2
                hits = sacrum.ray_hits(centre, centre + 15.0 * direction)
                walled += bool(len(hits))
            assert walled >= 6, (k, s, walled)


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    t = np.arange(0.0, s[-1], step)
    return np.column_stack([np.interp(t, s, points[:, k]) for k in range(3)])


def _segment_hits_triangle(p0, p1, a, b, c) -> bool:
    e1, e2, d = b - a, c - a, p1 - p0
    h = np.cross(d, e2)
    det = e1 @ h
    if abs(det) < 1e-12:
        return False
    s = p0 - a
    u = (s @ h) / det
    q = np.cross(s, e1)
    v = (d @ q) / det
    t = (e2 @ q) / det
    return 0 <= u <= 1 and 0 <= v and u + v <= 1 and 0 <= t <= 1


def test_each_sciatic_nerve_leaves_through_the_greater_sciatic_foramen(bp3d):
    """The foramen's outline: the hip bone's border from the notch apex down to the ischial
    spine, and the sacrum's lateral border from the sacroiliac joint down to the S3-S4 level
    (where the sacrospinous and sacrotuberous ligaments, absent from the atlas, close it)."""
    _, scene, bones, _ = bp3d
    sacrum = bones["sacrum"].mesh.points
    mid = scene.landmarks["sacral_promontory"][0]
    for s, sign in (("l", 1.0), ("r", -1.0)):
        notch = scene.landmarks[f"measured_greater_sciatic_notch_{s}"]
        spine = scene.landmarks[f"ischial_spine_{s}"]
        z34 = (scene.landmarks[f"anterior_foramen_s3_{s}"][2]
               + scene.landmarks[f"anterior_foramen_s4_{s}"][2]) / 2
        band = sacrum[np.abs(sacrum[:, 2] - z34) < 4.0]
        low = band[np.argmax(sign * (band[:, 0] - mid))]
        high = sacrum[np.argmin(np.linalg.norm(sacrum - notch, axis=1))]
        chord = notch + np.linspace(0.2, 0.8, 4)[:, None] * (spine - notch)
        border, _ = bones[f"hip_{s}"].closest(chord)  # the bony edge of the notch
        outline = np.vstack([notch, high, low, spine, border[::-1]])
        c = outline.mean(axis=0)
        outline = c + (outline - c) * 1.05
        fan = [(c, outline[i], outline[(i + 1) % len(outline)]) for i in range(len(outline))]
        path = np.vstack([scene.nerves()[f"sacral_plexus_{s}"].centreline,
                          scene.nerves()[f"sciatic_{s}"].centreline])
        crossings = sum(_segment_hits_triangle(path[i], path[i + 1], *tri)
                        for i in range(len(path) - 1) for tri in fan)
        assert crossings >= 1, s
        assert path[-1][2] < spine[2]  # and it ends below the pelvis, in the thigh


def test_imported_scene_renders_a_still_and_a_clip(bp3d, tmp_path):
    from PIL import Image

    out = bp3d[0]
    for camera in ("anterior", "posterior"):
        png = tmp_path / f"{camera}.png"
        proc = run_cli("render", str(out), "-o", str(png), "--camera", camera, "--size",
                       "320x180", "--date", "2014-04")
        assert proc.returncode == 0, proc.stderr
        img = np.asarray(Image.open(png).convert("RGB"), float)
        assert img.std() > 10  # a picture, not a blank frame
    clip = tmp_path / "clip.gif"
    proc = run_cli("export", str(out), "-o", str(clip), "--size", "160x90", "--fps", "4",
                   "--duration", "1")
    assert proc.returncode == 0, proc.stderr
    assert clip.stat().st_size > 1000


# -- Human Reference Atlas GLB -----------------------------------------------------------------
@pytest.fixture(scope="module")
def hra_folder(tmp_path_factory) -> Path:
    """The pelvis and the bladder only, linked (not copied) into a folder of their own."""
    root = require_anatomy("hra_ccf_releases")
    folder = tmp_path_factory.mktemp("hra") / "atlas"
    folder.mkdir()
    for name in ("VH_M_Pelvis.glb", "VH_M_Urinary_Bladder.glb"):
        (folder / name).symlink_to(root / "glb" / name)
    return folder


def test_hra_glb_lands_in_lps_millimetres_the_right_way_up(hra_folder):
    from app.atlas.importer import import_atlas

    atlas = import_atlas(hra_folder)
    parts = atlas.by_id()
    np.testing.assert_allclose(parts["sacrum"].transform[:3, :3],
                               [[1000, 0, 0], [0, 0, -1000], [0, 1000, 0]])

    def centre(*ids):
        return np.mean([parts[i].mesh.points.mean(axis=0) for i in ids], axis=0)

    size = np.ptp(parts["sacrum"].mesh.points, axis=0)
    assert 100 < size[0] < 150 and 100 < size[2] < 150  # about 12 cm: millimetres
    assert centre("ilium_l")[0] > 30 > -30 > centre("ilium_r")[0]  # +x is the left
    assert centre("ilium_l")[2] > centre("ischium_l")[2]  # +z is up
    assert centre("sacrum")[2] > centre("coccyx")[2]
    assert centre("pubis_l", "pubis_r")[1] < centre("sacrum")[1] - 50  # +y is posterior
    bladder = [p.id for p in atlas.parts if p.entry.group == "bladder"]
    assert len(bladder) >= 4
    assert centre(*bladder)[1] < centre("sacrum")[1]  # the bladder is in front
    assert centre(*bladder)[2] < centre("ilium_l")[2]  # and low in the pelvis


def test_hra_import_writes_a_scene_with_open_surfaces(hra_folder, tmp_path):
    from app.atlas.cli import import_scene
    from app.case import load_scene

    out = tmp_path / "hra.yaml"
    import_scene(hra_folder, out)
    scene = load_scene(out)
    assert scene.nodes["bladder"].kind == "group"  # made of named parts, some open
    sacrum = scene.mesh("sacrum")
    assert np.ptp(sacrum.points, axis=0).max() > 100  # in mm through the node transform
    assert scene.spread is not None and "sciatic_l" in scene.nerves()
