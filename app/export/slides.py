"""A 3D slide: the scene's surfaces and the spread as node animation, ready for GLB or USDZ.

PowerPoint, Keynote, three.js and ``<model-viewer>`` all play node animation (translation,
rotation and scale keys) and nothing fancier in common, so the spread is turned into exactly
that, once, here; :mod:`app.export.gltf` and :mod:`app.export.usdz` only write it down.

- **Involved nerve**: the nerve's own surface, pushed out a little along its normals, is cut
  into bands :data:`BAND_MM` long (by the surface's ``u`` array, as the renderer colours it).
  Each band is two nodes sharing one geometry: the *front* in the leading-edge colour, shown
  from the band's arrival for half the scenario's lead time, then the *involved* one in the
  calm colour. A STEP scale key (0 -> 1) turns each on: the front runs ahead of the plum.
- **Arrows**: short shafts (one shared unit cylinder, :data:`ARROW_SEGMENT_MM` long; a dashed
  route's dashes are its segments) that grow by LINEAR scale keys as the front passes; one
  cone head per route moves with the front (translation and rotation keys).
- **Masses**: one shared unit sphere per mass, scaled by its radius (exact: the radius is
  piecewise linear in time between the mass's knots and the timeline's keyframes).

Coordinates: scene LPS millimetres become metres with +Y up and +Z anterior (the patient
faces the viewer, as glTF wants a model's front on +Z), +X the patient's left:
``(X, Y, Z) = (x, z, -y) / 1000``. Time: clip second ``tau`` shows scene second
``t0 + tau * (t1 - t0) / duration`` (see :class:`TimeMap`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.export.plan import make_plan
from app.model.mesh import TriMesh
from app.model.scene import Scene

MM = 0.001  # metres per millimetre
# Rows: the slide's X, Y, Z axes in LPS. A rotation (det +1): handedness is kept.
AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

BAND_MM = 4.0  # involved-sleeve band length along a nerve
SLEEVE_GAP_MM = 0.25  # how far the sleeve stands off the nerve surface (at least)
SLEEVE_GAP_FRACTION = 0.06  # ... or this fraction of the nerve's radius, whichever is more
ARROW_SEGMENT_MM = 4.0  # solid arrow shaft segment length (dashes are their own segments)
HEAD_SAMPLE_MM = 2.0  # arrowhead keys: one each time the front has moved this far
POP_S = 1.0e-3  # clip seconds over which a LINEAR track jumps (a shaft appearing)
CYLINDER_SIDES = 10
CONE_SIDES = 24
SPHERE_RES = (24, 16)  # longitude, latitude
ORGAN_SYSTEMS = frozenset({"urogenital", "digestive"})
FORMATS = {".glb": "glb", ".usdz": "usdz"}
_NAME_RE = re.compile(r"[^A-Za-z0-9_]")


# -- the slide, format-neutral ---------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Surface:
    """A triangle surface in its node's frame (metres); normals are unit, per point."""

    points: np.ndarray  # (N, 3) float32
    normals: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (M, 3) uint32


@dataclass(frozen=True)
class Look:
    """A flat material: sRGB colour (as the scene file gives it) and opacity."""

    color: tuple[float, float, float]
    opacity: float = 1.0
    roughness: float = 0.55

    @property
    def linear(self) -> tuple[float, float, float]:
        """The colour in linear light, as glTF's and USD's colour factors want it."""
        return tuple(float(srgb_to_linear(c)) for c in self.color)


@dataclass(frozen=True, eq=False)
class Track:
    """Keys of one transform property; ``times`` in clip seconds, strictly increasing."""

    path: str  # "translation" | "rotation" (x, y, z, w) | "scale"
    times: np.ndarray  # (K,)
    values: np.ndarray  # (K, 3) or (K, 4)
    step: bool = False  # STEP: hold each value until the next key; else LINEAR

    def at(self, tau: float) -> np.ndarray:
        """The value at clip second ``tau``, as a glTF player computes it."""
        t, v = self.times, self.values
        if tau <= t[0]:
            return v[0].copy()
        if tau >= t[-1]:
            return v[-1].copy()
        i = int(np.searchsorted(t, tau, side="right")) - 1
        if self.step:
            return v[i].copy()
        f = (tau - t[i]) / (t[i + 1] - t[i])
        out = v[i] + f * (v[i + 1] - v[i])
        if self.path == "rotation":
            out = out / np.linalg.norm(out)
        return out


@dataclass(eq=False)
class Item:
    """One node: a scene node, a group, a sleeve band, an arrow part or a mass."""

    name: str  # unique; the scene's id for scene nodes
    label: str  # human name ("Left S1 ventral ramus")
    parent: str | None
    surface: str | None = None  # key into SlideScene.surfaces
    look: str | None = None  # key into SlideScene.looks
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)  # x, y, z, w
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    tracks: tuple[Track, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimeMap:
    """Clip seconds 0..duration <-> scene seconds t0..t1 (a linear stretch)."""

    t0: float
    t1: float
    duration: float

    def to_clip(self, t: np.ndarray | float) -> np.ndarray:
        """Scene seconds -> clip seconds (inf stays inf: never)."""
        t = np.asarray(t, float)
        if self.t1 > self.t0:
            return (t - self.t0) * (self.duration / (self.t1 - self.t0))
        # a still: everything up to t0 happened before the clip starts (-1), the rest never
        return np.where(t <= self.t0, -1.0, np.inf)

    def to_scene(self, tau: float) -> float:
        if self.duration <= 0:
            return self.t0
        return self.t0 + (self.t1 - self.t0) * float(tau) / self.duration


@dataclass(frozen=True)
class Moment:
    """A clip time the export reports: what date (and stage) it shows."""

    clip_s: float
    scene_s: float
    date: str
    stage: str = ""


@dataclass(eq=False)
class SlideScene:
    name: str  # the root node's name
    label: str
    credit: str
    items: list[Item]  # parents before children
    surfaces: dict[str, Surface]
    looks: dict[str, Look]
    timemap: TimeMap | None
    moments: tuple[Moment, ...]
    camera: dict[str, Any] | None  # {"position", "target", "up", "yfov_deg", "name"}, slide frame
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.timemap.duration if self.timemap is not None else 0.0

    def item(self, name: str) -> Item:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for it in self.items:
            k = it.extras.get("kind", "node")
            kinds[k] = kinds.get(k, 0) + 1
        kinds["tracks"] = sum(len(it.tracks) for it in self.items)
        return kinds


# -- small helpers ---------------------------------------------------------------------------
def srgb_to_linear(c: float) -> float:
    c = float(c)
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def to_slide(points_mm: np.ndarray) -> np.ndarray:
    """LPS millimetres -> slide metres (+Y up, +Z anterior)."""
    return (np.asarray(points_mm, float) @ AXES.T) * MM


def to_slide_dir(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, float) @ AXES.T


def quat_from_y(direction: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of the shortest rotation taking +Y to ``direction``."""
    d = np.asarray(direction, float)
    d = d / max(np.linalg.norm(d), 1e-12)
    w = 1.0 + d[1]
    if w < 1e-9:  # opposite: half a turn about X
        return np.array([1.0, 0.0, 0.0, 0.0])
    q = np.array([d[2], 0.0, -d[0], w])  # cross(+Y, d) = (d_z, 0, -d_x)
    return q / np.linalg.norm(q)


def quat_look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation (x, y, z, w) of a glTF camera (looks down its -Z, +Y up) at ``eye``."""
    z = np.asarray(eye, float) - np.asarray(target, float)
    z /= np.linalg.norm(z)
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.column_stack([x, y, z])
    return _quat_from_matrix(m)


def _quat_from_matrix(m: np.ndarray) -> np.ndarray:
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * math.sqrt(tr + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s]
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def vertex_normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals per point (the smooth shading the renderer uses)."""
    tri = points[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.zeros_like(points)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    fallback = np.tile([0.0, 1.0, 0.0], (len(points), 1))
    return np.where(length > 1e-20, n / np.maximum(length, 1e-30), fallback)


def outward(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``faces`` wound so a closed surface's normals point out (signed volume >= 0)."""
    tri = points[faces]
    volume = float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum())
    return faces[:, ::-1].copy() if volume < 0 else faces


def make_surface(points_m: np.ndarray, faces: np.ndarray,
                 normals: np.ndarray | None = None) -> Surface:
    """A Surface with float32 points, unit float32 normals and compact uint32 faces."""
    faces = np.asarray(faces, np.int64)
    if normals is None:
        normals = vertex_normals(np.asarray(points_m, float), faces)
    n32 = np.asarray(normals, np.float64)
    n32 = (n32 / np.maximum(np.linalg.norm(n32, axis=1, keepdims=True), 1e-30)).astype(np.float32)
    n32 /= np.linalg.norm(n32.astype(np.float64), axis=1, keepdims=True).astype(np.float32)
    return Surface(np.ascontiguousarray(points_m, np.float32), np.ascontiguousarray(n32),
                   np.ascontiguousarray(faces, np.uint32))


def safe_name(text: str) -> str:
    """A node name every format takes (USD prim names: letters, digits, underscores)."""
    name = _NAME_RE.sub("_", text)
    return name if name and not name[0].isdigit() else f"n_{name}"


# -- shared unit shapes ------------------------------------------------------------------------
def unit_cylinder(sides: int = CYLINDER_SIDES) -> Surface:
    """Radius 1 about +Y from y = 0 to y = 1, capped; sharp edges at the caps."""
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.column_stack([np.cos(a), np.zeros(sides), np.sin(a)])
    side_pts = np.vstack([ring, ring + [0.0, 1.0, 0.0]])
    side_n = np.vstack([ring, ring])
    k = np.arange(sides)
    k1 = (k + 1) % sides
    side_f = np.vstack([np.column_stack([k, k1 + sides, k + sides]),
                        np.column_stack([k, k1, k1 + sides])])
    # caps: own points (flat normals)
    b0 = 2 * sides
    bottom = np.vstack([[0.0, 0.0, 0.0], ring])
    top = np.vstack([[0.0, 1.0, 0.0], ring + [0.0, 1.0, 0.0]])
    bottom_f = np.column_stack([np.full(sides, b0), b0 + 1 + k, b0 + 1 + k1])
    t0 = b0 + sides + 1
    top_f = np.column_stack([np.full(sides, t0), t0 + 1 + k1, t0 + 1 + k])
    pts = np.vstack([side_pts, bottom, top])
    nrm = np.vstack([side_n, np.tile([0.0, -1.0, 0.0], (sides + 1, 1)),
                     np.tile([0.0, 1.0, 0.0], (sides + 1, 1))])
    faces = np.vstack([side_f, bottom_f, top_f])
    return make_surface(pts, _face_along(pts, faces, nrm), nrm)


def arrow_cone(length_m: float, radius_m: float, sides: int = CONE_SIDES) -> Surface:
    """A cone along +Y centred on the origin (tip at +length/2), as the renderer's heads."""
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.column_stack([np.cos(a) * radius_m, np.full(sides, -length_m / 2),
                            np.sin(a) * radius_m])
    slope = radius_m / length_m
    side_n = np.column_stack([np.cos(a), np.full(sides, slope), np.sin(a)])
    tips = np.tile([0.0, length_m / 2, 0.0], (sides, 1))
    k = np.arange(sides)
    k1 = (k + 1) % sides
    tip_n = (side_n + side_n[k1]) / 2  # one tip point per side: no shading pole
    pts = np.vstack([ring, tips, [[0.0, -length_m / 2, 0.0]], ring])
    nrm = np.vstack([side_n, tip_n, np.tile([0.0, -1.0, 0.0], (sides + 1, 1))])
    side_f = np.column_stack([k, sides + k, k1])
    c = 2 * sides
    base_f = np.column_stack([np.full(sides, c), c + 1 + k, c + 1 + k1])
    faces = np.vstack([side_f, base_f])
    return make_surface(pts, _face_along(pts, faces, nrm), nrm)


def unit_sphere(n_lon: int = SPHERE_RES[0], n_lat: int = SPHERE_RES[1]) -> Surface:
    lat = np.linspace(0.0, np.pi, n_lat + 1)[1:-1]
    lon = np.linspace(0.0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.column_stack([(np.sin(la) * np.cos(lo)).ravel(), np.cos(la).ravel(),
                            (np.sin(la) * np.sin(lo)).ravel()])
    pts = np.vstack([ring, [[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]])
    faces = []
    k = np.arange(n_lon)
    k1 = (k + 1) % n_lon
    for i in range(n_lat - 2):
        a, b = i * n_lon, (i + 1) * n_lon
        faces += [np.column_stack([a + k, b + k, b + k1]), np.column_stack([a + k, b + k1, a + k1])]
    top, bottom = len(ring), len(ring) + 1
    last = (n_lat - 2) * n_lon
    faces += [np.column_stack([np.full(n_lon, top), k, k1]),
              np.column_stack([np.full(n_lon, bottom), last + k1, last + k])]
    f = np.vstack(faces)
    return make_surface(pts, _face_along(pts, f, pts), pts)


def _face_along(points: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Wind each triangle so its face normal agrees with its points' normals."""
    tri = points[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = np.einsum("ij,ij->i", fn, normals[faces].sum(axis=1)) < 0
    out = faces.copy()
    out[flip] = out[flip][:, ::-1]
    return out


# -- tracks ----------------------------------------------------------------------------------
def _increasing(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop keys whose float32 time does not increase (keep the later value)."""
    t32 = times.astype(np.float32).astype(float)
    keep = np.ones(len(t32), bool)
    keep[:-1] = np.diff(t32) > 0
    return times[keep], values[keep]


def switch_track(intervals: list[tuple[float, float]], duration: float) -> Track | None | bool:
    """STEP scale keys showing a node during clip intervals [on, off).

    Returns True (always shown: no track), False (never shown) or the Track.
    """
    events: list[tuple[float, float]] = []
    for on, off in intervals:
        on, off = max(on, 0.0), min(off, math.inf)
        if off <= on or on >= duration or off <= 0:
            continue
        events.append((on, 1.0))
        if off < duration:
            events.append((off, 0.0))
    if not events:
        return False
    events.sort()
    times = [0.0]
    values = [0.0]
    for t, v in events:
        if t <= times[-1] + 1e-9:
            values[-1] = v
        else:
            times.append(t)
            values.append(v)
    if len(times) == 1:
        return values[0] > 0
    tv = np.asarray(times)
    vv = np.repeat(np.asarray(values)[:, None], 3, axis=1)
    tv, vv = _increasing(tv, vv)
    return Track("scale", tv, vv, step=True)


def clip_linear(times: np.ndarray, values: np.ndarray, duration: float,
                path: str) -> Track | np.ndarray:
    """LINEAR keys cut to [0, duration]: a Track, or the constant value when nothing moves."""
    times = np.asarray(times, float)
    values = np.asarray(values, float)
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]

    def value_at(t: float) -> np.ndarray:
        if t <= times[0]:
            return values[0]
        if t >= times[-1]:
            return values[-1]
        i = int(np.searchsorted(times, t, side="right")) - 1
        if times[i + 1] - times[i] <= 0:
            return values[i + 1]
        f = (t - times[i]) / (times[i + 1] - times[i])
        v = values[i] + f * (values[i + 1] - values[i])
        return v / np.linalg.norm(v) if path == "rotation" else v

    inside = (times > 0.0) & (times < duration)
    t = np.concatenate([[0.0], times[inside], [duration]])
    v = np.vstack([value_at(0.0), values[inside], value_at(duration)])
    t, v = _increasing(t, v)
    if np.allclose(v, v[0], atol=1e-9):
        return v[0]
    return Track(path, t, v)


def _continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip signs so consecutive quaternions are in the same hemisphere (short slerps)."""
    q = q.copy()
    for i in range(1, len(q)):
        if float(q[i] @ q[i - 1]) < 0:
            q[i] = -q[i]
    return q


# -- building the slide ----------------------------------------------------------------------
@dataclass(frozen=True)
class SlideOptions:
    start: str | float | None = None  # seconds or YYYY-MM[-DD]
    end: str | float | None = None
    duration: float | None = None  # clip seconds (default: the range's own length)
    organs: bool = True  # False: leave out the pelvic organs (urogenital, digestive)


def is_organ(node: Any) -> bool:
    return bool(node.systems) and set(node.systems) <= ORGAN_SYSTEMS


def build_slide(scene: Scene, options: SlideOptions = SlideOptions()) -> SlideScene:
    """The slide for ``scene`` over the options' range (UserError for bad options)."""
    spread = getattr(scene, "spread", None)
    plan = make_plan(spread, 30.0, options.start, options.end, options.duration)
    timemap = None
    if spread is not None:
        t0, t1 = float(plan.t_start), float(plan.t_end)
        duration = options.duration if options.duration is not None else t1 - t0
        timemap = TimeMap(t0, t1, float(duration))
    builder = _Builder(scene, timemap, options)
    return builder.build()


class _Builder:
    def __init__(self, scene: Scene, timemap: TimeMap | None, options: SlideOptions):
        self.scene = scene
        self.spread = getattr(scene, "spread", None)
        self.timemap = timemap
        self.options = options
        self.items: list[Item] = []
        self.names: set[str] = {"Looks", "Geom"}  # children the USD writer adds
        self.surfaces: dict[str, Surface] = {}
        self.looks: dict[str, Look] = {}
        self.normals: dict[str, np.ndarray] = {}

    # -- names, looks ----------------------------------------------------------------------
    def unique(self, name: str) -> str:
        name = safe_name(name)
        out, k = name, 1
        while out in self.names:
            k += 1
            out = f"{name}_{k}"
        self.names.add(out)
        return out

    def look(self, color: tuple[float, ...], opacity: float) -> str:
        rgb = tuple(float(c) for c in color[:3])
        hexa = "".join(f"{int(round(255 * c)):02x}" for c in rgb)
        key = f"look_{hexa}_{int(round(100 * opacity))}"
        self.looks.setdefault(key, Look(rgb, float(opacity)))  # type: ignore[arg-type]
        return key

    def add(self, item: Item) -> Item:
        self.items.append(item)
        return item

    # -- the scene graph -------------------------------------------------------------------
    def build(self) -> SlideScene:
        scene = self.scene
        root = self.unique(scene.path.stem if scene.path else "scene")
        self.add(Item(root, scene.name, None, extras={"kind": "root",
                                                      "source": "pelvic-spread"}))
        included = self._scene_nodes(root)
        if self.spread is not None and self.timemap is not None:
            self._sleeves(included)
            group = self.unique("spread")
            self.add(Item(group, "Tumour spread", root, extras={"kind": "group"}))
            self._arrows(group)
            self._masses(group)
            root_item = self.items[0]
            # a clock: one track spanning the whole clip, so every player reads its length
            root_item.tracks = (Track("scale", np.array([0.0, self.timemap.duration]),
                                      np.ones((2, 3))),) if self.timemap.duration > 0 else ()
        self._prune_empty_groups()
        return SlideScene(
            name=root, label=scene.name, credit=scene.credit, items=self.items,
            surfaces=self.surfaces, looks=self.looks, timemap=self.timemap,
            moments=self._moments(), camera=self._camera(),
            notes={"band_mm": BAND_MM, "arrow_segment_mm": ARROW_SEGMENT_MM,
                   "organs": self.options.organs})

    def _visible(self, node_id: str) -> bool:
        chain = [node_id] + self.scene.ancestors(node_id)
        return all(self.scene.nodes[n].visible for n in chain)

    def _scene_nodes(self, root: str) -> dict[str, str]:
        """Items for the scene's own nodes (file order); returns scene id -> item name."""
        names: dict[str, str] = {}
        for node in self.scene.nodes.values():
            if not self._visible(node.id):
                continue
            if not self.options.organs and is_organ(node):
                continue
            parent = names.get(node.parent, root) if node.parent else root
            name = self.unique(node.id)
            names[node.id] = name
            extras = {"kind": node.kind, "id": node.id, "name": node.name, "side": node.side}
            if node.kind == "group":
                self.add(Item(name, node.name, parent, extras=extras))
                continue
            mesh = self.scene.mesh(node.id)
            faces = outward(mesh.points, np.asarray(mesh.faces, np.int64))
            normals = vertex_normals(mesh.points, faces)
            self.normals[node.id] = normals
            self.surfaces[name] = make_surface(to_slide(mesh.points), faces,
                                               to_slide_dir(normals))
            self.add(Item(name, node.name, parent, surface=name,
                          look=self.look(node.color, node.opacity), extras=extras))
        return names

    def _prune_empty_groups(self) -> None:
        while True:
            parents = {it.parent for it in self.items}
            drop = {it.name for it in self.items if it.surface is None and it.parent is not None
                    and it.name not in parents}
            if not drop:
                return
            self.items = [it for it in self.items if it.name not in drop]

    # -- time --------------------------------------------------------------------------------
    def clip(self, t: np.ndarray | float) -> np.ndarray:
        assert self.timemap is not None
        return self.timemap.to_clip(t)

    def _moments(self) -> tuple[Moment, ...]:
        """Clip times of the range's ends, the timeline's keyframes and the stage starts."""
        if self.timemap is None or self.spread is None:
            return ()
        from app.spread.calendar import format_day

        sp, tm = self.spread, self.timemap
        kf = sp.keyframes
        # scene second -> (day, stage title); days kept exact where the timeline names them
        marks: dict[float, tuple[float, str]] = {}
        for t in (tm.t0, tm.t1):
            marks[round(float(t), 6)] = (kf.day_of_time(t), "")
        for t, day in zip(kf.times, kf.days, strict=True):
            marks[round(float(t), 6)] = (float(day), "")
        for stage in sp.stages:
            marks[round(kf.time_of_day(stage.start_day), 6)] = (stage.start_day, stage.title)
        out = []
        for t, (day, title) in sorted(marks.items()):
            if not tm.t0 - 1e-9 <= t <= tm.t1 + 1e-9:
                continue
            tau = float(self.clip(t)) if tm.t1 > tm.t0 else 0.0
            stage = sp.stage_at_day(day)
            out.append(Moment(round(tau, 6), t, format_day(day),
                              title or (stage.title if stage is not None else "")))
        return tuple(out)

    def _camera(self) -> dict[str, Any] | None:
        from app.render.scene_view import camera_for

        preset = camera_for(self.scene, "anterior")
        eye = to_slide(np.asarray(preset.position))
        target = to_slide(np.asarray(preset.focal_point))
        up = to_slide_dir(np.asarray(preset.view_up))
        return {"name": preset.label or preset.name, "position": eye, "target": target,
                "up": up / np.linalg.norm(up), "yfov_deg": float(preset.view_angle)}

    # -- involved sleeves --------------------------------------------------------------------
    def _sleeves(self, included: dict[str, str]) -> None:
        from app.render.spread_layer import CALM, LEADING

        sp, tm = self.spread, self.timemap
        assert sp is not None and tm is not None
        front_s = sp.lead_time / 2.0 * (tm.duration / (tm.t1 - tm.t0) if tm.t1 > tm.t0 else 0.0)
        for node_id in sp.involved_nodes():
            parent = included.get(node_id)
            if parent is None or node_id not in self.normals:
                continue
            node = self.scene.nodes[node_id]
            mesh: TriMesh = self.scene.mesh(node_id)
            if "u" not in mesh.point_data:
                continue
            u = np.asarray(mesh.point_data["u"], float)
            arrival = self.clip(sp.arrival_for_u(node_id, u))  # clip seconds, inf: never
            faces = outward(mesh.points, np.asarray(mesh.faces, np.int64))
            reached = np.isfinite(arrival)[faces].all(axis=1)
            if not reached.any():
                continue
            length = float(np.linalg.norm(np.diff(sp.centrelines[node_id], axis=0), axis=1).sum())
            n_bands = max(1, int(round(length / BAND_MM)))
            radius = node.path.radius if node.path is not None else 0.0
            gap = max(SLEEVE_GAP_MM, SLEEVE_GAP_FRACTION * radius)
            normals = self.normals[node_id]
            pushed = mesh.points + gap * normals
            band_of = np.minimum((u[faces].mean(axis=1) * n_bands).astype(int), n_bands - 1)
            calm = self.look(CALM, node.opacity)
            lead = self.look(LEADING, node.opacity)
            group = self.unique(f"{parent}_sleeve")
            self.add(Item(group, f"{node.name}: involved", parent,
                          extras={"kind": "group", "sleeve_of": node_id}))
            present = set(np.unique(band_of[reached]).tolist())
            for k in sorted(present):
                tris = faces[reached & (band_of == k)]
                verts, local = np.unique(tris, return_inverse=True)
                # the band's share of the nerve: whole band widths, except where the
                # reached part of the nerve starts or ends inside it
                lo = k / n_bands if k - 1 in present else max(k / n_bands, float(u[verts].min()))
                hi = ((k + 1) / n_bands if k + 1 in present
                      else min((k + 1) / n_bands, float(u[verts].max())))
                # on when the front passes the band's middle: off by half a band at most
                on = float(self.clip(sp.arrival_for_u(node_id, np.array([(lo + hi) / 2]))[0]))
                if not math.isfinite(on):
                    on = float(np.median(arrival[verts]))
                phases = [(phase, look, switch_track([interval], tm.duration)) for
                          phase, look, interval in (
                              ("front", lead, (on, on + front_s)),
                              ("involved", calm, (on + front_s, math.inf)))]
                phases = [p for p in phases if p[2] is not False]
                if not phases:
                    continue
                pts = to_slide(pushed[verts])
                centre = pts.mean(axis=0)
                key = f"{group}_{int(k):03d}"
                self.surfaces[key] = make_surface(pts - centre, local.reshape(-1, 3),
                                                  to_slide_dir(normals[verts]))
                extras = {"sleeve_of": node_id, "u": [round(lo, 6), round(hi, 6)],
                          "on_s": round(on, 6) if math.isfinite(on) else None}
                for phase, look, switch in phases:
                    name = self.unique(f"{node_id}_band{int(k):03d}" +
                                       ("_front" if phase == "front" else ""))
                    self.add(Item(
                        name, f"{node.name}: {'tumour front' if phase == 'front' else 'involved'}",
                        group, surface=key, look=look, translation=tuple(centre),
                        tracks=(switch,) if isinstance(switch, Track) else (),
                        extras={"kind": "sleeve", "phase": phase, **extras}))

    # -- arrows ------------------------------------------------------------------------------
    def _route_samples(self, route: Any) -> tuple[np.ndarray, np.ndarray]:
        """(s, arrow points) every STEP mm along a route: the renderer's arrow line."""
        from app.render.spread_layer import STEP
        from app.spread.routes import arrow_path

        n = max(2, int(np.ceil(route.length / STEP)) + 1)
        s = np.linspace(0.0, route.length, n)
        centre = np.column_stack([np.interp(s, route.s, route.path[:, k]) for k in range(3)])
        radius = np.interp(s, route.s, route.radius)
        half = int(6 / STEP)
        padded = np.pad(radius, half, mode="edge")
        radius = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).max(axis=1)
        return s, arrow_path(centre, radius, route.offset)

    def _arrows(self, group: str) -> None:
        from app.render.spread_layer import (
            ARROW_COLOURS,
            DASH,
            GAP,
            HEAD_LENGTH,
            HEAD_RADIUS,
            SHAFT_RADIUS,
        )

        sp, tm = self.spread, self.timemap
        assert sp is not None and tm is not None
        self.surfaces["unit_cylinder"] = unit_cylinder()
        self.surfaces["arrow_head"] = arrow_cone(HEAD_LENGTH * MM, HEAD_RADIUS * MM)
        r = SHAFT_RADIUS * MM
        for route in sp.routes:
            if not route.arrow:
                continue
            look = self.look(ARROW_COLOURS[route.style], 1.0)
            s, pts = self._route_samples(route)
            arrival = self.clip(sp.route_arrival(route, s))
            if route.style == "dashed":
                on = np.mod(s, DASH + GAP) < DASH
                idx = np.flatnonzero(on)
                runs = [run for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
                        if len(run) >= 2]
                spans = [(int(run[0]), int(run[-1])) for run in runs]
            else:
                step = max(1, int(round(ARROW_SEGMENT_MM / (s[1] - s[0]))))
                edges = list(range(0, len(s) - 1, step)) + [len(s) - 1]
                spans = list(zip(edges[:-1], edges[1:], strict=False))
            rgroup = self.unique(f"arrow_{route.id}")
            self.add(Item(rgroup, route.label or route.id, group,
                          extras={"kind": "group", "route": route.id, "style": route.style}))
            p_slide = to_slide(pts)
            for j, (i0, i1) in enumerate(spans):
                a0, a1 = float(arrival[i0]), float(arrival[i1])
                if not math.isfinite(a0) or a0 >= tm.duration:
                    continue
                p0, p1 = p_slide[i0], p_slide[i1]
                d = p1 - p0
                length = float(np.linalg.norm(d))
                if length <= 1e-9:
                    continue
                d /= length
                full_len = length + r  # half a radius of overlap at each end hides bends
                a1 = max(a1, a0 + 2 * POP_S)
                keys = np.array([a0 - POP_S, a0, a1])
                vals = np.array([[0.0, 0.0, 0.0], [r, 1e-6, r], [r, full_len, r]])
                scale = clip_linear(keys, vals, tm.duration, "scale")
                static = tuple(map(float, scale)) if isinstance(scale, np.ndarray) else (1, 1, 1)
                if isinstance(scale, np.ndarray) and not np.any(scale):
                    continue
                self.add(Item(
                    self.unique(f"arrow_{route.id}_{j:03d}"), f"{route.label or route.id}",
                    rgroup, surface="unit_cylinder", look=look,
                    translation=tuple(map(float, p0 - d * r / 2)),
                    rotation=tuple(map(float, quat_from_y(d))), scale=static,
                    tracks=(scale,) if isinstance(scale, Track) else (),
                    extras={"kind": "arrow", "route": route.id, "style": route.style,
                            "on_s": round(a0, 6),
                            "s": [round(float(s[i0]), 3), round(float(s[i1]), 3)],
                            "length_m": round(full_len, 7)}))
            self._head(route, rgroup, look, s, pts)

    def _head(self, route: Any, group: str, look: str, s: np.ndarray, pts: np.ndarray) -> None:
        from app.render.spread_layer import HEAD_LENGTH

        sp, tm = self.spread, self.timemap
        assert sp is not None and tm is not None
        grid = np.arange(0.0, route.length, HEAD_SAMPLE_MM)
        samples_s = np.concatenate([grid, [route.length]])
        samples_t = sp.route_arrival(route, samples_s)
        knot_t = sp.keyframes.times_of_days(np.asarray(route.knot_days))
        t = np.concatenate([samples_t, knot_t])
        ss = np.concatenate([samples_s, np.asarray(route.knot_s, float)])
        ok = np.isfinite(t)
        t, ss = t[ok], ss[ok]
        order = np.lexsort((ss, t))
        t, ss = t[order], np.maximum.accumulate(ss[order])
        positions, rotations = [], []
        for sv in ss:
            pos = np.array([np.interp(sv, s, pts[:, k]) for k in range(3)])
            _, direction = route.front(sv)
            centre = pos + (0.4 - 0.5) * HEAD_LENGTH * np.asarray(direction)
            positions.append(to_slide(centre))
            rotations.append(quat_from_y(to_slide_dir(direction)))
        tau = self.clip(t)
        fin = np.isfinite(tau)  # a still's "never"
        if not fin.any():
            return
        tau = tau[fin]
        positions = np.asarray(positions)[fin]
        rotations = _continuous_quats(np.asarray(rotations)[fin])
        translation = clip_linear(tau, positions, tm.duration, "translation")
        rotation = clip_linear(tau, rotations, tm.duration, "rotation")
        shown_from = float(self.clip(sp.keyframes.time_of_day(route.start_day)))
        switch = switch_track([(shown_from, math.inf)], tm.duration)
        if switch is False:
            return
        tracks = tuple(x for x in (translation, rotation, switch) if isinstance(x, Track))
        self.add(Item(
            self.unique(f"arrow_{route.id}_head"), f"{route.label or route.id}: head", group,
            surface="arrow_head", look=look,
            translation=tuple(map(float, translation)) if isinstance(translation, np.ndarray)
            else tuple(map(float, translation.values[0])),
            rotation=tuple(map(float, rotation)) if isinstance(rotation, np.ndarray)
            else tuple(map(float, rotation.values[0])),
            tracks=tracks, extras={"kind": "head", "route": route.id, "style": route.style}))

    # -- masses ------------------------------------------------------------------------------
    def _masses(self, group: str) -> None:
        from app.render.spread_layer import MASS_COLOUR

        sp, tm = self.spread, self.timemap
        assert sp is not None and tm is not None
        if not sp.masses:
            return
        self.surfaces["unit_sphere"] = unit_sphere()
        look = self.look(MASS_COLOUR, 1.0)
        kf = sp.keyframes
        for mass in sp.masses:
            knot_t = kf.times_of_days(np.asarray(mass.knot_days))
            t = np.unique(np.concatenate([knot_t, kf.times, [tm.t0, tm.t1]]))
            radius = np.array([mass.radius_at_day(kf.day_of_time(x)) for x in t]) * MM
            if mass.knot_radius[0] > 0:  # appears with a jump: hold 0 until just before
                t = np.concatenate([[knot_t[0] - 1e-6], t])
                radius = np.concatenate([[0.0], radius])
            inside = (t >= tm.t0) & (t <= tm.t1)
            t, radius = t[inside], radius[inside]
            tau = self.clip(t)
            values = np.repeat(radius[:, None], 3, axis=1)
            scale = clip_linear(tau, values, tm.duration, "scale")
            if isinstance(scale, np.ndarray) and not np.any(scale):
                continue
            self.add(Item(
                self.unique(f"mass_{mass.id}"), mass.label or mass.id, group,
                surface="unit_sphere", look=look,
                translation=tuple(map(float, to_slide(np.asarray(mass.center)))),
                scale=tuple(map(float, scale)) if isinstance(scale, np.ndarray) else (1, 1, 1),
                tracks=(scale,) if isinstance(scale, Track) else (),
                extras={"kind": "mass", "mass": mass.id}))


# -- exporting ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlideResult:
    path: Path
    fmt: str
    bytes: int
    seconds: float
    slide: SlideScene


def format_of(out: Path) -> str | None:
    """'glb' or 'usdz' for a 3D slide target, None for anything else (clips)."""
    return FORMATS.get(out.suffix.lower())


def export_slide(scene: Scene, out: Path | str, options: SlideOptions = SlideOptions(),
                 log: Callable[[str], None] | None = None) -> SlideResult:
    """Write ``scene`` as a 3D slide to ``out`` (.glb or .usdz), atomically.

    Raises UserError for bad options or an unwritable target; nothing is left at ``out``.
    """
    from app.export.pipeline import AtomicOutput

    started = time.perf_counter()
    out = Path(out)
    fmt = format_of(out)
    if fmt is None:
        raise UserError(f"{out}: a 3D slide is a .glb or .usdz file")
    target = AtomicOutput(out, folder=False)
    target.check()
    slide = build_slide(scene, options)
    try:
        tmp = target.create()
        if fmt == "glb":
            from app.export.gltf import write_glb

            write_glb(slide, tmp)
        else:
            from app.export.usdz import write_usdz

            write_usdz(slide, tmp)
        target.commit()
    except BaseException as exc:
        target.discard()
        if isinstance(exc, OSError):
            raise UserError(f"{out}: {exc.strerror or exc}") from None
        raise
    if log is not None:
        for line in describe_timing(slide):
            log(line)
    return SlideResult(out, fmt, out.stat().st_size, time.perf_counter() - started, slide)


def describe_timing(slide: SlideScene) -> list[str]:
    """The clip-time <-> date mapping, as the export prints it (tests read it back)."""
    tm = slide.timemap
    if tm is None:
        return ["no timeline: the model has no animation"]
    rate = (tm.t1 - tm.t0) / tm.duration if tm.duration > 0 else 0.0
    first, last = slide.moments[0], slide.moments[-1]
    lines = [f"animation: {tm.duration:.3f} s, {first.date} to {last.date} (scene seconds "
             f"{tm.t0:g} to {tm.t1:g}; 1 s of animation = {rate:.4g} s of the timeline)"]
    for m in slide.moments:
        lines.append(f"  {m.clip_s:9.3f} s = {m.date}  {m.stage}".rstrip())
    return lines


def human_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    return f"{n / 1e3:.1f} kB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


def run_slide_export(args: Any) -> int:
    """``pelvic-spread export -o case.glb|case.usdz``: the CLI shell over :func:`export_slide`."""
    import sys

    from app.case import load_scene, resolve_scene_path

    options = SlideOptions(start=args.start, end=args.end, duration=args.duration,
                           organs=getattr(args, "organs", True))
    scene = load_scene(resolve_scene_path(args.scene))

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    result = export_slide(scene, Path(args.output), options, log=log)
    c = result.slide.counts()
    print(f"wrote {result.path}: {human_bytes(result.bytes)}, {len(result.slide.items)} nodes "
          f"({c.get('sleeve', 0)} sleeve segments, {c.get('arrow', 0)} arrow segments, "
          f"{c.get('head', 0)} arrowheads, {c.get('mass', 0)} masses), {c['tracks']} animated "
          f"channels; took {result.seconds:.1f} s", file=sys.stderr)
    print(result.path)
    return 0

