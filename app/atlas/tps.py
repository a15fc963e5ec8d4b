"""A thin-plate spline warp in 3-D: smooth, exact at the landmarks, affine far from them.

The 3-D biharmonic kernel is U(r) = r. ``ThinPlateSpline(src, dst)(p)`` maps ``src[i]`` to
``dst[i]`` exactly (or nearly, with ``smoothing`` > 0) and bends the space between as little as
it can, which is what carrying a model onto another body's bones needs.
"""

from __future__ import annotations

import numpy as np


class ThinPlateSpline:
    """A warp R^3 -> R^3 fitted to landmark pairs (numpy only)."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, smoothing: float = 0.0):
        src = np.asarray(src, np.float64)
        dst = np.asarray(dst, np.float64)
        if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3:
            raise ValueError(f"landmarks must be two (N, 3) arrays, got {src.shape} and "
                             f"{dst.shape}")
        n = len(src)
        if n < 4:
            raise ValueError(f"a 3-D thin-plate spline needs at least 4 landmarks, got {n}")
        # Work in a normalised frame so the system stays well conditioned in millimetres.
        self._centre = src.mean(axis=0)
        self._scale = float(np.sqrt(((src - self._centre) ** 2).sum(axis=1).mean())) or 1.0
        s = (src - self._centre) / self._scale
        k = _kernel(s, s) + smoothing * np.eye(n)
        p = np.column_stack([np.ones(n), s])
        a = np.zeros((n + 4, n + 4))
        a[:n, :n] = k
        a[:n, n:] = p
        a[n:, :n] = p.T
        b = np.zeros((n + 4, 3))
        b[:n] = dst
        sol, *_ = np.linalg.lstsq(a, b, rcond=None)
        self.src = src
        self.dst = dst
        self._ctrl = s
        self._w = sol[:n]
        self._affine = sol[n:]

    def __call__(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.float64)
        flat = pts.reshape(-1, 3)
        out = np.empty_like(flat)
        for start in range(0, len(flat), 20000):  # bounded memory for big meshes
            q = (flat[start:start + 20000] - self._centre) / self._scale
            out[start:start + 20000] = (_kernel(q, self._ctrl) @ self._w
                                        + np.column_stack([np.ones(len(q)), q]) @ self._affine)
        return out.reshape(pts.shape)

    def jacobian(self, point: np.ndarray, h: float = 0.5) -> np.ndarray:
        """The local linear map (3x3) at ``point``, by central differences over ``h`` mm."""
        p = np.asarray(point, np.float64)
        cols = [(self(p + h * e) - self(p - h * e)) / (2 * h) for e in np.eye(3)]
        return np.column_stack(cols)

    def residual(self) -> float:
        """Largest distance (mm) between a warped landmark and its target."""
        return float(np.linalg.norm(self(self.src) - self.dst, axis=1).max())


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a[:, None, :] - b[None, :, :]
    return np.sqrt((d * d).sum(axis=2))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 4x4 similarity (rotation, uniform scale, translation) best mapping src to dst."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - cs, dst - cd
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    fix = np.diag([1.0, 1.0, d])
    r = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / max((a * a).sum(), 1e-12))
    m = np.eye(4)
    m[:3, :3] = scale * r
    m[:3, 3] = cd - scale * r @ cs
    return m


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:3, :3].T + matrix[:3, 3]
