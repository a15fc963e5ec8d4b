"""A slab in a VTK view: clipping planes on every actor, and caps on every cut surface.

Moving the slab changes two plane origins and the caps; no scene geometry is rebuilt or re-sent.
Caps come from :mod:`app.imaging.section` (loops oriented by nesting, so a solid's winding does
not matter) triangulated by ``vtkContourTriangulator``. A solid's cap takes its node's colour, a
shade darker so a cut reads as a cut; a nerve's (and the dural sac's) cap is coloured by arrival
through the very lookup table that colours its surface, so the spread shows on the cut too.
Masses are capped with discs placed per frame. ``caps(slab)`` gives the same caps as plain
arrays for a browser, which clips with its own planes.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersGeneral import vtkContourTriangulator
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

from app.imaging.section import Plane, Sectioner, simplify_loop
from app.imaging.tissues import tissue_of
from app.model.scene import CameraPreset, Scene
from app.model.slab import Slab
from app.render.scene_view import SceneView

vtk = types.SimpleNamespace(**{c.__name__: c for c in (
    vtkActor, vtkCellArray, vtkContourTriangulator, vtkPlane, vtkPoints, vtkPolyData,
    vtkPolyDataMapper)})

CAP_SHADE = 0.88  # a cap is its solid's colour times this
CAP_STEP_MM = 0.04  # caps of inner structures sit this much further out per tissue order
CAP_TOLERANCE_MM = 0.12  # cap outlines drop points this close to the line of their neighbours
NEVER = 1.0e9
DISC_SIDES = 48
GHOST_OPACITY = 0.1
# How caps, mass discs and ghosts look: SlabLayer draws with these, and a browser is sent them
LOOK = {"capShade": CAP_SHADE, "capAmbient": 0.35, "capDiffuse": 0.7,
        "discShade": 1.1, "discAmbient": 0.4, "discStep": 9 * CAP_STEP_MM,
        "discSides": DISC_SIDES, "ghostOpacity": GHOST_OPACITY, "ghostDiffuse": 0.6,
        "ghostAmbient": 0.4}


@dataclass(frozen=True, eq=False)
class Cap:
    """One cut surface's cap on one face of the slab (arrays ready for any renderer)."""

    node_id: str
    face: str  # "lower" | "upper"
    points: np.ndarray  # (N, 3) float32, LPS mm
    triangles: np.ndarray  # (M, 3) int32
    arrival: np.ndarray | None = None  # (N,) seconds, for nerves coloured by the spread


def triangulate(points2d: np.ndarray, loops: list[np.ndarray]) -> np.ndarray:
    """Triangles filling oriented loops (outer counter-clockwise, holes clockwise)."""
    if not loops:
        return np.zeros((0, 3), np.int32)
    pts = vtk.vtkPoints()
    pts.SetData(numpy_to_vtk(np.column_stack([points2d, np.zeros(len(points2d))]), deep=True))
    conn = np.concatenate([np.append(lp, lp[0]) for lp in loops]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(lp) + 1 for lp in loops])]).astype(np.int64)
    lines = vtk.vtkCellArray()
    lines.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(conn, deep=True))
    poly = vtk.vtkPolyData()
    poly.SetPoints(pts)
    poly.SetLines(lines)
    out = vtk.vtkCellArray()
    vtk.vtkContourTriangulator.TriangulateContours(poly, 0, len(loops), out, (0.0, 0.0, 1.0))
    if out.GetNumberOfCells() == 0:
        return np.zeros((0, 3), np.int32)
    return vtk_to_numpy(out.GetConnectivityArray()).reshape(-1, 3).astype(np.int32)


class CapMaker:
    """Caps of a scene's surfaces for any slab (pure arrays; shared by server and browser)."""

    def __init__(self, scene: Scene, node_ids: list[str], spread: Any = None):
        self.scene = scene
        self.spread = spread
        self.sectioner = Sectioner({nid: scene.mesh(nid) for nid in node_ids})
        self.order = {nid: tissue_of(scene.nodes[nid]).order for nid in node_ids}
        involved = set(spread.involved_nodes()) if spread is not None else set()
        self.coloured = {nid for nid in node_ids
                         if nid in involved and "u" in scene.mesh(nid).point_data}

    def caps(self, slab: Slab) -> list[Cap]:
        out = []
        lo, hi = slab.bounds
        for face, position, sign in (("lower", lo, -1.0), ("upper", hi, 1.0)):
            plane = Plane.for_slab(slab.orientation, slab.axis, position)
            for nid in self.sectioner.meshes:
                sec = self.sectioner.cut(nid, plane, slab.axis, ("u",))
                if sec.empty or not sec.loops:
                    continue
                loops = [simplify_loop(sec.points, lp, CAP_TOLERANCE_MM)
                         for lp in sec.oriented_loops()]
                used = np.unique(np.concatenate(loops))
                remap = np.full(len(sec.points), -1, np.int64)
                remap[used] = np.arange(len(used))
                points = sec.points[used]
                tris = triangulate(points, [remap[lp] for lp in loops])
                if len(tris) == 0:
                    continue
                pts3 = plane.shifted(sign * CAP_STEP_MM * self.order[nid]).to3d(points)
                arrival = None
                if nid in self.coloured and "u" in sec.data:
                    a = self.spread.arrival_for_u(nid, sec.data["u"][used])
                    arrival = np.where(np.isfinite(a), a, NEVER).astype(np.float32)
                # the triangulation is counter-clockwise about +axis: face the lower cap down
                if face == "lower":
                    tris = tris[:, ::-1]
                out.append(Cap(nid, face, pts3.astype(np.float32), tris, arrival))
        return out


def _polydata(points: np.ndarray, triangles: np.ndarray) -> vtkPolyData:
    poly = vtk.vtkPolyData()
    vp = vtk.vtkPoints()
    vp.SetData(numpy_to_vtk(np.ascontiguousarray(points, np.float32), deep=True))
    poly.SetPoints(vp)
    cells = vtk.vtkCellArray()
    offsets = np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(triangles.astype(np.int64).ravel(), deep=True))
    poly.SetPolys(cells)
    return poly


class SlabLayer:
    """Clips a built :class:`SceneView` (and its spread layer) to a slab and caps the cuts.

    ``set(slab)`` moves the slab (None: no slab, everything whole again); ``apply(state)``
    places the mass caps for a spread state (the spread layer keeps doing the rest).
    """

    def __init__(self, view: SceneView, spread_layer: Any = None):
        self.view = view
        self.plotter = view.plotter
        self.spread_layer = spread_layer
        self.spread = spread_layer.spread if spread_layer is not None else None
        self.lower = vtk.vtkPlane()
        self.upper = vtk.vtkPlane()
        self.slab: Slab | None = None
        node_ids = [nid for nid in view.actors]
        self.maker = CapMaker(view.scene, node_ids, self.spread)
        self.cap_actors: dict[tuple[str, str], Any] = {}
        self.mass_caps: dict[tuple[str, str], Any] = {}
        self._clipped: list[Any] = []
        self._state = None
        self.ghosts: dict[str, Any] = {}

    # -- clipping -------------------------------------------------------------------------
    def _clip_targets(self) -> list[Any]:
        actors = list(self.view.actors.values())
        if self.spread_layer is not None:
            actors += self.spread_layer.actors()
        return actors

    def _attach(self) -> None:
        if self._clipped:
            return
        for actor in self._clip_targets():
            mapper = actor.GetMapper()
            mapper.AddClippingPlane(self.lower)
            mapper.AddClippingPlane(self.upper)
            self._clipped.append(mapper)

    def _detach(self) -> None:
        for mapper in self._clipped:
            mapper.RemoveClippingPlane(self.lower)
            mapper.RemoveClippingPlane(self.upper)
        self._clipped = []

    def set(self, slab: Slab | None) -> list[Cap]:
        """Show ``slab`` (or the whole scene for None); returns the caps drawn."""
        self.slab = slab
        if slab is None:
            self._detach()
            self._show_context(False)
            for actor in list(self.cap_actors.values()) + list(self.mass_caps.values()):
                actor.SetVisibility(False)
            return []
        lo, hi = slab.bounds
        n = slab.normal
        self.lower.SetOrigin(*(n * lo))
        self.lower.SetNormal(*n)
        self.upper.SetOrigin(*(n * hi))
        self.upper.SetNormal(*(-n))
        self._attach()
        self._show_context(slab.context == "faint")
        caps = self.maker.caps(slab)
        shown = set()
        for cap in caps:
            key = (cap.node_id, cap.face)
            actor = self.cap_actors.get(key) or self._cap_actor(cap)
            self.cap_actors[key] = actor
            poly = _polydata(cap.points, cap.triangles)
            if cap.arrival is not None:
                poly.GetPointData().AddArray(_named(cap.arrival, "arrival"))
            actor.GetMapper().SetInputData(poly)
            shown.add(key)
        for key, actor in self.cap_actors.items():
            node_actor = self.view.actors[key[0]]
            actor.SetVisibility(key in shown and bool(node_actor.GetVisibility()))
            actor.GetProperty().SetOpacity(node_actor.GetProperty().GetOpacity())
        if self._state is not None:
            self.apply(self._state)
        return caps

    def _show_context(self, faint: bool) -> None:
        """``context=faint``: the whole skeleton as a faint ghost around the slab, for bearings."""
        if faint and not self.ghosts:
            for nid, actor in self.view.actors.items():
                if "skeletal" not in self.view.scene.nodes[nid].systems:
                    continue
                mapper = vtk.vtkPolyDataMapper()
                mapper.SetInputData(actor.GetMapper().GetInput())
                mapper.SetScalarVisibility(False)
                ghost = vtk.vtkActor()
                ghost.SetMapper(mapper)
                ghost.GetProperty().SetColor(actor.GetProperty().GetColor())
                ghost.GetProperty().SetOpacity(LOOK["ghostOpacity"])
                ghost.GetProperty().SetDiffuse(LOOK["ghostDiffuse"])
                ghost.GetProperty().SetAmbient(LOOK["ghostAmbient"])
                ghost.SetPickable(False)
                self.plotter.renderer.AddActor(ghost)
                self.ghosts[nid] = ghost
        for nid, ghost in self.ghosts.items():
            ghost.SetVisibility(faint and bool(self.view.actors[nid].GetVisibility()))

    def sync_visibility(self) -> None:
        """Caps follow their structures' visibility and opacity (after a show/hide)."""
        if self.slab is None:
            return
        for (nid, _face), actor in self.cap_actors.items():
            node_actor = self.view.actors[nid]
            has = actor.GetMapper().GetInput() is not None and (
                actor.GetMapper().GetInput().GetNumberOfCells() > 0)
            actor.SetVisibility(has and bool(node_actor.GetVisibility()))
            actor.GetProperty().SetOpacity(node_actor.GetProperty().GetOpacity())

    def _cap_actor(self, cap: Cap) -> Any:
        node_actor = self.view.actors[cap.node_id]
        mapper = vtk.vtkPolyDataMapper()
        actor = vtk.vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        colour = np.asarray(node_actor.GetProperty().GetColor()) * LOOK["capShade"]
        prop.SetColor(*colour)
        prop.SetAmbient(LOOK["capAmbient"])
        prop.SetDiffuse(LOOK["capDiffuse"])
        prop.SetSpecular(0.0)
        if cap.arrival is not None:
            src = node_actor.GetMapper()
            mapper.SetLookupTable(src.GetLookupTable())
            mapper.SetUseLookupTableScalarRange(True)
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("arrival")
            mapper.SetColorModeToMapScalars()
            mapper.SetInterpolateScalarsBeforeMapping(True)
            mapper.SetScalarVisibility(True)
        else:
            mapper.SetScalarVisibility(False)
        self.plotter.renderer.AddActor(actor)
        return actor

    # -- masses ---------------------------------------------------------------------------
    def apply(self, state: Any) -> None:
        """Cap the spread's masses where the slab cuts them (per frame: matrices only)."""
        self._state = state
        if self.spread_layer is None or state is None:
            return
        overlay = self.spread_layer.overlay or self.plotter.renderer
        for ms in state.masses:
            for face in ("lower", "upper"):
                key = (ms.id, face)
                actor = self.mass_caps.get(key)
                if actor is None:
                    actor = _disc_actor(self.spread_layer.mass_actors[ms.id])
                    overlay.AddActor(actor)
                    self.mass_caps[key] = actor
                m = self._disc_matrix(ms, face)
                # shown while there is a slab, shrunk to nothing where the mass is not cut:
                # a browser keeps every actor it was sent, and moves it by its matrix
                actor.SetVisibility(self.slab is not None)
                if m is None:
                    m = np.zeros((4, 4))
                    m[:3, 3] = ms.center
                    m[3, 3] = 1.0
                actor.SetUserMatrix(_vtk_matrix(m))

    def _disc_matrix(self, ms: Any, face: str) -> np.ndarray | None:
        if self.slab is None or not ms.visible:
            return None
        slab = self.slab
        lo, hi = slab.bounds
        c = np.asarray(ms.center, float)
        position = lo if face == "lower" else hi
        d = c[slab.axis] - position
        if abs(d) >= ms.radius:
            return None
        r = float(np.sqrt(ms.radius ** 2 - d ** 2))
        plane = Plane.for_slab(slab.orientation, slab.axis, position)
        sign = -1.0 if face == "lower" else 1.0
        centre = c - d * slab.normal + sign * LOOK["discStep"] * slab.normal
        w = np.cross(plane.u, plane.v)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2] = plane.u * r, plane.v * r, w
        m[:3, 3] = centre
        return m

    def remove(self) -> None:
        """Take everything this layer added out of the view."""
        self._detach()
        for actor in self.cap_actors.values():
            self.plotter.renderer.RemoveActor(actor)
        overlay = self.spread_layer.overlay if self.spread_layer is not None else None
        for actor in self.mass_caps.values():
            (overlay or self.plotter.renderer).RemoveActor(actor)
        for actor in self.ghosts.values():
            self.plotter.renderer.RemoveActor(actor)
        self.cap_actors.clear()
        self.mass_caps.clear()
        self.ghosts.clear()


def _named(values: np.ndarray, name: str) -> Any:
    arr = numpy_to_vtk(np.ascontiguousarray(values, np.float32), deep=True)
    arr.SetName(name)
    return arr


def _disc_actor(mass_actor: Any) -> Any:
    ang = np.linspace(0.0, 2 * np.pi, DISC_SIDES, endpoint=False)
    pts = np.vstack([[0.0, 0.0, 0.0], np.column_stack([np.cos(ang), np.sin(ang),
                                                       np.zeros_like(ang)])])
    tris = np.column_stack([np.zeros(DISC_SIDES, int), 1 + np.arange(DISC_SIDES),
                            1 + (np.arange(DISC_SIDES) + 1) % DISC_SIDES])
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(_polydata(pts, tris))
    mapper.SetScalarVisibility(False)
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    src = mass_actor.GetProperty()
    actor.GetProperty().SetColor(*(np.asarray(src.GetColor()) * LOOK["discShade"]).clip(0, 1))
    actor.GetProperty().SetAmbient(LOOK["discAmbient"])
    actor.SetVisibility(False)
    return actor


def _vtk_matrix(m: np.ndarray) -> Any:
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    out = vtkMatrix4x4()
    out.DeepCopy(m.ravel().tolist())
    return out


# -- cameras -------------------------------------------------------------------------------
def slab_camera(scene: Scene, slab: Slab, tilt_deg: float = 30.0) -> CameraPreset:
    """A view of the slab in the panel's orientation (radiological for axial and coronal).

    Axial from the feet with anterior up, coronal from the front, sagittal from the patient's
    left; ``tilt_deg`` swings the camera toward the slab's top edge for some depth.
    """
    bones = [n.id for n in scene.drawable() if "skeletal" in n.systems] or [
        n.id for n in scene.drawable()]
    pts = np.vstack([np.asarray(scene.mesh(nid).bounds()).reshape(3, 2).T for nid in bones])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    plane = Plane.for_slab(slab.orientation, slab.axis, slab.position)
    centre = (lo + hi) / 2
    centre[slab.axis] = slab.position
    extent = float(max(np.ptp(plane.to2d(np.vstack([lo, hi])), axis=0)))
    view_angle = 30.0
    dist = extent * 0.62 / np.tan(np.radians(view_angle / 2))
    toward = -np.cross(plane.u, plane.v)  # from the slab to the camera: the panel's viewpoint
    up = -plane.v
    t = np.radians(tilt_deg)
    direction = np.cos(t) * toward - np.sin(t) * up
    view_up = np.sin(t) * toward + np.cos(t) * up
    return CameraPreset(f"slab_{slab.orientation}", tuple(centre + dist * direction),
                        tuple(centre), tuple(view_up), view_angle,
                        f"Slab: {slab.describe()}")


# -- stills and clip frames ----------------------------------------------------------------
LAYOUTS = ("single", "side-by-side")


class SlabFrames:
    """Pictures of a slab at any moment: the clipped and capped 3D view, and with ``panel`` the
    schematic MR panel beside it (the two halves of the frame), captions burned in on top.

    ``camera`` None looks at the slab the way the panel does (:func:`slab_camera`); ``look`` is
    a page's look (hidden structures, colours) handed on to the frame renderer.
    """

    def __init__(self, scene: Scene, slab: Slab, size: tuple[int, int] = (1280, 720),
                 camera: str | None = None, panel: bool = False, captions: bool = True,
                 labels: bool = True, spread: bool = True, look: Any = None):
        from app.imaging.panel import MRPanel
        from app.render.scene_view import apply_camera
        from app.render.still import FrameRenderer

        self.scene = scene
        self.size = size
        w, h = size
        self.panel_width = w // 2 if panel else 0
        extra = {"look": look} if look is not None else {}
        self.frames = FrameRenderer(scene, (w - self.panel_width, h), camera or "anterior",
                                    spread=spread, captions=False, **extra)
        if camera is None:
            apply_camera(self.frames.plotter, slab_camera(scene, slab))
        self.slab_layer = SlabLayer(self.frames.view, self.frames.layer)
        self.slab_layer.set(slab)
        self.slab = slab
        self.panel = MRPanel(scene) if panel else None
        self.labels = labels
        self.overlay = None
        if captions and self.frames.layer is not None:
            from app.render.captions import overlay_for

            # beside a panel, the words go on the 3D half: the panel keeps its own lettering
            self.overlay = overlay_for(scene, (w - self.panel_width, h))

    @property
    def plotter(self) -> Any:
        return self.frames.plotter

    def caption_overlay(self) -> Any:
        """Captions sized for the 3D view, drawn on its part of the frame (clip export)."""
        from app.render.captions import overlay_for

        w, h = self.size
        inner = overlay_for(self.scene, (w - self.panel_width, h))
        return _LeftPart(inner, w - self.panel_width) if self.panel_width else inner

    def move(self, slab: Slab) -> None:
        self.slab = slab
        self.slab_layer.set(slab)

    def render(self, t: float | None = None) -> tuple[np.ndarray, Any]:
        """The frame without captions, and the spread state it shows."""
        state = self.frames.apply(t)
        self.slab_layer.apply(state)
        plotter = self.frames.plotter
        plotter.render()
        image = np.array(plotter.screenshot(return_img=True)[:, :, :3])
        return self._beside(image, state, captions=False), state

    def _beside(self, image: np.ndarray, state: Any, captions: bool) -> np.ndarray:
        if captions and self.overlay is not None:
            self.overlay.draw(image, state)
        if self.panel is None:
            return image
        drawn = self.panel.draw(self.slab, state, (self.panel_width, self.size[1]),
                                labels=self.labels)
        return np.ascontiguousarray(np.hstack([image, drawn.image]))

    def image(self, t: float | None = None) -> np.ndarray:
        """The frame with the captions burned into the 3D view."""
        state = self.frames.apply(t)
        self.slab_layer.apply(state)
        self.frames.plotter.render()
        image = np.array(self.frames.plotter.screenshot(return_img=True)[:, :, :3])
        return self._beside(image, state, captions=True)

    def close(self) -> None:
        self.slab_layer.remove()
        self.frames.close()


class _LeftPart:
    """Draws a caption overlay onto the left ``width`` pixels of a wider frame."""

    def __init__(self, overlay: Any, width: int):
        self.overlay = overlay
        self.width = width

    def draw(self, frame: np.ndarray, state: Any) -> np.ndarray:
        self.overlay.draw(frame[:, : self.width], state)  # a view: drawn in place
        return frame


def render_slab_still(scene: Scene, out: Any, slab: Slab, camera: str | None = None,
                      size: tuple[int, int] = (1280, 720), time: float | None = None,
                      panel: bool = False, labels: bool = True, captions: bool = True) -> Any:
    """``pelvic-spread render --slab ...``: one PNG (3D view, and the MR panel beside it)."""
    from app.render.still import save_png

    frames = SlabFrames(scene, slab, size, camera, panel=panel, labels=labels,
                        captions=captions and time is not None, spread=time is not None)
    try:
        save_png(frames.image(time), out)
    finally:
        frames.close()
    return out


# -- what a browser receives per slab move -------------------------------------------------
UV_SCALE = 20.0  # cap points travel as int16 twentieths of a millimetre in the face's plane


def _b64(array: np.ndarray) -> str:
    import base64

    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def encode_caps(caps: list[Cap], slab: Slab) -> list[dict[str, Any]]:
    """Caps as small JSON: per cap its plane (origin, u, v), int16 in-plane points, uint16
    (or uint32) triangles, and float32 arrival times for caps coloured by the spread."""
    out = []
    for cap in caps:
        position = slab.bounds[0] if cap.face == "lower" else slab.bounds[1]
        plane = Plane.for_slab(slab.orientation, slab.axis, position)
        shift = float((cap.points[0].astype(float) - plane.origin) @ plane.normal)
        uv = np.rint(plane.to2d(cap.points.astype(float)) * UV_SCALE).astype(np.int16)
        tri = cap.triangles.astype(np.uint16 if len(cap.points) < 65536 else np.uint32)
        item: dict[str, Any] = {
            "node": cap.node_id, "face": cap.face,
            "origin": [float(v) for v in plane.origin + shift * plane.normal],
            "u": [float(v) for v in plane.u], "v": [float(v) for v in plane.v],
            "scale": UV_SCALE, "uv": _b64(uv), "tri": _b64(tri),
            "index": "uint16" if tri.dtype == np.uint16 else "uint32"}
        if cap.arrival is not None:
            item["arrival"] = _b64(cap.arrival.astype(np.float32))
        out.append(item)
    return out


def decode_cap(item: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) and triangles (M, 3) back from :func:`encode_caps` (what a browser does)."""
    import base64

    uv = np.frombuffer(base64.b64decode(item["uv"]), np.int16).reshape(-1, 2) / item["scale"]
    tri = np.frombuffer(base64.b64decode(item["tri"]), np.dtype(item["index"])).reshape(-1, 3)
    origin, u, v = (np.asarray(item[k], float) for k in ("origin", "u", "v"))
    return origin + uv[:, :1] * u + uv[:, 1:] * v, tri.astype(np.int64)


def slab_message(slab: Slab, caps: list[Cap], panel_jpeg: bytes | None = None,
                 ghosts: list[str] | None = None) -> dict[str, Any]:
    """Everything a browser needs after a slab move: the slab, its two clipping planes (a point
    and the normal keeping the inside), the faces' in-plane axes (for the mass discs), the caps,
    the structures drawn faint outside the slab (``ghosts``, for ``context=faint``), how
    :class:`SlabLayer` draws them (``look``), and the panel picture if it changed."""
    import base64

    lo, hi = slab.bounds
    n = slab.normal
    plane = Plane.for_slab(slab.orientation, slab.axis, slab.position)
    msg: dict[str, Any] = {
        "slab": slab.to_json(),
        "planes": [[*(n * lo).tolist(), *n.tolist()], [*(n * hi).tolist(), *(-n).tolist()]],
        "axes": {"u": plane.u.tolist(), "v": plane.v.tolist(), "normal": n.tolist()},
        "caps": encode_caps(caps, slab),
        "ghosts": list(ghosts or []) if slab.context == "faint" else [],
        "look": dict(LOOK)}
    if panel_jpeg is not None:
        msg["panel"] = "data:image/jpeg;base64," + base64.b64encode(panel_jpeg).decode("ascii")
    return msg
