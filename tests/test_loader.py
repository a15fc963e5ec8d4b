"""Scene files: every kind of invalid input is rejected with FILE:LINE: message, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from app.case import load_scene
from app.cli import main
from app.errors import SceneError
from tests.conftest import run_cli

TRIANGLE_STL = """solid t
facet normal 0 0 1
 outer loop
  vertex 0 0 0
  vertex 10 0 0
  vertex 0 10 0
 endloop
endfacet
endsolid t
"""

VALID = """\
format: pelvic-spread/1
name: Tiny
nodes:
  - id: bones
    name: Bones
    kind: group
  - id: plate
    name: Plate
    parent: bones
    kind: mesh
    systems: [skeletal]
    color: "#e6dcc8"
    geometry: {file: meshes/plate.stl}
  - id: nerve_l
    name: Left nerve
    kind: nerve
    side: left
    centreline: [[0, 0, 0], [0, 0, 10], [5, 0, 20]]
    radius: 2.0
cameras:
  anterior: {position: [0, -300, 10], focal_point: [0, 0, 10], view_up: [0, 0, 1]}
"""


def write_scene(tmp_path: Path, text: str, name: str = "scene.yaml") -> Path:
    (tmp_path / "meshes").mkdir(exist_ok=True)
    (tmp_path / "meshes" / "plate.stl").write_text(TRIANGLE_STL)
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[tuple[int | None, str]]:
    with pytest.raises(SceneError) as info:
        load_scene(path)
    for p in info.value.problems:
        assert Path(p.file).name == path.name or p.file, p
    return [(p.line, p.message) for p in info.value.problems]


def only_problem(path: Path) -> tuple[int | None, str]:
    found = problems_of(path)
    assert len(found) == 1, found
    return found[0]


def test_valid_scene_loads(tmp_path):
    scene = load_scene(write_scene(tmp_path, VALID))
    assert list(scene.nodes) == ["bones", "plate", "nerve_l"]
    assert scene.nodes["plate"].parent == "bones"
    assert scene.mesh("plate").n_cells == 1
    assert scene.nodes["nerve_l"].path.centreline.shape == (3, 3)
    tube = scene.mesh("nerve_l")
    assert tube.n_cells > 10 and "u" in tube.point_data
    assert scene.cameras["anterior"].position == (0.0, -300.0, 10.0)


def test_unknown_key(tmp_path):
    path = write_scene(tmp_path, VALID.replace("    radius: 2.0\n",
                                               "    radius: 2.0\n    colour: red\n"))
    line, msg = only_problem(path)
    assert line == 20
    assert "unknown key 'colour'" in msg and "nodes[2]" in msg and "color" in msg


def test_wrong_type(tmp_path):
    path = write_scene(tmp_path, VALID.replace('color: "#e6dcc8"', "color: 12"))
    line, msg = only_problem(path)
    assert line == 12
    assert "nodes[1].color" in msg and "expected a colour" in msg and "number 12" in msg


def test_wrong_type_opacity(tmp_path):
    path = write_scene(tmp_path, VALID.replace("    radius: 2.0", "    radius: 2.0\n"
                                               "    opacity: half"))
    line, msg = only_problem(path)
    assert line == 20 and "opacity" in msg and "expected a number" in msg


def test_duplicate_id(tmp_path):
    text = VALID.replace("cameras:", "  - id: plate\n    kind: group\ncameras:")
    line, msg = only_problem(write_scene(tmp_path, text))
    assert line == 20
    assert "duplicate id 'plate'" in msg and "line 7" in msg


def test_parent_that_does_not_exist(tmp_path):
    path = write_scene(tmp_path, VALID.replace("parent: bones", "parent: skeleton"))
    line, msg = only_problem(path)
    assert line == 9 and "parent 'skeleton'" in msg and "does not exist" in msg


def test_parent_cycle(tmp_path):
    text = VALID.replace("    name: Bones\n    kind: group",
                         "    name: Bones\n    kind: group\n    parent: plate")
    line, msg = only_problem(write_scene(tmp_path, text))
    assert line == 7 and "cycle" in msg and "bones" in msg and "plate" in msg


def test_missing_mesh_file(tmp_path):
    path = write_scene(tmp_path, VALID.replace("meshes/plate.stl", "meshes/gone.stl"))
    line, msg = only_problem(path)
    assert line == 13 and "'meshes/gone.stl' not found" in msg


def test_unreadable_mesh_file(tmp_path):
    path = write_scene(tmp_path, VALID)
    (tmp_path / "meshes" / "plate.stl").write_bytes(b"\x00\x01garbage" * 3)
    line, msg = only_problem(path)
    assert line == 13 and "cannot be read as a mesh" in msg and "plate.stl" in msg


def test_mesh_path_that_is_a_folder(tmp_path):
    path = write_scene(tmp_path, VALID.replace("meshes/plate.stl", "meshes/dir.stl"))
    (tmp_path / "meshes" / "dir.stl").mkdir()
    line, msg = only_problem(path)
    assert line == 13 and "is not a file" in msg


def test_mesh_path_leaving_the_scene_folder(tmp_path):
    path = write_scene(tmp_path, VALID.replace("meshes/plate.stl", "../../etc/passwd"))
    line, msg = only_problem(path)
    assert line == 13 and "leaves the scene's folder" in msg and "../../etc/passwd" in msg


def test_mesh_path_through_declared_root_is_allowed(tmp_path):
    atlas = tmp_path / "atlas"
    atlas.mkdir()
    (atlas / "plate.stl").write_text(TRIANGLE_STL)
    scene_dir = tmp_path / "scenes"
    scene_dir.mkdir()
    text = VALID.replace("meshes/plate.stl", "../atlas/plate.stl")
    path = write_scene(scene_dir, text)
    assert "leaves" in only_problem(path)[1]
    path.write_text(text.replace("name: Tiny\n", "name: Tiny\nmesh_roots: [../atlas]\n"))
    assert load_scene(path).mesh("plate").n_cells == 1


def test_empty_mesh(tmp_path):
    path = write_scene(tmp_path, VALID)
    (tmp_path / "meshes" / "plate.stl").write_text("solid t\nendsolid t\n")
    line, msg = only_problem(path)
    assert line == 13 and "plate.stl" in msg and "empty" in msg


def test_mesh_with_non_finite_coordinates(tmp_path):
    path = write_scene(tmp_path, VALID)
    (tmp_path / "meshes" / "plate.stl").write_text(TRIANGLE_STL.replace("10 0 0", "nan 0 0"))
    line, msg = only_problem(path)
    assert line == 13 and "non-finite" in msg


def test_not_yaml(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text("nodes:\n  - id: a\n    kind: [group\n  name: x: y\n")
    line, msg = only_problem(path)
    assert line in (3, 4) and "not valid YAML" in msg


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text("just some text\n")
    line, msg = only_problem(path)
    assert line == 1 and "expected a YAML mapping" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text("\n  \n")
    line, msg = only_problem(path)
    assert line == 1 and "empty file" in msg


def test_missing_scene_file(tmp_path):
    line, msg = only_problem(tmp_path / "nope.yaml")
    assert line is None and "file not found" in msg


def test_all_problems_reported_at_once(tmp_path):
    text = VALID.replace("color: \"#e6dcc8\"", "color: 12").replace("parent: bones",
                                                                     "parent: ghost")
    found = problems_of(write_scene(tmp_path, text))
    assert {line for line, _ in found} == {9, 12}


def test_side_must_match_suffix(tmp_path):
    line, msg = only_problem(write_scene(tmp_path, VALID.replace("side: left", "side: right")))
    assert line == 14 and "ends in _l" in msg


def test_extends_and_overrides(tmp_path):
    base = write_scene(tmp_path, VALID, "base.yaml")
    child = tmp_path / "child.yaml"
    child.write_text(textwrap.dedent("""\
        extends: base.yaml
        name: Child
        overrides:
          plate: {opacity: 0.5}
        nodes:
          - id: extra
            kind: nerve
            centreline: [[0, 0, 0], [0, 10, 0]]
            radius: 1
        """))
    scene = load_scene(child)
    assert base.exists() and scene.name == "Child"
    assert list(scene.nodes) == ["bones", "plate", "nerve_l", "extra"]
    assert scene.nodes["plate"].opacity == 0.5
    child.write_text(child.read_text().replace("id: extra", "id: plate"))
    line, msg = only_problem(child)
    assert line == 6 and "duplicate id 'plate'" in msg and "overrides" in msg


def test_extends_cycle(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    found = problems_of(a)
    assert any("extends itself" in m or "cycle" in m for _, m in found)


def test_validate_command_prints_file_line_and_exits_2(tmp_path, capsys):
    path = write_scene(tmp_path, VALID.replace("parent: bones", "parent: skeleton"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:9: ") and "Traceback" not in err


def test_validate_subprocess_has_no_traceback(tmp_path):
    path = write_scene(tmp_path, "nodes: [\n")
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert f"{path}:" in result.stderr and "Traceback" not in result.stderr


def read_back(path: Path):
    """meshio for what it reads; VTK XML PolyData through pyvista (meshio has no VTP reader)."""
    import meshio

    if path.suffix == ".vtp":
        import pyvista as pv

        poly = pv.read(path)
        cells = poly.faces.reshape(-1, 4)[:, 1:] if poly.n_cells and poly.faces.size else (
            poly.lines.reshape(-1, 3)[:, 1:])
        return meshio.Mesh(np.asarray(poly.points), [("triangle", cells)])
    return meshio.read(path)


def test_mesh_roundtrip_through_meshio(tmp_path):
    scene_path = write_scene(tmp_path, VALID)
    for suffix in (".vtp", ".stl", ".ply", ".obj"):
        out = tmp_path / f"nerve{suffix}"
        assert main(["mesh", str(scene_path), "nerve_l", "-o", str(out)]) == 0
        back = read_back(out)
        expected = load_scene(scene_path).mesh("nerve_l").n_points
        if suffix == ".stl":  # STL stores unshared triangle corners; compare faces instead
            assert sum(len(c.data) for c in back.cells) == load_scene(
                scene_path).mesh("nerve_l").n_cells
        else:
            assert len(back.points) == expected
    out = tmp_path / "line.vtp"
    assert main(["mesh", str(scene_path), "nerve_l", "--centreline", "-o", str(out)]) == 0
    back = read_back(out)
    np.testing.assert_allclose(back.points, [[0, 0, 0], [0, 0, 10], [5, 0, 20]])


def test_vtp_mesh_file_in_a_scene(tmp_path):
    first = write_scene(tmp_path, VALID)
    assert main(["mesh", str(first), "nerve_l", "-o", str(tmp_path / "meshes" / "n.vtp")]) == 0
    path = write_scene(tmp_path, VALID.replace("meshes/plate.stl", "meshes/n.vtp"), "b.yaml")
    plate, nerve = load_scene(path).mesh("plate"), load_scene(first).mesh("nerve_l")
    assert plate.n_cells == nerve.n_cells
    np.testing.assert_allclose(plate.point_data["u"], nerve.point_data["u"])  # kept from VTP


def test_camera_hide_list_names_existing_nodes(tmp_path):
    text = VALID.replace("view_up: [0, 0, 1]}", "view_up: [0, 0, 1], hide: [plate]}")
    scene = load_scene(write_scene(tmp_path, text))
    assert scene.cameras["anterior"].hide == ("plate",)
    line, msg = only_problem(write_scene(tmp_path, text.replace("hide: [plate]", "hide: [pelvis]")))
    assert line == 21 and "unknown node 'pelvis'" in msg
