"""GLB (binary glTF 2.0) from a :class:`SlideScene`, written with numpy alone.

Core glTF only, no extensions: PowerPoint, three.js, ``<model-viewer>`` and the Khronos
validator all read it. Layout, chosen so that the JSON stays small with ~1000 nodes:

- one buffer; five buffer views: every float VEC3 vertex array (positions, normals; stride 12),
  16-bit indices, 32-bit indices, animation key times, animation values;
- one mesh per (surface, look) pair; meshes that share a surface share its accessors, so a
  sleeve band's front and involved nodes, and every arrow shaft, cost their geometry once;
- materials are metallic-roughness with metallic 0, double-sided (the scene's surfaces are
  drawn from both sides, as VTK does), BLEND where the scene's opacity is below 1;
- one animation; node names are the scene's ids, human names in ``extras.name``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from app.export.slides import SlideScene, Surface, quat_look_at

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
FLOAT, USHORT, UINT = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
GENERATOR = "pelvic-spread (app/export/gltf.py)"


class _Views:
    """Accumulates typed data into a handful of buffer views, 4-byte aligned."""

    def __init__(self) -> None:
        self.parts: dict[str, list[bytes]] = {k: [] for k in
                                               ("vec3", "u16", "u32", "times", "values")}
        self.sizes = dict.fromkeys(self.parts, 0)
        self.accessors: list[dict[str, Any]] = []

    def add(self, view: str, data: np.ndarray, accessor: dict[str, Any]) -> int:
        raw = np.ascontiguousarray(data).tobytes()
        offset = self.sizes[view]
        pad = (-len(raw)) % 4
        self.parts[view].append(raw + b"\0" * pad)
        self.sizes[view] += len(raw) + pad
        accessor = {"bufferView": view, "byteOffset": offset, **accessor}
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def pack(self) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
        """(binary chunk, bufferViews, accessors with view indices)."""
        views: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        blob = bytearray()
        for name, parts in self.parts.items():
            if not parts:
                continue
            data = b"".join(parts)
            view: dict[str, Any] = {"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)}
            if name == "vec3":
                view.update(byteStride=12, target=ARRAY_BUFFER)
            elif name in ("u16", "u32"):
                view["target"] = ELEMENT_ARRAY_BUFFER
            index[name] = len(views)
            views.append(view)
            blob += data
        for acc in self.accessors:
            acc["bufferView"] = index[acc["bufferView"]]
            if acc["byteOffset"] == 0:
                del acc["byteOffset"]
        return bytes(blob), views, self.accessors


def _floats(a: np.ndarray) -> list[float]:
    return [float(x) for x in np.asarray(a, np.float32).ravel()]


def build_gltf(slide: SlideScene) -> tuple[dict[str, Any], bytes]:
    """The glTF JSON document and its binary buffer."""
    views = _Views()
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": GENERATOR},
        "scene": 0,
        "scenes": [],
        "nodes": [],
        "meshes": [],
        "materials": [],
    }
    if slide.credit:
        gltf["asset"]["copyright"] = slide.credit

    # materials
    material_index: dict[str, int] = {}
    for key, look in slide.looks.items():
        r, g, b = look.linear
        mat: dict[str, Any] = {
            "name": key,
            "pbrMetallicRoughness": {"baseColorFactor": [r, g, b, float(look.opacity)],
                                     "metallicFactor": 0.0, "roughnessFactor": look.roughness},
            "doubleSided": True,
        }
        if look.opacity < 1.0:
            mat["alphaMode"] = "BLEND"
        material_index[key] = len(gltf["materials"])
        gltf["materials"].append(mat)

    # geometry: accessors once per surface
    surface_acc: dict[str, dict[str, int]] = {}

    def surface_accessors(key: str) -> dict[str, int]:
        if key in surface_acc:
            return surface_acc[key]
        s: Surface = slide.surfaces[key]
        pos = views.add("vec3", s.points, {
            "componentType": FLOAT, "count": len(s.points), "type": "VEC3",
            "min": _floats(s.points.min(axis=0)), "max": _floats(s.points.max(axis=0))})
        nrm = views.add("vec3", s.normals, {"componentType": FLOAT, "count": len(s.normals),
                                            "type": "VEC3"})
        if len(s.points) <= 65535:
            idx = views.add("u16", s.faces.astype(np.uint16).ravel(), {
                "componentType": USHORT, "count": s.faces.size, "type": "SCALAR"})
        else:
            idx = views.add("u32", s.faces.ravel(), {
                "componentType": UINT, "count": s.faces.size, "type": "SCALAR"})
        surface_acc[key] = {"POSITION": pos, "NORMAL": nrm, "indices": idx}
        return surface_acc[key]

    mesh_index: dict[tuple[str, str], int] = {}
    node_index = {it.name: i for i, it in enumerate(slide.items)}
    children: dict[str, list[int]] = {}
    for it in slide.items:
        if it.parent is not None:
            children.setdefault(it.parent, []).append(node_index[it.name])
    for it in slide.items:
        node: dict[str, Any] = {"name": it.name}
        if it.surface is not None and it.look is not None:
            mk = (it.surface, it.look)
            if mk not in mesh_index:
                acc = surface_accessors(it.surface)
                mesh_index[mk] = len(gltf["meshes"])
                gltf["meshes"].append({"name": it.label, "primitives": [{
                    "attributes": {"POSITION": acc["POSITION"], "NORMAL": acc["NORMAL"]},
                    "indices": acc["indices"], "material": material_index[it.look],
                    "mode": 4}]})
            node["mesh"] = mesh_index[mk]
        # The rest pose of an animated node is its last key: a viewer that does not play
        # the animation shows the end of the story, coherently.
        rest = {"translation": it.translation, "rotation": it.rotation, "scale": it.scale}
        for tr in it.tracks:
            rest[tr.path] = tuple(float(v) for v in tr.values[-1])
        if any(abs(v) > 0 for v in rest["translation"]):
            node["translation"] = _floats(rest["translation"])
        if tuple(rest["rotation"]) != (0.0, 0.0, 0.0, 1.0):
            q = np.asarray(rest["rotation"], np.float64)
            node["rotation"] = [float(v) for v in q / np.linalg.norm(q)]
        if tuple(rest["scale"]) != (1.0, 1.0, 1.0):
            node["scale"] = _floats(rest["scale"])
        if it.name in children:
            node["children"] = children[it.name]
        node["extras"] = {"name": it.label, **it.extras}
        gltf["nodes"].append(node)

    roots = [node_index[it.name] for it in slide.items if it.parent is None]
    if slide.camera is not None:
        cam = slide.camera
        gltf["cameras"] = [{"name": cam["name"], "type": "perspective", "perspective": {
            "yfov": float(np.radians(cam["yfov_deg"])), "znear": 0.01, "zfar": 20.0}}]
        q = quat_look_at(cam["position"], cam["target"], cam["up"])
        gltf["nodes"].append({"name": "camera_anterior", "camera": 0,
                              "translation": _floats(cam["position"]),
                              "rotation": [float(v) for v in q],
                              "extras": {"name": cam["name"], "kind": "camera",
                                         "target": _floats(cam["target"])}})
        roots.append(len(gltf["nodes"]) - 1)
    gltf["scenes"].append({"name": slide.label, "nodes": roots})

    # the one animation
    channels: list[dict[str, Any]] = []
    samplers: list[dict[str, Any]] = []
    for it in slide.items:
        for tr in it.tracks:
            times = np.asarray(tr.times, np.float32)
            values = np.asarray(tr.values, np.float32)
            if tr.path == "rotation":
                values = values / np.linalg.norm(values.astype(np.float64), axis=1,
                                                 keepdims=True).astype(np.float32)
            t_acc = views.add("times", times, {
                "componentType": FLOAT, "count": len(times), "type": "SCALAR",
                "min": [float(times.min())], "max": [float(times.max())]})
            v_acc = views.add("values", values, {
                "componentType": FLOAT, "count": len(values),
                "type": "VEC4" if tr.path == "rotation" else "VEC3"})
            samplers.append({"input": t_acc, "output": v_acc,
                             "interpolation": "STEP" if tr.step else "LINEAR"})
            channels.append({"sampler": len(samplers) - 1,
                             "target": {"node": node_index[it.name], "path": tr.path}})
    if channels:
        tm = slide.timemap
        first, last = slide.moments[0], slide.moments[-1]
        gltf["animations"] = [{
            "name": f"Spread {first.date} to {last.date}", "channels": channels,
            "samplers": samplers,
            "extras": {"duration_s": float(np.float32(tm.duration)), "scene_start_s": tm.t0,
                       "scene_end_s": tm.t1,
                       "moments": [{"time": m.clip_s, "date": m.date, "stage": m.stage}
                                   for m in slide.moments]}}]

    blob, buffer_views, accessors = views.pack()
    gltf["accessors"] = accessors
    gltf["bufferViews"] = buffer_views
    gltf["buffers"] = [{"byteLength": len(blob)}]
    gltf["asset"]["extras"] = {
        "units": "metres", "up": "+Y", "front": "+Z (anterior)",
        "from_scene": "(X, Y, Z) = (x, z, -y) / 1000 with scene LPS millimetres (x, y, z)",
        **slide.notes}
    return gltf, blob


def glb_bytes(gltf: dict[str, Any], blob: bytes) -> bytes:
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    blob += b"\0" * ((-len(blob)) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    return b"".join([struct.pack("<III", GLB_MAGIC, 2, total),
                     struct.pack("<II", len(text), CHUNK_JSON), text,
                     struct.pack("<II", len(blob), CHUNK_BIN), blob])


def write_glb(slide: SlideScene, path: Path) -> None:
    gltf, blob = build_gltf(slide)
    data = glb_bytes(gltf, blob)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """(JSON, binary chunk) of a GLB file: for tests and for checking what was written."""
    data = Path(path).read_bytes()
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2 or total != len(data):
        raise ValueError(f"{path}: not a GLB 2.0 file")
    n, kind = struct.unpack_from("<II", data, 12)
    doc = json.loads(data[20:20 + n])
    blob = b""
    if 20 + n < len(data):
        m, kind = struct.unpack_from("<II", data, 20 + n)
        blob = data[28 + n:28 + n + m]
    return doc, blob


def accessor_array(doc: dict[str, Any], blob: bytes, index: int) -> np.ndarray:
    """An accessor's data as a numpy array (no sparse accessors: we never write them)."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = {FLOAT: np.float32, USHORT: np.uint16, UINT: np.uint32}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    out = np.frombuffer(blob, dtype, acc["count"] * width, start)
    return out.reshape(-1, width) if width > 1 else out
