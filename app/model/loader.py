"""Scene files (YAML) -> :class:`Scene`, with every problem reported as ``FILE:LINE: message``.

Format (see README, "Scene files"): top-level keys ``format``, ``name``, ``description``,
``extends``, ``anatomy``, ``mesh_roots``, ``nodes``, ``overrides``, ``cameras``, ``landmarks``,
``scenario``, ``timeline``, ``credit``. Nothing downstream re-checks what this module accepts.

This module reads the scene graph only; ``app.case.load_scene`` assembles a whole case (the
graph, the built-in anatomy and the spread model).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import Problem, SceneError
from app.model.geometry import ProceduralSource
from app.model.meshfile import MESH_SUFFIXES, MeshFileError, read_mesh
from app.model.scene import KINDS, SIDES, SYSTEMS, CameraPreset, Geometry, Node, Scene
from app.model.yamlio import Field, Invalid, Problems, load_yaml, merge_by_id, root_field

FORMAT = "pelvic-spread/1"
TOP_KEYS = ("format", "name", "description", "extends", "anatomy", "mesh_roots", "nodes",
            "overrides", "cameras", "landmarks", "scenario", "timeline", "credit")
NODE_KEYS = ("id", "name", "parent", "kind", "side", "systems", "color", "opacity", "visible",
             "geometry", "centreline", "radius")
OVERRIDE_KEYS = ("name", "color", "opacity", "visible")
GEOMETRY_KEYS = ("procedural", "file", "mesh", "transform", "decimate")
CAMERA_KEYS = ("position", "focal_point", "view_up", "view_angle", "label", "hide")
ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

SCENES_DIR = Path(__file__).resolve().parents[2] / "scenes"
DEFAULT_SCENE = SCENES_DIR / "bilateral_plexopathy.yaml"


def resolve_scene_path(name: str | os.PathLike[str] | None) -> Path:
    """A scene argument: a path, or the bare name of a scene in ``scenes/``; None = the case."""
    if name is None:
        return DEFAULT_SCENE
    p = Path(name)
    if not p.exists() and not p.suffix and (SCENES_DIR / f"{p.name}.yaml").exists():
        return SCENES_DIR / f"{p.name}.yaml"
    return p


@dataclasses.dataclass
class SceneSource:
    """A scene file read and checked as a graph, with its spread sections still as YAML.

    ``scenario`` and ``timeline`` are already merged over the scenes it extends (by id); the
    layer above (``app.case``) turns them into a spread model.
    """

    scene: Scene
    scenario: Field | None
    timeline: Field | None


def read_scene(path: str | os.PathLike[str],
               procedural: ProceduralSource | None = None) -> SceneSource:
    """Load and validate a scene file's graph (and the scenes it extends). Raises SceneError.

    ``procedural`` supplies procedural meshes, nerve centrelines, tubes and landmarks.
    """
    path = Path(path)
    partial = _read_partial(path, chain=(), procedural=procedural)
    landmarks: dict[str, np.ndarray] = {}
    if partial.anatomy == "procedural":
        if procedural is None:
            raise SceneError([Problem(path, None, "anatomy: 'procedural' needs the built-in "
                                                  "anatomy, which was not given")])
        landmarks.update({k: np.asarray(v, float) for k, v in procedural.landmarks().items()})
    landmarks.update(partial.landmarks)
    scene = Scene(
        path=path, name=partial.name, description=partial.description, nodes=partial.nodes,
        cameras=partial.cameras, landmarks=landmarks, mesh_roots=partial.mesh_roots,
        credit=partial.credit, procedural=procedural,
    )
    return SceneSource(scene, partial.scenario, partial.timeline)


@dataclasses.dataclass
class _Partial:
    """A scene file's content before the final Scene is assembled (kept for ``extends``)."""

    name: str = ""
    description: str = ""
    credit: str = ""
    anatomy: str | None = None
    mesh_roots: tuple[Path, ...] = ()
    nodes: dict[str, Node] = dataclasses.field(default_factory=dict)
    cameras: dict[str, CameraPreset] = dataclasses.field(default_factory=dict)
    landmarks: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    scenario: Field | None = None
    timeline: Field | None = None
    parent_lines: dict[str, int | None] = dataclasses.field(default_factory=dict)


def _read_partial(path: Path, chain: tuple[Path, ...],
                  procedural: ProceduralSource | None) -> _Partial:
    data = load_yaml(path)
    problems = Problems()
    root = root_field(data, path, problems)
    if not root.is_map():
        raise SceneError([Problem(path, 1, "expected a YAML mapping with 'nodes' at the top, "
                                           f"got {type(data).__name__}")])
    root.check_keys(TOP_KEYS)
    base = _Partial()
    if root.has("extends"):
        base = _extends(root.get("extends"), path, chain, problems, procedural)
    part = dataclasses.replace(base, nodes=dict(base.nodes), cameras=dict(base.cameras),
                               landmarks=dict(base.landmarks), parent_lines={})
    if root.has("format"):
        root.opt("format", lambda f: f.as_choice((FORMAT,)))
    part.name = root.opt("name", Field.as_str, part.name or path.stem)
    part.description = root.opt("description", Field.as_str, part.description)
    part.credit = root.opt("credit", Field.as_str, part.credit)
    part.anatomy = root.opt("anatomy", lambda f: f.as_choice(("procedural",)), part.anatomy)
    if root.has("mesh_roots"):
        part.mesh_roots = base.mesh_roots + _mesh_roots(root.get("mesh_roots"), path)
    if not root.has("nodes") and not root.has("extends"):
        root.error("missing required key 'nodes' (a list of scene nodes)")
    if root.has("nodes"):
        _nodes(root.get("nodes"), path, part, base_ids=set(base.nodes), procedural=procedural)
    if root.has("overrides"):
        _overrides(root.get("overrides"), part)
    if root.has("cameras"):
        _cameras(root.get("cameras"), part)
    if root.has("landmarks"):
        try:
            for name, f in root.get("landmarks").expect_map("a mapping of name: [x, y, z]").items():
                try:
                    part.landmarks[name] = np.asarray(f.as_vec3(), float)
                except Invalid:
                    pass
        except Invalid:
            pass
    part.scenario = _merged(base.scenario, root, "scenario")
    part.timeline = _merged(base.timeline, root, "timeline")
    _check_tree(part, path, problems)
    problems.raise_if_any()
    return part


def _merged(base: Field | None, root: Field, key: str) -> Field | None:
    """This file's section laid over the extended scene's, by id (see ``merge_by_id``)."""
    if not root.has(key):
        return base
    mine = root.get(key)
    if base is None:
        return mine
    return Field(merge_by_id(base.value, mine.value), mine.file, mine.line, key, Problems())


def _extends(f: Field, path: Path, chain: tuple[Path, ...], problems: Problems,
             procedural: ProceduralSource | None) -> _Partial:
    try:
        rel = f.as_str(expected="a path to another scene file")
    except Invalid:
        problems.raise_if_any()
        raise
    target = (path.parent / rel).resolve()
    if target in chain or target == path.resolve():
        f.error(f"'{rel}' extends itself (cycle through {' -> '.join(p.name for p in chain)})")
        problems.raise_if_any()
    if not target.is_file():
        f.error(f"scene '{rel}' not found (looked for {target})")
        problems.raise_if_any()
    return _read_partial(target, chain + (path.resolve(),), procedural)


def _mesh_roots(f: Field, path: Path) -> tuple[Path, ...]:
    roots: list[Path] = []
    try:
        for item in f.elements("a list of folders"):
            try:
                p = (path.parent / item.as_str(expected="a folder path")).resolve()
            except Invalid:
                continue
            if not p.is_dir():
                item.error(f"mesh root '{item.value}' is not a folder (resolved to {p})")
                continue
            roots.append(p)
    except Invalid:
        pass
    return tuple(roots)


def _nodes(f: Field, path: Path, part: _Partial, base_ids: set[str],
           procedural: ProceduralSource | None) -> None:
    try:
        elements = list(f.elements("a list of nodes"))
    except Invalid:
        return
    first_line: dict[str, int | None] = {k: None for k in part.nodes}
    for item in elements:
        try:
            node = _node(item, path, part, procedural)
        except Invalid:
            continue
        if node.id in part.nodes:
            where = (f"line {first_line[node.id]}" if first_line.get(node.id) is not None
                     else f"{part.nodes[node.id].source[0]}")
            hint = " (use 'overrides' to change a node of the extended scene)" if (
                node.id in base_ids) else ""
            item.get("id").error(f"duplicate id '{node.id}', already defined at {where}{hint}")
            continue
        part.nodes[node.id] = node
        first_line[node.id] = item.line
        if item.has("parent"):
            part.parent_lines[node.id] = item.get("parent").line


def _node(f: Field, path: Path, part: _Partial, procedural: ProceduralSource | None) -> Node:
    f.expect_map("a node (a mapping with id, name, kind)")
    f.check_keys(NODE_KEYS)
    node_id = f.get("id").as_str(ID_RE, "a snake_case id such as 'sciatic_l'")
    kind = f.get("kind").as_choice(KINDS)
    side = f.opt("side", lambda x: x.as_choice(SIDES), "midline")
    if node_id.endswith("_l") and side != "left":
        f.get("id").error(f"id '{node_id}' ends in _l, so side must be 'left' (got '{side}')")
    if node_id.endswith("_r") and side != "right":
        f.get("id").error(f"id '{node_id}' ends in _r, so side must be 'right' (got '{side}')")
    systems: tuple[str, ...] = ()
    if f.has("systems"):
        out = []
        try:
            for s in f.get("systems").elements("a list of system tags"):
                try:
                    out.append(s.as_choice(SYSTEMS))
                except Invalid:
                    pass
        except Invalid:
            pass
        systems = tuple(out)
    geometry = None
    if f.has("geometry"):
        geometry = _geometry(f.get("geometry"), path, part, procedural)
    nerve_path = None
    if geometry is not None and geometry.procedural is not None and procedural is not None:
        try:
            nerve_path = procedural.centreline(geometry.procedural)
        except KeyError:
            nerve_path = None
    if f.has("centreline"):
        nerve_path = _centreline(f, nerve_path)
    if kind == "group" and (geometry is not None or f.has("centreline")):
        f.error("a 'group' node has no geometry or centreline (use kind 'mesh' or 'nerve')")
    if kind == "mesh" and geometry is None:
        f.error("a 'mesh' node needs 'geometry' ({procedural: NAME} or {file: PATH})")
    if kind == "nerve" and nerve_path is None:
        f.error("a 'nerve' node needs a centreline: 'centreline' and 'radius', "
                "or a procedural nerve geometry")
    parent = f.opt("parent", lambda x: x.as_str(ID_RE, "the id of another node"), None)
    return Node(
        id=node_id,
        name=f.opt("name", Field.as_str, node_id.replace("_", " ")),
        kind=kind,  # type: ignore[arg-type]
        parent=parent,
        side=side,  # type: ignore[arg-type]
        systems=systems,
        color=f.opt("color", Field.as_color, (0.8, 0.8, 0.8)),
        opacity=f.opt("opacity", lambda x: x.as_float(0.0, 1.0), 1.0),
        visible=f.opt("visible", Field.as_bool, True),
        geometry=geometry,
        path=nerve_path,
        source=(str(path), f.line),
    )


def _centreline(f: Field, procedural):
    from app.model.mesh import NervePath

    cf = f.get("centreline")
    pts = []
    for p in cf.elements("a list of points [x, y, z]"):
        pts.append(p.as_vec3())
    if len(pts) < 2:
        raise cf.fail(f"a centreline needs at least 2 points, got {len(pts)}")
    arr = np.asarray(pts, float)
    if np.any(np.linalg.norm(np.diff(arr, axis=0), axis=1) == 0):
        raise cf.fail("a centreline has two consecutive identical points")
    if f.has("radius"):
        radius = f.get("radius").as_float(positive=True)
    elif procedural is not None:
        radius = procedural.radius
    else:
        raise f.fail("missing required key 'radius' (nerve radius in mm) next to 'centreline'")
    return NervePath(arr, radius)


def _geometry(f: Field, path: Path, part: _Partial,
              procedural: ProceduralSource | None) -> Geometry:
    f.expect_map("a mapping: {procedural: NAME} or {file: PATH}")
    f.check_keys(GEOMETRY_KEYS)
    if f.has("procedural") == f.has("file"):
        raise f.fail("expected exactly one of 'procedural' or 'file'")
    if f.has("procedural"):
        name = f.get("procedural").as_str(expected="a procedural generator name")
        if procedural is None:
            raise f.get("procedural").fail("procedural geometry needs the built-in anatomy")
        if name not in procedural.names():
            raise f.get("procedural").fail(
                f"unknown procedural geometry '{name}' (see 'pelvic-spread info' for the names)")
        return Geometry(procedural=name)
    ff = f.get("file")
    rel = ff.as_str(expected="a mesh file path relative to the scene file")
    target = (path.parent / rel).resolve()
    allowed = (path.parent.resolve(),) + part.mesh_roots
    if not any(target == r or r in target.parents for r in allowed):
        raise ff.fail(f"mesh path '{rel}' leaves the scene's folder ({path.parent.resolve()}); "
                      "mesh files must be inside it or under a declared 'mesh_roots' folder")
    if target.suffix.lower() not in MESH_SUFFIXES:
        raise ff.fail(f"'{rel}' is not a supported mesh file (expected one of "
                      f"{', '.join(MESH_SUFFIXES)})")
    if not target.exists():
        raise ff.fail(f"mesh file '{rel}' not found (looked for {target})")
    if not target.is_file():
        raise ff.fail(f"mesh path '{rel}' is not a file")
    if not os.access(target, os.R_OK):
        raise ff.fail(f"mesh file '{rel}' is not readable (permission denied)")
    mesh_name = f.opt("mesh", Field.as_str, None)
    transform = None
    if f.has("transform"):
        tf = f.get("transform")
        vals = tf.value
        flat = [v for row in vals for v in row] if isinstance(vals, list) and all(
            isinstance(r, list) for r in vals) else vals
        if (not isinstance(flat, list) or len(flat) != 16
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in flat)):
            raise tf.fail("expected a 4x4 matrix (4 rows of 4 numbers, or 16 numbers)")
        transform = tuple(float(v) for v in flat)
    dec = f.opt("decimate", lambda x: x.as_float(0.01, 1.0), None)
    try:
        read_mesh(target, mesh_name)
    except MeshFileError as exc:
        raise ff.fail(f"mesh file '{rel}' {exc}") from None
    except OSError as exc:
        raise ff.fail(f"mesh file '{rel}' cannot be read: {exc.strerror or exc}") from None
    return Geometry(file=target, mesh=mesh_name, transform=transform, decimate=dec)


def _overrides(f: Field, part: _Partial) -> None:
    try:
        entries = list(f.expect_map("a mapping of node id: {name, color, opacity, visible}")
                       .items())
    except Invalid:
        return
    for node_id, item in entries:
        if node_id not in part.nodes:
            item.error(f"override for unknown node '{node_id}'")
            continue
        try:
            item.expect_map("a mapping of name, color, opacity, visible")
            item.check_keys(OVERRIDE_KEYS)
        except Invalid:
            continue
        node = part.nodes[node_id]
        part.nodes[node_id] = dataclasses.replace(
            node,
            name=item.opt("name", Field.as_str, node.name),
            color=item.opt("color", Field.as_color, node.color),
            opacity=item.opt("opacity", lambda x: x.as_float(0.0, 1.0), node.opacity),
            visible=item.opt("visible", Field.as_bool, node.visible),
        )


def _cameras(f: Field, part: _Partial) -> None:
    try:
        entries = list(f.expect_map("a mapping of camera name: {position, focal_point, ...}")
                       .items())
    except Invalid:
        return
    for name, item in entries:
        try:
            item.expect_map("a camera: {position, focal_point, view_up, view_angle}")
            item.check_keys(CAMERA_KEYS)
            part.cameras[name] = CameraPreset(
                name=name,
                position=item.get("position").as_vec3(),
                focal_point=item.get("focal_point").as_vec3(),
                view_up=item.opt("view_up", Field.as_vec3, (0.0, 0.0, 1.0)),
                view_angle=item.opt("view_angle", lambda x: x.as_float(1.0, 120.0), 30.0),
                label=item.opt("label", Field.as_str, name.replace("_", " ").capitalize()),
                hide=tuple(_hide_list(item, part)),
            )
        except Invalid:
            continue


def _hide_list(item: Field, part: _Partial) -> list[str]:
    if not item.has("hide"):
        return []
    out = []
    for f in item.get("hide").elements("a list of node ids"):
        try:
            node_id = f.as_str(ID_RE, "a node id")
        except Invalid:
            continue
        if node_id not in part.nodes:
            f.error(f"unknown node '{node_id}' (cameras may only hide nodes of the scene)")
            continue
        out.append(node_id)
    return out


def _check_tree(part: _Partial, path: Path, problems: Problems) -> None:
    """Parents exist and do not loop. Reports only nodes declared in this file."""
    nodes = part.nodes
    mine = [n for n in nodes.values() if n.source[0] == str(path)]

    def line_of(node: Node) -> int | None:
        return part.parent_lines.get(node.id, node.source[1])

    for node in mine:
        if node.parent is not None and node.parent not in nodes:
            problems.add(path, line_of(node),
                         f"nodes: node '{node.id}' has parent '{node.parent}', "
                         "which does not exist")
    for node in mine:
        seen = [node.id]
        parent = node.parent
        while parent is not None and parent in nodes:
            if parent in seen:
                cycle = " -> ".join(seen[seen.index(parent):] + [parent])
                if node.id == min(seen[seen.index(parent):]):
                    problems.add(path, line_of(node), f"nodes: parent cycle {cycle}")
                break
            seen.append(parent)
            parent = nodes[parent].parent


def node_summary(scene: Scene) -> list[dict[str, Any]]:
    """Per node facts for ``info --json``."""
    out = []
    for n in scene.nodes.values():
        entry: dict[str, Any] = {"id": n.id, "name": n.name, "parent": n.parent, "kind": n.kind,
                                 "side": n.side}
        if n.kind == "group":
            entry.update(points=0, cells=0, bounds=None)
        else:
            m = scene.mesh(n.id)
            entry.update(points=m.n_points, cells=m.n_cells, bounds=list(m.bounds()))
        out.append(entry)
    return out
