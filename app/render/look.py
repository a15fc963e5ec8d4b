"""How a picture looks beyond the scene file: the page's view carried into stills and clips.

A :class:`Look` is what the browser shows when Export is pressed (or what a saved view file
says): the camera, structures hidden or isolated, opacities and colours changed, labels on.
``FrameRenderer`` applies it once; labels are burned in per frame, under the captions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.model.scene import CameraPreset, Scene

FAINT = 0.08  # opacity of the context around an isolated structure (as in the page)

# Structures that get a label when labels are on (those the scene has): the story's places.
LABELLED = ("sacrum", "l5", "bladder", "prostate", "rectum", "dural_sac", "sciatic_l",
            "sciatic_r", "sacral_plexus_l", "sacral_plexus_r", "lumbosacral_trunk_l",
            "inferior_hypogastric_plexus_l", "piriformis_l")
# where on a surface the label points: its top (seen from the front, back and above), else
# the surface point nearest its centre
TOP_ANCHORED = ("sacrum", "bladder", "hip_l", "hip_r", "piriformis_l", "piriformis_r")


@dataclass(frozen=True)
class Look:
    """None / empty means "as the scene file says"."""

    camera: CameraPreset | None = None  # an explicit camera (the user moved the view)
    hidden: tuple[str, ...] = ()
    isolated: str = ""  # one structure in full, the rest faint
    opacity: Mapping[str, float] = field(default_factory=dict)
    color: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    labels: bool = False


def label_anchor(scene: Scene, node_id: str) -> np.ndarray:
    """Where a structure's label points: mid-centreline for a nerve, else the surface point
    nearest the centre of its box (on the organ, not inside a hollow bone)."""
    node = scene.nodes[node_id]
    if node.path is not None and node.kind == "nerve":
        c = node.path.centreline
        return np.asarray(c[len(c) // 2], float)
    pts = scene.mesh(node_id).points
    if node_id in TOP_ANCHORED:
        return np.asarray(pts[int(np.argmax(pts[:, 2]))], float)
    b = np.asarray(scene.mesh(node_id).bounds())
    centre = (b[0::2] + b[1::2]) / 2
    return np.asarray(pts[int(np.argmin(np.linalg.norm(pts - centre, axis=1)))], float)


def label_anchors(scene: Scene) -> list[dict[str, Any]]:
    """``[{id, text, pos}]`` for the labelled structures the scene has."""
    out = []
    for node_id in LABELLED:
        if node_id not in scene.nodes or scene.nodes[node_id].kind == "group":
            continue
        out.append({"id": node_id, "text": scene.nodes[node_id].name,
                    "pos": [round(float(v), 2) for v in label_anchor(scene, node_id)]})
    return out


def apply_look(view: Any, look: Look) -> None:
    """Visibility, opacity and colour of a ``SceneView``'s structures, as the page has them."""
    scene = view.scene
    hidden = set()
    for node_id in look.hidden:
        if node_id in scene.nodes:
            hidden.update(n.id for n in scene.descendants(node_id))
    keep = ({n.id for n in scene.descendants(look.isolated)}
            if look.isolated and look.isolated in scene.nodes else None)
    for node in scene.drawable():
        if node.id not in view.actors:
            continue
        if node.id in hidden:
            view.set_visibility(node.id, False)
        if node.id in look.opacity:
            view.set_opacity(node.id, float(look.opacity[node.id]))
        if keep is not None and node.id not in keep:
            view.set_opacity(node.id, min(FAINT, look.opacity.get(node.id, node.opacity)))
        if node.id in look.color:
            view.set_color(node.id, tuple(look.color[node.id]))


class Labels:
    """Labels burned into a picture at the projection of their anchors (page-like boxes)."""

    def __init__(self, scene: Scene, look: Look, hidden: set[str]):
        self.anchors = [a for a in label_anchors(scene)
                        if a["id"] not in hidden
                        and look.opacity.get(a["id"], scene.nodes[a["id"]].opacity) > 0.2
                        and (not look.isolated or a["id"] == look.isolated)]

    def draw(self, image: np.ndarray, renderer: Any) -> None:
        from PIL import Image, ImageDraw

        from app.render.captions import load_font

        if not self.anchors:
            return
        h, w = image.shape[:2]
        font = load_font(max(11, int(h * 0.022)))
        pil = Image.fromarray(image)
        draw = ImageDraw.Draw(pil, "RGBA")
        placed: list[tuple[int, int, int, int]] = []
        for a in self.anchors:
            renderer.SetWorldPoint(*a["pos"], 1.0)
            renderer.WorldToDisplay()
            x, y, z = renderer.GetDisplayPoint()
            if not (0.0 <= z <= 1.0):
                continue
            x, y = int(round(x)), int(round(h - 1 - y))
            tw = int(font.getlength(a["text"]))
            th = font.size + 6
            box = (x + 8, y - th - 8, x + 8 + tw + 10, y - 8)
            if box[2] > w or box[1] < 0 or any(_overlap(box, b) for b in placed):
                continue
            placed.append(box)
            draw.line((x, y, box[0], box[3]), fill=(255, 255, 255, 230), width=2)
            draw.rounded_rectangle(box, radius=4, fill=(20, 22, 28, 190))
            draw.text((box[0] + 5, box[1] + 2), a["text"], font=font, fill=(255, 255, 255, 255))
        image[:] = np.asarray(pil)[:, :, :3]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])
