"""Plane sections of closed triangle surfaces: segments, closed loops, nesting, and fills.

A plane cuts a closed surface in closed loops. The loops are found from the triangles that
straddle the plane, keyed by the mesh edges they cross, so they close exactly (no tolerance
welding) and carry the surface's point data (a nerve's ``u``) interpolated along the edge.
Nothing here trusts the surface's winding: whether a loop bounds material or a hole is decided
by nesting (even-odd), so inward- and outward-wound solids give the same caps and fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.model.mesh import TriMesh

# image axes per orientation: (u = image right, v = image down), radiological convention:
# axial seen from the feet (patient's right on the image's left, anterior up), coronal from
# the front, sagittal from the patient's left (anterior on the image's left).
_IMAGE_AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}


@dataclass(frozen=True, eq=False)
class Plane:
    """A plane with an in-plane frame: ``u`` is the image's right, ``v`` its down."""

    origin: np.ndarray
    normal: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def for_slab(cls, orientation: str, axis: int, position: float) -> Plane:
        origin = np.zeros(3)
        origin[axis] = position
        normal = np.zeros(3)
        normal[axis] = 1.0
        u, v = _IMAGE_AXES[orientation]
        return cls(origin, normal, np.asarray(u, float), np.asarray(v, float))

    def shifted(self, d: float) -> Plane:
        return Plane(self.origin + d * self.normal, self.normal, self.u, self.v)

    def to2d(self, points: np.ndarray) -> np.ndarray:
        rel = np.asarray(points, float) - self.origin
        return np.column_stack([rel @ self.u, rel @ self.v])

    def to3d(self, points2d: np.ndarray) -> np.ndarray:
        p = np.asarray(points2d, float).reshape(-1, 2)
        return self.origin + p[:, :1] * self.u + p[:, 1:] * self.v

    def distance(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, float) - self.origin) @ self.normal


@dataclass(frozen=True, eq=False)
class Section:
    """One surface cut by a plane.

    ``points`` are in plane coordinates (mm along ``u`` and ``v``); ``segments`` index them in
    pairs; ``loops`` are closed chains (first point not repeated); ``depth[i]`` is how many other
    loops contain loop ``i`` (even: an outer boundary, odd: a hole).
    """

    points: np.ndarray  # (P, 2)
    segments: np.ndarray  # (S, 2) int
    loops: tuple[np.ndarray, ...] = ()
    depth: tuple[int, ...] = ()
    data: dict[str, np.ndarray] = field(default_factory=dict)  # per point, interpolated
    open_chains: int = 0  # chains that did not close (0 for a closed surface)

    @property
    def empty(self) -> bool:
        return len(self.segments) == 0

    def oriented_loops(self) -> list[np.ndarray]:
        """Loops as index arrays, outer boundaries counter-clockwise and holes clockwise (in
        the plane's u-v frame), whatever the surface's winding was."""
        out = []
        for loop, depth in zip(self.loops, self.depth):
            ccw = signed_area(self.points[loop]) > 0
            out.append(loop if ccw == (depth % 2 == 0) else loop[::-1])
        return out

    def area(self) -> float:
        """Enclosed area (mm^2), holes subtracted."""
        return float(sum(abs(signed_area(self.points[lp])) * (1 if d % 2 == 0 else -1)
                         for lp, d in zip(self.loops, self.depth)))


EMPTY = Section(np.zeros((0, 2)), np.zeros((0, 2), np.int64))


def cut(mesh: TriMesh, plane: Plane, data_keys: tuple[str, ...] = (),
        loops: bool = True) -> Section:
    """The section of ``mesh`` by ``plane`` (points on the plane count as above it)."""
    pts = mesh.points
    if len(mesh.faces) == 0:
        return EMPTY
    d = (pts - plane.origin) @ plane.normal
    if d.min() >= 0.0 or d.max() < 0.0:
        return EMPTY
    side = d >= 0.0
    s = side[mesh.faces]
    n_up = s.sum(axis=1)
    crossing = np.flatnonzero((n_up == 1) | (n_up == 2))
    return _section(mesh, plane, d, crossing, data_keys, loops)


def _section(mesh: TriMesh, plane: Plane, d: np.ndarray, crossing: np.ndarray,
             data_keys: tuple[str, ...], loops: bool) -> Section:
    """The section from the signed distances ``d`` and the straddling faces' indices."""
    if len(crossing) == 0:
        return EMPTY
    pts = mesh.points
    fc = mesh.faces[crossing]
    sc = d[fc] >= 0.0
    edges = np.stack([fc[:, [0, 1]], fc[:, [1, 2]], fc[:, [2, 0]]], axis=1)  # (M, 3, 2)
    flags = np.stack([sc[:, 0] != sc[:, 1], sc[:, 1] != sc[:, 2], sc[:, 2] != sc[:, 0]], axis=1)
    two = edges[flags].reshape(-1, 2, 2)  # exactly two crossed edges per straddling triangle
    two = np.sort(two, axis=2)
    n_pts = np.int64(len(pts))
    keys = two[:, :, 0].astype(np.int64) * n_pts + two[:, :, 1]
    uniq, inverse = np.unique(keys.ravel(), return_inverse=True)
    i, j = uniq // n_pts, uniq % n_pts
    di, dj = d[i], d[j]
    t = di / (di - dj)
    p3 = pts[i] + t[:, None] * (pts[j] - pts[i])
    segments = inverse.reshape(-1, 2)
    data = {}
    for key in data_keys:
        values = mesh.point_data.get(key)
        if values is not None:
            values = np.asarray(values, float)
            data[key] = values[i] + t * (values[j] - values[i])
    points = plane.to2d(p3)
    if not loops:
        return Section(points, segments, data=data)
    chains, open_chains = _chains(segments, len(points))
    depth = _nesting(points, chains)
    return Section(points, segments, tuple(chains), tuple(depth), data, open_chains)


class Sectioner:
    """Cuts a fixed set of surfaces by axis-aligned planes, fast enough to follow a drag.

    Built once: per surface and axis, each triangle's lowest and highest coordinate, so a cut
    looks only at the few triangles that straddle the plane instead of every point.
    """

    def __init__(self, meshes: dict[str, TriMesh]):
        self.meshes = dict(meshes)
        self._lo: dict[str, np.ndarray] = {}  # (3, M) per-face minimum per axis
        self._hi: dict[str, np.ndarray] = {}
        self._bounds: dict[str, np.ndarray] = {}  # (2, 3)
        for key, mesh in self.meshes.items():
            if mesh.n_cells == 0:
                continue
            tri = mesh.points[mesh.faces]  # (M, 3, 3)
            self._lo[key] = np.ascontiguousarray(tri.min(axis=1).T)
            self._hi[key] = np.ascontiguousarray(tri.max(axis=1).T)
            self._bounds[key] = np.vstack([mesh.points.min(axis=0), mesh.points.max(axis=0)])

    def crosses(self, key: str, axis: int, position: float) -> bool:
        b = self._bounds.get(key)
        return b is not None and b[0, axis] < position <= b[1, axis]

    def cut(self, key: str, plane: Plane, axis: int, data_keys: tuple[str, ...] = (),
            loops: bool = True) -> Section:
        """The section of surface ``key`` by ``plane``, whose normal is the +``axis`` unit."""
        position = float(plane.origin[axis])
        if not self.crosses(key, axis, position):
            return EMPTY
        # a triangle straddles when its lowest vertex is below and its highest on or above
        crossing = np.flatnonzero((self._lo[key][axis] < position)
                                  & (self._hi[key][axis] >= position))
        mesh = self.meshes[key]
        d = mesh.points[:, axis] - position
        return _section(mesh, plane, d, crossing, data_keys, loops)


def _chains(segments: np.ndarray, n: int) -> tuple[list[np.ndarray], int]:
    """Walk the segment graph into chains; closed loops are returned, open chains counted."""
    ends = segments.ravel()
    order = np.argsort(ends, kind="stable")
    degree = np.bincount(ends, minlength=n)
    start = np.concatenate([[0], np.cumsum(degree)])
    # neighbour of each endpoint occurrence: the other end of its segment
    other = segments[:, ::-1].ravel()[order]
    nbrs = other.tolist()
    starts = start.tolist()
    deg = degree.tolist()
    seen = bytearray(n)
    loops: list[np.ndarray] = []
    open_chains = 0
    for s0 in range(n):
        if seen[s0]:
            continue
        chain = [s0]
        seen[s0] = 1
        prev, cur = -1, s0
        closed = False
        while True:
            nxt = -1
            for k in range(starts[cur], starts[cur] + deg[cur]):
                cand = nbrs[k]
                if cand != prev and not seen[cand]:
                    nxt = cand
                    break
                if cand == s0 and cand != prev and len(chain) > 2:
                    closed = True
            if nxt < 0:
                break
            seen[nxt] = 1
            chain.append(nxt)
            prev, cur = cur, nxt
        if not closed:
            # the loop may close on the last step: cur adjacent to s0
            closed = len(chain) > 2 and s0 in nbrs[starts[cur]:starts[cur] + deg[cur]]
        if closed:
            loops.append(np.asarray(chain, np.int64))
        elif len(chain) > 1:
            open_chains += 1
    return loops, open_chains


def simplify_loop(points: np.ndarray, loop: np.ndarray, tol: float) -> np.ndarray:
    """The loop's indices with points that lie within about ``tol`` of the line through their
    neighbours dropped (a cut through a fine surface has a point per triangle: most are
    redundant at the size a cap is seen). Every other candidate goes per pass, so neighbours
    never vanish together; a loop keeps at least 8 points."""
    keep = np.ones(len(loop), bool)
    for parity in (0, 1, 0, 1, 0, 1, 0, 1):
        idx = np.flatnonzero(keep)
        if len(idx) <= 8:
            break
        p = points[loop[idx]]
        prev, nxt = np.roll(p, 1, axis=0), np.roll(p, -1, axis=0)
        chord = nxt - prev
        length = np.hypot(chord[:, 0], chord[:, 1])
        cross = np.abs(chord[:, 0] * (p[:, 1] - prev[:, 1]) - chord[:, 1] * (p[:, 0] - prev[:, 0]))
        off = np.where(length > 0, cross / np.maximum(length, 1e-12), 0.0)
        drop = off < tol
        drop[(np.arange(len(idx)) % 2) != parity] = False
        if len(idx) - drop.sum() < 8 or not drop.any():
            break
        keep[idx[drop]] = False
    return loop[keep]


def signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _nesting(points: np.ndarray, loops: list[np.ndarray]) -> list[int]:
    """For each loop, how many other loops contain it (tested at one of its points)."""
    if len(loops) <= 1:
        return [0] * len(loops)
    boxes = [(points[lp].min(axis=0), points[lp].max(axis=0)) for lp in loops]
    out = []
    for a, lp in enumerate(loops):
        probe = points[lp[0]]
        depth = 0
        for b, other in enumerate(loops):
            if a == b:
                continue
            lo, hi = boxes[b]
            if not (lo[0] <= probe[0] <= hi[0] and lo[1] <= probe[1] <= hi[1]):
                continue
            if _inside(probe, points[other]):
                depth += 1
        out.append(depth)
    return out


def _inside(p: np.ndarray, poly: np.ndarray) -> bool:
    x, y = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    straddle = (y > p[1]) != (y2 > p[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x + (p[1] - y) * (x2 - x) / (y2 - y)
    return bool(np.count_nonzero(straddle & (xc > p[0])) % 2)


# -- raster fill (the panel) ---------------------------------------------------------------
def fill(points_px: np.ndarray, segments: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Even-odd fill of the closed segment set: a bool mask of pixel centres inside.

    ``points_px`` are (x, y) pixel coordinates (pixel ``(r, c)`` has its centre at
    ``(c + 0.5, r + 0.5)``). Works on segments alone, so it needs no loop order and no winding.
    """
    mask = np.zeros(shape, bool)
    box = fill_box(points_px, segments, shape)
    if box is not None:
        r0, c0, sub = box
        mask[r0:r0 + sub.shape[0], c0:c0 + sub.shape[1]] = sub
    return mask


def fill_box(points_px: np.ndarray, segments: np.ndarray,
             shape: tuple[int, int]) -> tuple[int, int, np.ndarray] | None:
    """:func:`fill` restricted to the section's bounding box: ``(row0, col0, mask)`` or None.

    The cost follows the section's size, not the picture's.
    """
    h, w = shape
    if len(segments) == 0:
        return None
    p = points_px[segments[:, 0]]
    q = points_px[segments[:, 1]]
    y0 = np.minimum(p[:, 1], q[:, 1])
    y1 = np.maximum(p[:, 1], q[:, 1])
    r0 = np.clip(np.ceil(y0 - 0.5), 0, h).astype(np.int64)
    r1 = np.clip(np.ceil(y1 - 0.5), 0, h).astype(np.int64)
    n = r1 - r0
    keep = n > 0
    if not keep.any():
        return None
    p, q, r0, n = p[keep], q[keep], r0[keep], n[keep]
    seg = np.repeat(np.arange(len(n)), n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    rows = r0[seg] + offs
    yc = rows + 0.5
    ps, qs = p[seg], q[seg]
    x = ps[:, 0] + (yc - ps[:, 1]) * (qs[:, 0] - ps[:, 0]) / (qs[:, 1] - ps[:, 1])
    cols = np.clip(np.ceil(x - 0.5), 0, w).astype(np.int64)
    rlo, rhi = int(rows.min()), int(rows.max()) + 1
    xmax = np.maximum(p[:, 0], q[:, 0]).max()
    clo = int(cols.min())
    chi = int(min(w, max(clo + 1, np.ceil(xmax + 0.5))))
    width = chi - clo + 1
    flat = (rows - rlo) * width + (np.minimum(cols, chi) - clo)
    toggles = np.bincount(flat, minlength=(rhi - rlo) * width).reshape(rhi - rlo, width)
    # parity is all that matters, so a wrapping uint8 running sum is exact (and light)
    inside = (np.cumsum(toggles[:, :-1].astype(np.uint8), axis=1, dtype=np.uint8) & 1).astype(bool)
    return rlo, clo, inside
