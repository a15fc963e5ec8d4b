"""The followers' websocket: one snapshot of the lecture, changes packed once, sent to all.

Wire format (JSON in binary frames, so the bytes are made once and handed to every socket):

- ``{"t": "snap", "e": EPOCH, "q": SEQ, "now": MS, "s": {...}}``: the whole snapshot, sent to a
  follower when it joins (or asks with ``sync``); the same packed bytes serve every join until
  the next change.
- ``{"t": "ev", "e": EPOCH, "q": SEQ, "now": MS, "s": {...}}``: only the fields that changed;
  a follower that sees a gap in ``q`` or another ``e`` asks for the snapshot.
- ``{"t": "pong", "c": CLIENT_MS, "s": SERVER_MS}``: the answer to a follower's
  ``{"t": "ping", "c": CLIENT_MS}``; half the round trip gives the follower its clock offset,
  so it can play from the presenter's anchor (``anchorWall`` is server milliseconds).

The snapshot's fields: ``scenario``, ``bundle`` (URL of the case's bundle, relative to the page),
``title``, ``playing``, ``anchorTime``, ``anchorWall``, ``speed``, ``time``, ``stage``,
``camera`` (``{"preset": name}`` or an explicit camera), ``hidden`` (node ids), ``labels``.

A follower's own messages reach nobody else: a join costs the others nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger("pelvic_spread.lecture")
MAX_IN = 256  # bytes in one message from a follower (a ping is about 30)
MAX_IN_PER_S = 20  # messages per second from one follower before it is dropped
SLOW_BUFFER = 1 << 20  # bytes queued for a follower that reads nothing: drop it (it rejoins)
HEARTBEAT_S = 20.0


def wall_ms() -> float:
    return time.time() * 1000.0


def frame(data: bytes) -> bytes:
    """``data`` as one unmasked binary websocket frame (RFC 6455 5.2), as a server sends it.
    The frame is the same for every follower, so it is made once and written to each socket
    as it is: no per-follower encoding, copying or task."""
    n = len(data)
    if n < 126:
        head = bytes((0x82, n))
    elif n < 1 << 16:
        head = bytes((0x82, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x82, 127)) + n.to_bytes(8, "big")
    return head + data


def pack(kind: str, epoch: str, seq: int, fields: dict[str, Any], now: float) -> bytes:
    """One message as the bytes every follower gets (compact JSON, UTF-8)."""
    return json.dumps({"t": kind, "e": epoch, "q": seq, "now": round(now, 1), "s": fields},
                      separators=(",", ":"), allow_nan=False).encode("utf-8")


class Hall:
    """The followers of one lecture and what they are shown.

    ``update`` (the presenter's hub) or ``forward`` (a relay) change the snapshot; each change
    is packed once and written to every follower's socket.
    """

    def __init__(self, clock: Callable[[], float] = wall_ms):
        self.clock = clock  # server milliseconds (a relay gives the presenter's clock)
        self.epoch = secrets.token_hex(4)  # a new hub is a new lecture: followers resync
        self.seq = 0
        self.state: dict[str, Any] = {}
        self.followers: set[web.WebSocketResponse] = set()
        self._snap: bytes | None = None
        self._snap_wire: bytes | None = None
        self.stats = {"joins": 0, "events": 0, "packed": 0, "bytes_out": 0, "dropped": 0}

    # -- the snapshot -----------------------------------------------------------------------
    def update(self, fields: dict[str, Any]) -> bytes | None:
        """Apply ``fields``; the packed event (already sent to every follower), or None when
        nothing changed."""
        changed = {k: v for k, v in fields.items() if self.state.get(k, _MISSING) != v}
        if not changed:
            return None
        self.state.update(changed)
        self.seq += 1
        self._snap = None
        data = pack("ev", self.epoch, self.seq, changed, self.clock())
        self.stats["packed"] += 1
        self.broadcast(data)
        return data

    def load(self, epoch: str, seq: int, state: dict[str, Any]) -> None:
        """Take a whole snapshot (a relay catching up) and send it to every follower."""
        self.epoch, self.seq, self.state = epoch, seq, dict(state)
        self._snap = None
        self.broadcast(self.snapshot())

    def forward(self, data: bytes, message: dict[str, Any]) -> bool:
        """An event packed elsewhere (the presenter's hub, through a relay): applied and sent
        on as the very same bytes. False when it does not follow on (the caller resyncs)."""
        if message.get("e") != self.epoch or message.get("q") != self.seq + 1:
            return False
        fields = message.get("s")
        if not isinstance(fields, dict):
            return False
        self.state.update(fields)
        self.seq += 1
        self._snap = None
        self.broadcast(data)
        return True

    def snapshot(self) -> bytes:
        """The packed snapshot (made once per change, whatever the number of joins)."""
        if self._snap is None:
            self._snap = pack("snap", self.epoch, self.seq, self.state, self.clock())
            self._snap_wire = None
            self.stats["packed"] += 1
        return self._snap

    def snapshot_wire(self) -> bytes:
        """The snapshot's websocket frame (made once per change too)."""
        data = self.snapshot()
        if self._snap_wire is None:
            self._snap_wire = frame(data)
        return self._snap_wire

    # -- sending ----------------------------------------------------------------------------
    def broadcast(self, data: bytes) -> None:
        """The same frame to every follower. Writing to a transport never waits (the bytes
        are queued in it); a follower that has let too much queue up (it stopped reading) is
        closed, and will rejoin and get the snapshot."""
        self.stats["events"] += 1
        wire = frame(data)
        for ws in list(self.followers):
            self._write(ws, wire)

    def _send(self, ws: web.WebSocketResponse, data: bytes) -> None:
        self._write(ws, frame(data))

    def _write(self, ws: web.WebSocketResponse, wire: bytes) -> None:
        # aiohttp writes each of its own frames (pings, close) in one synchronous call too,
        # so whole frames never interleave on the socket
        transport = ws._req.transport if ws._req is not None else None  # noqa: SLF001
        if transport is None or transport.is_closing() or ws.closed:
            self.followers.discard(ws)
            return
        if transport.get_write_buffer_size() > SLOW_BUFFER:
            self.followers.discard(ws)
            self.stats["dropped"] += 1
            fut = asyncio.ensure_future(ws.close(code=1013, message=b"too slow"))
            fut.add_done_callback(_quiet)
            return
        self.stats["bytes_out"] += len(wire)
        transport.write(wire)

    # -- one follower -----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /lecture/ws``: a follower, from its join to its last message."""
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, compress=False, max_msg_size=MAX_IN)
        await ws.prepare(request)
        self.followers.add(ws)
        self.stats["joins"] += 1
        self._write(ws, self.snapshot_wire())
        window, count = time.monotonic(), 0
        try:
            async for msg in ws:
                now = time.monotonic()
                if now - window >= 1.0:
                    window, count = now, 0
                count += 1
                if count > MAX_IN_PER_S:
                    await ws.close(code=1008, message=b"too many messages")
                    break
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                answer = self.answer(msg.data)
                if answer is not None:
                    self._send(ws, answer)
        finally:
            self.followers.discard(ws)
        return ws

    def answer(self, data: str | bytes) -> bytes | None:
        """What a follower's message gets back: a pong, the snapshot, or nothing."""
        try:
            msg = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(msg, dict):
            return None
        if msg.get("t") == "ping":
            c = msg.get("c")
            if not isinstance(c, (int, float)) or isinstance(c, bool) or c != c:
                return None
            return json.dumps({"t": "pong", "c": c, "s": round(self.clock(), 1)},
                              separators=(",", ":")).encode("utf-8")
        if msg.get("t") == "sync":
            return self.snapshot()
        return None

    async def close(self) -> None:
        for ws in list(self.followers):
            await ws.close(code=1001, message=b"server shutting down")
        self.followers.clear()


class _Missing:
    pass


_MISSING = _Missing()


def _quiet(fut: asyncio.Future) -> None:
    """A follower that went away mid-send is normal: no 'exception never retrieved'."""
    if not fut.cancelled():
        fut.exception()
