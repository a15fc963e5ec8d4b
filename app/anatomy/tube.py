"""Closed, smooth tubes around centrelines, with the arc-length fraction ``u`` per point."""

from __future__ import annotations

import numpy as np

from app.model.mesh import NervePath, TriMesh

from .atlas import arclength, catmull_rom


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-9])
    pts = pts[keep]
    if len(pts) < 2:
        raise ValueError("a centreline needs at least two distinct points")
    s = arclength(pts)
    if len(pts) > 2 and np.median(np.diff(s)) > 2.0 * step:
        pts = catmull_rom(pts, step)  # sparse user input: smooth it
        s = arclength(pts)
    n = max(int(np.ceil(s[-1] / step)), 1)
    t = np.linspace(0.0, s[-1], n + 1)
    return np.column_stack([np.interp(t, s, pts[:, i]) for i in range(3)])


def _frames(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangents and parallel-transported normals/binormals (no twist, no flips)."""
    t = np.gradient(pts, axis=0)
    t /= np.linalg.norm(t, axis=1)[:, None]
    ref = np.array([0.0, 1.0, 0.0]) if abs(t[0][1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    n = np.empty_like(pts)
    n0 = ref - (ref @ t[0]) * t[0]
    n[0] = n0 / np.linalg.norm(n0)
    for i in range(1, len(pts)):
        v = n[i - 1] - (n[i - 1] @ t[i]) * t[i]
        nv = np.linalg.norm(v)
        n[i] = v / nv if nv > 1e-9 else n[i - 1]
    b = np.cross(t, n)
    return t, n, b


def tube_mesh(
    points: np.ndarray,
    radii: np.ndarray | float,
    sides: int = 16,
    step: float = 1.5,
    cap_rings: int = 4,
) -> TriMesh:
    """Tube with hemispherical end caps; ``radii`` is a scalar or one value per input point."""
    pts_in = np.asarray(points, dtype=np.float64)
    s_in = arclength(pts_in)
    pts = _resample(pts_in, step)
    s = arclength(pts)
    L = max(s[-1], 1e-9)
    if np.ndim(radii) == 0:
        r = np.full(len(pts), float(radii))
    else:
        r = np.interp(s / L, s_in / max(s_in[-1], 1e-9), np.asarray(radii, dtype=np.float64))
    t, n, b = _frames(pts)
    ang = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ca, sa = np.cos(ang), np.sin(ang)

    rings_c: list[np.ndarray] = []
    rings_r: list[np.ndarray] = []
    rings_u: list[float] = []
    rings_t: list[int] = []
    # start cap: rings shrinking towards the pole behind the first point
    for j in range(cap_rings, 0, -1):
        phi = 0.5 * np.pi * j / (cap_rings + 1)
        rings_c.append(pts[0] - t[0] * r[0] * np.sin(phi))
        rings_r.append(r[0] * np.cos(phi))
        rings_u.append(0.0)
        rings_t.append(0)
    for i in range(len(pts)):
        rings_c.append(pts[i])
        rings_r.append(r[i])
        rings_u.append(s[i] / L)
        rings_t.append(i)
    last = len(pts) - 1
    for j in range(1, cap_rings + 1):
        phi = 0.5 * np.pi * j / (cap_rings + 1)
        rings_c.append(pts[-1] + t[-1] * r[-1] * np.sin(phi))
        rings_r.append(r[-1] * np.cos(phi))
        rings_u.append(1.0)
        rings_t.append(last)

    nr = len(rings_c)
    C = np.asarray(rings_c)
    R = np.asarray(rings_r)
    idx = np.asarray(rings_t)
    ring_pts = (
        C[:, None, :]
        + R[:, None, None]
        * (ca[None, :, None] * n[idx][:, None, :] + sa[None, :, None] * b[idx][:, None, :])
    ).reshape(-1, 3)
    pole0 = pts[0] - t[0] * r[0]
    pole1 = pts[-1] + t[-1] * r[-1]
    points_all = np.vstack([ring_pts, pole0, pole1])
    u = np.concatenate([np.repeat(np.asarray(rings_u), sides), [0.0, 1.0]])

    faces = []
    k = np.arange(sides)
    k1 = (k + 1) % sides
    for i in range(nr - 1):
        a0 = i * sides
        a1 = (i + 1) * sides
        faces.append(np.column_stack([a0 + k, a1 + k, a1 + k1]))
        faces.append(np.column_stack([a0 + k, a1 + k1, a0 + k1]))
    p0 = nr * sides
    p1 = p0 + 1
    faces.append(np.column_stack([np.full(sides, p0), k, k1]))
    last_ring = (nr - 1) * sides
    faces.append(np.column_stack([np.full(sides, p1), last_ring + k1, last_ring + k]))
    f = np.vstack(faces).astype(np.int64)
    # orient outward: the first side faces must point away from the axis
    tri = points_all[f[:sides]]
    nrm = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = tri.mean(axis=1) - C[0]
    if float(np.sum(nrm * out)) < 0:
        f = f[:, ::-1].copy()
    return TriMesh(points=points_all, faces=f, point_data={"u": u})


def tube(path: NervePath, sides: int = 16) -> TriMesh:
    """Smooth closed tube of ``path.radius`` around ``path.centreline`` with point_data["u"]."""
    return tube_mesh(path.centreline, float(path.radius), sides=sides)
