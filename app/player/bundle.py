"""A case as one static bundle for the browser player: built once, played with no server.

Layout of the bytes (``Bundle.to_bytes``)::

    b"PSB1" | uint32 LE header length | header (UTF-8 JSON, space-padded to 8) | arrays

The header says everything small (tree, colours, cameras, timeline, record, legend, routes);
every big array is a reference ``{"o": byte offset into arrays, "n": count, "t": dtype}``,
with ``"d": k`` where the array is stored as differences between an element and the one k
places before it (wrapping in its own integer type; the first k are as they are).

What is in it, and why it looks like this:

- **Geometry once per drawable**, taken from the very VTK actors the still renderer draws
  (``SceneView`` + ``SpreadLayer``), so the browser shows the same triangles, normals,
  material and lookup tables. Positions are quantised to uint16 inside each surface's own box
  (error at most half a step: :func:`quantisation_error` reports it, about 0.002 mm for the
  built-in anatomy), normals to int8 (under half a degree), triangle indices as uint16 where
  a surface has fewer than 65536 points. Positions, normals and triangle indices are stored
  as differences from the previous vertex or index: neighbours differ by little, so the
  compressed case is about a quarter smaller (the browser sums them back while it reads).
- **Arrival times per vertex** (float32 seconds) for every nerve some route reaches and for the
  arrow tubes: the same field the renderer colours by, so the browser needs no route geometry
  to colour involvement.
- **Per frame the browser computes the state itself** from the timeline (keyframes, route knots
  with their easing, the heads' paths, mass knots): a few interpolations per route, exact at any
  time and far smaller than a table sampled over time (which would also have to interpolate
  rotation matrices). ``tests/e2e/test_player.py`` checks the browser's numbers against
  ``SpreadLayer.uniforms`` at many times.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.errors import UserError
from app.model.scene import CameraPreset, Scene

FORMAT = "pelvic-spread-bundle/1"
MAGIC = b"PSB1"
Q = 65535  # quantisation steps per axis of a surface's box

# Structures that get a label when labels are on (those the scene has): the story's places.
LABELLED = ("sacrum", "l5", "bladder", "prostate", "rectum", "dural_sac", "sciatic_l",
            "sciatic_r", "sacral_plexus_l", "sacral_plexus_r", "lumbosacral_trunk_l",
            "inferior_hypogastric_plexus_l", "piriformis_l")
TOP_ANCHORED = ("sacrum", "bladder", "hip_l", "hip_r", "piriformis_l", "piriformis_r")
PRESET_KEYS = "123456789"

# The light VTK creates for a renderer that has none (the spread's overlay renderer): a
# headlight of intensity 1 (vtkRenderer::CreateLight).
OVERLAY_LIGHTS = [{"type": "HeadLight", "position": [0.0, 0.0, 1.0], "focal": [0.0, 0.0, 0.0],
                   "color": [1.0, 1.0, 1.0], "intensity": 1.0}]


class _Arrays:
    """Concatenated, 8-byte aligned typed arrays; ``add`` returns the header's reference."""

    TYPES = {np.dtype(np.uint8): "u8", np.dtype(np.int8): "i8", np.dtype(np.uint16): "u16",
             np.dtype(np.uint32): "u32", np.dtype(np.float32): "f32",
             np.dtype(np.float64): "f64"}

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, a: np.ndarray, delta: int = 0) -> dict[str, Any]:
        """Append ``a``; ``delta`` k > 0 stores each element minus the one k places before it
        (integers only, wrapping in their own type), which compresses far better for
        neighbouring vertices and indices."""
        a = np.ascontiguousarray(a).ravel()
        ref: dict[str, Any] = {"o": self.size, "n": int(a.size), "t": self.TYPES[a.dtype]}
        if delta:
            if a.dtype.kind not in "iu" or a.size % delta:
                raise ValueError(f"cannot delta-code {a.size} {a.dtype} in steps of {delta}")
            d = a.copy()
            d[delta:] = a[delta:] - a[:-delta]  # wraps, as the decoder's sum does
            a = d
            ref["d"] = delta
        data = a.tobytes()
        pad = (-len(data)) % 8
        self.parts.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return ref

    def bytes(self) -> bytes:
        return b"".join(self.parts)


@dataclass
class Bundle:
    """A bundle's header (JSON-able) and its array bytes."""

    header: dict[str, Any]
    arrays: bytes
    stats: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        head = json.dumps(self.header, separators=(",", ":"), allow_nan=False).encode()
        head += b" " * ((-len(head) - 8) % 8)  # arrays start 8-aligned
        return MAGIC + struct.pack("<I", len(head)) + head + self.arrays

    def array(self, ref: dict[str, Any]) -> np.ndarray:
        """The numpy array a header reference points at, decoded (for tests and tools)."""
        dtype = {v: k for k, v in _Arrays.TYPES.items()}[ref["t"]]
        a = np.frombuffer(self.arrays, dtype=dtype, count=ref["n"], offset=ref["o"])
        k = ref.get("d", 0)
        if k:
            # running sums of every k-th element, wrapping in the array's own type
            a = np.cumsum(a.reshape(-1, k), axis=0, dtype=dtype).ravel()
        return a


def read_bundle(data: bytes) -> Bundle:
    """Parse ``Bundle.to_bytes`` output (the inverse, for tests)."""
    if data[:4] != MAGIC:
        raise ValueError("not a pelvic-spread bundle (bad magic)")
    (n,) = struct.unpack("<I", data[4:8])
    return Bundle(json.loads(data[8:8 + n]), data[8 + n:])


# -- geometry --------------------------------------------------------------------------------
def _triangles(poly: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(points, point normals or None, (m, 3) triangles) of what an actor draws."""
    import pyvista as pv

    mesh = pv.wrap(poly)
    normals = poly.GetPointData().GetNormals()
    if mesh.n_cells and not mesh.is_all_triangles:
        mesh = mesh.triangulate()
        normals = mesh.GetPointData().GetNormals()
    faces = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:] if len(mesh.faces) else \
        np.zeros((0, 3), np.int64)
    pts = np.asarray(mesh.points, dtype=np.float64)
    nrm = None
    if normals is not None:
        from vtkmodules.util.numpy_support import vtk_to_numpy

        nrm = np.asarray(vtk_to_numpy(normals), dtype=np.float64)
    return pts, nrm, faces


def quantise(points: np.ndarray) -> tuple[np.ndarray, list[float], list[float], float]:
    """uint16 positions in the points' own box: (q, min, step, worst error in mm)."""
    lo = points.min(axis=0) if len(points) else np.zeros(3)
    hi = points.max(axis=0) if len(points) else np.zeros(3)
    step = np.where(hi > lo, (hi - lo) / Q, 1.0)
    q = np.clip(np.round((points - lo) / step), 0, Q).astype(np.uint16)
    back = lo + q.astype(np.float64) * step
    err = float(np.linalg.norm(back - points, axis=1).max()) if len(points) else 0.0
    return q, [float(v) for v in lo], [float(v) for v in step], err


def _geometry(arrays: _Arrays, poly: Any, stats: dict[str, Any]) -> dict[str, Any]:
    pts, nrm, tris = _triangles(poly)
    q, lo, step, err = quantise(pts)
    stats["max_error_mm"] = max(stats.get("max_error_mm", 0.0), err)
    stats["points"] = stats.get("points", 0) + len(pts)
    stats["triangles"] = stats.get("triangles", 0) + len(tris)
    out: dict[str, Any] = {"points": arrays.add(q.ravel(), delta=3), "min": lo, "step": step}
    if nrm is not None:
        n = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        out["normals"] = arrays.add(np.round(n * 127.0).astype(np.int8).ravel(), delta=3)
    dtype = np.uint16 if len(pts) < 65536 else np.uint32
    out["tris"] = arrays.add(tris.astype(dtype).ravel(), delta=1)
    if closed_outward(pts, tris):
        out["closed"] = True
    return out


def closed_outward(points: np.ndarray, tris: np.ndarray) -> bool:
    """Whether the surface encloses a volume and faces out of it: each edge is crossed by one
    triangle each way, and the enclosed volume is positive. An opaque surface like this never
    shows a back face, so the player skips them (backface culling) without changing the
    picture; a surface with a seam or a hole is drawn whole."""
    if len(tris) == 0:
        return False
    t = np.asarray(tris, dtype=np.int64)
    n = int(t.max()) + 1
    edges = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    ahead = np.sort(edges[:, 0] * n + edges[:, 1])
    back = np.sort(edges[:, 1] * n + edges[:, 0])
    if np.any(ahead[1:] == ahead[:-1]) or not np.array_equal(ahead, back):
        return False
    p = np.asarray(points, dtype=np.float64)[t]
    volume = np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0
    return bool(volume > 0)


def _prop(actor: Any) -> dict[str, Any]:
    p = actor.GetProperty()
    return {"color": [round(float(c), 5) for c in p.GetColor()],
            "opacity": round(float(p.GetOpacity()), 5),
            "ambient": float(p.GetAmbient()), "diffuse": float(p.GetDiffuse()),
            "specular": float(p.GetSpecular()), "specularPower": float(p.GetSpecularPower()),
            "flat": p.GetInterpolation() == 0}


def _lut(lut: Any, kind: str) -> dict[str, Any]:
    n = lut.GetNumberOfTableValues()
    table = [int(round(c * 255)) for i in range(n) for c in lut.GetTableValue(i)]
    return {"range": kind, "table": table,
            "below": list(lut.GetBelowRangeColor()) if lut.GetUseBelowRangeColor() else None,
            "above": list(lut.GetAboveRangeColor()) if lut.GetUseAboveRangeColor() else None,
            "nan": list(lut.GetNanColor())}


def _lights(renderer: Any) -> list[dict[str, Any]]:
    kinds = {1: "HeadLight", 2: "CameraLight", 3: "SceneLight"}
    return [{"type": kinds[light.GetLightType()], "position": list(light.GetPosition()),
             "focal": list(light.GetFocalPoint()), "color": list(light.GetDiffuseColor()),
             "intensity": float(light.GetIntensity())}
            for light in renderer.GetLights() if light.GetSwitch()]


# -- small parts -----------------------------------------------------------------------------
def _camera(p: CameraPreset, scene: Scene, key: str) -> dict[str, Any]:
    hide: list[str] = []
    for node_id in p.hide:
        if node_id in scene.nodes:
            hide += [n.id for n in scene.descendants(node_id) if n.kind != "group"]
    return {"name": p.name, "label": p.label or p.name.replace("_", " ").title(), "key": key,
            "position": list(map(float, p.position)),
            "focalPoint": list(map(float, p.focal_point)),
            "viewUp": list(map(float, p.view_up)), "viewAngle": float(p.view_angle),
            "hide": hide}


def _anchor(scene: Scene, node_id: str) -> list[float]:
    """Where a label points: mid-centreline for a nerve, else the top of some surfaces, else
    the surface point nearest the centre of its box."""
    node = scene.nodes[node_id]
    if node.path is not None and node.kind == "nerve":
        c = node.path.centreline
        p = c[len(c) // 2]
    else:
        pts = scene.mesh(node_id).points
        if node_id in TOP_ANCHORED:
            p = pts[int(np.argmax(pts[:, 2]))]
        else:
            b = np.asarray(scene.mesh(node_id).bounds())
            centre = (b[0::2] + b[1::2]) / 2
            p = pts[int(np.argmin(np.linalg.norm(pts - centre, axis=1)))]
    return [round(float(v), 2) for v in p]


def _record(spread: Any) -> dict[str, Any] | None:
    """Marker values (PSA) and events from the scene's own record (``spread.record``); None
    for a scene without one (then the page shows no chart and no marker line)."""
    rec = spread.record
    if not rec.values and not rec.events:
        return None

    def when(date: Any) -> float | None:
        try:
            return spread.time_of_date(date)
        except Exception:  # outside this timeline: not on the chart (still counts for text)
            return None

    values = [{"date": str(v.date), "day": float(v.day), "value": float(v.value),
               "note": v.note or "", "text": rec.text(float(v.value)), "time": when(v.date)}
              for v in rec.values]
    evs = [{"id": e.id, "date": str(e.date), "label": e.label, "short": e.short,
            "side": e.side, "time": when(e.date)} for e in rec.events]
    return {"marker": rec.marker, "unit": rec.unit, "values": values,
            "events": [e for e in evs if e["time"] is not None]}


def _legend(spread: Any) -> list[dict[str, str]]:
    """The scenario's legend: one entry per arrow style it draws (the model's one source)."""
    entries = spread.legend_entries() if hasattr(spread, "legend_entries") else spread.legend
    return [{"style": str(e.style), "text": str(e.text)} for e in entries]


def _timeline(spread: Any, layer: Any, arrays: _Arrays) -> dict[str, Any]:
    from app.render.spread_layer import HEAD_LENGTH

    kf = spread.keyframes
    stages = []
    for st in spread.stages:
        stages.append({"id": st.id, "title": st.title, "caption": st.caption,
                       "startDay": st.start_day, "start": st.start,
                       "time": kf.time_of_day(st.start_day), "source": st.source})
    first, last = kf.first_day, kf.last_day
    ticks = []
    for year in range(dt.date.fromordinal(int(first)).year,
                      dt.date.fromordinal(int(last)).year + 1):
        day = dt.date(year, 1, 1).toordinal()
        if first <= day <= last:
            ticks.append({"time": kf.time_of_day(day), "label": str(year)})
    routes = []
    for route in spread.routes:
        head = layer.heads.get(route.id)
        entry: dict[str, Any] = {
            "id": route.id, "label": route.label, "style": route.style,
            "knotDays": list(route.knot_days), "knotS": list(route.knot_s),
            "easing": route.easing, "length": route.length,
            # float64: the front's direction changes at vertices, so it must find the same
            # segment as Python does
            "path": arrays.add(np.asarray(route.path, np.float64).ravel()),
            "s": arrays.add(np.asarray(route.s, np.float64).ravel())}
        if head is not None:
            entry["headS"] = arrays.add(np.asarray(head.s, np.float64))
            entry["headPoints"] = arrays.add(np.asarray(head.points, np.float64).ravel())
        routes.append(entry)
    masses = [{"id": m.id, "label": m.label, "center": list(map(float, m.center)),
               "knotDays": list(m.knot_days), "knotRadius": list(m.knot_radius)}
              for m in spread.masses]
    return {"times": list(kf.times), "days": list(kf.days), "start": kf.start,
            "duration": kf.end, "leadTime": float(spread.lead_time), "stages": stages,
            "ticks": ticks, "routes": routes, "masses": masses, "headLength": HEAD_LENGTH,
            "record": _record(spread)}


# -- the bundle ------------------------------------------------------------------------------
def build_bundle(scene: Scene, camera: str | None = "anterior",
                 size: tuple[int, int] = (1280, 720)) -> Bundle:
    """Pack ``scene`` for the player; ``camera`` is the preset it opens with, ``size`` the
    picture size it suggests (the page fills its window)."""
    from app.render.scene_view import BACKGROUND, SceneView, camera_for, make_plotter
    from app.render.spread_layer import ARROW_COLOURS, CALM, LEADING, SpreadLayer

    start_camera = camera_for(scene, camera)  # UserError for an unknown preset
    if not scene.drawable():
        raise UserError(f"{scene.path}: the scene has nothing to draw")
    plotter = make_plotter(size)
    try:
        view = SceneView(scene, plotter)
        spread = scene.spread
        layer = SpreadLayer(view, spread) if spread else None
        arrays = _Arrays()
        stats: dict[str, Any] = {}
        luts: list[dict[str, Any]] = []
        lut_index: dict[int, int] = {}

        def lut_ref(lut: Any, kind: str) -> int:
            key = id(lut)
            if key not in lut_index:
                lut_index[key] = len(luts)
                luts.append(_lut(lut, kind))
            return lut_index[key]

        geoms: list[dict[str, Any]] = []
        actors: list[dict[str, Any]] = []
        for node in scene.drawable():
            actor = view.actors[node.id]
            poly = actor.GetMapper().GetInput()
            geoms.append(_geometry(arrays, poly, stats))
            entry: dict[str, Any] = {"id": node.id, "kind": "node", "layer": 0,
                                     "geom": len(geoms) - 1, "prop": _prop(actor),
                                     "visible": view.effective_visible(node.id)}
            if layer is not None and node.id in layer.nerve_actors:
                arrival = view.polydata[node.id].point_data["arrival"]
                entry["arrival"] = arrays.add(np.asarray(arrival, np.float32))
                entry["lut"] = lut_ref(actor.GetMapper().GetLookupTable(), "nerve")
            actors.append(entry)
        timeline = None
        legend: list[dict[str, str]] = []
        if layer is not None:
            for style, actor in layer.arrow_actors.items():
                poly = actor.GetMapper().GetInput()
                geoms.append(_geometry(arrays, poly, stats))
                arrival = np.asarray(layer.arrow_polydata[style].point_data["arrival"])
                actors.append({"id": f"arrows:{style}", "kind": "arrows", "layer": 1,
                               "geom": len(geoms) - 1, "prop": _prop(actor), "visible": True,
                               "arrival": arrays.add(arrival.astype(np.float32)),
                               "lut": lut_ref(layer.arrow_luts[style], "arrow")})
            cone = None
            for rid, head in layer.heads.items():
                if cone is None:
                    geoms.append(_geometry(arrays, head.actor.GetMapper().GetInput(), stats))
                    cone = len(geoms) - 1
                actors.append({"id": f"head:{rid}", "kind": "head", "layer": 1, "geom": cone,
                               "prop": _prop(head.actor), "visible": False})
            for mid, actor in layer.mass_actors.items():
                geoms.append(_geometry(arrays, actor.GetMapper().GetInput(), stats))
                actors.append({"id": f"mass:{mid}", "kind": "mass", "layer": 1,
                               "geom": len(geoms) - 1, "prop": _prop(actor), "visible": False})
            timeline = _timeline(spread, layer, arrays)
            legend = _legend(spread)
        presets = [_camera(p, scene, PRESET_KEYS[i] if i < len(PRESET_KEYS) else "")
                   for i, p in enumerate(scene.cameras.values())]
        if not presets:
            presets = [_camera(start_camera, scene, "1")]
        header = {
            "format": FORMAT,
            "name": scene.name, "description": scene.description, "credit": scene.credit,
            "size": list(size), "background": list(BACKGROUND),
            "camera": _camera(start_camera, scene, ""),
            "cameras": presets,
            "lights": [_lights(plotter.renderer), OVERLAY_LIGHTS],
            "nodes": [{"id": n.id, "name": n.name, "parent": n.parent, "kind": n.kind,
                       "side": n.side, "visible": n.visible} for n in scene.nodes.values()],
            "geoms": geoms, "actors": actors, "luts": luts,
            "labels": [{"id": nid, "text": scene.nodes[nid].name, "pos": _anchor(scene, nid)}
                       for nid in LABELLED
                       if nid in scene.nodes and scene.nodes[nid].kind != "group"],
            "timeline": timeline, "legend": legend,
            "colours": {"solid": list(ARROW_COLOURS["solid"]),
                        "dashed": list(ARROW_COLOURS["dashed"]),
                        "calm": list(CALM), "leading": list(LEADING)},
            "quantisation": {"positions": "uint16 per surface box",
                             "max_error_mm": stats.get("max_error_mm", 0.0),
                             "normals": "int8"},
        }
        stats["arrays_bytes"] = arrays.size
        return Bundle(header, arrays.bytes(), stats)
    finally:
        plotter.close()


def quantisation_error(bundle: Bundle) -> float:
    """The largest distance (mm) between a point and its quantised position in ``bundle``."""
    return float(bundle.header["quantisation"]["max_error_mm"])
