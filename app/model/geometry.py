"""Turning a node's geometry source into a surface (procedural generator, file, or tube).

The model layer knows no particular anatomy: procedural geometry comes from a
:class:`ProceduralSource` handed in by the layer above (``app.case`` passes ``app.anatomy``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from app.model.mesh import NervePath, TriMesh
from app.model.meshfile import apply_transform, decimate, read_mesh
from app.model.scene import Node


class ProceduralSource(Protocol):
    """What a scene needs from a procedural anatomy (``app.anatomy`` is one)."""

    def names(self) -> list[str]: ...

    def mesh(self, name: str) -> TriMesh: ...

    def centreline(self, name: str) -> NervePath | None: ...

    def landmarks(self) -> dict[str, np.ndarray]: ...

    def tube(self, path: NervePath) -> TriMesh: ...


def realise(node: Node, source: ProceduralSource | None) -> TriMesh:
    geo = node.geometry
    if geo is not None and geo.procedural is not None:
        if source is None:
            raise ValueError(f"node '{node.id}' needs the procedural anatomy")
        return source.mesh(geo.procedural)
    if geo is not None and geo.file is not None:
        mesh = read_mesh(geo.file, geo.mesh)
        if geo.transform is not None:
            mesh = apply_transform(mesh, np.asarray(geo.transform, float).reshape(4, 4))
        if geo.decimate is not None:
            mesh = decimate(mesh, geo.decimate)
        return mesh
    if node.path is not None:
        if source is None:
            raise ValueError(f"node '{node.id}' needs a tube builder")
        return source.tube(node.path)
    raise ValueError(f"node '{node.id}' has no geometry")
