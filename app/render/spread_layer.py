"""Draws spread states on a built :class:`SceneView`: geometry once, uniforms per frame.

Built once (``SpreadLayer(view, spread)``):

- **Nerve colouring.** Every involved nerve (and the dural sac) gets a static point array
  ``arrival`` (seconds; :data:`NEVER` where tumour never arrives) computed from its ``u``
  array, and a lookup table shared by all nerves of the same base colour. The table maps
  ``[t - lead, t]`` from the calm involved colour to the bright leading-edge colour; below the
  range (reached long ago) is the calm colour, above it (not reached yet) the nerve's own base
  colour. Scalars are interpolated before mapping, so the front is sharp inside a triangle.
- **Arrows.** One tube actor per style (``solid``, ``dashed``) holding every route of that style,
  drawn beside the nerves (offset by the nerve radius toward the viewer of the anterior view);
  dashed routes are pre-cut into dashes. Each has a static point array ``arrival``; its table is
  opaque up to ``t`` and fully transparent above, so arrows grow without being rebuilt.
- **Arrowheads.** One cone per route, moved by its user matrix.
- **Masses.** One unit sphere per mass, placed and scaled by its user matrix.

No text: the caption, legend and credit are burned into the finished picture afterwards
(``app.render.captions``), so they are always on top of arrows and drawn the same way in
stills, clips and the browser's screenshot.

Per frame (``apply(state)``) only table ranges, matrices and visibility change, and only where
they differ from the previous frame. Animated objects: one table per nerve base colour, two
arrow tables, the cones of moving routes, growing masses.

For a browser that animates on its own: ``static_arrays()`` gives, per actor, the point array
to upload once; ``uniforms(state)`` gives everything that changes per frame as plain numbers::

    {"time": t,
     "nerve_range": [t - lead, t],   # every nerve table: set its range to this
     "arrow_range": [t - 1, t],      # both arrow tables: opaque below t, transparent above
     "heads": {route_id: {"visible": bool, "matrix": 16 floats, row-major}},
     "masses": {mass_id: {"visible": bool, "matrix": 16 floats, row-major}},
     "label": "YYYY-MM-DD  Stage title"}

``uniforms`` depends only on the state and the geometry built here, so it is as seekable as
``state_at`` itself.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkLookupTable
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkRenderingCore import vtkMapper, vtkRenderer

from app.render.scene_view import SceneView
from app.spread.model import Spread, SpreadState
from app.spread.routes import Route, arrow_path

# The VTK classes used here, by name: ``import vtk`` would load all of VTK (~1 s at start-up).
vtk = types.SimpleNamespace(**{c.__name__: c for c in (
    vtkLookupTable, vtkMapper, vtkMatrix4x4, vtkRenderer)})

NEVER = 1.0e9  # arrival time of points tumour never reaches (finite, for VTK and browsers)

CALM = (0.56, 0.36, 0.62)  # involved for a while: a calm plum
LEADING = (1.0, 0.55, 0.12)  # just reached: a bright orange
ARROW_COLOURS = {"solid": (0.78, 0.04, 0.08), "dashed": (0.05, 0.33, 0.85)}
MASS_COLOUR = (0.55, 0.12, 0.32)

SHAFT_RADIUS = 1.5  # mm
HEAD_LENGTH = 10.0  # mm
HEAD_RADIUS = 3.6  # mm
DASH = 6.0  # mm of tube
GAP = 4.0  # mm between dashes
STEP = 1.0  # mm between arrow samples


@dataclass
class _Head:
    route: Route
    actor: Any
    s: np.ndarray  # arc length samples along the route
    points: np.ndarray  # arrow (offset) positions at those samples


def _rotation_to(direction: np.ndarray) -> np.ndarray:
    """3x3 rotation taking +x to ``direction``."""
    x = direction / max(np.linalg.norm(direction), 1e-12)
    helper = np.array([0.0, 0.0, 1.0]) if abs(x[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    y = np.cross(helper, x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    return np.column_stack([x, y, z])


def _matrix(rotation: np.ndarray, scale: float, translation: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = rotation * scale
    m[:3, 3] = translation
    return m


def _vtk_matrix(m: np.ndarray) -> vtk.vtkMatrix4x4:
    out = vtk.vtkMatrix4x4()
    for i in range(4):
        for j in range(4):
            out.SetElement(i, j, float(m[i, j]))
    return out


def _arrival_lut(below: tuple, ramp: tuple[tuple, tuple] | None, above: tuple,
                 above_alpha: float = 1.0, n: int = 256) -> vtk.vtkLookupTable:
    lut = vtk.vtkLookupTable()
    lut.SetNumberOfTableValues(n)
    lo, hi = ramp if ramp is not None else (below, below)
    for i in range(n):
        f = i / (n - 1)
        c = [lo[k] + f * (hi[k] - lo[k]) for k in range(3)]
        lut.SetTableValue(i, c[0], c[1], c[2], 1.0)
    lut.SetBelowRangeColor(below[0], below[1], below[2], 1.0)
    lut.UseBelowRangeColorOn()
    lut.SetAboveRangeColor(above[0], above[1], above[2], above_alpha)
    lut.UseAboveRangeColorOn()
    lut.SetNanColor(above[0], above[1], above[2], above_alpha)
    lut.SetRange(-1.0, 0.0)
    lut.Build()
    return lut


def _colour_by_arrival(mapper: vtk.vtkMapper, lut: vtk.vtkLookupTable) -> None:
    mapper.SetLookupTable(lut)
    mapper.SetUseLookupTableScalarRange(True)
    mapper.SetScalarModeToUsePointFieldData()
    mapper.SelectColorArray("arrival")
    mapper.SetColorModeToMapScalars()
    mapper.SetInterpolateScalarsBeforeMapping(True)
    mapper.SetScalarVisibility(True)


def _smooth_max(values: np.ndarray, half: int) -> np.ndarray:
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return windows.max(axis=1)


class SpreadLayer:
    """The spread drawn over a scene view. See the module docstring for what changes per frame."""

    def __init__(self, view: SceneView, spread: Spread, overlay: bool = True):
        self.view = view
        self.spread = spread
        self.plotter = view.plotter
        self._observers: list[tuple[Any, int]] = []  # (VTK object, tag): removed by remove()
        self._window_layers = self.plotter.render_window.GetNumberOfLayers()
        # Arrows, heads and masses go in a renderer layered over the anatomy (sharing its
        # camera), so that, as in an illustration, bone never hides them.
        self.overlay = self._overlay_renderer() if overlay else None
        self.lead = float(spread.lead_time)
        self._last: dict[str, Any] = {}
        self.nerve_luts: dict[tuple[float, ...], vtk.vtkLookupTable] = {}
        self.nerve_actors: dict[str, Any] = {}
        self._build_nerves()
        self.arrow_luts: dict[str, vtk.vtkLookupTable] = {}
        self.arrow_actors: dict[str, Any] = {}
        self.arrow_polydata: dict[str, pv.PolyData] = {}
        self.heads: dict[str, _Head] = {}
        self._build_arrows()
        self.mass_actors: dict[str, Any] = {}
        self._build_masses()

    # -- build once ---------------------------------------------------------------------------
    def _overlay_renderer(self) -> vtk.vtkRenderer:
        window = self.plotter.render_window
        base = self.plotter.renderer
        ren = vtk.vtkRenderer()
        ren.SetLayer(1)
        ren.SetInteractive(False)
        ren.SetActiveCamera(base.GetActiveCamera())
        ren.SetViewport(base.GetViewport())
        window.SetNumberOfLayers(max(2, window.GetNumberOfLayers()))
        window.AddRenderer(ren)
        # keep the overlay's clipping range in step with the main camera
        tag = base.AddObserver("StartEvent", lambda *_: ren.ResetCameraClippingRange())
        self._observers.append((base, tag))
        return ren

    def _add(self, mesh: pv.DataSet, **kw: Any) -> Any:
        """Add a mesh to the overlay renderer (or the scene's renderer without overlay)."""
        actor = self.plotter.add_mesh(mesh, reset_camera=False, **kw)
        if self.overlay is not None:
            self.plotter.renderer.RemoveActor(actor)
            self.overlay.AddActor(actor)
        return actor

    def _build_nerves(self) -> None:
        involved = set(self.spread.involved_nodes())
        for node_id, poly in self.view.polydata.items():
            if node_id not in involved or "u" not in poly.point_data:
                continue
            arrival = self.spread.arrival_for_u(node_id, np.asarray(poly.point_data["u"]))
            poly.point_data["arrival"] = np.where(np.isfinite(arrival), arrival, NEVER)
            actor = self.view.actors[node_id]
            base = tuple(round(float(c), 4) for c in actor.GetProperty().GetColor())
            lut = self.nerve_luts.get(base)
            if lut is None:
                lut = _arrival_lut(CALM, (CALM, LEADING), base)
                self.nerve_luts[base] = lut
            _colour_by_arrival(actor.GetMapper(), lut)
            self.nerve_actors[node_id] = actor

    def _route_samples(self, route: Route) -> tuple[np.ndarray, np.ndarray]:
        """(s, arrow points) every STEP mm along a route."""
        n = max(2, int(np.ceil(route.length / STEP)) + 1)
        s = np.linspace(0.0, route.length, n)
        centre = np.column_stack([np.interp(s, route.s, route.path[:, k]) for k in range(3)])
        radius = _smooth_max(np.interp(s, route.s, route.radius), int(6 / STEP))
        return s, arrow_path(centre, radius, route.offset)

    def _build_arrows(self) -> None:
        lines: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"solid": [], "dashed": []}
        for route in self.spread.routes:
            if not route.arrow:
                continue
            s, pts = self._route_samples(route)
            arrival = self.spread.route_arrival(route, s)
            arrival = np.where(np.isfinite(arrival), arrival, NEVER)
            if route.style == "dashed":
                on = np.mod(s, DASH + GAP) < DASH
                idx = np.flatnonzero(on)
                runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
                for run in runs:
                    if len(run) >= 2:
                        lines["dashed"].append((pts[run], arrival[run]))
            else:
                lines[route.style].append((pts, arrival))
            self.heads[route.id] = self._build_head(route, s, pts)
        for style, parts in lines.items():
            if not parts:
                continue
            points = np.vstack([p for p, _ in parts])
            arrival = np.concatenate([a for _, a in parts])
            cells = []
            start = 0
            for p, _ in parts:
                cells.append(np.concatenate([[len(p)], np.arange(start, start + len(p))]))
                start += len(p)
            poly = pv.PolyData(points, lines=np.concatenate(cells))
            poly.point_data["arrival"] = arrival
            tube = poly.tube(radius=SHAFT_RADIUS, n_sides=10, capping=True)
            lut = _arrival_lut(ARROW_COLOURS[style], None, ARROW_COLOURS[style], above_alpha=0.0)
            actor = self._add(tube, color=ARROW_COLOURS[style], smooth_shading=True,
                              name=f"spread_arrows_{style}", show_scalar_bar=False, ambient=0.3,
                              specular=0.3)
            _colour_by_arrival(actor.GetMapper(), lut)
            self.arrow_luts[style] = lut
            self.arrow_actors[style] = actor
            self.arrow_polydata[style] = tube

    def _build_head(self, route: Route, s: np.ndarray, pts: np.ndarray) -> _Head:
        cone = pv.Cone(center=(0.0, 0.0, 0.0), direction=(1.0, 0.0, 0.0), height=HEAD_LENGTH,
                       radius=HEAD_RADIUS, resolution=24, capping=True)
        colour = ARROW_COLOURS[route.style]
        actor = self._add(cone, color=colour, smooth_shading=False, ambient=0.3,
                          name=f"spread_head_{route.id}")
        actor.SetVisibility(False)
        return _Head(route, actor, s, pts)

    def _build_masses(self) -> None:
        for mass in self.spread.masses:
            sphere = pv.Sphere(radius=1.0, theta_resolution=32, phi_resolution=24)
            actor = self._add(sphere, color=MASS_COLOUR, smooth_shading=True, specular=0.3,
                              name=f"spread_mass_{mass.id}")
            actor.SetVisibility(False)
            self.mass_actors[mass.id] = actor

    # -- tear down ----------------------------------------------------------------------------
    def remove(self) -> None:
        """Take away everything this layer added to the scene view, leaving it as found.

        Its observers, arrows, heads, masses, the overlay renderer (and the window
        layer it needed) go; the nerves it coloured get their plain colour back and lose their
        ``arrival`` arrays. Safe to call twice. A scenario switch calls this, so that switching
        back and forth leaves nothing behind in the plotter.
        """
        for obj, tag in self._observers:
            obj.RemoveObserver(tag)
        self._observers.clear()
        base = self.plotter.renderer
        holder = self.overlay if self.overlay is not None else base
        for actor in self.actors():
            holder.RemoveActor(actor)
        if self.overlay is not None:
            self.overlay.RemoveAllViewProps()
            self.overlay.SetActiveCamera(None)
            window = self.plotter.render_window
            window.RemoveRenderer(self.overlay)
            rens = window.GetRenderers()
            top = max((rens.GetItemAsObject(i).GetLayer()
                       for i in range(rens.GetNumberOfItems())), default=0)
            if top < self._window_layers:
                window.SetNumberOfLayers(self._window_layers)
            self.overlay = None
        for node_id, actor in self.nerve_actors.items():
            actor.GetMapper().SetScalarVisibility(False)
            data = self.view.polydata.get(node_id)
            if data is not None and "arrival" in data.point_data:
                del data.point_data["arrival"]
        self.nerve_actors.clear()
        self.nerve_luts.clear()
        self.arrow_actors.clear()
        self.arrow_luts.clear()
        self.arrow_polydata.clear()
        self.heads.clear()
        self.mass_actors.clear()
        self._last.clear()

    # -- per frame ----------------------------------------------------------------------------
    def uniforms(self, state: SpreadState) -> dict[str, Any]:
        """Everything that changes per frame, as plain numbers (see the module docstring)."""
        t = state.time
        heads = {}
        for rs in state.routes:
            head = self.heads.get(rs.id)
            if head is None:
                continue
            pos = np.array([np.interp(rs.front_s, head.s, head.points[:, k]) for k in range(3)])
            direction = np.asarray(rs.direction)
            # tip a little ahead of the front, so the shaft ends inside the cone
            centre = pos + (0.4 - 0.5) * HEAD_LENGTH * direction
            m = _matrix(_rotation_to(direction), 1.0, centre)
            heads[rs.id] = {"visible": rs.started and rs.front_s > 0.0,
                            "matrix": [float(v) for v in m.ravel()]}
        masses = {}
        for ms in state.masses:
            m = _matrix(np.eye(3), max(ms.radius, 1e-3), np.asarray(ms.center))
            masses[ms.id] = {"visible": ms.visible, "matrix": [float(v) for v in m.ravel()]}
        label = state.date + (f"   {state.stage.title}" if state.stage is not None else "")
        return {"time": t, "nerve_range": [t - self.lead, t], "arrow_range": [t - 1.0, t],
                "heads": heads, "masses": masses, "label": label}

    def apply(self, state: SpreadState) -> None:
        """Show ``state``: set ranges, matrices, visibility and text; nothing is rebuilt."""
        u = self.uniforms(state)
        if self._changed("nerve_range", u["nerve_range"]):
            for lut in self.nerve_luts.values():
                lut.SetRange(*u["nerve_range"])
        if self._changed("arrow_range", u["arrow_range"]):
            for lut in self.arrow_luts.values():
                lut.SetRange(*u["arrow_range"])
        for rid, h in u["heads"].items():
            if self._changed(f"head:{rid}", h):
                actor = self.heads[rid].actor
                actor.SetVisibility(h["visible"])
                actor.SetUserMatrix(_vtk_matrix(np.asarray(h["matrix"]).reshape(4, 4)))
        for mid, m in u["masses"].items():
            if self._changed(f"mass:{mid}", m):
                actor = self.mass_actors[mid]
                actor.SetVisibility(m["visible"])
                actor.SetUserMatrix(_vtk_matrix(np.asarray(m["matrix"]).reshape(4, 4)))

    def _changed(self, key: str, value: Any) -> bool:
        if self._last.get(key) == value:
            return False
        self._last[key] = value
        return True

    # -- for browsers and tests ---------------------------------------------------------------
    def static_arrays(self) -> dict[str, dict[str, Any]]:
        """Per animated actor, the point array to upload once: ``{key: {"actor", "array",
        "values"}}``; keys are ``nerve:<node id>`` and ``arrows:<style>``."""
        out: dict[str, dict[str, Any]] = {}
        for node_id, actor in self.nerve_actors.items():
            out[f"nerve:{node_id}"] = {
                "actor": actor, "array": "arrival",
                "values": np.asarray(self.view.polydata[node_id].point_data["arrival"])}
        for style, actor in self.arrow_actors.items():
            out[f"arrows:{style}"] = {
                "actor": actor, "array": "arrival",
                "values": np.asarray(self.arrow_polydata[style].point_data["arrival"])}
        return out

    def animated_actors(self) -> list[Any]:
        """Actors whose look can change from frame to frame (a browser resends these)."""
        return (list(self.nerve_actors.values()) + list(self.arrow_actors.values())
                + [h.actor for h in self.heads.values()] + list(self.mass_actors.values()))

    def actors(self) -> list[Any]:
        """Every 3D actor this layer added (not the scene view's own)."""
        return (list(self.arrow_actors.values()) + [h.actor for h in self.heads.values()]
                + list(self.mass_actors.values()))
