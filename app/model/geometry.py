"""Turning a node's geometry source into a surface (procedural generator, file, or tube)."""

from __future__ import annotations

import numpy as np

from app.model.mesh import TriMesh
from app.model.meshfile import apply_transform, decimate, read_mesh
from app.model.scene import Node


def realise(node: Node) -> TriMesh:
    geo = node.geometry
    if geo is not None and geo.procedural is not None:
        from app import anatomy

        return anatomy.mesh(geo.procedural)
    if geo is not None and geo.file is not None:
        mesh = read_mesh(geo.file, geo.mesh)
        if geo.transform is not None:
            mesh = apply_transform(mesh, np.asarray(geo.transform, float).reshape(4, 4))
        if geo.decimate is not None:
            mesh = decimate(mesh, geo.decimate)
        return mesh
    if node.path is not None:
        from app import anatomy

        return anatomy.tube(node.path)
    raise ValueError(f"node '{node.id}' has no geometry")
