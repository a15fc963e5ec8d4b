"""Routes over the nerve graph: a polyline through centrelines, a timed front, arrival times.

A route is an ordered list of pieces (part of a node's centreline between two fractions, in
either direction, or a single point); consecutive pieces are joined by straight links. The
front runs along the joined polyline; its timing is a list of knots (day, arc length) with an
easing inside each interval, so "when does the front reach arc length s" has a closed form.
Everything here is numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.spread.easing import EASINGS

STYLES: tuple[str, ...] = ("solid", "dashed")


# -- polylines --------------------------------------------------------------------------------
def arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length at each vertex (first is 0)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def vertex_u(points: np.ndarray) -> np.ndarray:
    """Fraction 0..1 of total arc length at each vertex (what the tubes' ``u`` array holds)."""
    s = arc_length(points)
    return s / s[-1] if s[-1] > 0 else np.zeros(len(points))


def point_at_u(points: np.ndarray, u: float) -> np.ndarray:
    s = arc_length(points)
    target = float(np.clip(u, 0.0, 1.0)) * s[-1]
    return np.array([np.interp(target, s, points[:, k]) for k in range(3)])


def subpath(points: np.ndarray, u0: float, u1: float) -> np.ndarray:
    """The centreline between fractions u0 and u1 (reversed when u0 > u1), endpoints exact."""
    u = vertex_u(points)
    lo, hi = sorted((u0, u1))
    inner = points[(u > lo) & (u < hi)]
    out = np.vstack([point_at_u(points, lo), inner, point_at_u(points, hi)])
    return out[::-1].copy() if u0 > u1 else out


def _feet(points: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point of ``q`` (m, 3) and each segment of the centreline: where along the
    segment its foot lies (0..1) and how far it is, both (m, segments)."""
    a, b = points[:-1], points[1:]
    ab = b - a
    denom = np.maximum((ab * ab).sum(axis=1), 1e-12)
    q = q[:, None, :]
    w = np.clip(((q - a) * ab).sum(axis=2) / denom, 0.0, 1.0)
    return w, np.linalg.norm(a + w[:, :, None] * ab - q, axis=2)


def _u_at(points: np.ndarray, i: int, w: float) -> float:
    """The fraction of the centreline's length at ``w`` along its segment ``i``."""
    s = arc_length(points)
    total = s[-1] if s[-1] > 0 else 1.0
    return float((s[i] + w * (s[i + 1] - s[i])) / total)


def nearest_u(points: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(u, distance) of the centreline point nearest to ``p``."""
    w, d = _feet(points, np.asarray(p, dtype=np.float64)[None, :])
    i = int(np.argmin(d[0]))
    return _u_at(points, i, w[0, i]), float(d[0, i])


def densify(points: np.ndarray, step: float = 1.0) -> np.ndarray:
    s = arc_length(points)
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, points[:, k]) for k in range(3)])


def closest_u(points: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(u on ``points``, distance) where ``points`` comes closest to the polyline ``other``.

    ``nearest_u`` for every point of ``other`` (densified to 1 mm), 256 at a time; the first
    point that comes closer by more than 1e-9 wins, as when they are taken one by one."""
    dense = densify(other, 1.0)
    best, where = np.inf, (0, 0.0)
    for lo in range(0, len(dense), 256):
        w, d = _feet(points, dense[lo:lo + 256])
        seg = np.argmin(d, axis=1)
        nearest = d[np.arange(len(seg)), seg]
        for k in range(len(seg)):
            if nearest[k] < best - 1e-9:
                best, where = float(nearest[k]), (int(seg[k]), w[k, seg[k]])
    return (_u_at(points, *where), best) if np.isfinite(best) else (0.0, best)


# -- routes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One resolved segment of a route: ``node`` from u_from to u_to, or a free waypoint."""

    node: str | None
    u_from: float
    u_to: float
    points: np.ndarray  # (k, 3) polyline of this piece, in travel order
    radius: float  # nerve radius (0 for a waypoint): how far arrows stand off
    reach_day: float | None = None  # the front reaches this piece's end on this day


@dataclass(frozen=True)
class Coverage:
    """Where a route runs along a node: u_from..u_to on the node = s_from..s_to on the route."""

    node: str
    u_from: float
    u_to: float
    s_from: float
    s_to: float


@dataclass(frozen=True, eq=False)
class Route:
    """A timed front along a polyline. Days are calendar day numbers (see ``calendar``)."""

    id: str
    label: str
    style: str
    path: np.ndarray  # (K, 3) route centre line, mm
    s: np.ndarray  # (K,) cumulative arc length along ``path``
    radius: np.ndarray  # (K,) nerve radius beside each vertex (arrow stand-off)
    coverage: tuple[Coverage, ...]
    knot_days: tuple[float, ...]  # strictly increasing
    knot_s: tuple[float, ...]  # non-decreasing; equal values = the front waits
    easing: str = "linear"
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # extra arrow shift, mm
    arrow: bool = True  # draw an arrow (False: involvement only)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    @property
    def start_day(self) -> float:
        return self.knot_days[0]

    @property
    def end_day(self) -> float:
        return self.knot_days[-1]

    def s_at_day(self, day: float) -> float:
        """Arc length the front has reached on ``day`` (0 before start, length after end)."""
        days, ss = self.knot_days, self.knot_s
        if day <= days[0]:
            return float(ss[0])
        if day >= days[-1]:
            return float(ss[-1])
        i = int(np.searchsorted(days, day, side="right"))  # days[i-1] <= day < days[i]
        ease = EASINGS[self.easing][0]
        f = float(ease(np.asarray((day - days[i - 1]) / (days[i] - days[i - 1]))))
        return float(ss[i - 1] + f * (ss[i] - ss[i - 1]))

    def day_at_s(self, s: np.ndarray) -> np.ndarray:
        """First day the front reaches arc length ``s`` (vectorised; inverse of ``s_at_day``)."""
        s = np.asarray(s, float)
        days = np.asarray(self.knot_days)
        ss = np.asarray(self.knot_s)
        inverse = EASINGS[self.easing][1]
        i = np.searchsorted(ss, s, side="left")  # first knot with ss[i] >= s
        out = np.full(s.shape, np.inf)
        at_start = i == 0
        out[at_start] = days[0]
        mid = (i > 0) & (i < len(ss))
        j = i[mid]
        frac = (s[mid] - ss[j - 1]) / np.maximum(ss[j] - ss[j - 1], 1e-12)
        out[mid] = days[j - 1] + inverse(frac) * (days[j] - days[j - 1])
        return out

    def front(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        """(point, unit tangent) on the route centre line at arc length ``s``."""
        s = float(np.clip(s, 0.0, self.length))
        p = np.array([np.interp(s, self.s, self.path[:, k]) for k in range(3)])
        i = int(np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2))
        # skip zero-length steps (pieces that are single points)
        j = i
        while j < len(self.s) - 2 and self.s[j + 1] - self.s[j] < 1e-9:
            j += 1
        while j > 0 and self.s[j + 1] - self.s[j] < 1e-9:
            j -= 1
        d = self.path[j + 1] - self.path[j]
        n = np.linalg.norm(d)
        return p, (d / n if n > 0 else np.array([0.0, 0.0, -1.0]))


def join_pieces(pieces: list[Piece]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Coverage],
                                               list[float]]:
    """Concatenate pieces with straight links: (path, s, radius, coverage, s at each piece end)."""
    pts: list[np.ndarray] = []
    rad: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    n = 0
    for piece in pieces:
        k = len(piece.points)
        pts.append(piece.points)
        rad.append(np.full(k, piece.radius))
        spans.append((n, n + k - 1))
        n += k
    path = np.vstack(pts)
    radius = np.concatenate(rad)
    s = arc_length(path)
    coverage = []
    ends = []
    for piece, (a, b) in zip(pieces, spans, strict=True):
        ends.append(float(s[b]))
        if piece.node is not None:
            coverage.append(Coverage(piece.node, piece.u_from, piece.u_to, float(s[a]),
                                     float(s[b])))
    return path, s, radius, coverage, ends


def arrival_days_for_u(routes: tuple[Route, ...], node: str, u: np.ndarray) -> np.ndarray:
    """Earliest day any route's front reaches each fraction ``u`` of ``node`` (inf: never)."""
    u = np.asarray(u, float)
    out = np.full(u.shape, np.inf)
    for route in routes:
        for c in route.coverage:
            if c.node != node:
                continue
            lo, hi = sorted((c.u_from, c.u_to))
            tol = 1e-9
            inside = (u >= lo - tol) & (u <= hi + tol)
            if not inside.any():
                continue
            if hi - lo < 1e-12:
                s = np.full(int(inside.sum()), c.s_from)
            else:
                s = c.s_from + (u[inside] - c.u_from) / (c.u_to - c.u_from) * (c.s_to - c.s_from)
            out[inside] = np.minimum(out[inside], route.day_at_s(s))
    return out


def arrow_path(path: np.ndarray, radius: np.ndarray,
               offset: tuple[float, float, float] = (0.0, 0.0, 0.0), gap: float = 1.5,
               toward: tuple[float, float, float] = (0.0, -1.0, 0.0)) -> np.ndarray:
    """A route's centre line shifted beside the nerves so an arrow drawn on it stays visible.

    Each vertex moves by (nerve ``radius`` there + ``gap``) along ``toward`` made perpendicular
    to the local direction (default: anterior, toward a viewer of the anterior view), plus the
    route's own ``offset``.
    """
    path = np.asarray(path, float)
    tangent = np.gradient(path, axis=0)
    norms = np.linalg.norm(tangent, axis=1, keepdims=True)
    tangent = np.divide(tangent, norms, out=np.zeros_like(tangent), where=norms > 0)
    want = np.asarray(toward, float)
    side = want - (tangent @ want)[:, None] * tangent
    sn = np.linalg.norm(side, axis=1, keepdims=True)
    fallback = np.cross(tangent, np.array([0.0, 0.0, 1.0]))
    fallback_n = np.linalg.norm(fallback, axis=1, keepdims=True)
    fallback = np.divide(fallback, fallback_n, out=np.tile([1.0, 0.0, 0.0], (len(path), 1)),
                         where=fallback_n > 1e-6)
    side = np.where(sn > 0.2, side / np.maximum(sn, 1e-12), fallback)
    if len(side) > 4:  # smooth the direction so the arrow does not kink at joins
        kernel = np.ones(5) / 5.0
        padded = np.pad(side, ((2, 2), (0, 0)), mode="edge")
        side = np.column_stack([np.convolve(padded[:, k], kernel, mode="valid")
                                for k in range(3)])
        side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    return path + side * (np.asarray(radius, float) + gap)[:, None] + np.asarray(offset, float)
