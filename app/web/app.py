"""The viewer app: one engine, the panels' logic, the page; wired together here.

Rendering modes: in **local** mode the browser renders with vtk.js. The scene is sent once
(arrays by content hash); per frame of the spread only a few numbers are sent (``sp_*`` keys)
and ``static/viewer.js`` applies them to the browser's own lookup tables and matrices. In
**remote** mode the server applies the same numbers to the same VTK objects and streams
images. Both draw the spread from ``SpreadLayer.uniforms``, so they show the same picture.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from app.case import SCENES_DIR
from app.model.scene import Scene
from app.web.camera_logic import CameraLogic
from app.web.engine import ViewerEngine
from app.web.export_logic import ExportLogic
from app.web.guard import StateGuard
from app.web.keys import LOCAL_REF, Spread, Timeline, Trigger, View
from app.web.keys import App as K
from app.web.share_logic import ShareLogic
from app.web.slab_logic import SlabLogic
from app.web.structure_logic import StructureLogic
from app.web.timeline_logic import TimelineLogic

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_MESSAGES = 5


def scenarios(current: Path) -> list[dict[str, str]]:
    """The scenes with a spread to switch between (the current scene always among them)."""
    out = []
    for path in sorted(SCENES_DIR.glob("*.yaml")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if "\nscenario:" not in text:
            continue
        out.append({"value": path.stem, "title": _title_of(text, path.stem), "path": str(path)})
    if not any(Path(s["path"]).resolve() == current for s in out):
        out.insert(0, {"value": current.stem, "title": current.stem, "path": str(current)})
    # the case first, then the alternatives
    out.sort(key=lambda s: (s["value"] != "bilateral_plexopathy", s["title"]))
    return out


def _title_of(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.startswith("name:"):
            return line.split(":", 1)[1].strip().strip("'\"") or default
    return default


class ViewerApp:
    """Everything one server process shows. Its state is shared by every connected browser."""

    def __init__(self, server: Any, scene: Scene | Path | str,
                 export_dir: Path | str | None = None, build_later: bool = False):
        """``build_later``: build the 3D scene once the server listens, in a worker thread,
        while browsers load the page (their first frame comes about a second sooner)."""
        self.server = server
        self.state = server.state
        self.ctrl = server.controller
        self._scene_arg = scene
        self.loaded = not build_later
        self._after_load: list[Any] = []
        self.engine = ViewerEngine(None if build_later else scene)
        self.view: Any = None  # the browser's vtk.js view (trame-vtk VtkLocalView)
        self.remote_view: Any = None  # the server's image stream (VtkRemoteView)
        self._push_pending = False
        self._message_seq = 0
        self._scenarios = scenarios(self._scene_path())
        self.state.update({
            K.SCENARIOS: [{"value": s["value"], "title": s["title"]} for s in self._scenarios],
            K.MESSAGES: [],
            K.PRESENTING: False,
            K.PANEL: True,
            View.MODE: "local",
        })
        self.structure = StructureLogic(self)
        self.timeline = TimelineLogic(self)
        self.camera = CameraLogic(self)
        self.share = ShareLogic(self)
        self.export = ExportLogic(self, export_dir or Path.cwd() / "exports")
        self.slab = SlabLogic(self)
        self.guard = StateGuard(self).install()  # checks what pages send (rules.py)
        self.state.change(K.SCENARIO)(self._on_scenario)
        self.state.change(View.MODE)(self._on_mode)
        self.ctrl.trigger(Trigger.APP_DISMISS)(self.dismiss)
        self.ctrl.trigger(Trigger.APP_SCREENSHOT)(self.screenshot)
        self.ctrl.on_server_ready.add(self._on_ready)
        self._reset_for_scene()
        self.state[K.SCENARIO] = self._scene_path().stem

        from app.web.ui import build_ui

        build_ui(self)
        # trame-vtk would send the scene once more on its own at start; push_scene does it
        self.ctrl.on_server_ready.discard(self.view.update)
        interactor = self.engine.render_window.GetInteractor()
        interactor.AddObserver("EndInteractionEvent", self._on_remote_moved)

    def _scene_path(self) -> Path:
        s = self._scene_arg
        return Path(s.path if isinstance(s, Scene) else s).resolve()

    async def _build(self) -> None:
        """The deferred build: actors in a worker thread (no browser sees this plotter yet),
        then the page's state and the first push on the event loop."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.engine.load, self._scene_arg)
        except Exception as exc:  # a scene that validated but cannot be built: say so
            log.exception("cannot build the scene")
            with self.state:
                self.message(f"cannot build the scene: {exc}", "error")
            return
        with self.state:
            self.loaded = True
            self._reset_for_scene()
        self.push_scene()
        pending, self._after_load = self._after_load, []
        for fn in pending:
            with self.state:
                fn()

    def when_loaded(self, fn: Any) -> None:
        """Run ``fn`` now, or once the deferred build is done (a link opened at start-up)."""
        if self.loaded:
            fn()
        else:
            self._after_load.append(fn)

    # -- mode --------------------------------------------------------------------------------
    @property
    def remote(self) -> bool:
        return self.state[View.MODE] == "remote"

    def _on_mode(self, **_: Any) -> None:
        if self.remote:
            self.redraw()
        else:  # the browser's scene may have missed changes made while remote
            self.push_scene()

    def _on_remote_moved(self, *_: Any) -> None:
        """The user turned the server's camera (remote mode): no preset is current, and the
        browser's own camera follows (labels are placed with it)."""
        with self.state:
            self.state[View.CAMERA] = ""
            self.follow_camera()

    def follow_camera(self) -> None:
        """Every browser's vtk.js camera to the server's (no animation)."""
        if self.server.protocol:
            self.server.js_call(LOCAL_REF, "setCamera", self.engine.camera().as_dict())

    # -- pushing to browsers -----------------------------------------------------------------
    def push_scene(self) -> None:
        """Send the scene to the browsers (in local mode they fetch only what changed).

        Several changes in one go (a reset, a shared link) make one push: it runs once the
        current handler is done.
        """
        if (self.view is None or not self.server.protocol or self._push_pending
                or not self.loaded):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (scripts, tests): push now
            self._push_now()
            return
        self._push_pending = True
        loop.call_soon(self._push_now)

    def _push_now(self) -> None:
        self._push_pending = False
        if self.view is None or not self.server.protocol:
            return
        with self.state:
            with self.engine.serialisable():
                self.view.update()
            self.show_spread(self.engine.state_at(self.engine.time))

    def redraw(self) -> None:
        """Remote mode: render and stream a new image (local browsers render by themselves)."""
        if self.remote_view is not None and self.remote and self.server.protocol:
            self.remote_view.update()

    def show_spread(self, state: Any) -> None:
        """A moment of the spread to every browser: a few numbers, or an image when remote."""
        for key, value in self.engine.client_uniforms(state).items():
            self.state[key] = value  # unchanged values are not sent
        self.redraw()

    def apply_looks(self) -> None:
        looks = self.structure.current_looks()
        self.engine.apply_looks(looks)
        self.camera.update_label_visibility(looks)
        if self.remote:
            self.redraw()
        else:
            self.push_scene()

    def _on_ready(self, **_: Any) -> None:
        if self.loaded:
            self.push_scene()
        else:
            # the empty scene first: a browser that mounts its view now takes this render
            # window's id and so receives the real scene when it comes
            self.view.update()
            asyncio.ensure_future(self._build())

    # -- scenario ----------------------------------------------------------------------------
    def _reset_for_scene(self, keep_date: str | None = None) -> None:
        scene = self.engine.scene
        self.state.update({
            K.SCENE_TITLE: scene.name,
            K.CREDIT: scene.credit,
            K.HAS_SPREAD: scene.spread is not None,
            K.LEGEND: self.engine.legend(),
            Spread.IDS: self.engine.client_ids(),
        })
        self.structure.reset_for_scene()
        self.camera.reset_for_scene()
        self.timeline.reset_for_scene(keep_date)
        self.slab.reset_for_scene()

    def switch_scenario(self, name: str) -> bool:
        """Show scenario ``name`` (a scene in ``scenes/``); False if there is none such."""
        if name == self.engine.path.stem:
            return True
        entry = next((s for s in self._scenarios if s["value"] == name), None)
        if entry is None:
            return False
        self.state[K.SCENARIO] = name
        self._on_scenario()
        return True

    def _on_scenario(self, **_: Any) -> None:
        if not self.loaded:  # the first scene is still being built
            return
        name = self.state[K.SCENARIO]
        if name == self.engine.path.stem:
            return
        entry = next((s for s in self._scenarios if s["value"] == name), None)
        if entry is None:
            self.message(f"unknown scenario '{name}'", "warning")
            self.state[K.SCENARIO] = self.engine.path.stem
            return
        keep = self.state[Timeline.DATE] or None
        camera = self.engine.camera()
        try:
            self.engine.load(entry["path"])
        except Exception as exc:  # a broken scene file must not take the page down
            log.exception("cannot load %s", entry["path"])
            self.message(f"cannot load scenario '{name}': {exc}", "error")
            self.state[K.SCENARIO] = self.engine.path.stem
            return
        self.engine.set_camera(camera)
        self._reset_for_scene(keep_date=keep)
        self.push_scene()

    # -- messages ----------------------------------------------------------------------------
    def message(self, text: str, kind: str = "info") -> None:
        """A message on the page of every browser (the newest few are kept)."""
        self._message_seq += 1
        msgs = list(self.state[K.MESSAGES] or [])[-(MAX_MESSAGES - 1):]
        msgs.append({"id": self._message_seq, "text": str(text), "kind": kind})
        self.state[K.MESSAGES] = msgs

    def dismiss(self, message_id: Any = None) -> None:
        self.state[K.MESSAGES] = [m for m in self.state[K.MESSAGES] or []
                                  if message_id is not None and m["id"] != message_id]

    # -- screenshot --------------------------------------------------------------------------
    def screenshot(self, width: Any = 1600, height: Any = 900) -> str:
        """A PNG of the view as it is now (captions and legend burned in), base64."""
        import base64
        import io

        from PIL import Image

        from app.render.captions import overlay_for

        try:
            w = max(320, min(3840, int(width)))
            h = max(240, min(2160, int(height)))
        except (TypeError, ValueError):
            w, h = 1600, 900
        img = self.engine.screenshot((w, h))
        state = self.engine.state_at(self.engine.time)
        if state is not None:  # the words every picture burns in, as stills and clips do
            overlay_for(self.engine.scene, (w, h)).draw(img, state)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode("ascii")
