"""Signed-distance primitives and blends, vectorised over point arrays (numpy only).

Each primitive takes ``p`` of shape (N, 3) in millimetres and returns (N,) distances, negative
inside. Blends follow the polynomial smooth-min, so shapes merge like carved bone rather than
intersecting with hard creases. Distances away from the surface are approximate (bounds, not
exact), which is all the surface extraction needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = np.ndarray | Sequence[float]


def _v(a: ArrayLike) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def smin(a: np.ndarray, b: np.ndarray, k: float | np.ndarray) -> np.ndarray:
    """Smooth union; ``k`` is the blend radius in mm (0 gives a hard union). An array ``k``
    (positive, one per point) lets the rounding vary over the surface."""
    if np.isscalar(k) and k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a: np.ndarray, b: np.ndarray, k: float | np.ndarray) -> np.ndarray:
    """Smooth intersection."""
    return -smin(-a, -b, k)


def subtract(a: np.ndarray, b: np.ndarray, k: float = 0.0) -> np.ndarray:
    """``a`` with ``b`` carved out, edges rounded by ``k``."""
    return smax(a, -b, k)


def union(ds: Sequence[np.ndarray], k: float = 0.0) -> np.ndarray:
    out = ds[0]
    for d in ds[1:]:
        out = smin(out, d, k)
    return out


def sphere(p: np.ndarray, c: ArrayLike, r: float) -> np.ndarray:
    return np.linalg.norm(p - _v(c), axis=1) - r


def ellipsoid(
    p: np.ndarray, c: ArrayLike, radii: ArrayLike, rot: np.ndarray | None = None
) -> np.ndarray:
    """Ellipsoid; ``rot`` (3x3) has the ellipsoid's axes as its columns."""
    q = p - _v(c)
    if rot is not None:
        q = q @ rot
    r = _v(radii)
    k0 = np.linalg.norm(q / r, axis=1)
    k1 = np.linalg.norm(q / (r * r), axis=1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def capsule(
    p: np.ndarray, a: ArrayLike, b: ArrayLike, ra: float, rb: float | None = None
) -> np.ndarray:
    """Segment a-b swept by a sphere whose radius goes linearly from ``ra`` to ``rb``."""
    a = _v(a)
    b = _v(b)
    rb = ra if rb is None else rb
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    d = np.linalg.norm(p - (a + t[:, None] * ab), axis=1)
    return d - (ra + (rb - ra) * t)


def chain(p: np.ndarray, pts: ArrayLike, radii: ArrayLike | float, k: float = 0.0) -> np.ndarray:
    """Tube through ``pts`` (M, 3), radius per point (linear in between), joints blended by k."""
    pts = _v(pts)
    rr = np.broadcast_to(_v(radii), (len(pts),))
    out = capsule(p, pts[0], pts[1], rr[0], rr[1])
    for i in range(1, len(pts) - 1):
        out = smin(out, capsule(p, pts[i], pts[i + 1], rr[i], rr[i + 1]), k)
    return out


def frame(u: ArrayLike, v: ArrayLike) -> np.ndarray:
    """Right-handed orthonormal 3x3 (columns e1, e2, e3) with e1 along u and e2 in the u-v plane."""
    e1 = _v(u) / np.linalg.norm(_v(u))
    e2 = _v(v) - (_v(v) @ e1) * e1
    e2 /= np.linalg.norm(e2)
    return np.column_stack([e1, e2, np.cross(e1, e2)])


def box(
    p: np.ndarray, c: ArrayLike, half: ArrayLike, rot: np.ndarray | None = None, r: float = 0.0
) -> np.ndarray:
    """Box with half-extents ``half`` (edges rounded by ``r``); its axes are the columns of rot."""
    q = p - _v(c)
    if rot is not None:
        q = q @ rot
    q = np.abs(q) - (_v(half) - r)
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside = np.minimum(q.max(axis=1), 0.0)
    return outside + inside - r


def elliptic_cylinder(
    p: np.ndarray,
    c: ArrayLike,
    rot: np.ndarray,
    rx: float,
    ry: float,
    half_h: float,
    r: float = 0.0,
) -> np.ndarray:
    """Cylinder with elliptical section (rx, ry) in the e1-e2 plane, height 2*half_h along e3."""
    q = (p - _v(c)) @ rot
    k = np.sqrt((q[:, 0] / rx) ** 2 + (q[:, 1] / ry) ** 2)
    d2 = (k - 1.0) * min(rx, ry)
    dz = np.abs(q[:, 2]) - half_h
    return _round_extrude(d2 + r, dz + r) - r


def _round_extrude(d2: np.ndarray, dz: np.ndarray) -> np.ndarray:
    o = np.sqrt(np.maximum(d2, 0.0) ** 2 + np.maximum(dz, 0.0) ** 2)
    return o + np.minimum(np.maximum(d2, dz), 0.0)


def polygon2d(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Signed distance to a closed 2D polygon (K, 2), negative inside (even-odd rule)."""
    d = np.full(x.shape, np.inf)
    s = np.ones(x.shape)
    n = len(poly)
    for i in range(n):
        ax, ay = poly[i - 1]
        bx, by = poly[i]
        ex, ey = ax - bx, ay - by
        wx, wy = x - bx, y - by
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        dx, dy = wx - ex * t, wy - ey * t
        d = np.minimum(d, dx * dx + dy * dy)
        c1 = y >= by
        c2 = y < ay
        c3 = ex * wy > ey * wx
        flip = (c1 & c2 & c3) | (~c1 & ~c2 & ~c3)
        s = np.where(flip, -s, s)
    return s * np.sqrt(d)


def plate(
    p: np.ndarray,
    origin: ArrayLike,
    rot: np.ndarray,
    outline: np.ndarray,
    thickness: float,
    bend: float = 0.0,
    r: float = 1.0,
) -> np.ndarray:
    """A rounded slab: 2D ``outline`` in the (e1, e2) plane of ``rot``, extruded ``thickness``
    along e3 and bent into a shallow bowl (e3 offset ``bend`` * (a^2 + b^2) / 100)."""
    q = (p - _v(origin)) @ rot
    a, b = q[:, 0], q[:, 1]
    c = q[:, 2] - bend * (a * a + b * b) / 100.0
    d2 = polygon2d(a, b, outline)
    dz = np.abs(c) - thickness / 2.0
    return _round_extrude(d2 + r, dz + r) - r
