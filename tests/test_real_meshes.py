"""The loader opens real anatomical meshes (BodyParts3D STL, Human Reference Atlas GLB)."""

from __future__ import annotations

import numpy as np

from app.case import load_scene
from tests.conftest import require_anatomy


def _scene_with(tmp_path, root, nodes: str):
    path = tmp_path / "real.yaml"
    path.write_text(f"name: Real\nmesh_roots: [{root}]\nnodes:\n{nodes}")
    return load_scene(path)


def test_bodyparts3d_stl_as_scene_nodes(tmp_path):
    root = require_anatomy("bodyparts3d")
    nodes = "".join(
        f"  - id: {nid}\n    kind: mesh\n    side: {side}\n"
        f"    geometry: {{file: {root}/stl/{fma}.stl}}\n"
        for nid, side, fma in [("sacrum", "midline", "FMA16202"), ("hip_l", "left", "FMA16587"),
                               ("prostate", "midline", "FMA9600")])
    scene = _scene_with(tmp_path, root, nodes)
    sacrum = scene.mesh("sacrum")
    assert sacrum.n_cells == 44416  # as MANIFEST.csv says
    b = sacrum.bounds()
    np.testing.assert_allclose([b[0], b[1], b[4], b[5]], [-60.18, 62.1, 790.69, 936.0], atol=0.05)
    assert scene.mesh("hip_l").bounds()[0] > 0  # the left hip bone is on +x (LPS)


def test_hra_glb_named_meshes_with_open_surfaces(tmp_path):
    root = require_anatomy("hra_ccf_releases")
    nodes = (
        f"  - id: sacrum\n    kind: mesh\n"
        f"    geometry: {{file: {root}/glb/VH_M_Pelvis.glb, mesh: VH_M_sacrum}}\n"
        f"  - id: bladder\n    kind: mesh\n"
        f"    geometry: {{file: {root}/glb/VH_M_Urinary_Bladder.glb}}\n"
    )
    scene = _scene_with(tmp_path, root, nodes)
    sacrum = scene.mesh("sacrum")
    assert sacrum.n_cells == 18032
    lo, hi = sacrum.points.min(axis=0), sacrum.points.max(axis=0)
    np.testing.assert_allclose(lo, [-0.0567, 0.0314, -0.1187], atol=2e-4)
    np.testing.assert_allclose(hi, [0.0685, 0.1651, 0.0001], atol=2e-4)
    assert scene.mesh("bladder").n_cells > 100


def test_unknown_glb_mesh_name_is_a_clear_error(tmp_path):
    import pytest

    from app.errors import SceneError

    root = require_anatomy("hra_ccf_releases")
    with pytest.raises(SceneError) as info:
        _scene_with(tmp_path, root, f"  - id: x\n    kind: mesh\n    geometry: "
                                    f"{{file: {root}/glb/VH_M_Pelvis.glb, mesh: nope}}\n")
    (problem,) = info.value.problems
    assert problem.line == 6 and "no mesh named 'nope'" in problem.message
    assert "VH_M_sacrum" in problem.message
