"""The procedural anatomy: API contract, assets, and anatomical relations the spread relies on."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import numpy as np
import pytest

from app import anatomy
from app.anatomy import atlas
from app.model.mesh import NervePath, TriMesh

REQUIRED = [
    "l4", "l5", "sacrum", "coccyx", "hip_l", "hip_r",
    "prostate", "seminal_vesicle_l", "seminal_vesicle_r", "bladder", "rectum",
    "dural_sac", "cauda_equina",
    "piriformis_l", "piriformis_r", "obturator_internus_l", "obturator_internus_r",
] + [
    f"{b}_{s}"
    for b in ("ramus_l4", "ramus_l5", "ramus_s1", "ramus_s2", "ramus_s3", "ramus_s4",
              "lumbosacral_trunk",
              "sacral_plexus", "sciatic", "tibial", "common_fibular", "pelvic_splanchnic",
              "inferior_hypogastric_plexus")
    for s in ("l", "r")
]  # fmt: skip
LANDMARKS = [
    "sacral_promontory", "sacral_hiatus", "pubic_symphysis", "sacral_canal_s1_s2", "prostate_bed",
    "conus_medullaris", "coccyx_tip",
] + [f"anterior_foramen_s{k}_{s}" for k in range(1, 5) for s in "lr"] + [
    f"{n}_{s}"
    for n in ("greater_sciatic_notch", "ischial_spine", "acetabulum", "iliac_crest")
    for s in "lr"
]  # fmt: skip
BONES = ["l3", "l4", "l5", "sacrum", "coccyx", "hip_l", "hip_r"]
ORGANS = ["prostate", "seminal_vesicle_l", "seminal_vesicle_r", "bladder", "rectum"]


def nerve_names() -> list[str]:
    return [n for n in anatomy.names() if anatomy.centreline(n) is not None]


@cache
def polydata(name: str):
    import pyvista as pv

    m = anatomy.mesh(name)
    return pv.PolyData(m.points, np.hstack([np.full((m.n_cells, 1), 3), m.faces]).ravel())


def inside(name: str, pts: np.ndarray) -> np.ndarray:
    """Which points lie inside the closed surface of ``name``."""
    import pyvista as pv
    import vtk

    sel = vtk.vtkSelectEnclosedPoints()
    sel.SetInputData(pv.PolyData(np.asarray(pts, dtype=float)))
    sel.SetSurfaceData(polydata(name))
    sel.SetTolerance(1e-6)
    sel.Update()
    out = pv.wrap(sel.GetOutput())
    return np.asarray(out["SelectedPoints"], dtype=bool)


def surface_distance(name: str, pts: np.ndarray) -> np.ndarray:
    import vtk

    f = vtk.vtkImplicitPolyDataDistance()
    f.SetInput(polydata(name))
    return np.array([abs(f.EvaluateFunction(*p)) for p in np.asarray(pts, dtype=float)])


def point_at(name: str, frac: float) -> np.ndarray:
    c = anatomy.centreline(name).centreline
    s = atlas.arclength(c)
    return np.array([np.interp(frac * s[-1], s, c[:, i]) for i in range(3)])


def dist_to_polyline(p: np.ndarray, line: np.ndarray) -> float:
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(
        np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1
    )
    return float(np.min(np.linalg.norm(a + t[:, None] * ab - p, axis=1)))


# ------------------------------------------------------------------ API contract
def test_names_cover_required_ids():
    assert set(REQUIRED) <= set(anatomy.names())
    assert len(set(anatomy.names())) == len(anatomy.names())


def test_unknown_name_raises_keyerror():
    with pytest.raises(KeyError):
        anatomy.mesh("spleen")
    with pytest.raises(KeyError):
        anatomy.centreline("spleen")


@pytest.mark.parametrize("name", ["sacrum", "hip_r", "sciatic_l", "dural_sac"])
def test_mesh_is_a_deterministic_closed_trimesh(name):
    a, b = anatomy.mesh(name), anatomy.mesh(name)
    assert isinstance(a, TriMesh)
    assert a.points.dtype == np.float64 and a.faces.dtype == np.int64
    assert np.array_equal(a.points, b.points) and np.array_equal(a.faces, b.faces)
    edges = np.sort(np.vstack([a.faces[:, [0, 1]], a.faces[:, [1, 2]], a.faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert np.all(counts == 2), "surface must be closed and manifold"


def test_centrelines_only_for_nerve_like_nodes():
    for name in ["sacrum", "hip_l", "bladder", "piriformis_l"]:
        assert anatomy.centreline(name) is None
    for name in REQUIRED:
        if name.startswith(
            ("ramus", "sciatic", "tibial", "common", "pelvic", "inferior", "lumbo", "sacral_")
        ):
            p = anatomy.centreline(name)
            assert (
                isinstance(p, NervePath) and p.centreline.shape[1] == 3 and len(p.centreline) >= 2
            )
    assert isinstance(anatomy.centreline("dural_sac"), NervePath)


def test_nerve_meshes_carry_u_along_arc_length():
    for name in nerve_names():
        m = anatomy.mesh(name)
        u = m.point_data["u"]
        assert u.shape == (m.n_points,) and u.min() == 0.0 and u.max() == 1.0
    # u grows from the proximal end: points near the first centreline sample have small u
    m = anatomy.mesh("sciatic_l")
    c = anatomy.centreline("sciatic_l").centreline
    near_start = np.linalg.norm(m.points - c[0], axis=1) < 8
    near_end = np.linalg.norm(m.points - c[-1], axis=1) < 8
    assert m.point_data["u"][near_start].max() < 0.1 < 0.9 < m.point_data["u"][near_end].min()


def test_tube_follows_a_user_path():
    t = np.linspace(0, np.pi, 40)
    path = NervePath(np.column_stack([40 * np.cos(t), 40 * np.sin(t), 5 * t]), 2.0)
    m = anatomy.tube(path, sides=12)
    # surface points sit one radius from the centreline (caps excepted)
    body = (m.point_data["u"] > 0.02) & (m.point_data["u"] < 0.98)
    d = np.array([dist_to_polyline(p, path.centreline) for p in m.points[body][::7]])
    assert np.allclose(d, 2.0, atol=0.1)
    assert np.all(np.diff(np.unique(m.point_data["u"])) > 0)


def test_landmarks_present_as_float_points():
    lm = anatomy.landmarks()
    for k in LANDMARKS:
        assert k in lm, k
        assert lm[k].shape == (3,) and lm[k].dtype == np.float64
    assert np.allclose(lm["sacral_promontory"], 0.0)


# ------------------------------------------------------------------ assets and speed
def test_assets_match_generator_sources():
    with np.load(anatomy.ASSET_PATH) as z:
        assert str(z["source_hash"]) == anatomy.source_hash(), "run tools/build_anatomy.py"
        stored_p, stored_f = z["coccyx.points"], z["coccyx.faces"]
    assert anatomy.ASSET_PATH.stat().st_size < 6e6
    m = anatomy.build_solid("coccyx")  # the cheapest solid: regenerating it gives the same arrays
    assert np.array_equal(m.points.astype(np.float32), stored_p)
    assert np.array_equal(m.faces.astype(np.int32), stored_f)


def test_every_mesh_loads_fast_in_a_fresh_process():
    code = (
        "import time; t=time.perf_counter(); from app import anatomy\n"
        "n=sum(anatomy.mesh(k).n_cells for k in anatomy.names()); print(time.perf_counter()-t, n)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    seconds, triangles = out.stdout.split()
    assert float(seconds) < 2.0
    assert 100_000 < int(triangles) < 300_000


# ------------------------------------------------------------------ symmetry
def test_left_and_right_are_mirror_images():
    for name in anatomy.names():
        if not name.endswith("_l"):
            continue
        left, right = anatomy.mesh(name), anatomy.mesh(name[:-2] + "_r")
        assert np.allclose(left.points * [-1, 1, 1], right.points, atol=1e-6), name
        cl, cr = anatomy.centreline(name), anatomy.centreline(name[:-2] + "_r")
        if cl is not None:
            assert np.allclose(cl.centreline * [-1, 1, 1], cr.centreline, atol=1e-6)
    lm = anatomy.landmarks()
    for k, v in lm.items():
        if k.endswith("_l"):
            assert np.allclose(v * [-1, 1, 1], lm[k[:-2] + "_r"])


@pytest.mark.parametrize("name", ["sacrum", "l5", "bladder", "prostate", "rectum"])
def test_midline_structures_are_symmetric(name):
    pts = anatomy.mesh(name).points
    sample = pts[:: max(1, len(pts) // 400)] * [-1, 1, 1]
    # distance from each mirrored point to the surface
    d = surface_distance(name, sample)
    tol = 1.0 if name != "rectum" else 12.0  # the rectosigmoid bends to the left
    assert np.percentile(d, 95) < tol


# ------------------------------------------------------------------ nerves and bone
def test_no_nerve_runs_through_bone():
    for bone in BONES:
        for name in nerve_names():
            if name in ("dural_sac", "conus_medullaris", "cauda_equina") and bone not in (
                "sacrum",
                "l3",
                "l4",
                "l5",
            ):
                continue
            c = anatomy.centreline(name).centreline
            hit = inside(bone, c)
            assert not hit.any(), f"{name} passes through {bone} at {c[hit][0].round(1)}"


def test_sacral_rami_leave_through_the_anterior_foramina():
    lm = anatomy.landmarks()
    for side in "lr":
        for k in range(1, 5):
            f = lm[f"anterior_foramen_s{k}_{side}"]
            c = anatomy.centreline(f"ramus_s{k}_{side}").centreline
            assert dist_to_polyline(f, c) < 2.0
            # the landmark is in a hole: not in bone, but bone all round within a few mm
            assert not inside("sacrum", f[None])[0]
            assert surface_distance("sacrum", f[None])[0] < atlas.FORAMEN_R[k - 1] + 1.5
            # and the opening is a hole in the pelvic surface: bone just above and below it
            a = atlas.junction_a()[k - 1]
            sign = 1 if side == "l" else -1
            for da in (-1, 1):
                probe = atlas.sacral_point(
                    a + da * (atlas.FORAMEN_R[k - 1] + 2.5), 2.5, sign * atlas.FORAMEN_X[k - 1]
                )
                assert inside("sacrum", probe[None])[0], (side, k, da)


def test_sacral_foramina_descend_in_order():
    lm = anatomy.landmarks()
    z = [lm[f"anterior_foramen_s{k}_l"][2] for k in range(1, 5)]
    assert z == sorted(z, reverse=True)
    assert lm["sacral_hiatus"][2] < z[3] + 10


def test_lumbar_rami_leave_the_intervertebral_foramina():
    for level, upper, lower in (("l4", "l4", "l5"), ("l5", "l5", None)):
        c = anatomy.centreline(f"ramus_{level}_l").centreline
        i = int(np.argmax(np.abs(c[:, 0]) > 20))
        z_up = atlas.vertebra_frame(upper)[0][2]
        z_low = atlas.vertebra_frame(lower)[0][2] if lower else 0.0
        assert z_low < c[i, 2] < z_up, (level, c[i])
        # it starts inside the vertebral canal
        assert abs(c[0, 0]) < 1 and np.linalg.norm(c[0] - atlas.canal_centre_lumbar(upper)) < 15


def test_dural_sac_ends_at_s2():
    lm = anatomy.landmarks()
    zmin = anatomy.mesh("dural_sac").points[:, 2].min()
    assert lm["anterior_foramen_s2_l"][2] < zmin < lm["anterior_foramen_s1_l"][2]
    top = anatomy.centreline("dural_sac").centreline[0]
    assert top[2] > lm["conus_medullaris"][2] > atlas.vertebra_frame("l2")[0][2]
    # the sac lies in the sacral canal at S1-S2
    assert not inside("sacrum", lm["sacral_canal_s1_s2"][None])[0]
    assert (
        dist_to_polyline(lm["sacral_canal_s1_s2"], anatomy.centreline("dural_sac").centreline) < 3
    )


def test_sciatic_leaves_below_piriformis():
    for side in "lr":
        c = anatomy.centreline(f"sciatic_{side}").centreline
        assert not inside(f"piriformis_{side}", c).any()
        notch = anatomy.landmarks()[f"greater_sciatic_notch_{side}"]
        pir = anatomy.mesh(f"piriformis_{side}").points
        slab = pir[np.abs(pir[:, 0] - notch[0]) < 4]
        j = np.argmin(np.abs(c[:, 0] - notch[0]))
        assert c[j, 2] < slab[:, 2].min(), "the sciatic nerve must pass below piriformis"
        # and it runs down out of the pelvis, behind the hip joint
        assert c[-1][2] < anatomy.landmarks()[f"acetabulum_{side}"][2] - 60
        assert c[-1][1] > anatomy.landmarks()[f"acetabulum_{side}"][1]


def test_plexus_forms_in_front_of_piriformis():
    for side in "lr":
        c = anatomy.centreline(f"sacral_plexus_{side}").centreline
        assert not inside(f"piriformis_{side}", c).any()
        d = surface_distance(f"piriformis_{side}", c)
        assert d.min() < 12
        pir = anatomy.mesh(f"piriformis_{side}").points
        # at the plexus, muscle lies behind (posterior to) the nerve
        p = c[len(c) // 2]
        near = pir[np.linalg.norm(pir[:, [0, 2]] - p[[0, 2]], axis=1) < 6]
        assert len(near) and near[:, 1].max() > p[1]


# ------------------------------------------------------------------ graph
def test_junctions_connect_nerves():
    names = set(anatomy.names())
    js = anatomy.junctions()
    assert js
    sac = anatomy.centreline("dural_sac").centreline
    for prox, fp, dist, fd in js:
        assert prox in names and dist in names
        assert 0.0 <= fp <= 1.0 and 0.0 <= fd <= 1.0
        gap = np.linalg.norm(point_at(prox, fp) - point_at(dist, fd))
        assert gap < 1.5, (prox, fp, dist, fd, gap)
        if prox == "dural_sac":
            assert dist_to_polyline(anatomy.centreline(dist).centreline[0], sac) < 1.5
    pairs = {(p, d) for p, _, d, _ in js}
    for side in "lr":
        for root in ("l4", "l5", "s1", "s2", "s3", "s4"):
            assert ("dural_sac", f"ramus_{root}_{side}") in pairs
        expected = [
            ("ramus_l5", "lumbosacral_trunk"), ("ramus_l4", "lumbosacral_trunk"),
            ("lumbosacral_trunk", "sacral_plexus"), ("ramus_s1", "sacral_plexus"),
            ("ramus_s2", "sacral_plexus"), ("ramus_s3", "sacral_plexus"),
            ("sacral_plexus", "sciatic"),
            ("sciatic", "tibial"), ("sciatic", "common_fibular"), ("ramus_s2", "pelvic_splanchnic"),
            ("ramus_s3", "pelvic_splanchnic"), ("ramus_s4", "pelvic_splanchnic"),
            ("pelvic_splanchnic", "inferior_hypogastric_plexus"),
        ]  # fmt: skip
        for a, b in expected:
            assert (f"{a}_{side}", f"{b}_{side}") in pairs


def test_roots_start_at_their_level():
    sac = anatomy.centreline("dural_sac").centreline
    z = [anatomy.centreline(f"ramus_{r}_l").centreline[0][2] for r in ("l4", "l5", "s1", "s2")]
    assert z == sorted(z, reverse=True)
    for r in ("s3", "s4"):  # below the sac's end the roots leave from its tip
        assert np.linalg.norm(anatomy.centreline(f"ramus_{r}_l").centreline[0] - sac[-1]) < 8


def test_ihp_runs_from_splanchnic_entry_to_the_prostate():
    lm = anatomy.landmarks()
    for side in "lr":
        c = anatomy.centreline(f"inferior_hypogastric_plexus_{side}").centreline
        assert c[-1][1] < c[0][1], "posterior to anterior"
        assert np.linalg.norm(c[-1] - lm["prostate_bed"]) < 30
        assert np.linalg.norm(c[-1] - lm["prostate_bed"]) < np.linalg.norm(
            c[0] - lm["prostate_bed"]
        )


# ------------------------------------------------------------------ organs
def _volume(name: str) -> float:
    return float(polydata(name).volume)


@pytest.mark.parametrize("a,b", [(a, b) for i, a in enumerate(ORGANS) for b in ORGANS[i + 1 :]])
def test_organs_do_not_overlap(a, b):
    ba, bb = anatomy.mesh(a).bounds(), anatomy.mesh(b).bounds()
    lo = np.maximum(ba[::2], bb[::2])
    hi = np.minimum(ba[1::2], bb[1::2])
    if np.any(lo >= hi):
        return
    h = 1.5
    g = np.stack(
        np.meshgrid(*[np.arange(lo[i], hi[i], h) for i in range(3)], indexing="ij"), -1
    ).reshape(-1, 3)
    if len(g) == 0:
        return
    both = inside(a, g) & inside(b, g)
    overlap = both.sum() * h**3
    assert overlap < 0.02 * min(_volume(a), _volume(b)), (a, b, overlap)


def test_organ_sizes_are_adult():
    def extent(n):
        b = anatomy.mesh(n).bounds()
        return np.array([b[1] - b[0], b[3] - b[2], b[5] - b[4]])

    assert np.all((extent("prostate") > 25) & (extent("prostate") < 50))
    assert 55 < extent("bladder").max() < 85
    assert extent("rectum")[2] > 100
