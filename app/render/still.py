"""Offscreen pictures of a scene at a moment: one renderer shared by stills and clips.

A picture is the 3D render, then its words burned in on top (``app.render.captions``): stills
here, clip frames on the export's writer thread, the browser's screenshot in the web app, all
with the same drawing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.model.scene import Scene
from app.render.captions import overlay_for
from app.render.look import Labels, Look, apply_look
from app.render.scene_view import SceneView, apply_camera, camera_for, make_plotter


class FrameRenderer:
    """Builds the scene (and its spread layer) once; ``image(t)`` renders any moment.

    ``t`` is animation seconds on the scene's timeline, or None for the anatomy alone.
    With a spread, ``image`` burns in the caption, legend and credit after the 3D render, so
    they are always on top; ``captions=False`` leaves them out (``render --no-captions``, and
    clip export, which burns them in on its writer thread instead).
    """

    def __init__(self, scene: Scene, size: tuple[int, int] = (1280, 720),
                 camera: str | None = "anterior", spread: bool = True,
                 captions: bool = True, look: Look | None = None):
        self.scene = scene
        self.size = size
        self.plotter = make_plotter(size)
        self.view = SceneView(scene, self.plotter)
        self.layer = None
        if spread and scene.spread is not None:
            from app.render.spread_layer import SpreadLayer

            self.layer = SpreadLayer(self.view, scene.spread)
        self.overlay = overlay_for(scene, size) if captions and self.layer is not None else None
        self.camera_name = camera
        if camera != "orbit":
            preset = camera_for(scene, camera)
            apply_camera(self.plotter, preset)
            for node_id in preset.hide:
                for node in scene.descendants(node_id):
                    self.view.set_visibility(node.id, False)
        # the page's view (export from the browser, or --view FILE): its camera, structures
        # and labels
        self.labels = None
        if look is not None:
            if look.camera is not None and camera != "orbit":
                apply_camera(self.plotter, look.camera)
            apply_look(self.view, look)
            if look.labels:
                hidden = {n for n in self.view.actors if not self.view.actors[n].GetVisibility()}
                self.labels = Labels(scene, look, hidden)

    def apply(self, t: float | None):
        """Set the scene to moment ``t``; returns the spread state (or None)."""
        if self.layer is None:
            return None
        state = self.scene.spread.state_at(self.scene.spread.duration if t is None else t)
        self.layer.apply(state)
        return state

    def render(self, t: float | None = None) -> tuple[np.ndarray, Any]:
        """The 3D picture of moment ``t`` alone, (H, W, 3) uint8, and the state it shows."""
        state = self.apply(t)
        self.plotter.render()
        image = np.asarray(self.plotter.screenshot(return_img=True))[:, :, :3]
        if self.labels is not None:  # under the captions, which go on top
            image = image.copy()
            self.labels.draw(image, self.plotter.renderer)
        return image, state

    def image(self, t: float | None = None) -> np.ndarray:
        """The picture of moment ``t``: the 3D render with its words burned in on top."""
        image, state = self.render(t)
        if self.overlay is not None:
            self.overlay.draw(image, state)
        return image

    def close(self) -> None:
        self.plotter.close()


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size: expected WIDTHxHEIGHT such as 1280x720, got '{text}'") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise UserError(f"--size: {w}x{h} is out of range (16x16 to 7680x4320)")
    return w, h


def check_png_target(out: Path) -> None:
    """Fail early, before any rendering, on an output path that cannot work."""
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: expected an output path ending in .png")
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise UserError(f"{out}: folder {out.parent} is not writable")


def save_png(image: np.ndarray, out: Path) -> None:
    """Write a PNG atomically: a failed write never leaves a partial file at ``out``."""
    from PIL import Image

    check_png_target(out)
    tmp = out.with_name(f".{out.name}.part{os.getpid()}")
    try:
        Image.fromarray(image).save(tmp, format="PNG")
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def render_still(scene: Scene, out: Path, camera: str | None = "anterior",
                 size: tuple[int, int] = (1280, 720), time: float | None = None,
                 spread: bool = False, captions: bool = True) -> Path:
    """Render one picture of ``scene`` to ``out`` (PNG). With ``spread``, at moment ``time``
    (and, unless ``captions`` is False, with its caption, legend and credit)."""
    renderer = FrameRenderer(scene, size, camera, spread=spread, captions=captions)
    try:
        save_png(renderer.image(time), out)
    finally:
        renderer.close()
    return out
