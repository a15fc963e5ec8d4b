"""Depth images of a surface seen along a direction, and the few image operations they need.

Landmark detection looks at bones the way an anatomist does: from a chosen side, where the
holes and notches are. A depth image here is a z-buffer made by splatting points sampled densely
on every triangle (numpy only), so it is deterministic and needs no OpenGL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.model.mesh import TriMesh


@dataclass(frozen=True)
class View:
    """An orthographic view: image axes ``u`` (columns) and ``v`` (rows, up), depth along ``w``.

    Pixel (row i, column j) is the point ``origin + j*res*u + i*res*v``; depth is measured from
    ``origin`` along ``w`` (into the picture).
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    res: float
    shape: tuple[int, int]  # (rows, columns)

    @staticmethod
    def looking(centre: np.ndarray, w: np.ndarray, up: np.ndarray, half: float, res: float,
                back: float = 300.0) -> View:
        """A square view of side ``2*half`` mm centred on ``centre``, looking along ``w``."""
        w = np.asarray(w, float) / np.linalg.norm(w)
        v = np.asarray(up, float) - np.dot(up, w) * w
        v /= np.linalg.norm(v)
        u = np.cross(v, w)  # right-handed: u x v = w... columns run to the viewer's right
        n = int(np.ceil(2 * half / res))
        origin = np.asarray(centre, float) - half * u - half * v - back * w
        return View(origin, u, v, w, res, (n, n))

    def point(self, row: float, col: float, depth: float) -> np.ndarray:
        return self.origin + col * self.res * self.u + row * self.res * self.v + depth * self.w

    def project(self, points: np.ndarray) -> np.ndarray:
        """(row, col, depth) of each point."""
        q = np.asarray(points, float) - self.origin
        return np.column_stack([q @ self.v / self.res, q @ self.u / self.res, q @ self.w])


def depth_image(mesh: TriMesh, view: View) -> np.ndarray:
    """Nearest depth per pixel (inf where the surface is not seen)."""
    rc = view.project(mesh.points)
    tri = rc[mesh.faces]  # (T, 3 corners, [row, col, depth])
    edge = np.linalg.norm(tri[:, [1, 2, 0], :2] - tri[:, :, :2], axis=2).max(axis=1)
    steps = np.clip(np.ceil(edge * 1.5), 1, 96).astype(int)
    rows, cols = view.shape
    z = np.full(rows * cols, np.inf)
    for k in np.unique(steps):
        idx = np.nonzero(steps == k)[0]
        i, j = np.meshgrid(np.arange(k + 1), np.arange(k + 1), indexing="ij")
        keep = i + j <= k
        a, b = i[keep] / k, j[keep] / k
        weights = np.column_stack([1 - a - b, a, b])
        for start in range(0, len(idx), max(1, 400000 // len(weights))):
            part = idx[start:start + max(1, 400000 // len(weights))]
            s = np.matmul(weights, tri[part]).reshape(-1, 3)
            r = np.rint(s[:, 0]).astype(np.int64)
            c = np.rint(s[:, 1]).astype(np.int64)
            ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
            np.minimum.at(z, r[ok] * cols + c[ok], s[ok, 2])
    return z.reshape(rows, cols)


def min_filter(a: np.ndarray, k: int) -> np.ndarray:
    """Minimum over a k x k square (k odd), edges padded by replication."""
    p = k // 2
    a = sliding_window_view(np.pad(a, ((p, p), (0, 0)), mode="edge"), k, axis=0).min(axis=-1)
    return sliding_window_view(np.pad(a, ((0, 0), (p, p)), mode="edge"), k, axis=1).min(axis=-1)


def max_filter(a: np.ndarray, k: int) -> np.ndarray:
    return -min_filter(-a, k)


def dilate(mask: np.ndarray, k: int) -> np.ndarray:
    return max_filter(mask.astype(np.int8), k).astype(bool)


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of a boolean image: (labels, count); background is 0."""
    rows, cols = mask.shape
    parent = np.arange(rows * cols)
    flat = mask.ravel()

    def find(i: np.ndarray) -> np.ndarray:
        while True:
            p = parent[i]
            if np.array_equal(p, i):
                return i
            parent[i] = parent[p]
            i = parent[i]

    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = []
    both = mask[:, 1:] & mask[:, :-1]
    pairs.append((idx[:, 1:][both], idx[:, :-1][both]))
    both = mask[1:, :] & mask[:-1, :]
    pairs.append((idx[1:, :][both], idx[:-1, :][both]))
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    for _ in range(rows + cols):  # label propagation until stable (small images)
        ra, rb = find(a), find(b)
        diff = ra != rb
        if not diff.any():
            break
        lo = np.minimum(ra[diff], rb[diff])
        hi = np.maximum(ra[diff], rb[diff])
        np.minimum.at(parent, hi, lo)
    roots = find(np.arange(rows * cols))
    labels = np.zeros(rows * cols, np.int64)
    uniq, inv = np.unique(roots[flat], return_inverse=True)
    labels[flat] = inv + 1
    return labels.reshape(rows, cols), len(uniq)
