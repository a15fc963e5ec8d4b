"""The viewer's 3D engine: one offscreen plotter holding a scene and its spread layer.

No trame or UI imports: the web app drives it, tests drive it directly. What it offers:

- ``load(path)``: build the scene's actors (and spread layer) once per scenario;
- ``set_time(t)``: the spread state at ``t`` applied to the VTK objects (uniforms only);
- ``apply_looks(looks)``: per-node visibility, opacity and colour;
- cameras, and an offscreen screenshot.

Browsers that render by themselves do not need it: they play the scenario's bundle
(``app/web/bundles.py``); this engine draws remote mode's images and screenshots.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.case import Case, load_scene
from app.model.scene import CameraPreset

if TYPE_CHECKING:
    from types import ModuleType

    from app.render.scene_view import SceneView


def _sv() -> ModuleType:
    """The render layer, imported when first used: with pyvista it takes a good part of a
    second, which ``serve`` spends after it listens (the page draws with the browser player)."""
    from app.render import scene_view

    return scene_view


FAINT = 0.08  # opacity of the context around an isolated structure


@dataclass(frozen=True)
class Look:
    """How one drawable node shows: the result of the structure panel's settings."""

    visible: bool
    opacity: float
    color: tuple[float, float, float]

    def packed(self) -> list:
        """``[visible 0|1, opacity to 3 decimals, "#rrggbb"]``: as pages are sent it."""
        return [1 if self.visible else 0, round(self.opacity, 3), hex_color(self.color)]


@dataclass(frozen=True)
class Camera:
    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float]
    view_angle: float

    def as_dict(self) -> dict[str, Any]:
        return {"position": list(self.position), "focalPoint": list(self.focal_point),
                "viewUp": list(self.view_up), "viewAngle": self.view_angle}

    @classmethod
    def of_preset(cls, p: CameraPreset) -> Camera:
        return cls(tuple(p.position), tuple(p.focal_point), tuple(p.view_up), p.view_angle)


def hex_color(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{int(round(max(0.0, min(1.0, c)) * 255)):02x}" for c in rgb)


def parse_hex(text: str) -> tuple[float, float, float]:
    """``#rrggbb`` -> (r, g, b) in 0..1; ValueError otherwise."""
    s = str(text).strip()
    if len(s) in (7, 9) and s[0] == "#":
        r, g, b = (int(s[i:i + 2], 16) for i in (1, 3, 5))
        return (r / 255.0, g / 255.0, b / 255.0)
    raise ValueError(f"expected a colour #rrggbb, got {text!r}")


class ViewerEngine:
    """A scene in an offscreen plotter, ready to be shown by a local or a remote view."""

    def __init__(self, scene: Case | Path | str | None,
                 size: tuple[int, int] = (1280, 800)):
        """``scene`` None: an empty scene for now (``load`` builds the real one later). The
        offscreen plotter is made when first needed: ``serve`` listens without it (importing
        pyvista's plotting and making the window take a good part of a second)."""
        self._size = size
        self._plotter: Any = None
        self.scene: Case = empty_scene()
        self.view: SceneView | None = None
        self.layer: Any = None
        self.time = 0.0
        self._scenes: dict[Path, Case] = {}
        if scene is not None:
            self.load(scene)

    @property
    def plotter(self) -> Any:
        """The offscreen plotter (made on first use)."""
        if self._plotter is None:
            self._plotter = _sv().make_plotter(self._size, off_screen=True)
        return self._plotter

    @property
    def has_plotter(self) -> bool:
        return self._plotter is not None

    # -- scene -----------------------------------------------------------------------------
    def load(self, scene: Case | Path | str) -> Case:
        """Show another scene (a scenario switch); the plotter and its window stay.
        Scenes are loaded once and kept (switching back is instant)."""
        if isinstance(scene, Case):
            path = Path(scene.path).resolve()
            self._scenes.setdefault(path, scene)
        else:
            path = Path(scene).resolve()
        scene = self._scenes.get(path)
        if scene is None:
            scene = load_scene(path)  # SceneError before anything is torn down
            self._scenes[path] = scene
        if self.view is not None and self._same_anatomy(scene):
            self._drop_layer()  # same surfaces: keep their actors, redo only the spread
            self.scene = scene
            self.view.scene = scene
        else:
            self._clear()
            self.scene = scene
            self.view = _sv().SceneView(scene, self.plotter)
        self.layer = None
        if scene.spread is not None:
            from app.render.spread_layer import SpreadLayer

            # The layer draws no text (the page shows the date, caption and legend in HTML),
            # so the local (vtk.js) and remote (VTK) views draw exactly the same 3D scene.
            self.layer = SpreadLayer(self.view, scene.spread)
        if scene.nodes:
            self.set_camera(Camera.of_preset(_sv().camera_for(scene, "anterior")))
        self.time = self.spread.duration if self.spread is not None else 0.0
        self.set_time(self.time)
        return scene

    def _same_anatomy(self, scene: Case) -> bool:
        """The scenarios of one case share their anatomy: then a switch needs no new surfaces
        (and a browser fetches only the new spread, not the whole scene again)."""
        if self.view is None or not self.scene.nodes:
            return False
        mine = {n.id: n.geometry for n in self.scene.drawable()}
        theirs = {n.id: n.geometry for n in scene.drawable()}
        return mine == theirs and all(
            self.scene.nodes[i].path is scene.nodes[i].path or (
                self.scene.nodes[i].path is not None and scene.nodes[i].path is not None
                and np.array_equal(self.scene.nodes[i].path.centreline,
                                   scene.nodes[i].path.centreline))
            for i in mine)

    def _drop_layer(self) -> None:
        """Take the spread layer away, leaving the scene's own actors as the scene file has
        them (the next layer reads their colours)."""
        if self.layer is None:
            return
        self.layer.remove()
        self.layer = None
        for node_id in self.view.actors:
            self.view.set_color(node_id, self.scene.nodes[node_id].color)

    def _clear(self) -> None:
        if self.layer is not None:
            self.layer.remove()
            self.layer = None
        self.plotter.clear_actors()
        self.plotter.renderer.RemoveAllViewProps()

    @property
    def spread(self) -> Any:
        return self.scene.spread

    @property
    def path(self) -> Path:
        return Path(self.scene.path).resolve()

    @property
    def render_window(self) -> Any:
        return self.plotter.render_window

    # -- time ------------------------------------------------------------------------------
    def state_at(self, t: float) -> Any:
        return None if self.spread is None else self.spread.state_at(t)

    def set_time(self, t: float) -> Any:
        """Apply moment ``t`` to the VTK objects (cheap: ranges and matrices); its state."""
        if self.spread is None:
            return None
        state = self.spread.state_at(t)
        self.time = state.time
        self.layer.apply(state)
        return state

    def legend(self) -> list[dict[str, str]]:
        """The arrow styles this scenario draws and what each means."""
        spread = self.scene.spread
        if spread is None:
            return []
        return [{"style": e.style, "text": e.text} for e in spread.legend]

    # -- structures ------------------------------------------------------------------------
    def default_look(self, node_id: str) -> Look:
        n = self.scene.nodes[node_id]
        return Look(self.view.effective_visible(node_id), n.opacity, tuple(n.color))

    def looks(self, hidden: set[str], isolated: str | None = None,
              opacity: dict[str, float] | None = None,
              color: dict[str, str] | None = None) -> dict[str, Look]:
        """Each drawable node's look from the panel's settings.

        ``hidden``: nodes switched off (a hidden group hides its subtree). ``opacity`` and
        ``color`` apply to a node and its subtree (the nearest setting wins). ``isolated``: that
        node's subtree shows fully, everything else faintly.
        """
        if self.view is None:  # nothing built yet
            return {}
        opacity = opacity or {}
        color = color or {}
        focus = ({n.id for n in self.scene.descendants(isolated)}
                 if isolated in self.scene.nodes else None)
        out = {}
        for node_id in self.view.actors:
            node = self.scene.nodes[node_id]
            chain = [node_id] + self.scene.ancestors(node_id)
            visible = not any(nid in hidden for nid in chain)
            op = next((float(opacity[nid]) for nid in chain if nid in opacity), node.opacity)
            rgb = node.color
            for nid in chain:
                if nid in color:
                    with contextlib.suppress(ValueError):
                        rgb = parse_hex(color[nid])
                    break
            if focus is not None:
                if node_id in focus:
                    visible = True
                else:
                    op = min(op, FAINT)
            out[node_id] = Look(visible, max(0.0, min(1.0, op)), tuple(rgb))
        return out

    def apply_looks(self, looks: dict[str, Look]) -> None:
        for node_id, look in looks.items():
            self.view.set_visibility(node_id, look.visible)
            self.view.set_opacity(node_id, look.opacity)
            self.view.set_color(node_id, look.color)

    # -- camera ----------------------------------------------------------------------------
    def preset(self, name: str) -> Camera:
        return Camera.of_preset(_sv().camera_for(self.scene, name))

    def camera(self) -> Camera:
        c = self.plotter.camera
        return Camera(tuple(map(float, c.position)), tuple(map(float, c.focal_point)),
                      tuple(map(float, c.up)), float(c.view_angle))

    def set_camera(self, cam: Camera) -> None:
        _sv().apply_camera(self.plotter, CameraPreset("current", cam.position, cam.focal_point,
                                                      cam.view_up, cam.view_angle))

    # -- pictures --------------------------------------------------------------------------
    def screenshot(self, size: tuple[int, int]) -> np.ndarray:
        """An (H, W, 3) picture of what the view shows now, at ``size``."""
        old = tuple(self.plotter.window_size)
        try:
            self.plotter.window_size = list(size)
            self.plotter.render()
            img = np.asarray(self.plotter.screenshot(return_img=True))[:, :, :3].copy()
        finally:
            self.plotter.window_size = list(old)
        return img

    def close(self) -> None:
        if self._plotter is not None:
            self._plotter.close()


def empty_scene() -> Case:
    """A scene with nothing in it: what the page shows while the real one is being built."""
    return Case(path=Path("(loading)"), name="", description="", nodes={}, cameras={},
                landmarks={})

