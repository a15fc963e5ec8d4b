"""Plain-array triangle meshes: the currency between anatomy, scene files and renderers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class TriMesh:
    """A triangle surface in scene millimetres (LPS).

    ``point_data`` carries per-point arrays (for a nerve tube, ``"u"``: the fraction 0..1 of
    centreline arc length each surface point belongs to, which the spread colouring uses).
    """

    points: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    point_data: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(len(self.points))

    @property
    def n_cells(self) -> int:
        return int(len(self.faces))

    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """(xmin, xmax, ymin, ymax, zmin, zmax), as VTK orders them."""
        lo = self.points.min(axis=0)
        hi = self.points.max(axis=0)
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))


@dataclass(frozen=True, eq=False)
class NervePath:
    """A nerve as the spread sees it: an ordered centreline polyline (mm) and a radius (mm)."""

    centreline: np.ndarray  # (N, 3) float64, N >= 2
    radius: float
