"""Every closed surface faces outward: positive signed volume, normals pointing out of the solid.

Tools that trust winding (lighting normals, 3D printing, Blender, inside/outside tests such as
pyvista's ``select_interior_points``) see a surface wound the other way as inside out.
"""

from __future__ import annotations

import numpy as np
import pytest

from app import anatomy
from app.anatomy.meshing import signed_volume
from app.model.mesh import TriMesh
from tests.conftest import run_cli

# 26 directions: the extreme vertex of a closed surface along each must have its normal
# pointing that way (away from the solid)
DIRECTIONS = np.array([(x, y, z) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)
                       if (x, y, z) != (0, 0, 0)], dtype=float)


def check_closed_and_consistent(faces: np.ndarray, what: str) -> None:
    """Each edge shared by exactly two triangles that run along it in opposite directions."""
    directed = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    _, undirected = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    assert np.all(undirected == 2), f"{what}: not a closed manifold surface"
    _, once = np.unique(directed, axis=0, return_counts=True)
    assert np.all(once == 1), f"{what}: triangles wound inconsistently"


def outward_normals(mesh: TriMesh, what: str) -> None:
    """The point normals the renderer lights with point out at the surface's extremes."""
    from app.render.scene_view import to_polydata

    poly = to_polydata(mesh)
    normals = np.asarray(poly.point_data["Normals"], dtype=float)
    points = np.asarray(poly.points, dtype=float)
    for d in DIRECTIONS / np.linalg.norm(DIRECTIONS, axis=1)[:, None]:
        i = int(np.argmax(points @ d))
        assert normals[i] @ d > 0.0, f"{what}: normal at the extreme along {d} points inward"


def check_outward(mesh: TriMesh, what: str) -> float:
    check_closed_and_consistent(mesh.faces, what)
    volume = signed_volume(mesh.points, mesh.faces)
    assert volume > 0.0, f"{what}: signed volume {volume / 1000:.2f} cm³ (inside out)"
    outward_normals(mesh, what)
    return volume


@pytest.mark.parametrize("name", anatomy.names())
def test_builtin_anatomy_faces_outward(name):
    check_outward(anatomy.mesh(name), name)


@pytest.mark.parametrize("name", anatomy.solid_names())
def test_solid_normals_climb_the_signed_distance(name):
    """Across the whole surface, not only at its extremes: a step along each point normal
    leaves the solid (its signed distance grows), as the generator defines inside and out."""
    from app.anatomy.solids import SOLIDS
    from app.render.scene_view import to_polydata

    poly = to_polydata(anatomy.mesh(name))
    p = np.asarray(poly.points, dtype=float)
    n = np.asarray(poly.point_data["Normals"], dtype=float)
    sdf = SOLIDS[name].sdf
    rises = sdf(p + 0.4 * n) > sdf(p - 0.4 * n)
    assert rises.mean() > 0.99, f"{name}: only {rises.mean():.1%} of normals point outward"


def test_meshing_winds_outward_whatever_the_contour_gives():
    from app.anatomy.meshing import surface, wind_outward

    ball = surface(lambda p: np.linalg.norm(p, axis=1) - 10.0, (-10, -10, -10), (10, 10, 10),
                   spacing=1.0, target_faces=2000)
    volume = check_outward(ball, "ball")
    assert volume == pytest.approx(4 / 3 * np.pi * 1000, rel=0.05)
    inverted = ball.faces[:, ::-1]
    assert np.array_equal(wind_outward(ball.points, inverted), ball.faces)
    assert wind_outward(ball.points, ball.faces) is ball.faces


def test_every_closed_surface_of_the_case_faces_outward(case_scene):
    """The scene's own surfaces (procedural solids, tubes) as the viewer draws them."""
    for node in case_scene.drawable():
        check_outward(case_scene.mesh(node.id), node.id)


def test_spread_layer_solids_face_outward(case_scene):
    """Arrow shafts, arrowheads and masses, as the spread layer builds them."""
    import pyvista as pv

    from app.render.scene_view import SceneView, make_plotter
    from app.render.spread_layer import SpreadLayer

    plotter = make_plotter((64, 64))
    try:
        layer = SpreadLayer(SceneView(case_scene, plotter, node_ids=[]), case_scene.spread)
        assert layer.mass_actors and layer.heads and layer.arrow_actors
        for actor in layer.actors():
            poly = pv.wrap(actor.GetMapper().GetInput()).triangulate().clean()
            mesh = TriMesh(np.asarray(poly.points, float),
                           np.asarray(poly.faces).reshape(-1, 4)[:, 1:].astype(np.int64))
            # one poly per actor may hold several routes' closed tubes: volume and winding
            # are checked as a whole, normals per mesh extreme
            check_closed_and_consistent(mesh.faces, actor.name)
            assert signed_volume(mesh.points, mesh.faces) > 0.0, actor.name
    finally:
        plotter.close()


@pytest.mark.parametrize("node_id, suffix", [("sacrum", ".stl"), ("hip_r", ".obj"),
                                             ("bladder", ".ply"), ("dural_sac", ".vtp"),
                                             ("ramus_s1_l", ".stl")])
def test_mesh_command_writes_outward_surfaces(tmp_path, case_scene, node_id, suffix):
    from app.model.meshfile import read_mesh

    out = tmp_path / f"{node_id}{suffix}"
    result = run_cli("mesh", node_id, "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = read_mesh(out)
    merged = _merge_duplicate_points(written)  # STL stores each triangle's corners apart
    volume = check_outward(merged, f"{node_id}{suffix}")
    expected = signed_volume(case_scene.mesh(node_id).points, case_scene.mesh(node_id).faces)
    assert volume == pytest.approx(expected, rel=1e-3)


def _merge_duplicate_points(mesh: TriMesh) -> TriMesh:
    pts, inverse = np.unique(np.round(mesh.points, 4), axis=0, return_inverse=True)
    return TriMesh(pts, inverse.reshape(-1)[mesh.faces])
