"""A bare wslink client: what a hostile page could send to ``pelvic-spread serve``.

It speaks wslink as trame's page does (msgpack messages in chunks, ``wslink.hello`` with the
default secret, then RPCs such as ``trame.state.update``) and records what the server
publishes to it. No browser, no rendering: for fuzzing the websocket and for lean followers.

    async with WslinkClient.connect("http://127.0.0.1:8080/") as c:
        await c.update({"tl_time": "abc"})
        state = c.state  # what the server sent this client (initial state and updates)
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any

import aiohttp
import msgpack

SECRET = "wslink-secret"  # trame's default
HEADER = 12  # wslink chunk header: id, offset, size (uint32 each, little endian)


def chunk(message: bytes) -> bytes:
    """One wslink chunk holding all of ``message``."""
    ident = int.from_bytes(secrets.token_bytes(4), "little")
    size = len(message)
    return (ident.to_bytes(4, "little") + (0).to_bytes(4, "little") + size.to_bytes(4, "little")
            + message)


class WslinkClient:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.client_id = ""
        self.state: dict[str, Any] = {}
        self.published: list[dict[str, Any]] = []  # every state update the server sent
        self.errors: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future] = {}
        self._parts: dict[int, bytearray] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    def connect(cls, url: str, secret: str = SECRET, timeout: float = 30.0) -> _Connect:
        return _Connect(cls, url, secret, timeout)

    # -- sending ----------------------------------------------------------------------------------
    async def send(self, message: Any) -> None:
        """Any value, msgpack-encoded in one chunk (a well-formed or a malformed RPC)."""
        await self.ws.send_bytes(chunk(msgpack.packb(message, use_bin_type=True)))

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def call(self, method: str, args: list | None = None, kwargs: dict | None = None,
                   timeout: float = 10.0, system: bool = False) -> Any:
        """An RPC; its result, or ``{"error": ...}`` (never raises for a server error)."""
        n = next(self._ids)
        rpc_id = f"system:c0:{n}" if system else f"rpc:{self.client_id or 'c0'}:{n}"
        fut = asyncio.get_running_loop().create_future()
        self._waiting[rpc_id] = fut
        msg: dict[str, Any] = {"wslink": "1.0", "id": rpc_id, "method": method,
                               "args": list(args or [])}
        if kwargs:
            msg["kwargs"] = kwargs
        await self.send(msg)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(rpc_id, None)

    async def hello(self, secret: str = SECRET) -> Any:
        reply = await self.call("wslink.hello", [{"secret": secret}], system=True)
        if isinstance(reply, dict) and "clientID" in reply:
            self.client_id = reply["clientID"]
        return reply

    async def update(self, changes: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """``trame.state.update`` as a page sends it: ``[{key, value}, ...]``."""
        if isinstance(changes, dict):
            changes = [{"key": k, "value": v} for k, v in changes.items()]
        return await self.call("trame.state.update", [changes])

    async def trigger(self, name: str, *args: Any, timeout: float = 10.0) -> Any:
        return await self.call("trame.trigger", [name, list(args), {}], timeout=timeout)

    async def load_state(self) -> dict[str, Any]:
        reply = await self.call("trame.state.get", [])
        if isinstance(reply, dict) and isinstance(reply.get("state"), dict):
            self.state.update(reply["state"])
        return self.state

    async def subscribe(self) -> None:
        """Nothing to call: wslink publishes to every authenticated client."""

    # -- receiving --------------------------------------------------------------------------------
    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            data = msg.data
            if len(data) < HEADER:
                continue
            ident = int.from_bytes(data[0:4], "little")
            size = int.from_bytes(data[8:12], "little")
            buf = self._parts.setdefault(ident, bytearray())
            buf.extend(data[HEADER:])
            if len(buf) < size:
                continue
            del self._parts[ident]
            try:
                doc = msgpack.unpackb(bytes(buf), raw=False, strict_map_key=False)
            except Exception:  # noqa: BLE001 (a message we cannot read: not ours to judge)
                continue
            self._dispatch(doc)

    def _dispatch(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            return
        rpc_id = str(doc.get("id", ""))
        if rpc_id.startswith("publish:trame.state.topic"):
            update = doc.get("result")
            if isinstance(update, dict):
                self.state.update(update)
                self.published.append(update)
            return
        fut = self._waiting.get(rpc_id)
        if "error" in doc:
            self.errors.append(doc["error"])
        if fut is not None and not fut.done():
            fut.set_result({"error": doc["error"]} if "error" in doc else doc.get("result"))

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await self.session.close()


class _Connect:
    """``async with WslinkClient.connect(url) as c`` (hello done, initial state loaded)."""

    def __init__(self, cls: type[WslinkClient], url: str, secret: str, timeout: float):
        self.cls, self.url, self.secret, self.timeout = cls, url, secret, timeout
        self.client: WslinkClient | None = None

    async def open(self, hello: bool = True) -> WslinkClient:
        ws_url = self.url.replace("http://", "ws://").rstrip("/") + "/ws"
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(ws_url, timeout=aiohttp.ClientWSTimeout(
                ws_close=self.timeout), max_msg_size=0)
        except BaseException:
            await session.close()
            raise
        self.client = self.cls(session, ws)
        if hello:
            await self.client.hello(self.secret)
            await self.client.load_state()
        return self.client

    async def __aenter__(self) -> WslinkClient:
        return await self.open()

    async def __aexit__(self, *exc: Any) -> None:
        if self.client is not None:
            await self.client.close()


class LoopThread:
    """An event loop in its own thread, for driving clients from synchronous code (such as
    a test that also drives Playwright's synchronous API, which owns the main thread's loop).

        bg = LoopThread()
        client = bg.run(WslinkClient.connect(url).open())
        bg.run(client.trigger("tl_toggle"))
        bg.close()
    """

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Any, timeout: float | None = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
