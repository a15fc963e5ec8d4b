"""Signed-distance field on a grid -> smooth, decimated triangle surface (VTK, build time only)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.model.mesh import TriMesh

SDF = Callable[[np.ndarray], np.ndarray]


def sample(sdf: SDF, lo, hi, spacing: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Evaluate ``sdf`` on a padded grid over the box lo..hi; returns values (x fastest)."""
    lo = np.asarray(lo, dtype=np.float64) - 2 * spacing
    hi = np.asarray(hi, dtype=np.float64) + 2 * spacing
    dims = tuple(int(np.ceil((b - a) / spacing)) + 1 for a, b in zip(lo, hi, strict=True))
    xs = [lo[i] + spacing * np.arange(dims[i]) for i in range(3)]
    values = np.empty(dims[0] * dims[1] * dims[2], dtype=np.float32)
    # evaluate slab by slab in z to bound memory
    gx, gy = np.meshgrid(xs[0], xs[1], indexing="xy")  # shape (ny, nx): x fastest
    slab = max(1, 600_000 // (dims[0] * dims[1]))
    n_xy = dims[0] * dims[1]
    for k0 in range(0, dims[2], slab):
        ks = xs[2][k0 : k0 + slab]
        p = np.empty((len(ks) * n_xy, 3))
        p[:, 0] = np.tile(gx.ravel(), len(ks))
        p[:, 1] = np.tile(gy.ravel(), len(ks))
        p[:, 2] = np.repeat(ks, n_xy)
        values[k0 * n_xy : (k0 + len(ks)) * n_xy] = sdf(p)
    # force the padding outside so every surface is closed
    v = values.reshape(dims[2], dims[1], dims[0])
    v[[0, -1], :, :] = np.maximum(v[[0, -1], :, :], spacing)
    v[:, [0, -1], :] = np.maximum(v[:, [0, -1], :], spacing)
    v[:, :, [0, -1]] = np.maximum(v[:, :, [0, -1]], spacing)
    return values, lo, dims


def surface(
    sdf: SDF,
    lo,
    hi,
    spacing: float = 1.0,
    target_faces: int = 20000,
    smooth_iterations: int = 25,
    passband: float = 0.08,
) -> TriMesh:
    """Iso-surface of ``sdf`` (zero level), smoothed and decimated to about ``target_faces``."""
    import vtk
    from vtk.util import numpy_support as ns

    values, origin, dims = sample(sdf, lo, hi, spacing)
    img = vtk.vtkImageData()
    img.SetDimensions(*dims)
    img.SetOrigin(*origin)
    img.SetSpacing(spacing, spacing, spacing)
    arr = ns.numpy_to_vtk(values, deep=True)
    arr.SetName("sdf")
    img.GetPointData().SetScalars(arr)

    fe = vtk.vtkFlyingEdges3D()
    fe.SetInputData(img)
    fe.SetValue(0, 0.0)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    fe.Update()
    poly = fe.GetOutput()

    conn = vtk.vtkPolyDataConnectivityFilter()
    conn.SetInputData(poly)
    conn.SetExtractionModeToLargestRegion()
    conn.Update()
    clean = vtk.vtkCleanPolyData()
    clean.SetInputConnection(conn.GetOutputPort())
    clean.Update()
    poly = clean.GetOutput()

    sm = vtk.vtkWindowedSincPolyDataFilter()
    sm.SetInputData(poly)
    sm.SetNumberOfIterations(smooth_iterations)
    sm.SetPassBand(passband)
    sm.BoundarySmoothingOff()
    sm.FeatureEdgeSmoothingOff()
    sm.NonManifoldSmoothingOn()
    sm.NormalizeCoordinatesOn()
    sm.Update()
    poly = sm.GetOutput()

    n = poly.GetNumberOfPolys()
    if n > target_faces:
        dec = vtk.vtkQuadricDecimation()
        dec.SetInputData(poly)
        dec.SetTargetReduction(1.0 - target_faces / n)
        dec.VolumePreservationOn()
        dec.Update()
        poly = dec.GetOutput()

    pts = ns.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    cells = ns.vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int64)
    return TriMesh(points=pts, faces=wind_outward(pts, cells))


def signed_volume(points: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle surface: positive when its triangles face outward."""
    p = np.asarray(points, dtype=np.float64)[faces]
    return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)


def wind_outward(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``faces`` wound so that the closed surface faces outward (positive signed volume).

    Flying edges winds its triangles towards increasing field values; with the SDF negative
    inside, that is inward, and every tool that trusts winding (lighting normals, 3D printing,
    inside tests) would see the solid inside out. The winding is consistent, so one test of the
    whole surface's signed volume decides for every triangle.
    """
    if signed_volume(points, faces) < 0.0:
        return faces[:, ::-1].copy()
    return faces
