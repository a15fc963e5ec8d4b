"""The command line as a contract: verbs, outputs and clean failures on the built-in scenes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from tests.conftest import REFERENCES, run_cli
from tests.imagecmp import compare, load
from tests.test_loader import read_back


def test_info_json_lists_every_node_with_facts(capsys, base_scene):
    assert main(["info", str(base_scene.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert set(nodes) == set(base_scene.nodes)
    sacrum = nodes["sacrum"]
    assert set(sacrum) >= {"id", "name", "parent", "kind", "side", "points", "cells", "bounds"}
    assert sacrum["kind"] == "mesh" and sacrum["cells"] > 1000 and len(sacrum["bounds"]) == 6
    xmin, xmax = sacrum["bounds"][:2]
    assert xmin < 0 < xmax  # midline structure straddles x = 0
    assert nodes["sciatic_l"]["kind"] == "nerve" and nodes["sciatic_l"]["side"] == "left"
    assert nodes["sciatic_l"]["bounds"][0] > 0  # patient's left is +x


def test_info_text_is_an_indented_tree(capsys, base_scene):
    assert main(["info", str(base_scene.path)]) == 0
    out = capsys.readouterr().out
    assert "sacrum: Sacrum" in out and "cameras:" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("sacrum:"))
    assert line.startswith("  ")  # under its group


@pytest.mark.parametrize("suffix", [".vtp", ".stl", ".ply", ".obj"])
def test_mesh_reads_back_with_the_same_size(tmp_path, base_scene, suffix):
    out = tmp_path / f"sciatic{suffix}"
    assert main(["mesh", str(base_scene.path), "sciatic_l", "-o", str(out)]) == 0
    back = read_back(out)
    mesh = base_scene.mesh("sciatic_l")
    if suffix == ".stl":  # STL repeats shared corners, so compare triangles
        assert sum(len(c.data) for c in back.cells) == mesh.n_cells
    else:
        assert len(back.points) == mesh.n_points
        np.testing.assert_allclose(back.points, mesh.points, atol=1e-3)


def test_mesh_centreline(tmp_path, base_scene):
    out = tmp_path / "line.vtp"
    assert main(["mesh", str(base_scene.path), "sciatic_l", "--centreline", "-o", str(out)]) == 0
    np.testing.assert_allclose(read_back(out).points,
                               base_scene.nodes["sciatic_l"].path.centreline, atol=1e-4)


def test_mesh_errors_are_clean(tmp_path, base_scene, capsys):
    assert main(["mesh", str(base_scene.path), "nope", "-o", str(tmp_path / "x.vtp")]) == 1
    assert "unknown node 'nope'" in capsys.readouterr().err
    assert main(["mesh", str(base_scene.path), "sacrum", "--centreline",
                 "-o", str(tmp_path / "x.vtp")]) == 1
    assert "has no centreline" in capsys.readouterr().err
    assert main(["mesh", str(base_scene.path), "sacrum", "-o", str(tmp_path / "x.xyz")]) == 1
    assert "unsupported output format" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_render_anterior_matches_reference(tmp_path, base_scene):
    out = tmp_path / "anterior.png"
    result = run_cli("render", str(base_scene.path), "-o", str(out), "--size", "640x360")
    assert result.returncode == 0, result.stderr
    image = load(out)
    assert image.shape == (360, 640, 3)
    compare(image, REFERENCES / "base_anterior.png")


def test_render_bad_camera_and_size(tmp_path, base_scene):
    out = tmp_path / "x.png"
    result = run_cli("render", str(base_scene.path), "-o", str(out), "--camera", "sideways")
    assert result.returncode == 1 and "unknown camera 'sideways'" in result.stderr
    assert "anterior" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("render", str(base_scene.path), "-o", str(out), "--size", "big")
    assert result.returncode == 1 and "WIDTHxHEIGHT" in result.stderr
    assert not out.exists()


def test_render_to_missing_folder_is_a_clear_error(tmp_path, base_scene):
    out = tmp_path / "no" / "such" / "x.png"
    result = run_cli("render", str(base_scene.path), "-o", str(out), "--size", "64x64")
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_the_shipped_scenes():
    from app.model.loader import SCENES_DIR

    scenes = sorted(SCENES_DIR.glob("*.yaml"))
    assert scenes
    result = run_cli("validate", *map(str, scenes))
    assert result.returncode == 0, result.stderr
