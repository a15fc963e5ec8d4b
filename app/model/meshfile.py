"""Reading and writing mesh files as :class:`TriMesh` (meshio; glTF/GLB through VTK's reader)."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.model.mesh import TriMesh

MESHIO_SUFFIXES = (".obj", ".stl", ".ply", ".vtk", ".vtp", ".vtu")
GLTF_SUFFIXES = (".gltf", ".glb")
MESH_SUFFIXES = MESHIO_SUFFIXES + GLTF_SUFFIXES


class MeshFileError(Exception):
    """The file is not a usable surface mesh; the message says why."""


def read_mesh(path: Path, mesh_name: str | None = None) -> TriMesh:
    """Read a surface as triangles, checking it is non-empty and finite."""
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size, mesh_name)


@lru_cache(maxsize=256)
def _read_cached(path: str, _mtime: int, _size: int, mesh_name: str | None) -> TriMesh:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in GLTF_SUFFIXES:
        meshes = read_gltf_meshes(p)
        if mesh_name is not None:
            if mesh_name not in meshes:
                names = ", ".join(sorted(meshes)) or "none"
                raise MeshFileError(f"has no mesh named '{mesh_name}' (it has: {names})")
            parts = [meshes[mesh_name]]
        else:
            parts = list(meshes.values())
        mesh = merge(parts) if parts else TriMesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    elif suffix in MESHIO_SUFFIXES:
        if mesh_name is not None:
            raise MeshFileError(f"'mesh: {mesh_name}' is only for glTF files with named meshes")
        mesh = _read_vtp(p) if suffix == ".vtp" else _read_meshio(p)
    else:
        raise MeshFileError(
            f"unsupported mesh format '{suffix or p.name}' "
            f"(expected one of {', '.join(MESH_SUFFIXES)})"
        )
    check_mesh(mesh)
    return mesh


def check_mesh(mesh: TriMesh) -> None:
    if mesh.n_points == 0 or mesh.n_cells == 0:
        raise MeshFileError("is empty: no triangles or polygons found")
    if not np.isfinite(mesh.points).all():
        bad = int((~np.isfinite(mesh.points).all(axis=1)).sum())
        raise MeshFileError(f"has {bad} points with non-finite coordinates (NaN or infinity)")


def _read_meshio(path: Path) -> TriMesh:
    import meshio

    if path.stat().st_size == 0:
        raise MeshFileError("is empty (0 bytes)")
    try:
        # meshio prints warnings for some files; keep the terminal clean.
        with (contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()),
              warnings.catch_warnings()):
            # meshio's binary-STL size check overflows harmlessly on ASCII files.
            warnings.simplefilter("ignore", RuntimeWarning)
            m = meshio.read(path)
    except Exception as exc:  # meshio raises many types for malformed files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MeshFileError(f"cannot be read as a mesh: {msg}") from None
    points = np.asarray(m.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] == 0:
        raise MeshFileError("is empty: no points")
    if points.shape[1] == 2:
        points = np.column_stack([points, np.zeros(len(points))])
    tris: list[np.ndarray] = []
    volume = False
    for block in m.cells:
        data = np.asarray(block.data)
        if block.type == "triangle":
            tris.append(data)
        elif block.type in ("quad", "polygon") or block.type.startswith("polygon"):
            tris.append(fan_triangulate(data))
        elif block.type in ("tetra", "hexahedron", "wedge", "pyramid"):
            volume = True
    if not tris and volume:
        return _surface_of_volume(path)
    faces = np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64)
    return TriMesh(points[:, :3].copy(), faces)


def _read_vtp(path: Path) -> TriMesh:
    """VTK XML PolyData (meshio reads VTU and legacy VTK, not VTP)."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    if path.stat().st_size == 0:
        raise MeshFileError("is empty (0 bytes)")
    reader = vtk.vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    text = _update_quietly(reader)
    if "ERROR" in text:
        raise MeshFileError("cannot be read as VTP: " + _first_vtk_error(text))
    tri = vtk.vtkTriangleFilter()
    tri.SetInputData(reader.GetOutput())
    tri.PassLinesOff()
    tri.PassVertsOff()
    tri.Update()
    poly = tri.GetOutput()
    if poly.GetNumberOfPoints() == 0 or poly.GetNumberOfPolys() == 0:
        return TriMesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    pts = vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    conn = vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).astype(np.int64)
    pd = poly.GetPointData()
    point_data = {}
    for i in range(pd.GetNumberOfArrays()):  # keep per-point arrays such as a tube's "u"
        arr = pd.GetArray(i)
        if arr is not None and arr.GetName() and arr.GetNumberOfComponents() == 1:
            point_data[arr.GetName()] = vtk_to_numpy(arr).astype(np.float64)
    return TriMesh(pts, conn.reshape(-1, 3), point_data)


def _surface_of_volume(path: Path) -> TriMesh:
    import pyvista as pv

    surf = pv.read(path).extract_surface().triangulate()
    return TriMesh(np.asarray(surf.points, np.float64),
                   np.asarray(surf.faces).reshape(-1, 4)[:, 1:].astype(np.int64))


def fan_triangulate(polys: np.ndarray) -> np.ndarray:
    k = polys.shape[1]
    out = [polys[:, [0, i, i + 1]] for i in range(1, k - 1)]
    return np.concatenate(out)


def read_gltf_meshes(path: Path) -> dict[str, TriMesh]:
    """Every named mesh of a glTF/GLB file, with node transforms applied, in file units."""
    import vtk

    if path.stat().st_size == 0:
        raise MeshFileError("is empty (0 bytes)")
    reader = vtk.vtkGLTFReader()
    reader.SetFileName(str(path))
    text = _update_quietly(reader)
    data = reader.GetOutput()
    if "ERROR" in text or data is None or data.GetNumberOfBlocks() == 0:
        raise MeshFileError("cannot be read as glTF: " + (_first_vtk_error(text) or "no meshes"))
    names = _gltf_names(path)
    meshes: dict[str, TriMesh] = {}
    from vtk.util.numpy_support import vtk_to_numpy

    def walk(block, label: str) -> None:
        for i in range(block.GetNumberOfBlocks()):
            child = block.GetBlock(i)
            if child is None:
                continue
            meta = block.GetMetaData(i) if block.HasMetaData(i) else None
            name = meta.Get(vtk.vtkCompositeDataSet.NAME()) if meta is not None else None
            if child.IsA("vtkMultiBlockDataSet"):
                walk(child, names.get(name, label) if name else label)
                continue
            tri = vtk.vtkTriangleFilter()
            tri.SetInputData(child)
            tri.Update()
            poly = tri.GetOutput()
            if not (poly.GetNumberOfPoints() and poly.GetNumberOfPolys()):
                continue
            pts = vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
            conn = vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).astype(np.int64)
            key, n = label, 2
            while key in meshes:
                key, n = f"{label}_{n}", n + 1
            meshes[key] = TriMesh(pts, conn.reshape(-1, 3))

    walk(data, path.stem)
    return meshes


def _gltf_names(path: Path) -> dict[str, str]:
    """VTK's block names ('Mesh_3', 'Node_7') -> the names the glTF file gives them."""
    import json
    import struct

    try:
        raw = path.read_bytes()
        if raw[:4] == b"glTF":
            length, kind = struct.unpack_from("<II", raw, 12)
            doc = json.loads(raw[20:20 + length]) if kind == 0x4E4F534A else {}
        else:
            doc = json.loads(raw)
    except (ValueError, struct.error, OSError):
        return {}
    out: dict[str, str] = {}
    for key, items in (("Node", doc.get("nodes", [])), ("Mesh", doc.get("meshes", []))):
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("name"):
                out[f"{key}_{i}"] = str(item["name"])
    return out


def _update_quietly(reader) -> str:
    """Run a VTK reader, returning what it reported (VTK reports malformed files through its
    output window rather than by raising)."""
    import vtk

    out = vtk.vtkStringOutputWindow()
    previous = vtk.vtkOutputWindow.GetInstance()
    vtk.vtkOutputWindow.SetInstance(out)
    try:
        reader.Update()
    finally:
        vtk.vtkOutputWindow.SetInstance(previous)
    return out.GetOutput()


def _first_vtk_error(text: str) -> str:
    for line in text.splitlines():
        if "ERR" in line or "rror" in line:
            return line.strip()[-160:]
    return ""


def merge(parts: list[TriMesh]) -> TriMesh:
    points, faces, offset = [], [], 0
    for m in parts:
        points.append(m.points)
        faces.append(m.faces + offset)
        offset += m.n_points
    return TriMesh(np.concatenate(points), np.concatenate(faces))


def apply_transform(mesh: TriMesh, matrix: np.ndarray) -> TriMesh:
    homo = np.column_stack([mesh.points, np.ones(mesh.n_points)])
    pts = (homo @ matrix.T)[:, :3]
    faces = mesh.faces
    if np.linalg.det(matrix[:3, :3]) < 0:  # a mirror flips winding; keep outward normals
        faces = faces[:, ::-1].copy()
    return TriMesh(pts, faces, dict(mesh.point_data))


def decimate(mesh: TriMesh, keep: float) -> TriMesh:
    """Reduce to about ``keep`` of the triangles (quadric decimation through VTK)."""
    if keep >= 1.0:
        return mesh
    import pyvista as pv

    faces = np.column_stack([np.full(mesh.n_cells, 3), mesh.faces]).ravel()
    poly = pv.PolyData(mesh.points, faces).decimate(1.0 - keep)
    return TriMesh(np.asarray(poly.points, np.float64),
                   np.asarray(poly.faces).reshape(-1, 4)[:, 1:].astype(np.int64))


def write_mesh(mesh: TriMesh, path: Path) -> None:
    """Write VTP/STL/PLY/OBJ (scene mm) atomically: a partial file never replaces the target.

    VTP goes through VTK (meshio has no VTP writer); the others through meshio.
    """
    suffix = path.suffix.lower()
    if suffix not in (".vtp", ".stl", ".ply", ".obj", ".vtk", ".vtu"):
        raise MeshFileError(
            f"unsupported output format '{suffix}' (expected .vtp, .stl, .ply or .obj)")
    lines = mesh.faces.ndim == 2 and mesh.faces.shape[1] == 2
    if lines and suffix == ".stl":
        raise MeshFileError("STL holds triangles only; write a polyline as .vtp, .obj or .ply")
    tmp = path.with_name(f".{path.stem}.part{os.getpid()}{suffix}")
    try:
        if suffix == ".vtp":
            _write_vtp(mesh, tmp, lines)
        else:
            import meshio

            cells = [("line" if lines else "triangle", mesh.faces)]
            point_data = ({k: np.asarray(v) for k, v in mesh.point_data.items()}
                          if suffix in (".vtk", ".vtu") else {})
            fmt = suffix[1:]
            with contextlib.redirect_stdout(io.StringIO()):
                meshio.write(tmp, meshio.Mesh(mesh.points, cells, point_data=point_data),
                             file_format=fmt, **({"binary": True} if fmt in ("stl", "ply")
                                                 else {}))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_vtp(mesh: TriMesh, path: Path, lines: bool) -> None:
    import pyvista as pv

    cells = np.column_stack([np.full(len(mesh.faces), mesh.faces.shape[1]), mesh.faces]).ravel()
    poly = (pv.PolyData(mesh.points, lines=cells) if lines
            else pv.PolyData(mesh.points, faces=cells))
    for key, values in mesh.point_data.items():
        poly.point_data[key] = np.asarray(values)
    poly.save(path, binary=True)
