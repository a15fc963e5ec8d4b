"""Writing the imported atlas as scene files.

For ``-o DIR/NAME.yaml`` three things are written side by side:

- ``NAME_anatomy.yaml``: the atlas anatomy. Atlas bones and organs as file nodes (the atlas
  folder is declared in ``mesh_roots``; files are referenced where they are, with the transform
  to LPS mm), the fitted nerves and meninges as explicit ``centreline`` + ``radius`` nodes with
  the same ids as the procedural anatomy, every landmark, and camera presets for the atlas.
- ``NAME_model/``: model surfaces the atlas lacks (a BodyParts3D set has no coccyx or
  obturator internus), carried onto the atlas by the same warp, as VTP files.
- ``NAME.yaml``: the case. It ``extends`` the anatomy file and carries the source scene's
  ``scenario`` and ``timeline`` sections unchanged (literal coordinates, if any, warped), so the
  spread plays exactly as in the default scene.

Without a fit (no sacrum or hip bones to fit to) only ``NAME.yaml`` is written: the atlas alone.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.atlas.catalog import GROUPS, PART_GROUPS
from app.atlas.fit import FitResult
from app.atlas.importer import Atlas, AtlasPart
from app.model.meshfile import write_mesh
from app.model.scene import Node, Scene

FORMAT = "pelvic-spread/1"
POINT_KEYS = ("seed", "point", "at", "from", "to")


@dataclass
class Written:
    case: Path | None
    anatomy: Path
    model_meshes: list[Path] = field(default_factory=list)


def _q(text: str) -> str:
    """A YAML scalar for any string (a JSON string is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _hex(color: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{int(round(min(max(c, 0.0), 1.0) * 255)):02x}" for c in color)


def _num(v: float) -> str:
    r = round(float(v), 2)
    return str(int(r)) if r == int(r) else f"{r:g}" if abs(r) < 1e6 else f"{r:.2f}"


def _vec(p) -> str:
    return "[" + ", ".join(_num(v) for v in p) + "]"


def _rel(target: Path, base: Path) -> str:
    """``target`` relative to folder ``base`` when they share more than the root, else absolute."""
    target, base = target.resolve(), base.resolve()
    common = Path(os.path.commonpath([target, base]))
    if common == Path(common.anchor):
        return str(target)
    return os.path.relpath(target, base)


class _Doc:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "") -> None:
        self.lines.append(text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _node_head(doc: _Doc, node_id: str, name: str, kind: str, parent: str | None, side: str,
               systems, color, opacity: float, visible: bool) -> None:
    doc.add(f"  - id: {node_id}")
    doc.add(f"    name: {_q(name)}")
    if parent:
        doc.add(f"    parent: {parent}")
    doc.add(f"    kind: {kind}")
    doc.add(f"    side: {side}")
    if systems:
        doc.add(f"    systems: [{', '.join(systems)}]")
    if color is not None:
        doc.add(f"    color: \"{_hex(color)}\"")
    if opacity != 1.0:
        doc.add(f"    opacity: {_num(opacity)}")
    if not visible:
        doc.add("    visible: false")


def _transform_yaml(m: np.ndarray) -> str | None:
    if np.allclose(m, np.eye(4)):
        return None
    rows = ", ".join("[" + ", ".join(_num(v) for v in row) + "]" for row in m)
    return f"[{rows}]"


def write_scenes(atlas: Atlas, source: Scene, fitted: FitResult | None, out: Path,
                 decimate: float | None = None, big: int = 5000,
                 report: list[str] | None = None) -> Written:
    """Write the scene files for ``atlas`` (see the module docstring). Returns their paths."""
    out = Path(out)
    folder = out.parent
    stem = out.stem
    anatomy_path = out if fitted is None else folder / f"{stem}_anatomy.yaml"
    model_dir = folder / f"{stem}_model"
    written = Written(case=None if fitted is None else out, anatomy=anatomy_path)
    doc = _Doc()
    atlas_name = atlas.folder.name
    doc.add(f"# Written by 'pelvic-spread atlas import {atlas.folder}'. Atlas meshes are "
            "referenced in place, not copied.")
    if report:
        for line in report:
            doc.add(f"# {line}")
    doc.add(f"format: {FORMAT}")
    doc.add(f"name: {_q(f'Male pelvis ({atlas_name} atlas)')}")
    what = ("real bones and organs from the atlas; nerves, dural sac and cauda equina from the "
            "procedural model, fitted to the atlas bones by a landmark-driven thin-plate spline"
            if fitted is not None else "real bones and organs from the atlas (no nerves: the atlas "
            "has no sacrum and hip bones to fit them to)")
    doc.add(f"description: {_q(f'The {atlas_name} atlas in LPS millimetres: {what}.')}")
    credit = f"Meshes: {atlas_name} (see the LICENSE and SOURCE files in {atlas.folder})."
    doc.add(f"credit: {_q(credit)}")
    roots = [atlas.folder.resolve()]
    for part in atlas.parts:  # symbolic links may lead out of the atlas folder: declare those too
        real = part.file.resolve().parent
        if not any(real == r or r in real.parents for r in roots):
            roots.append(real)
    doc.add(f"mesh_roots: [{', '.join(_q(_rel(r, folder)) for r in roots)}]")
    doc.add("nodes:")

    parts = atlas.by_id()
    part_groups = {p.entry.group for p in atlas.parts}
    base_groups = [n for n in source.nodes.values() if n.kind == "group"]
    base_ids = set(source.nodes)
    emitted: set[str] = set()

    def group_parent(group: str) -> str | None:
        if group in base_ids:
            return group
        if group in PART_GROUPS:
            return PART_GROUPS[group][1] if PART_GROUPS[group][1] in emitted else None
        return None

    # 1. groups: the source's, then the atlas's own
    for g in base_groups:
        _node_head(doc, g.id, g.name, "group", g.parent, g.side, g.systems, None, 1.0, g.visible)
        emitted.add(g.id)
    for gid, (gname, _) in GROUPS.items():
        if gid in part_groups and gid not in emitted:
            _node_head(doc, gid, gname, "group", None, "midline", (), None, 1.0, True)
            emitted.add(gid)

    def emit_part(part: AtlasPart, like: Node | None) -> None:
        e = part.entry
        parent = like.parent if like is not None else group_parent(e.group)
        if e.group in PART_GROUPS and e.group in emitted:
            parent = e.group
        color = like.color if like is not None else e.color
        opacity = like.opacity if like is not None else e.opacity
        _node_head(doc, e.id, like.name if like is not None else e.name, "mesh", parent,
                   e.side, like.systems if like is not None else e.systems, color, opacity,
                   e.visible and (like.visible if like is not None else True))
        geo = [f"file: {_q(_rel(part.file, folder))}"]
        if part.mesh_name:
            geo.append(f"mesh: {_q(part.mesh_name)}")
        tf = _transform_yaml(part.transform)
        if tf:
            geo.append(f"transform: {tf}")
        if decimate is not None and decimate < 1.0 and part.mesh.n_cells > big:
            geo.append(f"decimate: {_num(decimate)}")
        doc.add("    geometry: {" + ", ".join(geo) + "}")
        emitted.add(e.id)

    # 2. the source's nodes, in order: atlas part, atlas group of parts, fitted path, or model
    for node in source.nodes.values():
        if node.kind == "group":
            continue
        if node.id in parts:
            emit_part(parts[node.id], node)
            continue
        members = [p for p in atlas.parts if p.entry.group == node.id]
        if members:
            _node_head(doc, node.id, node.name, "group", node.parent, node.side, node.systems,
                       None, 1.0, node.visible)
            emitted.add(node.id)
            for p in members:
                like = Node(p.id, p.entry.name, "mesh", node.id, node.side, node.systems,
                            node.color, node.opacity, node.visible)
                if not p.entry.visible:
                    like = Node(p.id, p.entry.name, "mesh", node.id, node.side, node.systems,
                                node.color, node.opacity, False)
                emit_part(p, like)
            continue
        if fitted is None:
            continue
        if node.path is not None and node.id in fitted.paths:
            path = fitted.paths[node.id]
            _node_head(doc, node.id, node.name, "nerve", node.parent, node.side, node.systems,
                       node.color, node.opacity, node.visible)
            pts = simplify(path.centreline)
            keep = np.concatenate([[True], np.any(np.round(np.diff(pts, axis=0), 2) != 0,
                                                  axis=1)])
            doc.add(f"    radius: {_num(path.radius)}")
            doc.add("    centreline:")
            for p in pts[keep]:
                doc.add(f"      - {_vec(p)}")
            emitted.add(node.id)
            continue
        if node.kind == "mesh":
            model_dir.mkdir(exist_ok=True)
            target = model_dir / f"{node.id}.vtp"
            write_mesh(fitted.mesh(source.mesh(node.id)), target)
            written.model_meshes.append(target)
            _node_head(doc, node.id, f"{node.name} (model, fitted)", "mesh", node.parent,
                       node.side, node.systems, node.color, node.opacity, node.visible)
            doc.add(f"    geometry: {{file: {_q(_rel(target, folder))}}}")
            emitted.add(node.id)

    # 3. atlas parts the source does not have
    for part in atlas.parts:
        if part.id in emitted:
            continue
        if part.entry.group in PART_GROUPS and part.entry.group not in emitted:
            gname, gparent, gsys = PART_GROUPS[part.entry.group]
            _node_head(doc, part.entry.group, gname, "group",
                       gparent if gparent in emitted else None, "midline" if not
                       part.entry.group.endswith(("_l", "_r")) else
                       ("left" if part.entry.group.endswith("_l") else "right"), gsys, None,
                       1.0, True)
            emitted.add(part.entry.group)
        emit_part(part, None)

    # 4. landmarks and cameras
    if fitted is not None:
        doc.add("landmarks:")
        for name in sorted(fitted.landmarks):
            doc.add(f"  {name}: {_vec(fitted.landmarks[name])}")
    cams = cameras(source, fitted, atlas)
    if cams:
        doc.add("cameras:")
        for name, c in cams.items():
            doc.add(f"  {name}: {{position: {_vec(c['position'])}, focal_point: "
                    f"{_vec(c['focal_point'])}, view_up: {_vec(c['view_up'])}, "
                    f"view_angle: {_num(c['view_angle'])}, label: {_q(c['label'])}}}")
    _write_text(anatomy_path, doc.text())
    if fitted is not None:
        _write_text(out, case_text(source, fitted, anatomy_path.name, atlas_name))
    return written


def simplify(points: np.ndarray, tolerance: float = 0.1, longest: float = 4.0) -> np.ndarray:
    """Fewer centreline points, none moved: a point is dropped only where the polyline
    without it stays within ``tolerance`` mm, and no gap grows beyond ``longest`` mm (a
    scene file with every millimetre of every nerve is slow to parse)."""
    pts = np.asarray(points, float)
    keep = np.zeros(len(pts), bool)
    keep[[0, -1]] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = pts[b] - pts[a]
        length = float(np.linalg.norm(seg))
        inner = pts[a + 1:b] - pts[a]
        if length > 1e-9:
            d = np.linalg.norm(np.cross(inner, seg / length), axis=1)
        else:
            d = np.linalg.norm(inner, axis=1)
        i = int(np.argmax(d))
        if d[i] > tolerance or length > longest:
            k = a + 1 + (i if d[i] > tolerance else (b - a) // 2 - 1)
            keep[k] = True
            stack += [(a, k), (k, b)]
    return pts[keep]


def cameras(source: Scene, fitted: FitResult | None, atlas: Atlas) -> dict[str, dict]:
    """The source's presets moved onto the atlas: same directions, focal points carried by the
    warp, distances scaled by the fit's overall scale. Without a fit, framed on the meshes."""
    out: dict[str, dict] = {}
    if fitted is not None:
        scale = float(np.cbrt(abs(np.linalg.det(fitted.similarity[:3, :3]))))
        for name, c in source.cameras.items():
            focal = fitted.point(np.array(c.focal_point))
            offset = (np.array(c.position) - np.array(c.focal_point)) * scale
            out[name] = {"position": focal + offset, "focal_point": focal,
                         "view_up": c.view_up, "view_angle": c.view_angle, "label": c.label}
        return out
    pts = np.concatenate([p.mesh.points for p in atlas.parts if p.entry.visible])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    dist = float(max(hi - lo)) / (2 * np.tan(np.radians(15))) * 1.15
    views = {"anterior": ((0, -1, 0), (0, 0, 1), "Anterior"),
             "posterior": ((0, 1, 0), (0, 0, 1), "Posterior"),
             "left": ((1, 0, 0), (0, 0, 1), "Left lateral"),
             "right": ((-1, 0, 0), (0, 0, 1), "Right lateral"),
             "superior": ((0, 0, 1), (0, -1, 0), "Superior")}
    for name, (d, up, label) in views.items():
        out[name] = {"position": centre + np.array(d) * dist, "focal_point": centre,
                     "view_up": up, "view_angle": 30.0, "label": label}
    return out


def case_text(source: Scene, fitted: FitResult, anatomy_name: str, atlas_name: str) -> str:
    """The case scene: extends the atlas anatomy, with the source's scenario and timeline."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 100
    data = yaml.load(Path(source.path).read_text(encoding="utf-8"))
    head = _Doc()
    head.add(f"# The case on the {atlas_name} atlas: the scenario and timeline of "
             f"{Path(source.path).name}, unchanged, over the fitted atlas anatomy.")
    head.add(f"format: {FORMAT}")
    head.add(f"name: {_q(f'{source.name} ({atlas_name} atlas)')}")
    if source.description:
        head.add(f"description: {_q(source.description)}")
    credit = (source.credit + " " if source.credit else "") + (
        f"Bones and organs: the {atlas_name} atlas; nerves fitted to it from the procedural model.")
    head.add(f"credit: {_q(credit)}")
    head.add(f"extends: {anatomy_name}")
    body = {}
    for key in ("scenario", "timeline"):
        if key in data:
            body[key] = data[key]
    if "scenario" in body:
        _warp_points(body["scenario"], fitted)
    buf = io.StringIO()
    if body:
        yaml.dump(body, buf)
    return head.text() + "\n" + buf.getvalue()


def _warp_points(node, fitted: FitResult) -> None:
    """Literal [x, y, z] points in a scenario are model coordinates: carry them over."""
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if key in POINT_KEYS and _is_point(value):
                p = fitted.point(np.array([float(v) for v in value]))
                for i in range(3):
                    value[i] = round(float(p[i]), 2)
            else:
                _warp_points(value, fitted)
    elif isinstance(node, list):
        for item in node:
            _warp_points(item, fitted)


def _is_point(value) -> bool:
    return (isinstance(value, list) and len(value) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
