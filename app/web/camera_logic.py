"""Camera presets with smooth transitions, and labels on key structures.

A preset is shared state like the time: choosing one moves the camera of every connected
browser. In local rendering each page's player animates its own camera (``view_goto``); in
remote rendering the server animates its camera and streams the frames.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from app.web.engine import Camera
from app.web.keys import Trigger
from app.web.keys import View as K

if TYPE_CHECKING:
    from app.web.app import ViewerApp

TRANSITION_S = 0.8
REMOTE_FPS = 12.0
PRESET_KEYS = "123456789"

# Structures that get a label when labels are on (those the scene has), the story's places.
LABELLED = ("sacrum", "l5", "bladder", "prostate", "rectum", "dural_sac", "sciatic_l",
            "sciatic_r", "sacral_plexus_l", "sacral_plexus_r", "lumbosacral_trunk_l",
            "inferior_hypogastric_plexus_l", "piriformis_l")
# where on a surface the label points: its top (seen from the front, back and above), else
# the surface point nearest its centre
TOP_ANCHORED = ("sacrum", "bladder", "hip_l", "hip_r", "piriformis_l", "piriformis_r")


def ease(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


def _slerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    dot = float(np.clip(np.dot(a, b), -1.0, 1.0))
    if dot > 0.9995:
        v = a + s * (b - a)
        return v / np.linalg.norm(v)
    if dot < -0.9995:  # opposite: turn about any perpendicular axis
        perp = np.cross(a, [0.0, 0.0, 1.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(a, [0.0, 1.0, 0.0])
        perp /= np.linalg.norm(perp)
        ang = math.pi * s
        return a * math.cos(ang) + perp * math.sin(ang)
    om = math.acos(dot)
    return (math.sin((1 - s) * om) * a + math.sin(s * om) * b) / math.sin(om)


def interpolate(a: Camera, b: Camera, s: float) -> Camera:
    """The camera a fraction ``s`` (0..1) of the way from ``a`` to ``b``: the focal point moves
    straight, the view direction and up vector turn on great circles, the distance scales
    smoothly. ``view.js`` does the same in the browser."""
    fa, fb = np.asarray(a.focal_point), np.asarray(b.focal_point)
    da = np.asarray(a.position) - fa
    db = np.asarray(b.position) - fb
    la, lb = float(np.linalg.norm(da)), float(np.linalg.norm(db))
    focal = fa + s * (fb - fa)
    direction = _slerp(da, db, s)
    dist = la * (lb / la) ** s if la > 0 and lb > 0 else la + s * (lb - la)
    up = _slerp(np.asarray(a.view_up, float), np.asarray(b.view_up, float), s)
    # keep up perpendicular to the view direction
    up = up - np.dot(up, direction) * direction
    n = np.linalg.norm(up)
    up = up / n if n > 1e-9 else np.asarray(b.view_up, float)
    angle = a.view_angle + s * (b.view_angle - a.view_angle)
    return Camera(tuple(map(float, focal + direction * dist)), tuple(map(float, focal)),
                  tuple(map(float, up)), float(angle))


class CameraLogic:
    def __init__(self, app: ViewerApp):
        self.app = app
        self._seq = 0
        self._task: asyncio.Task | None = None
        self._hidden_by_preset: tuple[str, ...] = ()
        state, ctrl = app.state, app.ctrl
        state.setdefault(K.CAMERA, "anterior")
        state.setdefault(K.LABELS, False)
        state.setdefault(K.CAMERA_GOTO, None)
        ctrl.trigger(Trigger.CAM_PRESET)(self.goto)
        ctrl.trigger(Trigger.CAM_PRESET_INDEX)(self.goto_index)
        ctrl.trigger(Trigger.CAM_MOVED)(self.moved)
        ctrl.trigger(Trigger.CAM_CURRENT)(self.current)

    def reset_for_scene(self) -> None:
        scene = self.app.engine.scene
        presets = []
        for i, (name, p) in enumerate(scene.cameras.items()):
            presets.append({"name": name, "label": p.label or name.replace("_", " ").title(),
                            "key": PRESET_KEYS[i] if i < len(PRESET_KEYS) else ""})
        if not presets:
            presets = [{"name": "anterior", "label": "Anterior", "key": "1"}]
        anchors = []
        for node_id in LABELLED:
            if node_id not in scene.nodes or scene.nodes[node_id].kind == "group":
                continue
            anchors.append({"id": node_id, "text": scene.nodes[node_id].name,
                            "pos": [round(float(v), 2) for v in self.anchor(node_id)]})
        self.app.state.update({K.PRESETS: presets, K.LABEL_ANCHORS: anchors})

    def anchor(self, node_id: str) -> np.ndarray:
        """Where a structure's label points: mid-centreline for a nerve, else the surface point
        nearest the centre of its box (on the organ, not inside a hollow bone)."""
        scene = self.app.engine.scene
        node = scene.nodes[node_id]
        if node.path is not None and node.kind == "nerve":
            c = node.path.centreline
            return c[len(c) // 2]
        mesh = scene.mesh(node_id)
        pts = mesh.points
        if node_id in TOP_ANCHORED:
            return pts[int(np.argmax(pts[:, 2]))]
        b = np.asarray(mesh.bounds())
        centre = (b[0::2] + b[1::2]) / 2
        return pts[int(np.argmin(np.linalg.norm(pts - centre, axis=1)))]

    def update_label_visibility(self, looks: dict) -> None:
        """A label shows only while its structure does (and is not faint context)."""
        anchors = self.app.state[K.LABEL_ANCHORS] or []
        updated = [dict(a, on=bool(looks[a["id"]].visible and looks[a["id"]].opacity > 0.2))
                   if a["id"] in looks else a for a in anchors]
        if updated != anchors:
            self.app.state[K.LABEL_ANCHORS] = updated

    # -- presets -----------------------------------------------------------------------------
    def goto_index(self, index: Any) -> None:
        presets = self.app.state[K.PRESETS] or []
        try:
            self.goto(presets[int(index)]["name"])
        except (TypeError, ValueError, IndexError):
            return

    def goto(self, name: str, animate: bool = True) -> None:
        try:
            target = self.app.engine.preset(str(name))
        except Exception as exc:  # unknown preset: say so, keep the view
            self.app.message(str(exc), "warning")
            return
        self.app.state[K.CAMERA] = str(name)
        self._preset_hides(str(name))
        self.move_to(target, animate)

    def _preset_hides(self, name: str) -> None:
        """Hide what the chosen preset leaves out; bring back what the previous one hid."""
        from app.web.keys import Structure

        cameras = self.app.engine.scene.cameras
        now = set(cameras[name].hide) if name in cameras else set()
        before = set(self._hidden_by_preset)
        if not now and not before:
            return
        hidden = set(self.app.state[Structure.HIDDEN] or [])
        hidden = (hidden - (before - now)) | now
        self._hidden_by_preset = tuple(sorted(now))
        order = list(self.app.engine.scene.nodes)
        self.app.state[Structure.HIDDEN] = [n for n in order if n in hidden]

    def move_to(self, target: Camera, animate: bool = True) -> None:
        """Every browser's camera to ``target`` (smoothly unless ``animate`` is False)."""
        start = self.app.engine.camera()
        self.app.engine.set_camera(target)
        self._seq += 1
        self.app.state[K.CAMERA_GOTO] = {
            "seq": self._seq, "camera": target.as_dict(),
            "duration": TRANSITION_S if animate else 0.0}
        if self.app.remote:
            if self._task is not None and not self._task.done():
                self._task.cancel()
            if animate:
                self._task = asyncio.ensure_future(self._animate_remote(start, target))
            else:
                self.app.redraw()

    async def _animate_remote(self, a: Camera, b: Camera) -> None:
        n = max(2, int(TRANSITION_S * REMOTE_FPS))
        for i in range(1, n + 1):
            self.app.engine.set_camera(interpolate(a, b, ease(i / n)))
            self.app.redraw()
            await asyncio.sleep(1.0 / REMOTE_FPS)
        self.app.follow_camera()  # the browsers' own cameras follow (labels use them)

    def follow(self) -> None:
        """Every page's player camera to the server's, at once (the user turned the server's
        camera in remote mode, or a remote move ended)."""
        self._seq += 1
        self.app.state[K.CAMERA_GOTO] = {
            "seq": self._seq, "camera": self.app.engine.camera().as_dict(), "duration": 0.0}

    def current(self) -> dict[str, Any] | None:
        """The server's camera, for a page whose player just started or that leaves remote
        mode (the server's camera follows every page's moves and remote rendering); None
        while the scene is still being built (the bundle's own camera is the same then)."""
        if not self.app.loaded:
            return None
        return self.app.engine.camera().as_dict()

    def moved(self, camera: dict | None = None) -> None:
        """The user turned the view by hand (``camera``: where the browser's camera is now):
        no preset is current any more; the server's camera follows, for remote rendering,
        screenshots and shared links."""
        self.app.state[K.CAMERA] = ""
        if isinstance(camera, dict):
            try:
                cam = Camera(tuple(map(float, camera["position"])),
                             tuple(map(float, camera["focalPoint"])),
                             tuple(map(float, camera["viewUp"])), float(camera["viewAngle"]))
            except (KeyError, TypeError, ValueError):
                return
            self.app.engine.set_camera(cam)
