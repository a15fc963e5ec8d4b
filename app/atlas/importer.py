"""Reading an atlas folder: which files are which structures, in which units and axes.

``import_atlas(folder)`` finds the mesh files, names each structure (FMA IDs for BodyParts3D,
mesh names for Human Reference Atlas glTF), works out units and axes, and returns an
:class:`Atlas` whose parts carry the 4x4 transform that takes their file coordinates to LPS
millimetres. Files are read here, never copied; the scene that is written refers to them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.atlas.catalog import Entry, fma_entry, hra_entry, other_entry
from app.errors import UserError
from app.model.mesh import TriMesh
from app.model.meshfile import (
    GLTF_SUFFIXES,
    MESHIO_SUFFIXES,
    MeshFileError,
    apply_transform,
    check_mesh,
    read_gltf_meshes,
    read_mesh,
)

FORMATS = ("bodyparts3d", "gltf", "auto")
UNITS = ("mm", "m", "auto")
EXPECTED = ("BodyParts3D STL/OBJ files named by FMA ID (such as FMA16202.stl) or glTF/GLB files "
            "with named meshes (such as VH_M_Pelvis.glb)")

# File axes -> LPS, as a signed permutation: row i says which file axis (and sign) is LPS axis i.
LPS_AXES = np.eye(3)
GLTF_AXES = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # +x left, +y up, +z anterior


@dataclass(frozen=True)
class AtlasPart:
    """One structure of the atlas: where it is, what it is, and how to bring it to LPS mm."""

    entry: Entry
    file: Path  # absolute
    mesh_name: str | None  # the named mesh inside a glTF file
    transform: np.ndarray  # 4x4, file coordinates -> LPS mm
    mesh: TriMesh  # in LPS mm, full resolution
    source: str  # "bodyparts3d" or "gltf"

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass
class Atlas:
    folder: Path
    parts: list[AtlasPart]
    notes: list[str] = field(default_factory=list)

    def role(self, role: str) -> list[AtlasPart]:
        return [p for p in self.parts if p.entry.role == role]

    def merged(self, role: str) -> TriMesh | None:
        """All parts playing ``role`` (hip_l, sacrum, ...) as one surface, or None."""
        parts = self.role(role)
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0].mesh
        pts, faces, off = [], [], 0
        for p in parts:
            pts.append(p.mesh.points)
            faces.append(p.mesh.faces + off)
            off += p.mesh.n_points
        return TriMesh(np.concatenate(pts), np.concatenate(faces))

    def by_id(self) -> dict[str, AtlasPart]:
        return {p.id: p for p in self.parts}


@dataclass
class _Raw:
    entry: Entry | None
    name: str
    file: Path
    mesh_name: str | None
    mesh: TriMesh
    source: str


def import_atlas(folder: Path, fmt: str = "auto", units: str = "auto") -> Atlas:
    """Read and recognise every mesh in ``folder``. Raises UserError for unusable atlases."""
    folder = Path(folder)
    if fmt not in FORMATS:
        raise UserError(f"--format: expected one of {', '.join(FORMATS)}, got '{fmt}'")
    if units not in UNITS:
        raise UserError(f"--units: expected one of {', '.join(UNITS)}, got '{units}'")
    if not folder.exists():
        raise UserError(f"{folder}: atlas folder not found")
    if not folder.is_dir():
        raise UserError(f"{folder}: is a file; expected an atlas folder holding {EXPECTED}")
    folder = folder.resolve()
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    if not files:
        raise UserError(f"{folder}: the folder is empty; expected {EXPECTED}")
    wanted = {"bodyparts3d": MESHIO_SUFFIXES, "gltf": GLTF_SUFFIXES,
              "auto": MESHIO_SUFFIXES + GLTF_SUFFIXES}[fmt]
    meshes = [p for p in files if p.suffix.lower() in wanted]
    if not meshes:
        sample = ", ".join(p.name for p in files[:3]) + (" ..." if len(files) > 3 else "")
        what = {"bodyparts3d": "STL/OBJ/PLY/VTK mesh files", "gltf": "glTF/GLB files",
                "auto": "mesh files"}[fmt]
        raise UserError(f"{folder}: no {what} found (it holds {len(files)} other files: "
                        f"{sample}); expected {EXPECTED}")
    raws: list[_Raw] = []
    for path in meshes:
        raws.extend(_read(path))
    if not any(r.entry is not None for r in raws):
        names = ", ".join(sorted({r.name for r in raws})[:4])
        raise UserError(
            f"{folder}: none of its {len(raws)} meshes is a structure this importer knows "
            f"(found: {names}{' ...' if len(raws) > 4 else ''}); expected {EXPECTED}")
    notes: list[str] = []
    parts: list[AtlasPart] = []
    taken: set[str] = set()
    for source in ("bodyparts3d", "gltf"):
        group = [r for r in raws if r.source == source]
        if not group:
            continue
        scale = _units(group, units, notes, source)
        axes = _axes(group, source, notes)
        matrix = np.eye(4)
        matrix[:3, :3] = scale * axes
        for r in group:
            entry = r.entry or other_entry(r.name)
            entry = _unique(entry, taken)
            taken.add(entry.id)
            parts.append(AtlasPart(entry, r.file, r.mesh_name, matrix,
                                   apply_transform(r.mesh, matrix), source))
    unknown = [p for p in parts if p.entry.group == "other"]
    if unknown:
        more = " ..." if len(unknown) > 5 else ""
        notes.append(f"{len(unknown)} unrecognised meshes imported under 'other' "
                     f"({', '.join(p.id for p in unknown[:5])}{more})")
    return Atlas(folder, parts, notes)


def _read(path: Path) -> list[_Raw]:
    suffix = path.suffix.lower()
    try:
        if suffix in GLTF_SUFFIXES:
            found = read_gltf_meshes(path)
            if not found:
                raise MeshFileError("has no triangle meshes")
            out = []
            for name, mesh in found.items():
                try:
                    check_mesh(mesh)
                except MeshFileError as exc:
                    raise MeshFileError(f"mesh '{name}' {exc}") from None
                out.append(_Raw(hra_entry(name), name, path, name, mesh, "gltf"))
            return out
        mesh = read_mesh(path)
    except MeshFileError as exc:
        raise UserError(f"{path}: {exc}; expected a triangle surface mesh") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return [_Raw(fma_entry(path.stem), path.stem, path, None, mesh, "bodyparts3d")]


def _units(group: list[_Raw], units: str, notes: list[str], source: str) -> float:
    if units == "mm":
        return 1.0
    if units == "m":
        return 1000.0
    known = [r for r in group if r.entry is not None] or group
    pts = np.concatenate([r.mesh.points for r in known])
    extent = float((pts.max(axis=0) - pts.min(axis=0)).max())
    # A pelvis is about 0.3 m across: a few units means metres, hundreds means millimetres.
    scale = 1000.0 if extent < 5.0 else 1.0
    notes.append(f"{source}: units {'metres' if scale > 1 else 'millimetres'} "
                 f"(largest extent {extent:.3g} in file units)")
    return scale


# Anatomical relations that fix the axes, as (a, b, axis, sign): sign*(a - b) > 0 along LPS axis.
# axis 0 = x (left), 1 = y (posterior), 2 = z (superior).
_RELATIONS = [
    ("sacrum", "prostate", 2, 1), ("sacrum", "bladder", 1, 1), ("sacrum", "coccyx", 2, 1),
    ("l5", "sacrum", 2, 1), ("l4", "l5", 2, 1), ("rectum", "bladder", 1, 1),
    ("rectum", "prostate", 1, 1), ("bladder", "prostate", 2, 1), ("sacrum", "pubis_l", 1, 1),
    ("sacrum", "pubis_r", 1, 1), ("ilium_l", "ischium_l", 2, 1), ("ilium_r", "ischium_r", 2, 1),
    ("ilium_l", "pubis_l", 2, 1), ("sacrum", "seminal_vesicles", 1, 1),
]


def _rotations() -> list[np.ndarray]:
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = np.zeros((3, 3))
            for row, (col, s) in enumerate(zip(perm, signs, strict=True)):
                m[row, col] = s
            if np.linalg.det(m) > 0:
                out.append(m)
    return out


def _axes(group: list[_Raw], source: str, notes: list[str]) -> np.ndarray:
    """The format's axes, unless the anatomy clearly says otherwise (then the best rotation).

    Relations are only compared within one file for glTF (Human Reference Atlas files are not
    registered to each other) and across files for BodyParts3D (one body frame).
    """
    default = LPS_AXES if source == "bodyparts3d" else GLTF_AXES
    frames: dict[object, dict[str, np.ndarray]] = {}
    for r in group:
        if r.entry is None:
            continue
        key = r.file if source == "gltf" else "all"
        centres = frames.setdefault(key, {})
        centres.setdefault(r.entry.id, r.mesh.points.mean(axis=0))
    pairs = []
    for centres in frames.values():
        for a, b, axis, sign in _RELATIONS:
            if a in centres and b in centres:
                pairs.append((centres[a] - centres[b], axis, sign))
        for ident, c in centres.items():
            if ident.endswith("_l") and ident[:-2] + "_r" in centres:
                pairs.append((c - centres[ident[:-2] + "_r"], 0, 1))

    def score(m: np.ndarray) -> int:
        return sum(int(np.sign(sign * (m @ d)[axis])) for d, axis, sign in pairs)

    best = max(_rotations(), key=score)
    name = "LPS" if source == "bodyparts3d" else "glTF (+y superior, +z anterior, +x left)"
    if not pairs:
        notes.append(f"{source}: axes assumed {name} (no structures to check them against)")
        return default
    if score(best) > score(default):
        notes.append(f"{source}: axes detected from the anatomy ({len(pairs)} relations); "
                     f"the file frame is not {name}")
        return best
    notes.append(f"{source}: axes {name}, consistent with the anatomy "
                 f"({score(default)} of {len(pairs)} relations hold)")
    return default


def _unique(entry: Entry, taken: set[str]) -> Entry:
    if entry.id not in taken:
        return entry
    stem, suffix = (entry.id[:-2], entry.id[-2:]) if entry.id.endswith(("_l", "_r")) else (
        entry.id, "")
    n = 2
    while f"{stem}_{n}{suffix}" in taken:
        n += 1
    from dataclasses import replace

    return replace(entry, id=f"{stem}_{n}{suffix}", role="")
