"""Embedded procedural anatomy of the adult male pelvis and lumbosacral plexus (LPS mm).

Frame: +x the patient's left, +y posterior, +z superior; origin at the sacral promontory.

Public API: :func:`names`, :func:`mesh`, :func:`centreline`, :func:`landmarks`,
:func:`junctions`, :func:`tube`.

Caching: bones, organs and muscles are signed-distance models that take tens of seconds to
mesh, so ``tools/build_anatomy.py`` meshes them once into ``assets/anatomy/solids.npz``
(float32 points, int32 faces, left side only; right-side meshes are exact mirror images). The
file records a hash of the generator sources; if it does not match (the generators were edited
and the assets not rebuilt), meshes are generated on demand and cached in
``~/.cache/pelvic-spread/`` under that hash, and ``tests/test_anatomy.py`` fails until the
assets are rebuilt. Nerves, the dural sac and the cauda equina are tubes built on the fly from
their centrelines (milliseconds).
"""

from __future__ import annotations

import hashlib
import warnings
from functools import cache, lru_cache
from pathlib import Path as FsPath

import numpy as np

from app.model.cachedir import cache_root
from app.model.mesh import NervePath, TriMesh

from . import atlas as _atlas
from .nerves import junctions as _junctions
from .nerves import paths as _paths
from .tube import tube, tube_mesh

__all__ = [
    "centreline",
    "junctions",
    "landmarks",
    "mesh",
    "names",
    "tube",
    "source_hash",
    "ASSET_PATH",
]

ASSET_PATH = FsPath(__file__).resolve().parents[2] / "assets" / "anatomy" / "solids.npz"
_SOURCES = ("atlas.py", "sdf.py", "nerves.py", "solids.py", "meshing.py")
_TUBE_SIDES = {"dural_sac": 28, "sciatic_l": 20, "sciatic_r": 20}

BONES = ["l3", "l4", "l5", "sacrum", "coccyx", "hip_l", "hip_r"]
DISCS = ["disc_l3_l4", "disc_l4_l5", "disc_l5_s1"]
ORGANS = ["prostate", "seminal_vesicle_l", "seminal_vesicle_r", "bladder", "rectum"]
MUSCLES = ["piriformis_l", "piriformis_r", "obturator_internus_l", "obturator_internus_r"]
MENINGES = ["dural_sac", "conus_medullaris", "cauda_equina"]
_NERVE_BASES = [
    "ramus_l4", "ramus_l5", "ramus_s1", "ramus_s2", "ramus_s3", "ramus_s4",
    "lumbosacral_trunk", "sacral_plexus", "sciatic", "tibial", "common_fibular",
    "pelvic_splanchnic", "inferior_hypogastric_plexus",
]  # fmt: skip
NERVES = [f"{b}_{s}" for b in _NERVE_BASES for s in ("l", "r")]


def names() -> list[str]:
    """Every procedural geometry name."""
    return BONES + DISCS + ORGANS + MUSCLES + MENINGES + NERVES


def source_hash() -> str:
    """Hash of the generator sources the solid meshes depend on."""
    h = hashlib.sha256()
    here = FsPath(__file__).parent
    for name in _SOURCES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def _asset_arrays() -> dict[str, np.ndarray]:
    want = source_hash()
    for path in (ASSET_PATH, cache_root() / f"solids-{want}.npz"):
        if path.exists():
            with np.load(path) as z:
                if str(z["source_hash"]) == want:
                    return {k: z[k] for k in z.files}
    return {}


def build_solid(name: str) -> TriMesh:
    """Mesh one left-side/midline solid from its signed-distance model (slow; build time)."""
    from .meshing import surface
    from .solids import SOLIDS

    s = SOLIDS[name]
    return surface(s.sdf, s.lo, s.hi, s.spacing, s.faces)


def solid_names() -> list[str]:
    from .solids import SOLIDS

    return list(SOLIDS)


def build_all() -> dict[str, np.ndarray]:
    """All solids as arrays ready for ``np.savez_compressed`` (what the asset file holds)."""
    out: dict[str, np.ndarray] = {"source_hash": np.array(source_hash())}
    for name in solid_names():
        m = build_solid(name)
        out[f"{name}.points"] = m.points.astype(np.float32)
        out[f"{name}.faces"] = m.faces.astype(np.int32)
    return out


@cache
def _solid(name: str) -> TriMesh:
    arrs = _asset_arrays()
    if f"{name}.points" not in arrs:
        warnings.warn(
            "anatomy assets missing or stale; meshing procedurally (run tools/build_anatomy.py)",
            stacklevel=3,
        )
        arrs = build_all()
        cache = cache_root()
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache / f"solids-{arrs['source_hash']}.npz", **arrs)
        _asset_arrays.cache_clear()
    return TriMesh(
        points=arrs[f"{name}.points"].astype(np.float64),
        faces=arrs[f"{name}.faces"].astype(np.int64),
    )


@cache
def _mesh(name: str) -> TriMesh:
    if name.endswith("_r"):  # exact mirror image of the left-side mesh
        m = _mesh(name[:-2] + "_l")
        return TriMesh(
            points=m.points * _atlas.MIRROR,
            faces=m.faces[:, ::-1].copy(),
            point_data={k: v.copy() for k, v in m.point_data.items()},
        )
    ps = _paths()
    if name in ps:
        p = ps[name]
        return tube_mesh(p.points, p.radii, sides=_TUBE_SIDES.get(name, 16))
    return _solid(name)


def mesh(name: str) -> TriMesh:
    """Surface mesh for a procedural geometry name; nerve-like meshes carry point_data["u"]."""
    if name not in names():
        raise KeyError(f"unknown procedural anatomy {name!r}")
    m = _mesh(name)
    return TriMesh(
        points=m.points.copy(),
        faces=m.faces.copy(),
        point_data={k: v.copy() for k, v in m.point_data.items()},
    )


def centreline(name: str) -> NervePath | None:
    """Centreline (proximal -> distal) and radius of a nerve-like structure; None otherwise."""
    if name not in names():
        raise KeyError(f"unknown procedural anatomy {name!r}")
    p = _paths().get(name)
    if p is None:
        return None
    return NervePath(centreline=p.points.copy(), radius=float(p.radius))


@lru_cache(maxsize=1)
def _landmarks() -> dict[str, np.ndarray]:
    base = _atlas.landmarks_left_midline()
    out: dict[str, np.ndarray] = {}
    for k, v in base.items():
        out[k] = np.asarray(v, dtype=np.float64)
        if k.endswith("_l"):
            out[k[:-2] + "_r"] = _atlas.mirror(v)
    sac = _paths()["dural_sac"].points
    out["conus_medullaris"] = _paths()["conus_medullaris"].points[-1].copy()
    out["dural_sac_end"] = sac[-1].copy()
    return out


def landmarks() -> dict[str, np.ndarray]:
    """Named points (mm)."""
    return {k: v.copy() for k, v in _landmarks().items()}


def junctions() -> list[tuple[str, float, str, float]]:
    """Nerve graph edges: (proximal, fraction along it, distal, fraction along the distal)."""
    return list(_junctions())
