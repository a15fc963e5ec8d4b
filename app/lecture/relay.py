"""Beyond one machine: the presenter's events through a Redis channel to any number of relays.

``serve --lecture --relay redis://HOST:PORT/N`` (``Publisher``) sends every packed event to
the channel and keeps the packed snapshot in a key (written before the event is published, so
a relay that sees a gap can always catch up). The case bundles go into Redis too, under their
content-hashed names: a relay serves exactly the presenter's bytes, needs no scene files and no
VTK, and starts at once. ``pelvic-spread relay redis://... --port P`` (``Relay``) serves
``/follow``, the assets and the followers' websocket, forwarding each event as the very bytes
the presenter's hub packed.

Clocks: anchors are the presenter's server clock. Every message and a tick every
``TICK_S`` carry that clock (``now``); a relay takes the smallest ``receive - now`` it has
seen recently as the offset between the two machines, and answers its followers' pings in the
presenter's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from typing import Any
from urllib.parse import urlparse

from app.errors import UserError
from app.lecture.assets import PREFIX, WS_PATH, AssetStore, routes
from app.lecture.hall import Hall, wall_ms

log = logging.getLogger("pelvic_spread.lecture")
CHANNEL = "pelvic-spread:lecture"
ASSET_FIELDS = ("bundle", "slab", "panel")  # fields naming a file (fetched before the event)
TICK_S = 2.0
SKEW_SAMPLES = 30
RETRY_MAX_S = 5.0


def check_url(url: str) -> str:
    """A ``redis://HOST[:PORT][/N]`` URL, or a UserError saying what was expected."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
        raise UserError(f"--relay {url!r}: expected redis://HOST:PORT/N (e.g. "
                        "redis://127.0.0.1:6379/0)")
    db = parsed.path.lstrip("/")
    if parsed.scheme != "unix" and db and not db.isdigit():
        raise UserError(f"--relay {url!r}: the database after the last / must be a number")
    return url


def keys(channel: str) -> tuple[str, str]:
    """(snapshot key, asset key prefix) of a channel."""
    return f"{channel}:snapshot", f"{channel}:asset:"


def _client(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.from_url(url, socket_connect_timeout=5, health_check_interval=10)


class Publisher:
    """The hub's side: events out, in order, never blocking the server's event loop."""

    def __init__(self, url: str, channel: str | None = None):
        self.url = check_url(url)
        self.channel = channel or CHANNEL
        self.snapshot_key, self.asset_prefix = keys(self.channel)
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self._tasks: list[asyncio.Task] = []
        self._redis: Any = None
        self._warned = False
        self.sent = 0

    def start(self, hall: Hall) -> None:
        self.hall = hall
        self._queue = asyncio.Queue()
        self._redis = _client(self.url)
        self._tasks = [asyncio.ensure_future(self._run()), asyncio.ensure_future(self._tick())]

    def publish(self, event: bytes, snapshot: bytes) -> None:
        if self._queue is not None:
            self._queue.put_nowait(("event", (event, snapshot)))

    def put_asset(self, name: str, data: bytes, ttl: int | None = None) -> None:
        """Store a file for the relays (``ttl``: seconds Redis keeps it; None: for good)."""
        if self._queue is not None:
            self._queue.put_nowait(("asset", (name, data, ttl)))

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            kind, item = await self._queue.get()
            delay = 0.25
            while True:
                try:
                    await self._send(kind, item)
                    if self._warned:
                        log.warning("lecture relay: Redis at %s is back", self.url)
                        self._warned = False
                    break
                except Exception as exc:  # noqa: BLE001 (Redis down: keep the lecture going)
                    if not self._warned:
                        log.warning("lecture relay: cannot reach Redis at %s (%s); retrying",
                                    self.url, exc)
                        self._warned = True
                    if kind == "event" and not self._queue.empty():
                        break  # a later event carries a newer snapshot: relays catch up
                    await asyncio.sleep(delay)
                    delay = min(RETRY_MAX_S, delay * 2)

    async def _send(self, kind: str, item: Any) -> None:
        r = self._redis
        if kind == "event":
            event, snapshot = item
            async with r.pipeline(transaction=True) as p:
                p.set(self.snapshot_key, snapshot)
                p.publish(self.channel, event)
                await p.execute()
            self.sent += 1
        elif kind == "asset":
            name, data, ttl = item
            await r.set(self.asset_prefix + name, data, ex=ttl)
        elif kind == "tick":
            await r.publish(self.channel, item)

    async def _tick(self) -> None:
        """The presenter's clock, for relays (followers never see these)."""
        while True:
            if self._queue is not None:
                tick = json.dumps({"t": "tick", "e": self.hall.epoch, "now": round(wall_ms(), 1)})
                self._queue.put_nowait(("tick", tick.encode()))
            await asyncio.sleep(TICK_S)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()


class Relay:
    """``pelvic-spread relay``: followers served from the channel, on any machine."""

    def __init__(self, url: str, channel: str | None = None):
        self.url = check_url(url)
        self.channel = channel or CHANNEL
        self.snapshot_key, self.asset_prefix = keys(self.channel)
        self._skews: deque[float] = deque(maxlen=SKEW_SAMPLES)
        self.hall = Hall(clock=self.presenter_ms)
        self.hall.epoch = ""  # nothing yet: the first snapshot sets it
        self.assets = AssetStore()
        self.assets.add_page()
        self._redis: Any = None
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    def presenter_ms(self) -> float:
        """Now, on the presenter's server clock (as well as messages tell it)."""
        skew = min(self._skews) if self._skews else 0.0
        return wall_ms() - skew

    def _saw(self, message: dict[str, Any]) -> None:
        now = message.get("now")
        if isinstance(now, (int, float)):
            self._skews.append(wall_ms() - float(now))

    # -- the channel ----------------------------------------------------------------------------
    async def run(self) -> None:
        delay = 0.25
        while True:
            try:
                await self._listen()
                delay = 0.25
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Redis gone: retry, keep followers)
                self.connected.clear()
                log.warning("relay: Redis at %s: %s; retrying in %.1f s", self.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)

    async def _listen(self) -> None:
        r = _client(self.url)
        self._redis = r
        pubsub = r.pubsub()
        try:
            await pubsub.subscribe(self.channel)  # first, so nothing falls between
            await self._catch_up()
            self.connected.set()
            while True:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is None or msg.get("type") != "message":
                    continue
                await self._on_message(msg["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await r.aclose()

    async def _catch_up(self) -> None:
        data = await self._redis.get(self.snapshot_key)
        if data is None:
            return
        try:
            msg = json.loads(data)
        except ValueError:
            return
        if isinstance(msg, dict) and isinstance(msg.get("s"), dict):
            self._saw(msg)
            if (msg.get("e"), msg.get("q")) != (self.hall.epoch, self.hall.seq):
                for key in ASSET_FIELDS:  # the files before followers are told of them
                    await self._fetch_file(msg["s"].get(key))
                self.hall.load(str(msg.get("e")), int(msg.get("q") or 0), msg["s"])

    async def _on_message(self, data: bytes) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        self._saw(msg)
        if msg.get("t") != "ev":
            return
        if isinstance(msg.get("q"), int) and msg.get("e") == self.hall.epoch \
                and msg["q"] <= self.hall.seq:
            return  # seen already (the snapshot we caught up with had it)
        fields = msg.get("s")
        if isinstance(fields, dict):
            for key in ASSET_FIELDS:
                if key in fields:
                    # the file first: a follower told of a file fetches it at once
                    await self._fetch_file(fields[key])
        if not self.hall.forward(bytes(data), msg):
            await self._catch_up()  # a gap, or a new presenter: the whole snapshot

    async def _fetch_file(self, url: Any = None) -> None:
        """A file an event names (by default the snapshot's bundle) from Redis into this
        relay's files, before followers are told of it."""
        if url is None:
            url = self.hall.state.get("bundle")
        if not isinstance(url, str) or not url.startswith(PREFIX):
            return
        name = url[len(PREFIX):]
        if self.assets.file(name) is not None or "/" in name or name.startswith("."):
            return
        data = await self._redis.get(self.asset_prefix + name)
        if data is None:  # the hub stores it right after building: try again shortly
            asyncio.get_running_loop().call_later(0.5, lambda: asyncio.ensure_future(
                self._retry_bundle()))
            return
        self.assets.add(name, bytes(data), twin=False)
        self.assets.keep(name)  # a dragged slab or playback makes many: the last few stay

    async def _retry_bundle(self) -> None:
        with contextlib.suppress(Exception):
            await self._fetch_file()

    # -- serving --------------------------------------------------------------------------------
    def web_app(self) -> Any:
        from aiohttp import web

        async def root(request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound("follow")

        async def follower(request: web.Request) -> web.StreamResponse:
            return await self.hall.handle(request)

        app = web.Application()
        app.add_routes([web.get("/", root), web.get("/" + WS_PATH, follower),
                        *routes(self.assets)])

        async def start(_app: web.Application) -> None:
            self._task = asyncio.ensure_future(self.run())

        async def stop(_app: web.Application) -> None:
            await self.hall.close()
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task

        app.on_startup.append(start)
        app.on_shutdown.append(stop)
        return app

    def close(self) -> None:
        self.assets.close()


def serve_relay(url: str, host: str = "127.0.0.1", port: int = 8090,
                channel: str | None = None) -> int:
    """Run a relay until interrupted; prints the followers' address once listening."""
    from aiohttp import web

    from app.web.server import free_port, url_for

    check_url(url)
    try:
        import redis  # noqa: F401
    except ImportError:
        raise UserError("relay: the 'redis' Python package is missing (pip install redis)") \
            from None
    if port == 0:
        port = free_port(host)
    relay = Relay(url, channel)
    base = url_for(host, port)

    async def run() -> None:
        import signal

        runner = web.AppRunner(relay.web_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        # only now is it listening: say where
        print(f"Relaying {relay.channel} from {url} to followers at {base}follow", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(run())
    finally:
        relay.close()
    return 0
