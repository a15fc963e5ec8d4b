"""Geometric queries on a triangle surface: inside or not, nearest surface point, ray hits.

The one module of ``app.atlas`` that talks to VTK. Surfaces are in scene millimetres.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from app.model.mesh import TriMesh


class Surface:
    """A closed (or nearly closed) triangle surface with point-in-mesh and distance queries."""

    def __init__(self, mesh: TriMesh, name: str = ""):
        self.mesh = mesh
        self.name = name
        lo = mesh.points.min(axis=0)
        hi = mesh.points.max(axis=0)
        self.lo, self.hi = lo, hi

    @cached_property
    def _poly(self):
        from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(self.mesh.points, np.float64), deep=True))
        cells = vtkCellArray()
        offsets = np.arange(0, 3 * self.mesh.n_cells + 1, 3, dtype=np.int64)
        conn = np.ascontiguousarray(self.mesh.faces.ravel(), np.int64)
        cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                      numpy_to_vtkIdTypeArray(conn, deep=True))
        poly = vtkPolyData()
        poly.SetPoints(pts)
        poly.SetPolys(cells)
        return poly

    @cached_property
    def _locator(self):
        from vtkmodules.vtkCommonDataModel import vtkStaticCellLocator

        loc = vtkStaticCellLocator()
        loc.SetDataSet(self._poly)
        loc.BuildLocator()
        return loc

    @cached_property
    def _obb(self):
        from vtkmodules.vtkFiltersGeneral import vtkOBBTree

        tree = vtkOBBTree()
        tree.SetDataSet(self._poly)
        tree.BuildLocator()
        return tree

    def contains(self, points: np.ndarray) -> np.ndarray:
        """True for each point inside the surface (ray parity, as vtkSelectEnclosedPoints)."""
        from vtkmodules.util.numpy_support import numpy_to_vtk
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkPolyData
        from vtkmodules.vtkFiltersModeling import vtkSelectEnclosedPoints

        pts = np.atleast_2d(np.asarray(points, np.float64))
        out = np.zeros(len(pts), bool)
        near = np.all((pts >= self.lo - 1e-6) & (pts <= self.hi + 1e-6), axis=1)
        if not near.any():
            return out
        vp = vtkPoints()
        vp.SetData(numpy_to_vtk(np.ascontiguousarray(pts[near]), deep=True))
        query = vtkPolyData()
        query.SetPoints(vp)
        sel = vtkSelectEnclosedPoints()
        sel.SetInputData(query)
        sel.SetSurfaceData(self._poly)
        sel.SetCheckSurface(False)
        sel.SetTolerance(1e-6)
        sel.Update()
        flags = np.array([sel.IsInside(i) for i in range(int(near.sum()))], bool)
        out[near] = flags
        return out

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nearest surface points, distances) for each point."""
        pts = np.atleast_2d(np.asarray(points, np.float64))
        loc = self._locator
        best = np.zeros_like(pts)
        dist = np.zeros(len(pts))
        closest = [0.0, 0.0, 0.0]
        from vtkmodules.vtkCommonCore import mutable

        cell, sub, d2 = mutable(0), mutable(0), mutable(0.0)
        for i, p in enumerate(pts):
            loc.FindClosestPoint(p.tolist(), closest, cell, sub, d2)
            best[i] = closest
            dist[i] = float(d2) ** 0.5
        return best, dist

    def ray_hits(self, origin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Distances from ``origin`` of every surface crossing on the segment origin-end."""
        from vtkmodules.vtkCommonCore import vtkPoints

        hits = vtkPoints()
        self._obb.IntersectWithLine(np.asarray(origin, float).tolist(),
                                    np.asarray(end, float).tolist(), hits, None)
        n = hits.GetNumberOfPoints()
        if n == 0:
            return np.zeros(0)
        arr = np.array([hits.GetPoint(i) for i in range(n)])
        return np.sort(np.linalg.norm(arr - np.asarray(origin, float), axis=1))


class Surfaces:
    """Several surfaces queried as one (the union of the bones, say)."""

    def __init__(self, surfaces: list[Surface]):
        self.items = list(surfaces)

    def contains(self, points: np.ndarray) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, np.float64))
        out = np.zeros(len(pts), bool)
        for s in self.items:
            out |= s.contains(pts)
        return out

    def which(self, points: np.ndarray) -> list[str]:
        """The name of the surface each point is inside ('' when none)."""
        pts = np.atleast_2d(np.asarray(points, np.float64))
        names = [""] * len(pts)
        for s in self.items:
            for i in np.nonzero(s.contains(pts))[0]:
                names[i] = names[i] or s.name
        return names

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = np.atleast_2d(np.asarray(points, np.float64))
        best = np.zeros_like(pts)
        dist = np.full(len(pts), np.inf)
        for s in self.items:
            c, d = s.closest(pts)
            m = d < dist
            best[m], dist[m] = c[m], d[m]
        return best, dist
