"""Where page messages arrive: each change and trigger is checked before anything acts on it.

trame applies a page's ``trame.state.update`` in one place (``CoreServer.update_state``): it
first passes the change on to every other page, then sets it in the server's state, which runs
the change handlers. So the check has to sit before that method, not in a handler. trame
builds its protocol object itself; wslink maps each RPC name to a method of that object's
class when its websocket handler is built, right after trame's ``add_protocol_to_configure``
callbacks ran. ``StateGuard.install`` uses that callback to give the protocol object a
subclass whose RPC methods check first (``rules.py``) and then call trame's own.

A refused change is dropped: no handler runs, no other page sees it; the sender alone gets the
server's value back, with a note on its page saying what was expected (``App.NOTES``, a key
each page keeps for itself). Exports and scenario switches are also limited per page per
second (``rules.RATE``).
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from wslink import register as export_rpc

from app.web import rules
from app.web.keys import App

if TYPE_CHECKING:
    from app.web.app import ViewerApp

log = logging.getLogger("pelvic_spread.guard")
MAX_CHANGES = 64  # changes in one message (a page sends a handful)
MAX_FORCE_KEYS = 64
NOTES_KEPT = 3  # the newest notes a page shows
NOTE_TTL_S = 30.0
LOG_FIRST = 20  # refusals logged per page before the log only counts them
MAX_MESSAGE = 8 * 2**20  # bytes in one message from a page (its largest: a view file)
MAX_PENDING = 16  # messages a page may have half sent at once
CHUNK_HEADER = 12  # wslink's chunk header: message id, offset, total size (uint32 each)

_page: contextvars.ContextVar[str | None] = contextvars.ContextVar("page", default=None)


def current_page() -> str | None:
    """The page (websocket client id) whose trigger is running now, None outside one.
    (Each page's messages are handled in that connection's own task, so this is its own.)"""
    return _page.get()


class StateView:
    """The server's state as the rules read it (``get`` with a default)."""

    def __init__(self, state: Any):
        self._state = state

    def get(self, key: str, default: Any = None) -> Any:
        value = self._state[key]
        return default if value is None else value


class StateGuard:
    """The checks, the per-page rate limits and notes; ``install`` puts them in front of
    trame's protocol. The ``screen_*`` methods are plain functions of the messages (tests)."""

    def __init__(self, app: ViewerApp):
        self.app = app
        self.view = StateView(app.state)
        self.refused = 0  # how many changes and calls were refused (benchmarks read it)
        self._hits: dict[tuple[str | None, str], deque[float]] = {}
        self._notes: dict[str | None, list[dict[str, Any]]] = {}
        self._logged: dict[str | None, int] = {}
        self._seq = 0
        # lecture mode (app.lecture.hub): asked first whether a page may write at all
        self.lecture: Any = None

    def install(self) -> StateGuard:
        self.app.server.add_protocol_to_configure(self._configure)
        self.app.state.setdefault(App.NOTES, [])
        self.app.state.client_only(*rules.CLIENT_ONLY)
        return self

    def _configure(self, protocol: Any) -> None:
        protocol.__class__ = _guarded(type(protocol))
        protocol.guard = self

    # -- screening ---------------------------------------------------------------------------
    def screen_changes(self, page: str | None, changes: Any
                       ) -> tuple[list[dict[str, Any]], list[tuple[str | None, str]]]:
        """``(accepted, refused)``: the changes that may go on, and (key, why) for the rest."""
        if not isinstance(changes, list):
            return [], [(None, "a list of changes")]
        accepted: list[dict[str, Any]] = []
        refused: list[tuple[str | None, str]] = []
        if len(changes) > MAX_CHANGES:
            refused.append((None, f"at most {MAX_CHANGES} changes in one message"))
            changes = changes[:MAX_CHANGES]
        seen: set[str] = set()
        not_yours = self.lecture.may_not_write(page) if self.lecture is not None else None
        for change in changes:
            if not isinstance(change, dict) or "key" not in change:
                refused.append((None, "a change without a key"))
                continue
            key, value = change["key"], change.get("value")
            why = not_yours or rules.check_change(key, value, self.view)
            if why is None and key in rules.RATED_KEYS and value != self.view.get(key):
                why = self.rate(page, rules.RATED_KEYS[key])
            if why is None and key in seen:
                why = f"{key} twice in one message"
            if why is None:
                seen.add(key)
                accepted.append({"key": key, "value": value})
            else:
                refused.append((key if isinstance(key, str) else None, why))
        return accepted, refused

    def screen_trigger(self, page: str | None, name: Any, args: Any, kwargs: Any) -> str | None:
        why = self.lecture.may_not_call(page, name) if self.lecture is not None else None
        why = why or rules.check_trigger(name, args, kwargs, self.view)
        if why is None and name in rules.RATED_TRIGGERS:
            why = self.rate(page, rules.RATED_TRIGGERS[name])
        return why

    def rate(self, page: str | None, kind: str, now: float | None = None) -> str | None:
        """None if ``page`` may do one more ``kind`` now (and counts it), else why not."""
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault((page, kind), deque())
        while hits and now - hits[0] >= 1.0:
            hits.popleft()
        limit = rules.RATE[kind]
        if len(hits) >= limit:
            what = "exports" if kind == "export" else "scenario switches"
            return f"at most {limit} {what} per second from one page"
        hits.append(now)
        return None

    # -- answering the sender -------------------------------------------------------------------
    def answer(self, page: str | None, refused: Iterable[tuple[str | None, str]]
               ) -> dict[str, Any]:
        """What the sender gets back: the server's value of each refused key it holds, and
        its notes with one more."""
        refused = list(refused)
        self.refused += len(refused)
        back: dict[str, Any] = {}
        for key, _why in refused:
            if key is not None and key in self.app.state and key not in rules.CLIENT_ONLY:
                back[key] = self.app.state[key]
        now = time.monotonic()
        notes = [n for n in self._notes.get(page, []) if now - n["at"] < NOTE_TTL_S]
        for _key, why in refused[-NOTES_KEPT:]:
            self._seq += 1
            notes.append({"id": self._seq, "text": f"Not applied: {why}.", "kind": "warning",
                          "at": now})
        notes = notes[-NOTES_KEPT:]
        self._notes[page] = notes
        back[App.NOTES] = [{k: v for k, v in n.items() if k != "at"} for n in notes]
        self.log_refusal(page, refused)
        return back

    def log_refusal(self, page: str | None, refused: list[tuple[str | None, str]]) -> None:
        n = self._logged.get(page, 0)
        for _key, why in refused:
            n += 1
            if n <= LOG_FIRST:
                log.warning("refused from page %s: %s", page, why)
            elif n % 100 == 0:
                log.warning("refused from page %s: %d messages so far", page, n)
        self._logged[page] = n

    def forget(self, page: str | None) -> None:
        """A page has gone: drop what was kept about it."""
        self._notes.pop(page, None)
        self._logged.pop(page, None)
        if self.lecture is not None:
            self.lecture.forget(page)
        for k in [k for k in self._hits if k[0] == page]:
            del self._hits[k]


def _envelope_problem(rpc: Any) -> str | None:
    """What is wrong with a wslink message's envelope (before wslink indexes into it)."""
    if not isinstance(rpc, dict):
        return "not a wslink message"
    if "id" not in rpc:
        return None  # wslink ignores these itself
    if not isinstance(rpc["id"], str) or not isinstance(rpc.get("method"), str):
        return "a message without a string id and method"
    if "args" in rpc and not isinstance(rpc["args"], list):
        return "arguments not a list"
    if "kwargs" in rpc and not isinstance(rpc["kwargs"], dict):
        return "keyword arguments not a mapping"
    return None


def _guarded_handler(base: type) -> type:
    """wslink's websocket handler, reading a page's bytes defensively: a declared size above
    ``MAX_MESSAGE`` (wslink would allocate it up front), too many half-sent messages, bytes
    that are not msgpack, or an envelope wslink would index into, are dropped with one log
    line instead of a traceback and a closed connection."""
    if getattr(base, "_pelvic_guarded", False):
        return base

    class GuardedHandler(base):  # type: ignore[misc, valid-type]
        _pelvic_guarded = True
        guard: StateGuard

        async def onMessage(self, is_binary: bool, msg: Any, client_id: str) -> None:  # noqa: N802
            unchunker = self.unchunkers.get(client_id)
            if unchunker is None:
                return
            data = msg.data
            why = None
            if not is_binary or not isinstance(data, (bytes, bytearray)):
                why = "a text message"
            elif len(data) < CHUNK_HEADER:
                why = "a message shorter than its header"
            elif int.from_bytes(data[8:12], "little") > MAX_MESSAGE:
                why = f"a message declared larger than {MAX_MESSAGE // 2**20} MB"
            elif len(unchunker.pending_messages) >= MAX_PENDING:
                unchunker.release_pending_messages()
                why = f"more than {MAX_PENDING} messages sent in part"
            if why is None:
                try:
                    full = unchunker.process_chunk(data)
                except Exception as exc:  # noqa: BLE001 (malformed bytes: msgpack/wslink errors)
                    full, why = None, f"unreadable bytes ({type(exc).__name__})"
                else:
                    why = None if full is None else _envelope_problem(full)
                if why is None and full is not None:
                    with self.network_monitor:
                        await self.onCompleteMessage(full, client_id)
                    return
                if why is None:
                    return
            self.guard.refused += 1
            self.guard.log_refusal(client_id, [(None, why)])

    return GuardedHandler


def _guarded(base: type) -> type:
    """``base`` (trame's CoreServer) with each RPC a page can call checked first. The
    signatures take anything: a call with missing or extra arguments is refused here instead
    of raising in wslink (a traceback per malformed message)."""
    if getattr(base, "_pelvic_guarded", False):
        return base

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        _pelvic_guarded = True
        guard: StateGuard

        def set_server(self, web_server: Any) -> None:
            self._web = web_server
            # wslink's aiohttp backend keeps its websocket handlers here (no public accessor)
            for handler in getattr(web_server, "_ws_handlers", ()):
                handler.__class__ = _guarded_handler(type(handler))
                handler.guard = self.guard
            super().set_server(web_server)

        def _sender(self) -> str | None:
            return getattr(getattr(self, "_web", None), "last_active_client_id", None)

        def _send_back(self, page: str | None, refused: list[tuple[str | None, str]]) -> None:
            from trame_server.utils import clean_state

            ok, _ = clean_state(self.guard.answer(page, refused))
            if page is not None:
                self.publish("trame.state.topic", ok, client_id=page)

        @export_rpc("trame.state.update")
        def update_state(self, changes: Any = None, *_args: Any, **_kwargs: Any) -> None:
            page = self._sender()
            accepted, refused = self.guard.screen_changes(page, changes)
            if refused:
                self._send_back(page, refused)
            if accepted:
                super().update_state(accepted)

        @export_rpc("trame.trigger")
        async def trigger(self, name: Any = None, args: Any = None, kwargs: Any = None,
                          *_args: Any, **_kwargs: Any) -> Any:
            page = self._sender()
            why = self.guard.screen_trigger(page, name, args, kwargs)
            if why is not None:
                self._send_back(page, [(None, why)])
                return None
            _page.set(page)
            return await super().trigger(name, list(args or []), dict(kwargs or {}))

        @export_rpc("trame.force.push")
        def force_push_state(self, *keys: Any) -> None:
            state = self.server.state
            good = [k for k in keys[:MAX_FORCE_KEYS] if isinstance(k, str) and k in state]
            if good:
                super().force_push_state(*good)

        @export_rpc("trame.lifecycle.update")
        def life_cycle_update(self, name: Any = None, *_args: Any, **_kwargs: Any) -> None:
            if isinstance(name, str) and name in rules.LIFECYCLE:
                super().life_cycle_update(name)

        @export_rpc("trame.error.client")
        def js_error(self, message: Any = None, *_args: Any, **_kwargs: Any) -> None:
            text = "".join(c if c.isprintable() else " " for c in str(message)[:500])
            super().js_error(text)  # one line in the log, whatever the page sent

        @export_rpc("trame.state.get")
        def get_server_state(self, *_args: Any, **_kwargs: Any) -> Any:
            return super().get_server_state()

        def onConnect(self, request: Any, client_id: str) -> None:  # noqa: N802 (wslink's)
            if self.guard.lecture is not None:  # the request's cookie says who presents
                self.guard.lecture.connected(request, client_id)
            super().onConnect(request, client_id)

        def onClose(self, client_id: str) -> None:  # noqa: N802 (wslink's name)
            self.guard.forget(client_id)
            super().onClose(client_id)

    return GuardedProtocol
