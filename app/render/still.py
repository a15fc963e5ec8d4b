"""Offscreen pictures of a scene at a moment: one renderer shared by stills and clips."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.model.scene import Scene
from app.render.scene_view import SceneView, apply_camera, camera_for, make_plotter


class FrameRenderer:
    """Builds the scene (and its spread layer) once; ``image(t)`` renders any moment.

    ``t`` is animation seconds on the scene's timeline, or None for the anatomy alone.
    ``annotations=False`` leaves out the spread layer's legend and date label (clip export
    burns in its own captions instead).
    """

    def __init__(self, scene: Scene, size: tuple[int, int] = (1280, 720),
                 camera: str | None = "anterior", spread: bool = True,
                 annotations: bool = True):
        self.scene = scene
        self.size = size
        self.plotter = make_plotter(size)
        self.view = SceneView(scene, self.plotter)
        self.layer = None
        if spread and scene.spread is not None:
            from app.render.spread_layer import SpreadLayer

            self.layer = SpreadLayer(self.view, scene.spread, legend=annotations,
                                     label=annotations)
        self.camera_name = camera
        if camera != "orbit":
            preset = camera_for(scene, camera)
            apply_camera(self.plotter, preset)
            for node_id in preset.hide:
                for node in scene.descendants(node_id):
                    self.view.set_visibility(node.id, False)

    def apply(self, t: float | None):
        """Set the scene to moment ``t``; returns the spread state (or None)."""
        if self.layer is None:
            return None
        state = self.scene.spread.state_at(self.scene.spread.duration if t is None else t)
        self.layer.apply(state)
        return state

    def image(self, t: float | None = None) -> np.ndarray:
        """An (H, W, 3) uint8 picture of moment ``t``."""
        self.apply(t)
        self.plotter.render()
        return np.asarray(self.plotter.screenshot(return_img=True))[:, :, :3]

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
                 spread: bool = False) -> Path:
    """Render one picture of ``scene`` to ``out`` (PNG). With ``spread``, at moment ``time``."""
    renderer = FrameRenderer(scene, size, camera, spread=spread)
    try:
        save_png(renderer.image(time), out)
    finally:
        renderer.close()
    return out
