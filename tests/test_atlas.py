"""Atlas import and fitting, without real atlases: the warp, the importer's rules and errors,
the landmark detectors on the procedural bones, and the whole pipeline on a moved copy of the
procedural anatomy written out as a BodyParts3D-style folder."""

from __future__ import annotations

import numpy as np
import pytest

from app.atlas.catalog import fma_entry, hra_entry, safe_id
from app.atlas.importer import import_atlas
from app.atlas.raster import label
from app.atlas.tps import ThinPlateSpline, apply_matrix, fit_similarity
from app.errors import SceneError, UserError
from app.model.mesh import TriMesh
from app.model.meshfile import write_mesh
from tests.conftest import run_cli

FMA_OF = {"sacrum": "FMA16202", "hip_r": "FMA16586", "hip_l": "FMA16587", "l3": "FMA13074",
          "l4": "FMA13075", "l5": "FMA13076", "prostate": "FMA9600", "bladder": "FMA15900",
          "rectum": "FMA14544"}


def _similarity(angle_deg: float, scale: float, shift) -> np.ndarray:
    a = np.radians(angle_deg)
    m = np.eye(4)
    m[:3, :3] = scale * np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0],
                                  [0, 0, 1]])
    m[:3, 3] = shift
    return m


def _cube(size: float = 10.0, centre=(0.0, 0.0, 0.0)) -> TriMesh:
    import pyvista as pv

    c = pv.Cube(center=centre, x_length=size, y_length=size, z_length=size).triangulate()
    return TriMesh(np.asarray(c.points, float), np.asarray(c.faces).reshape(-1, 4)[:, 1:])


# -- the warp --------------------------------------------------------------------------------
def test_tps_is_exact_at_landmarks_and_reproduces_affine_maps():
    rng = np.random.default_rng(1)
    src = rng.uniform(-100, 100, (12, 3))
    a = np.array([[1.1, 0.1, 0.0], [-0.05, 0.95, 0.1], [0.0, 0.2, 1.05]])
    dst = src @ a.T + [3.0, -4.0, 800.0]
    warp = ThinPlateSpline(src, dst)
    assert warp.residual() < 1e-6
    probe = rng.uniform(-150, 150, (50, 3))
    np.testing.assert_allclose(warp(probe), probe @ a.T + [3.0, -4.0, 800.0], atol=1e-6)


def test_tps_bends_smoothly_between_landmarks():
    grid = np.array([[x, y, z] for x in (-50, 50) for y in (-50, 50) for z in (-50, 50)], float)
    src = np.vstack([grid, [[0, 0, 0]]])
    dst = src.copy()
    dst[-1] = [0, 0, 10]  # pull the centre up 10 mm
    warp = ThinPlateSpline(src, dst)
    line = np.column_stack([np.zeros(21), np.zeros(21), np.linspace(-50, 50, 21)])
    moved = warp(line)[:, 2] - line[:, 2]
    assert moved[10] == pytest.approx(10.0, abs=1e-6)
    assert np.all(np.abs(np.diff(moved)) < 2.5)  # no jumps
    assert abs(moved[0]) < 5.0 and abs(moved[-1]) < 5.0  # fading toward the fixed cube
    corners = warp(grid) - grid
    assert np.abs(corners).max() < 1e-6


def test_tps_needs_enough_landmarks():
    with pytest.raises(ValueError, match="at least 4"):
        ThinPlateSpline(np.zeros((3, 3)), np.zeros((3, 3)))


def test_similarity_fit_recovers_rotation_scale_and_shift():
    m = _similarity(20.0, 1.2, [10.0, -5.0, 3.0])
    src = np.random.default_rng(2).uniform(-50, 50, (8, 3))
    np.testing.assert_allclose(fit_similarity(src, apply_matrix(m, src)), m, atol=1e-9)


def test_label_counts_four_connected_regions():
    mask = np.zeros((6, 8), bool)
    mask[1:3, 1:3] = True
    mask[4, :] = True
    mask[1, 4] = True  # touches the square only at a corner: a region of its own
    mask[2, 3] = False
    labels, n = label(mask)
    assert n == 3
    assert labels[1, 1] == labels[2, 2] != labels[4, 0]


# -- naming --------------------------------------------------------------------------------
def test_fma_ids_map_to_scene_ids_and_sides():
    assert fma_entry("FMA16202").id == "sacrum"
    assert fma_entry("FMA16587").id == "hip_l" and fma_entry("FMA16587").side == "left"
    assert fma_entry("FMA16586").id == "hip_r" and fma_entry("FMA16586").side == "right"
    assert fma_entry("FMA22341").id == "piriformis_l"
    assert fma_entry("FMA19388").id == "seminal_vesicle_l"
    assert fma_entry("FMA99999999") is None and fma_entry("pelvis") is None


def test_hra_mesh_names_map_by_name():
    assert hra_entry("VH_M_sacrum").id == "sacrum"
    ilium = hra_entry("VH_M_ilium_compact_bone_L")
    assert (ilium.id, ilium.group, ilium.role) == ("ilium_l", "hip_l", "hip_l")
    assert hra_entry("VH_M_ischium_spongy_bone_R").visible is False
    assert hra_entry("VH_M_peripheral_zone_of_prostate_R").group == "prostate"
    assert hra_entry("VH_M_trigone_of_urinary_bladder").group == "bladder"
    assert hra_entry("VH_M_first_lumbar_spinal_cord_segment").id == "spinal_cord_l1"
    assert hra_entry("VH_M_vermiform_appendix") is None
    assert safe_id("VH_M Urinary-bladder 1") == "vh_m_urinary_bladder_1"


# -- the importer --------------------------------------------------------------------------
def test_units_and_unknown_files(tmp_path):
    write_mesh(_cube(0.03), tmp_path / "FMA16202.stl")  # a 30 mm "sacrum" in metres
    write_mesh(_cube(0.01, (0.1, 0, 0)), tmp_path / "mystery_part.stl")
    (tmp_path / "README.txt").write_text("not a mesh")
    atlas = import_atlas(tmp_path)
    ids = {p.id: p for p in atlas.parts}
    assert set(ids) == {"sacrum", "mystery_part"}
    assert ids["mystery_part"].entry.group == "other"
    assert ids["sacrum"].transform[0, 0] == 1000.0
    assert np.ptp(ids["sacrum"].mesh.points[:, 0]) == pytest.approx(30.0, rel=1e-6)
    assert any("metres" in n for n in atlas.notes)
    forced = import_atlas(tmp_path, units="mm")
    assert np.ptp(forced.by_id()["sacrum"].mesh.points[:, 0]) == pytest.approx(0.03, rel=1e-6)


def test_axes_are_detected_from_the_anatomy(tmp_path):
    """Organs written in a y-up frame (as glTF does) come back in LPS."""
    from app import anatomy

    to_yup = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
    for name in ("sacrum", "hip_l", "hip_r", "prostate", "bladder", "rectum"):
        m = anatomy.mesh(name)
        write_mesh(TriMesh(apply_matrix(to_yup, m.points), m.faces), tmp_path /
                   f"{FMA_OF[name]}.stl")
    atlas = import_atlas(tmp_path)
    assert any("detected from the anatomy" in n for n in atlas.notes)
    parts = atlas.by_id()
    # the same points (STL keeps no point order of its own: compare them sorted)
    got, want = parts["sacrum"].mesh.points, anatomy.mesh("sacrum").points
    np.testing.assert_allclose(got[np.lexsort(got.T)], want[np.lexsort(want.T)], atol=1e-4)
    assert parts["hip_l"].mesh.points[:, 0].mean() > 0


@pytest.mark.parametrize("case, expected", [
    ("missing", "atlas folder not found"),
    ("file", "is a file; expected an atlas folder"),
    ("empty", "the folder is empty"),
    ("no_meshes", "no mesh files found"),
    ("garbage", "cannot be read as a mesh"),
    ("nan", "non-finite coordinates"),
    ("unknown", "none of its 1 meshes is a structure this importer knows"),
    ("no_gltf", "no glTF/GLB files found"),
])
def test_bad_atlases_get_clear_errors(tmp_path, case, expected):
    folder = tmp_path / "atlas"
    kw = {}
    if case == "file":
        folder.write_text("x")
    elif case != "missing":
        folder.mkdir()
    if case == "no_meshes":
        (folder / "notes.txt").write_text("hello")
        (folder / "picture.png").write_bytes(b"\x89PNG")
    elif case == "garbage":
        (folder / "FMA16202.stl").write_bytes(b"solid nonsense\nthis is not an stl\n")
    elif case == "nan":
        (folder / "FMA16202.obj").write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    elif case == "unknown":
        write_mesh(_cube(), folder / "teapot.stl")
    elif case == "no_gltf":
        write_mesh(_cube(), folder / "FMA16202.stl")
        kw["fmt"] = "gltf"
    with pytest.raises(UserError) as info:
        import_atlas(folder, **kw)
    message = str(info.value)
    assert expected in message
    assert str(folder) in message
    if case in ("garbage", "nan"):
        assert "FMA16202" in message  # names the file


def test_cli_reports_bad_atlas_without_traceback(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli("atlas", "import", str(tmp_path / "empty"), "-o", str(tmp_path / "x.yaml"))
    assert proc.returncode == 1
    assert "pelvic-spread:" in proc.stderr and "the folder is empty" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_landmark_file_errors_name_file_and_line(tmp_path):
    from app.atlas.cli import read_landmarks

    good = tmp_path / "lm.yaml"
    good.write_text("landmarks:\n  sacral_promontory: [0, -90, 905]\n")
    assert read_landmarks(good)["sacral_promontory"][2] == 905
    bad = tmp_path / "bad.yaml"
    bad.write_text("sacral_promontory: [0, -90, 905]\nacetabulum_l: [1, 2]\n")
    with pytest.raises(SceneError) as info:
        read_landmarks(bad)
    (problem,) = info.value.problems
    assert problem.line == 2 and "acetabulum_l" in problem.message


# -- detectors on the procedural bones (their declared landmarks are the ground truth) ---------
@pytest.fixture(scope="module")
def procedural_detection():
    from app import anatomy
    from app.atlas.landmarks import detect

    bones = {k: anatomy.mesh(k) for k in ("sacrum", "hip_l", "hip_r", "coccyx")}
    return detect(bones, {"prostate": anatomy.mesh("prostate")}), anatomy.landmarks()


@pytest.mark.parametrize("name, tolerance", [
    ("sacral_promontory", 2.0), ("anterior_foramen_s1_l", 3.0), ("anterior_foramen_s2_r", 3.0),
    ("anterior_foramen_s3_l", 3.0), ("anterior_foramen_s4_r", 3.0), ("acetabulum_l", 3.0),
    ("acetabulum_r", 3.0), ("ischial_spine_l", 4.0), ("prostate_bed", 2.0),
    ("coccyx_tip", 4.0),
])
def test_detectors_find_the_procedural_landmarks(procedural_detection, name, tolerance):
    det, truth = procedural_detection
    assert name in det.points, det.missing
    assert np.linalg.norm(det.points[name] - truth[name]) < tolerance


def test_foramina_are_ordered_and_paired(procedural_detection):
    det, _ = procedural_detection
    z = [det.points[f"anterior_foramen_s{k}_l"][2] for k in range(1, 5)]
    assert z == sorted(z, reverse=True)
    for k in range(1, 5):
        left, right = det.points[f"anterior_foramen_s{k}_l"], det.points[f"anterior_foramen_s{k}_r"]
        assert left[0] > 5 > -5 > right[0]
        assert abs(left[0] + right[0]) < 2.0 and abs(left[2] - right[2]) < 2.0


# -- the whole pipeline on a moved copy of the model -------------------------------------------
MOVE = _similarity(6.0, 1.06, [4.0, -60.0, 850.0])


@pytest.fixture(scope="module")
def moved_model(tmp_path_factory):
    """The procedural bones and organs, rotated, scaled and shifted, as BodyParts3D files."""
    from app import anatomy
    from app.atlas.cli import import_scene

    root = tmp_path_factory.mktemp("moved")
    atlas_dir = root / "atlas"
    atlas_dir.mkdir()
    for name, fma in FMA_OF.items():
        m = anatomy.mesh(name)
        write_mesh(TriMesh(apply_matrix(MOVE, m.points), m.faces), atlas_dir / f"{fma}.stl")
    out = root / "scenes" / "moved.yaml"
    out.parent.mkdir()
    report = import_scene(atlas_dir, out)
    return out, report


def test_pipeline_writes_a_case_scene_on_the_atlas(moved_model):
    from app.case import DEFAULT_SCENE, load_scene

    out, report = moved_model
    scene = load_scene(out)
    case = load_scene(DEFAULT_SCENE)
    assert scene.spread is not None
    assert set(case.nerves()) <= set(scene.nerves())
    assert scene.nodes["sacrum"].geometry.file.name == "FMA16202.stl"
    assert scene.nodes["ramus_s1_l"].geometry is None  # explicit centreline + radius
    assert out.with_name("moved_anatomy.yaml").exists()
    assert (out.parent / "moved_model" / "coccyx.vtp").exists()  # the atlas lacks one
    assert any(line.startswith("fit:") for line in report)
    text = out.with_name("moved_anatomy.yaml").read_text()
    assert "mesh_roots:" in text and "atlas" in text


def test_pipeline_carries_nerves_where_the_move_takes_them(moved_model):
    from app.case import DEFAULT_SCENE, load_scene

    scene = load_scene(moved_model[0])
    model = load_scene(DEFAULT_SCENE).nerves()
    worst = {}
    for nid, path in model.items():
        expected = apply_matrix(MOVE, path.centreline)
        got = scene.nerves()[nid].centreline
        d = np.linalg.norm(got[:, None, :] - expected[None, :, :], axis=2).min(axis=1)
        worst[nid] = (float(np.median(d)), float(d.max()))
    assert max(m for m, _ in worst.values()) < 3.0, worst
    assert max(x for _, x in worst.values()) < 5.0, worst


def test_pipeline_moves_landmarks_and_cameras(moved_model):
    from app.case import DEFAULT_SCENE, load_scene

    scene = load_scene(moved_model[0])
    case = load_scene(DEFAULT_SCENE)
    for name in ("sacral_promontory", "anterior_foramen_s2_l", "acetabulum_r",
                 "greater_sciatic_notch_l", "pubic_symphysis", "sacral_canal_s1_s2"):
        expected = apply_matrix(MOVE, case.landmarks[name][None])[0]
        assert np.linalg.norm(scene.landmarks[name] - expected) < 4.0, name
    assert "measured_greater_sciatic_notch_l" in scene.landmarks  # the apex on the bone
    focal = np.array(scene.cameras["anterior"].focal_point)
    expected = apply_matrix(MOVE, np.array(case.cameras["anterior"].focal_point)[None])[0]
    assert np.linalg.norm(focal - expected) < 5.0


def test_landmark_file_overrides_detection(moved_model):
    from app.atlas.fit import fit
    from app.case import DEFAULT_SCENE, load_scene

    out, _ = moved_model
    atlas = import_atlas(out.parent.parent / "atlas")
    given = {"sacral_promontory": apply_matrix(MOVE, np.array([[0.0, 3.0, 2.0]]))[0]}
    fitted = fit(atlas, load_scene(DEFAULT_SCENE), given)
    np.testing.assert_allclose(fitted.landmarks["sacral_promontory"], given["sacral_promontory"])
    assert fitted.origin["sacral_promontory"] == "given in the landmark file"
    assert np.linalg.norm(fitted.point(np.zeros(3)) - given["sacral_promontory"]) < 1e-6


def test_atlas_without_bones_is_imported_unfitted_and_decimated(tmp_path):
    import pyvista as pv

    from app.atlas.cli import import_scene
    from app.case import load_scene

    atlas_dir = tmp_path / "atlas"
    atlas_dir.mkdir()
    ball = pv.Sphere(radius=30, theta_resolution=120, phi_resolution=120).triangulate()
    mesh = TriMesh(np.asarray(ball.points, float), np.asarray(ball.faces).reshape(-1, 4)[:, 1:])
    write_mesh(mesh, atlas_dir / "FMA15900.stl")  # a bladder, nothing to fit nerves to
    out = tmp_path / "bladder.yaml"
    report = import_scene(atlas_dir, out, decimate=0.25)
    assert any(line.startswith("not fitted:") for line in report)
    assert "decimate: 0.25" in out.read_text()
    scene = load_scene(out)
    assert set(n.id for n in scene.drawable()) == {"bladder"}
    assert scene.mesh("bladder").n_cells < mesh.n_cells * 0.4
    assert "anterior" in scene.cameras and scene.spread is None


def test_literal_scenario_points_are_carried_but_offsets_are_not():
    from app.atlas.writer import _warp_points

    class Shift:
        @staticmethod
        def point(p):
            return np.asarray(p) + [0.0, 0.0, 100.0]

    scenario = {"seed": [1, 2, 3], "routes": [{"offset": [4, 0, 0], "segments": [
        {"point": [0, 0, 0]}, {"node": "sciatic_l", "from": 0.0, "to": [5, 5, 5]}]}]}
    _warp_points(scenario, Shift())
    assert scenario["seed"] == [1, 2, 103]
    assert scenario["routes"][0]["offset"] == [4, 0, 0]
    assert scenario["routes"][0]["segments"][0]["point"] == [0, 0, 100]
    assert scenario["routes"][0]["segments"][1]["from"] == 0.0
    assert scenario["routes"][0]["segments"][1]["to"] == [5, 5, 105]
