"""``pelvic-spread serve``: the viewer on a local web server."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from app.case import load_scene, resolve_scene_path


def free_port(host: str) -> int:
    """A port nobody listens on now (for ``--port 0``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_loopback(host: str) -> bool:
    """Only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may well resolve to a network address
        return False


OPEN_WARNING = (
    "Warning: serving on {host}, not only on this machine: every page that can reach this "
    "address can drive the view that all pages share (time, scenario, camera, structures, "
    "exports). To keep that to one page, serve a lecture with --lecture: then only the "
    "page holding the presenter's key can.")


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def quiet_disconnects() -> None:
    """A browser closed mid-transfer is normal (a reload, a closed tab): no traceback for it."""
    loop = asyncio.get_event_loop()
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if isinstance(context.get("exception"), ConnectionError):
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    for name in ("wslink.protocol", "aiohttp.server", "aiohttp.web"):
        logging.getLogger(name).addFilter(_NoDisconnects())


class _NoDisconnects(logging.Filter):
    """Drops the log lines of a write to a browser that has gone (wslink logs a bare
    "Exception raised" line before the exception itself, which is still shown otherwise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        text = str(record.getMessage())
        return not (isinstance(exc, ConnectionError) or "closing transport" in text
                    or "ConnectionReset" in text or text == "Exception raised")


def make_server(scene_arg: str | None, export_dir: Path | str | None = None,
                name: str = "pelvic-spread", build_later: bool = False,
                export_limit: int | None = None) -> tuple[Any, Any]:
    """A trame server with the viewer on it (not started): ``(server, app)``.

    Raises SceneError for a bad scene before anything is served. ``build_later``: the 3D
    scene is built once the server listens (see ``ViewerApp``). ``export_limit``: bytes the
    export folder may hold (default ``jobs.DEFAULT_LIMIT_BYTES``).
    """
    path = resolve_scene_path(scene_arg)
    scene = load_scene(path)  # fail early, with FILE:LINE messages
    from trame.app import get_server

    from app.web.app import ViewerApp

    server = get_server(name, client_type="vue3")
    app = ViewerApp(server, scene, export_dir=export_dir, build_later=build_later)
    if export_limit is not None:
        app.export.jobs.max_bytes = export_limit
    from app.web.census import add_route

    add_route(app)  # GET /__census: counts for long-session checks, read-only
    from app.web.early import add_index

    add_index(app)  # GET /: trame's page, drawing its first picture while it connects
    return server, app


def serve(scene_arg: str | None, host: str = "127.0.0.1", port: int = 8080,
          open_browser: bool = False, lecture: bool = False,
          presenter_key: str | None = None, relay: str | None = None,
          export_limit: int | None = None) -> int:
    """Serve the viewer until interrupted; prints the address once it is listening.

    ``lecture``: only the page holding the presenter's key drives; followers watch at
    ``/follow`` (``app.lecture``), through Redis relays too when ``relay`` names one."""
    if relay:
        from app.lecture.relay import check_url

        check_url(relay)  # before anything is built
    if not is_loopback(host) and not lecture:
        print(OPEN_WARNING.format(host=host), file=sys.stderr, flush=True)
    server, app = make_server(scene_arg, os.environ.get("PELVIC_SPREAD_EXPORTS"),
                              build_later=True, export_limit=export_limit)
    if port == 0:
        port = free_port(host)
    hub = None
    if lecture:
        from app.lecture.hub import LectureHub

        hub = LectureHub(app, key=presenter_key, relay_url=relay)

    def announce(**_: Any) -> None:
        quiet_disconnects()
        real = server.port or port
        name = app._scene_arg.name  # the validated scene (its actors may still be building)
        print(f"Serving {name} at {url_for(host, real)}", flush=True)
        if hub is not None:
            presenter, followers = hub.addresses(url_for(host, real))
            print(f"Presenter (keep this address to yourself): {presenter}\n"
                  f"Followers: {followers}\n"
                  f"Follower files (static; any web server can serve them): "
                  f"{hub.assets.root}", flush=True)

    server.controller.on_server_ready.add(announce)
    argv = sys.argv
    sys.argv = argv[:1]  # trame parses sys.argv itself; our CLI has already done that
    try:
        server.start(host=host, port=port, open_browser=open_browser,
                     show_connection_info=False, disable_logging=True, timeout=0)
    finally:
        sys.argv = argv
        app.engine.close()
        if hub is not None:
            hub.close()
    return 0
