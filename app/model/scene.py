"""The scene graph: typed, validated, immutable after loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.model.mesh import NervePath, TriMesh

Kind = Literal["group", "mesh", "nerve"]
Side = Literal["left", "right", "midline"]
KINDS: tuple[str, ...] = ("group", "mesh", "nerve")
SIDES: tuple[str, ...] = ("left", "right", "midline")
SYSTEMS: tuple[str, ...] = (
    "skeletal", "nervous", "meninges", "urogenital", "digestive", "muscular",
)


@dataclass(frozen=True)
class Geometry:
    """Where a node's surface comes from: a procedural generator or a mesh file."""

    procedural: str | None = None
    file: Path | None = None  # absolute, already checked to exist and stay inside allowed roots
    mesh: str | None = None  # a named mesh inside a multi-mesh file (glTF)
    transform: tuple[float, ...] | None = None  # 4x4 row-major, applied to file points (to LPS mm)
    decimate: float | None = None  # keep this fraction of triangles (0..1)

    def cache_key(self) -> tuple[Any, ...]:
        return (self.procedural, str(self.file), self.mesh, self.transform, self.decimate)


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: Kind
    parent: str | None = None
    side: Side = "midline"
    systems: tuple[str, ...] = ()
    color: tuple[float, float, float] = (0.8, 0.8, 0.8)
    opacity: float = 1.0
    visible: bool = True
    geometry: Geometry | None = None
    # A nerve's path (and the dural sac's axis): what the spread runs along.
    path: NervePath | None = field(default=None, compare=False)
    source: tuple[str, int | None] = ("", None)  # (file, line) the node was declared at


@dataclass(frozen=True)
class CameraPreset:
    name: str
    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0
    label: str = ""
    # Structures this view leaves out (the lumbar spine above an axial view at S1, say);
    # they come back when another preset is chosen.
    hide: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Scene:
    """A loaded scene graph. ``nodes`` keeps file order, parents before children.

    A case (``app.case.Case``) is a scene with its spread model; the graph alone knows nothing
    of the spread.
    """

    path: Path
    name: str
    description: str
    nodes: dict[str, Node]
    cameras: dict[str, CameraPreset]
    landmarks: dict[str, np.ndarray]
    mesh_roots: tuple[Path, ...] = ()
    credit: str = ""
    # Where procedural meshes and nerve tubes come from (``app.model.geometry.ProceduralSource``,
    # handed in by the layer that assembles a case; the model knows no particular anatomy).
    procedural: Any = field(default=None, repr=False)
    _mesh_cache: dict[str, TriMesh] = field(default_factory=dict, repr=False)

    # -- tree ----------------------------------------------------------------------------
    def children(self, node_id: str | None) -> list[Node]:
        return [n for n in self.nodes.values() if n.parent == node_id]

    def roots(self) -> list[Node]:
        return self.children(None)

    def descendants(self, node_id: str) -> list[Node]:
        """The node's subtree in file order, the node itself first."""
        out: list[Node] = []
        stack = [node_id]
        wanted: set[str] = set()
        while stack:
            nid = stack.pop()
            wanted.add(nid)
            stack.extend(c.id for c in self.children(nid))
        for n in self.nodes.values():
            if n.id in wanted:
                out.append(n)
        return out

    def ancestors(self, node_id: str) -> list[str]:
        out = []
        parent = self.nodes[node_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out

    def depth(self, node_id: str) -> int:
        return len(self.ancestors(node_id))

    def drawable(self) -> list[Node]:
        """Nodes that have a surface (meshes and nerves)."""
        return [n for n in self.nodes.values() if n.kind != "group"]

    def nerves(self) -> dict[str, NervePath]:
        """Every node with a path (nerves, and meshes such as the dural sac that carry an axis)."""
        return {n.id: n.path for n in self.nodes.values() if n.path is not None}

    # -- geometry --------------------------------------------------------------------------
    def mesh(self, node_id: str) -> TriMesh:
        """The node's surface in scene mm (generated or read once, then cached)."""
        cached = self._mesh_cache.get(node_id)
        if cached is not None:
            return cached
        from app.model.geometry import realise

        mesh = realise(self.nodes[node_id], self.procedural)
        self._mesh_cache[node_id] = mesh
        return mesh

    def bounds(self) -> tuple[float, float, float, float, float, float]:
        boxes = np.array([self.mesh(n.id).bounds() for n in self.drawable()])
        return (float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()),
                float(boxes[:, 3].max()), float(boxes[:, 4].min()), float(boxes[:, 5].max()))
