"""The viewer app: one engine, the panels' logic, the page; wired together here.

Rendering modes: in **local** mode the page's 3D view is the browser player (``app/player``):
it loads the scenario's bundle once as a static file (``bundles.py``: built once per
scenario, cached on disk) and computes every frame of the spread itself, from the shared
state: the time, and during playback the play anchor (``tl_anchor``), so nothing is sent per
frame. In **remote** mode the server applies the same moment to its own VTK objects
(``SpreadLayer``, the same geometry the bundle is made from) and streams images.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from app.case import SCENES_DIR, Case
from app.model.scene import Scene
from app.web.bundles import BundleCache, bundle_key
from app.web.camera_logic import CameraLogic
from app.web.engine import ViewerEngine
from app.web.export_logic import ExportLogic
from app.web.guard import StateGuard
from app.web.keys import REMOTE_REF, Timeline, Trigger, View
from app.web.keys import App as K
from app.web.share_logic import ShareLogic
from app.web.slab_logic import SlabLogic
from app.web.structure_logic import StructureLogic
from app.web.timeline_logic import TimelineLogic

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_MESSAGES = 5
FIRST_BUNDLE_WAIT_S = 3.0  # the engine's build waits this long at most for a page's bundle


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
        while browsers load the page; the player's bundle, when the disk cache has it, is
        named at once (a page draws it without waiting for the server's scene)."""
        self.server = server
        self.state = server.state
        self.ctrl = server.controller
        self._scene_arg = scene
        self.loaded = not build_later
        self._after_load: list[Any] = []
        self.engine = ViewerEngine(None if build_later else scene)
        self.remote_view: Any = None  # the server's image stream (VtkRemoteView)
        self.bundles = BundleCache()  # the player's bundle of each scenario, on disk
        self._bundle_wanted = ""  # the key of the bundle being built for the page
        self._message_seq = 0
        self._page_started = asyncio.Event()  # a page's viewer.js has asked for the clock
        self._scenarios = scenarios(self._scene_path())
        self.state.update({
            K.SCENARIOS: [{"value": s["value"], "title": s["title"]} for s in self._scenarios],
            K.MESSAGES: [],
            K.PRESENTING: False,
            K.PANEL: True,
            View.MODE: "local",
            View.BUNDLE: None,
            View.LOOKS: None,
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
        self.ctrl.trigger(Trigger.APP_CLOCK)(self.clock)
        self.ctrl.on_server_ready.add(self._on_ready)
        self.ctrl.on_server_bind.add(self.bundles.bind)
        self._reset_for_scene()
        if not self.loaded and isinstance(scene, Case):
            self.bundle_for(scene)  # from the disk cache, before the server even listens
        self.state[K.SCENARIO] = self._scene_path().stem

        from app.web.ui import build_ui

        build_ui(self)
        if self.loaded:
            self._attach_remote()

    def _scene_path(self) -> Path:
        s = self._scene_arg
        return Path(s.path if isinstance(s, Scene) else s).resolve()

    async def _build(self) -> None:
        """The deferred build, in worker threads: the player's bundle first (when the cache
        has none; pages draw with it), then the server's actors (no browser sees this
        plotter yet); then the page's state on the event loop."""
        loop = asyncio.get_running_loop()
        if isinstance(self._scene_arg, Case) and self.state[View.BUNDLE] is None:
            await self._build_bundle(self._scene_arg, bundle_key(self._scene_arg))
        # Pages draw from the bundle, not from these actors: let the first page have it
        # before the build takes the interpreter (imports and VTK hold the GIL for a second
        # or two, and the event loop that sends the bundle would wait on it).
        if await self.bundles.sent(FIRST_BUNDLE_WAIT_S):
            # a page fetches it (early.js, before trame connects): let that page also connect
            # and load its scripts, which the event loop serves, before the build holds it
            try:
                await asyncio.wait_for(self._page_started.wait(), FIRST_BUNDLE_WAIT_S)
            except TimeoutError:
                pass
        try:
            await loop.run_in_executor(None, self.engine.load, self._scene_arg)
        except Exception as exc:  # a scene that validated but cannot be built: say so
            log.exception("cannot build the scene")
            with self.state:
                self.message(f"cannot build the scene: {exc}", "error")
            return
        with self.state:
            self.loaded = True
            self._attach_remote()
            self._reset_for_scene()
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
        self.timeline.kick()  # remote playback renders frames on the server, local does not
        if self.remote:
            self.timeline.sync()
            self.redraw()

    def _on_remote_moved(self, *_: Any) -> None:
        """The user turned the server's camera (remote mode): no preset is current, and the
        players' cameras follow (their labels are placed with them)."""
        with self.state:
            self.state[View.CAMERA] = ""
            self.follow_camera()

    def remote_window(self) -> Any:
        """What the image stream shows: the engine's window once it exists, else a bare one
        for now (``serve`` listens before the engine's plotter is made: ``_attach_remote``)."""
        if self.engine.has_plotter:
            return self.engine.render_window
        from vtkmodules.vtkRenderingCore import vtkRenderWindow

        self._placeholder = vtkRenderWindow()
        return self._placeholder

    def _attach_remote(self) -> None:
        """The image stream to the engine's window (made by the build), and the server's
        camera to follow the mouse there."""
        window = self.engine.render_window
        view = self.remote_view
        if view is not None and getattr(view, "_VtkRemoteView__view", window) is not window:
            # trame-vtk keeps the window in the widget and its id in the state (viewId)
            view._VtkRemoteView__view = window
            self.state[f"{REMOTE_REF}Id"] = view._helper.id(window)
        interactor = window.GetInteractor()
        if interactor is not None and getattr(self, "_moves_watched", None) is not interactor:
            interactor.AddObserver("EndInteractionEvent", self._on_remote_moved)
            self._moves_watched = interactor

    def follow_camera(self) -> None:
        """Every page's player camera to the server's (no animation)."""
        self.camera.follow()

    # -- the player's bundle -------------------------------------------------------------------
    def bundle_for(self, scene: Case) -> None:
        """Name ``scene``'s bundle to every page: at once when the disk cache has it, else
        once it is built in a worker thread (the page keeps the previous one meanwhile)."""
        if not scene.nodes:
            return  # the empty scene shown while the real one is built: nothing to draw
        key = bundle_key(scene)
        self._bundle_wanted = key
        found = self.bundles.lookup(key)
        if found is not None:
            self._name_bundle(scene, found)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no server running (scripts, tests): no page to show it to
            return
        asyncio.ensure_future(self._build_bundle(scene, key))

    async def _build_bundle(self, scene: Case, key: str) -> None:
        self._bundle_wanted = key
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(None, self.bundles.get, scene, key)
        except Exception as exc:  # a scene that will not pack: say so, the rest still works
            log.exception("cannot pack %s for the browser", scene.path)
            with self.state:
                self.message(f"cannot pack the scene for the browser: {exc}", "error")
            return
        if key == self._bundle_wanted:  # not another scenario meanwhile
            with self.state:
                self._name_bundle(scene, found)

    def _name_bundle(self, scene: Case, found: Any) -> None:
        self.state[View.BUNDLE] = {"url": found.url, "scenario": Path(scene.path).stem,
                                   "bytes": found.size}

    def clock(self) -> float:
        """The server's wall clock (ms), which play anchors are given in: a page works out
        its own clock's offset from it (the first thing a page's viewer.js asks)."""
        self._page_started.set()
        return time.time() * 1000.0

    # -- what browsers are sent ----------------------------------------------------------------
    def push_scene(self) -> None:
        """The scene changed on the server: a new image in remote mode (pages that render
        by themselves have the bundle, and follow the state)."""
        self.redraw()

    def redraw(self) -> None:
        """Remote mode: render and stream a new image (local browsers render by themselves)."""
        if self.remote_view is not None and self.remote and self.server.protocol:
            self.remote_view.update()

    def show_spread(self, state: Any) -> None:
        """A moment of the spread: the players compute it themselves; an image when remote."""
        self.redraw()

    def apply_looks(self) -> None:
        """The structure panel's settings as each drawable's look: on the server's actors
        (remote images, screenshots) and, compactly, for the players."""
        looks = self.structure.current_looks()
        self.engine.apply_looks(looks)
        self.camera.update_label_visibility(looks)
        self.state[View.LOOKS] = {node_id: look.packed() for node_id, look in looks.items()}
        self.redraw()

    def _on_ready(self, **_: Any) -> None:
        if self.loaded:
            self.bundle_for(self.engine.scene)
        else:
            asyncio.ensure_future(self._build())

    # -- scenario ----------------------------------------------------------------------------
    def _reset_for_scene(self, keep_date: str | None = None) -> None:
        scene = self.engine.scene
        self.state.update({
            K.SCENE_TITLE: scene.name,
            K.CREDIT: scene.credit,
            K.HAS_SPREAD: scene.spread is not None,
            K.LEGEND: self.engine.legend(),
        })
        self.structure.reset_for_scene()
        self.camera.reset_for_scene()
        self.timeline.reset_for_scene(keep_date)
        self.apply_looks()
        if self.loaded:
            self.bundle_for(self.engine.scene)
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
        self.redraw()

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

        self.timeline.sync()  # while playing, the moment the pages show now
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
