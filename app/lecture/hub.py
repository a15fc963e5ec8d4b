"""``serve --lecture``: the presenter's key, who may write, and the hall fed from trame.

**The presenter.** ``/?key=K`` checks K in constant time, sets an HTTP-only cookie (derived
from K, never K itself) and redirects to the page without the key, so the key does not stay in
the address bar shown on the projector. The page's websocket carries the cookie; the guard
(``app.web.guard``) asks this hub at each connection whether it is the presenter's, and refuses
every state change and trigger from other pages (a refused page is put back to the server's
values, with a note). ``/`` without the key leads to ``/follow``.

**The followers** get events, not frames (``hall``): this hub watches the presenter's shared
state and, once per handler round, turns what changed into one snapshot delta: playing with its
anchor (animation time, server wall clock, speed), a seek, the scenario and its bundle, the
camera preset or the camera at the end of a move, hidden structures, the structures' looks
(isolated, faded, recoloured), labels, the slab through the scene, and with it the schematic
MR panel and the finding of the date. The slab's message (its planes and the caps the server
cut, tens of KB) and the panel's picture (a JPEG) are content-hashed files beside the bundle;
the event names them, so each follower fetches each once, as a static file. Playback ticks
(``tl_time`` set 20 times a second by the server's own clock) are not events: followers play
from the anchor by themselves.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from app.lecture.assets import WS_PATH, AssetStore, hashed, routes
from app.lecture.hall import Hall, wall_ms
from app.web.keys import App, Slab, Structure, Timeline, Trigger, View

if TYPE_CHECKING:
    from app.web.app import ViewerApp

log = logging.getLogger("pelvic_spread.lecture")
REFUSED = "only the presenter's page can change this lecture"
ANCHOR_KEY = getattr(Timeline, "ANCHOR", None)  # {time, wall (ms), speed} while playing
# what any page may still ask (nothing it changes): the server's camera when its scene arrives
FOLLOWER_TRIGGERS = frozenset({Trigger.CAM_CURRENT})
FILE_TTL_S = 6 * 3600  # how long Redis keeps a slab or panel file for relays
JPEG_URL = "data:image/jpeg;base64,"  # how Slab.PANEL carries the panel's picture


def new_key() -> str:
    return secrets.token_urlsafe(9)


class LectureHub:
    """Lecture mode on a ``ViewerApp``: install before the server starts."""

    def __init__(self, app: ViewerApp, key: str | None = None, relay_url: str | None = None,
                 channel: str | None = None):
        self.app = app
        self.key = key or new_key()
        digest = hashlib.sha256(self.key.encode()).hexdigest()
        self.cookie_name = f"ps_presenter_{digest[:8]}"
        self.cookie_value = hmac.new(self.key.encode(), b"presenter", "sha256").hexdigest()
        self.presenters: set[str] = set()
        self.hall = Hall()
        self.assets = AssetStore()
        self.relay: Any = None
        if relay_url:
            from app.lecture.relay import Publisher

            self.relay = Publisher(relay_url, channel)
        self._dirty: set[str] = set()
        self._scheduled = False
        self._anchor_seen: tuple[tuple[float, float], float] | None = None
        self._bundle_error = ""
        # scene path -> bundle name, once the bundle can be fetched everywhere (with a relay:
        # after it was queued for Redis, ahead of any event that names it)
        self._bundles: dict[str, str] = {}
        app.guard.lecture = self
        s = app.state
        s.change(Timeline.PLAYING, Timeline.SPEED)(lambda **_: self.mark("time"))
        if ANCHOR_KEY:  # the server's own play anchor, where the timeline publishes one
            s.change(ANCHOR_KEY)(lambda **_: self.mark("time"))
        s.change(Timeline.TIME)(self._on_time)
        s.change(App.SCENARIO)(lambda **_: self.mark("scenario"))
        s.change(View.CAMERA, View.CAMERA_GOTO)(lambda **_: self.mark("camera"))
        s.change(Structure.HIDDEN)(lambda **_: self.mark("hidden"))
        s.change(View.LOOKS)(lambda **_: self.mark("looks"))
        s.change(View.LABELS)(lambda **_: self.mark("labels"))
        s.change(Slab.MESSAGE)(lambda **_: self.mark("slab"))
        s.change(Slab.PANEL, Slab.FINDING)(lambda **_: self.mark("panel"))
        # the presenter turning the view by hand: the camera at the end of the move
        moved = app.ctrl.trigger_fn(Trigger.CAM_MOVED)

        def cam_moved(*args: Any, **kwargs: Any) -> Any:
            out = moved(*args, **kwargs) if moved is not None else None
            self.mark("camera")
            return out

        app.ctrl.trigger(Trigger.CAM_MOVED)(cam_moved)
        app.ctrl.on_server_bind.add(self._bind)
        app.ctrl.on_server_ready.add(self._ready)

    # -- who may write (asked by app.web.guard) --------------------------------------------------
    def is_presenter_request(self, request: Any) -> bool:
        cookies = getattr(request, "cookies", None) or {}
        given = cookies.get(self.cookie_name, "")
        return hmac.compare_digest(str(given).encode(), self.cookie_value.encode())

    def connected(self, request: Any, page: str) -> None:
        if self.is_presenter_request(request):
            self.presenters.add(page)

    def forget(self, page: str | None) -> None:
        self.presenters.discard(page)  # type: ignore[arg-type]

    def may_not_write(self, page: str | None) -> str | None:
        return None if page in self.presenters else REFUSED

    def may_not_call(self, page: str | None, name: Any) -> str | None:
        if page in self.presenters or name in FOLLOWER_TRIGGERS:
            return None
        return REFUSED

    # -- the presenter's changes -> the hall ----------------------------------------------------
    def _on_time(self, **_: Any) -> None:
        s, tl = self.app.state, self.app.timeline
        # a playback tick is the value the server's own clock just set: not an event
        if s[Timeline.PLAYING] and s[Timeline.TIME] == getattr(tl, "_played", None):
            return
        self.mark("time")

    def mark(self, what: str) -> None:
        """Something changed; one delta once the current handlers are done."""
        self._dirty.add(what)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.emit()
            return
        self._scheduled = True
        loop.call_soon(self.emit)

    def emit(self) -> bytes | None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, set()
        if not self.app.loaded:
            return None
        fields: dict[str, Any] = {}
        if "scenario" in dirty:
            fields.update(self.scenario_fields())
        if "time" in dirty or "scenario" in dirty:
            fields.update(self.time_fields())
        if "camera" in dirty or "scenario" in dirty:
            fields["camera"] = self.camera_field()
        if "hidden" in dirty or "scenario" in dirty:
            fields["hidden"] = list(self.app.state[Structure.HIDDEN] or [])
        if "looks" in dirty or "scenario" in dirty:
            fields["looks"] = self.looks_field()
            fields["isolated"] = self.isolated_field()
        if "labels" in dirty:
            fields["labels"] = bool(self.app.state[View.LABELS])
        if "slab" in dirty or "scenario" in dirty:
            fields["slab"] = self.slab_field()
        if "panel" in dirty or "scenario" in dirty:
            fields["panel"] = self.panel_field()
            fields["finding"] = self.finding_field()
        data = self.hall.update(fields)
        if data is not None and self.relay is not None:
            self.relay.publish(data, self.hall.snapshot())
        return data

    def looks_field(self) -> dict[str, list]:
        """The drawables whose look is not the scene file's (hidden, faded, recoloured), each
        as ``View.LOOKS`` has it (visible 0|1, opacity, "#rrggbb") but before isolation,
        which ``isolated_field`` names in one line (isolating one structure fades all the
        others: listed one by one that would be 1.9 KB an event)."""
        s, engine = self.app.state, self.app.engine
        looks = engine.looks(set(s[Structure.HIDDEN] or []), None,
                             dict(s[Structure.OPACITY] or {}), dict(s[Structure.COLOR] or {}))
        out: dict[str, list] = {}
        for node_id, look in looks.items():
            shown = look.packed()
            if shown != engine.default_look(node_id).packed():
                out[node_id] = shown
        return out

    def slab_field(self) -> str | None:
        """The URL of the presenter's slab message (``Slab.MESSAGE``) as a file, else None."""
        message = self.app.state[Slab.MESSAGE]
        if not isinstance(message, dict):
            return None
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        return self._file("slab", ".json", data)

    def panel_field(self) -> str | None:
        """The URL of the presenter's MR panel (``Slab.PANEL``, a JPEG) as a file, else None."""
        picture = self.app.state[Slab.PANEL]
        if not isinstance(picture, str) or not picture.startswith(JPEG_URL):
            return None
        try:
            data = base64.b64decode(picture[len(JPEG_URL):], validate=True)
        except (binascii.Error, ValueError):
            return None
        return self._file("panel", ".jpg", data, twin=False)  # (a JPEG does not gzip)

    def finding_field(self) -> dict[str, str] | None:
        """The finding the presenter's panel captions (``Slab.FINDING``), else None."""
        card = self.app.state[Slab.FINDING]
        if not isinstance(card, dict):
            return None
        return {k: str(card.get(k) or "") for k in ("title", "text", "figure")}

    def _file(self, stem: str, suffix: str, data: bytes, twin: bool = True) -> str:
        """``data`` as a content-hashed file (``stem.HASH.suffix``): stored, and with a relay
        queued for Redis, before any event names it; its URL (``AssetStore.keep`` drops old
        ones)."""
        name = hashed(stem, suffix, data)
        if name not in self.assets.names:
            self.assets.add(name, data, twin=twin)
            if self.relay is not None:
                self.relay.put_asset(name, data, ttl=FILE_TTL_S)
        self.assets.keep(name)
        return self.assets.url(name)

    def isolated_field(self) -> dict[str, Any] | None:
        """The isolated structure: its subtree shows fully, every other drawable at most
        ``faint`` opaque (``ViewerEngine.looks``)."""
        from app.web.engine import FAINT

        node_id = self.app.state[Structure.ISOLATED]
        return {"id": node_id, "faint": FAINT} if node_id else None

    def scenario_fields(self) -> dict[str, Any]:
        engine = self.app.engine
        name = self._bundles.get(str(engine.path))
        if name is None:
            self._build_bundle(engine.path)
        return {"scenario": engine.path.stem, "title": engine.scene.name,
                "bundle": None if name is None else self.assets.url(name)}

    def time_fields(self) -> dict[str, Any]:
        s, tl = self.app.state, self.app.timeline
        playing = bool(s[Timeline.PLAYING]) and tl.spread is not None
        speed = float(tl.speed())
        stage = s[Timeline.STAGE]
        out: dict[str, Any] = {"playing": playing, "speed": speed,
                               "stage": stage if isinstance(stage, int) else -1}
        if playing:
            t0, wall = self._anchor_wall()
            published = self.app.state[ANCHOR_KEY] if ANCHOR_KEY else None
            if isinstance(published, dict) and isinstance(published.get("speed"), (int, float)):
                out["speed"] = float(published["speed"])  # the speed the anchor runs at
            out.update(anchorTime=t0, anchorWall=wall, time=t0)
        else:
            t = s[Timeline.TIME]
            t = float(t) if isinstance(t, (int, float)) else 0.0
            out.update(anchorTime=t, anchorWall=None, time=t)
        return out

    def _anchor_wall(self) -> tuple[float, float]:
        """The server's playback anchor: (animation time, wall clock in milliseconds), as
        the timeline publishes it, else from its (animation time, monotonic clock) pair;
        the same anchor always gives the same number."""
        published = self.app.state[ANCHOR_KEY] if ANCHOR_KEY else None
        if isinstance(published, dict) and "time" in published and "wall" in published:
            return float(published["time"]), float(published["wall"])
        anchor = tuple(getattr(self.app.timeline, "_anchor", (0.0, time.monotonic())))
        if self._anchor_seen is not None and self._anchor_seen[0] == anchor:
            return float(anchor[0]), self._anchor_seen[1]
        t0, mono = float(anchor[0]), float(anchor[1])
        wall = round(wall_ms() - 1000.0 * (time.monotonic() - mono), 1)
        self._anchor_seen = ((anchor[0], anchor[1]), wall)
        return t0, wall

    def camera_field(self) -> dict[str, Any]:
        preset = self.app.state[View.CAMERA]
        if preset:
            return {"preset": str(preset)}
        cam = self.app.engine.camera().as_dict()
        return {k: ([round(float(x), 3) for x in v] if isinstance(v, list) else round(v, 3))
                for k, v in cam.items()}

    def _build_bundle(self, path: Any) -> None:
        async def build() -> None:
            try:
                await self.assets.build_bundle(path)
            except Exception as exc:  # noqa: BLE001 (a scene that will not pack: say so)
                log.error("lecture: %s", exc)
                self._bundle_error = str(exc)
                return
            name = self.assets.bundle_name(path)
            if name is None:
                return
            if self.relay is not None:
                file = self.assets.file(name)
                if file is not None:
                    self.relay.put_asset(name, file.read_bytes())
            self._bundles[str(path)] = name  # only now may a snapshot name it
            self.mark("scenario")

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        asyncio.ensure_future(build())

    # -- server wiring --------------------------------------------------------------------------
    def _bind(self, wslink_server: Any) -> None:
        from aiohttp import web

        async def entry(request: web.Request) -> web.StreamResponse:
            rest = [(k, v) for k, v in request.query.items() if k != "key"]
            page = "index.html" + (f"?{urlencode(rest)}" if rest else "")
            given = request.query.get("key")
            if given is not None:
                if not hmac.compare_digest(given.encode(), self.key.encode()):
                    raise web.HTTPForbidden(text="That is not this lecture's presenter key. "
                                                 "To follow the lecture, open /follow.")
                found = web.HTTPFound(page)
                found.set_cookie(self.cookie_name, self.cookie_value, httponly=True,
                                 samesite="Strict", path="/")
                raise found
            if self.is_presenter_request(request):
                raise web.HTTPFound(page)
            raise web.HTTPFound("follow")

        async def follower(request: web.Request) -> web.StreamResponse:
            return await self.hall.handle(request)

        # added before wslink's own "/" (which it adds last), so this one answers
        wslink_server.app.add_routes([web.get("/", entry), web.get("/" + WS_PATH, follower),
                                      *routes(self.assets)])
        wslink_server.app.on_shutdown.append(self._shutdown)

    def _ready(self, **_: Any) -> None:
        self.assets.add_page()
        self.app.when_loaded(lambda: self.mark("scenario"))
        self.app.when_loaded(lambda: self.mark("labels"))
        if self.relay is not None:
            self.relay.start(self.hall)

    async def _shutdown(self, _app: Any) -> None:
        await self.hall.close()
        if self.relay is not None:
            await self.relay.close()

    def close(self) -> None:
        self.assets.close()

    def addresses(self, base: str) -> tuple[str, str]:
        """(presenter, followers) for a server at ``base`` (``http://host:port/``)."""
        return f"{base}?key={self.key}", f"{base}follow"
