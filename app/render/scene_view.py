"""Actors for a scene, built once per plotter; per frame only properties change."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyvista as pv

from app.model.mesh import TriMesh
from app.model.scene import CameraPreset, Scene
from app.render.backend import use_offscreen_backend

BACKGROUND = (1.0, 1.0, 1.0)


def to_polydata(mesh: TriMesh, normals: bool = True) -> pv.PolyData:
    """A TriMesh as PolyData with its point arrays and smooth point normals."""
    faces = np.empty((mesh.n_cells, 4), dtype=np.int64)
    faces[:, 0] = 3
    faces[:, 1:] = mesh.faces
    poly = pv.PolyData(np.ascontiguousarray(mesh.points, dtype=np.float32), faces.ravel())
    for key, values in mesh.point_data.items():
        poly.point_data[key] = np.asarray(values)
    if normals and mesh.n_cells:
        poly = poly.compute_normals(cell_normals=False, split_vertices=False,
                                    auto_orient_normals=False, consistent_normals=False)
    return poly


def make_plotter(size: tuple[int, int], off_screen: bool = True) -> pv.Plotter:
    """A plotter with the project's render settings.

    Anti-aliasing is chosen on purpose: no MSAA (8x MSAA costs ~5x frame time on software
    OpenGL), FXAA instead (a cheap post-pass; see benchmarks/export.py for its cost).
    """
    if off_screen:
        use_offscreen_backend()  # no "bad X server connection" where there is no display
    plotter = pv.Plotter(off_screen=off_screen, window_size=list(size),
                         line_smoothing=False, polygon_smoothing=False, point_smoothing=False)
    plotter.render_window.SetMultiSamples(0)  # pyvista 0.49 has no multi_samples argument
    plotter.set_background(BACKGROUND)
    plotter.renderer.SetUseFXAA(True)
    return plotter


class SceneView:
    """One actor per drawable node of ``scene`` in ``plotter``; visibility/opacity/colour setters.

    ``polydata[node_id]`` is the surface the actor draws (nerves carry ``u`` point data), so
    layers such as the spread colouring can attach scalars without rebuilding anything.
    """

    def __init__(self, scene: Scene, plotter: pv.Plotter, node_ids: Iterable[str] | None = None):
        self.scene = scene
        self.plotter = plotter
        self.actors: dict[str, pv.Actor] = {}
        self.polydata: dict[str, pv.PolyData] = {}
        ids = list(node_ids) if node_ids is not None else [n.id for n in scene.drawable()]
        for node_id in ids:
            node = scene.nodes[node_id]
            poly = to_polydata(scene.mesh(node_id))
            actor = plotter.add_mesh(
                poly, color=node.color, opacity=node.opacity, smooth_shading=True,
                specular=0.25 if node.kind != "nerve" else 0.4, specular_power=20,
                diffuse=0.85, ambient=0.18, name=node_id, show_scalar_bar=False,
                scalars=None, reset_camera=False,
            )
            actor.SetVisibility(self.effective_visible(node_id))
            self.actors[node_id] = actor
            self.polydata[node_id] = poly

    def effective_visible(self, node_id: str, hidden: set[str] | None = None) -> bool:
        """A node shows when it and all its ancestors are visible (and not in ``hidden``)."""
        chain = [node_id] + self.scene.ancestors(node_id)
        for nid in chain:
            if not self.scene.nodes[nid].visible or (hidden and nid in hidden):
                return False
        return True

    def set_visibility(self, node_id: str, visible: bool) -> None:
        if node_id in self.actors:
            self.actors[node_id].SetVisibility(bool(visible))

    def set_opacity(self, node_id: str, opacity: float) -> None:
        if node_id in self.actors:
            self.actors[node_id].prop.opacity = float(opacity)

    def set_color(self, node_id: str, color: tuple[float, float, float]) -> None:
        if node_id in self.actors:
            self.actors[node_id].prop.color = color


def apply_camera(plotter: pv.Plotter, preset: CameraPreset) -> None:
    cam = plotter.camera
    cam.position = preset.position
    cam.focal_point = preset.focal_point
    cam.up = preset.view_up
    cam.view_angle = preset.view_angle
    plotter.renderer.ResetCameraClippingRange()


def default_camera(scene: Scene) -> CameraPreset:
    """A front view framing the scene, for scenes that define no 'anterior' preset."""
    b = np.asarray(scene.bounds())
    centre = (b[0::2] + b[1::2]) / 2
    extent = float(max(b[1] - b[0], b[5] - b[4]))
    dist = extent / (2 * np.tan(np.radians(15))) * 1.1
    return CameraPreset("anterior", tuple(centre - np.array([0, dist, 0])), tuple(centre),
                        (0.0, 0.0, 1.0), 30.0, "Anterior")


def camera_for(scene: Scene, name: str | None) -> CameraPreset:
    from app.errors import UserError

    name = name or "anterior"
    if name in scene.cameras:
        return scene.cameras[name]
    if name == "anterior":
        return default_camera(scene)
    known = ", ".join(sorted(scene.cameras)) or "none"
    raise UserError(f"unknown camera '{name}' (this scene has: {known})")
