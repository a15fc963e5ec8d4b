"""The page's ``index.html``: trame's own, with the browser player named in its head.

trame's page loads its scripts only after its websocket has connected and the state has come,
then mounts every control (about half a second of the browser's main thread), and only then did
the player start. Here the head also loads ``player.js`` and ``early.js`` and names the bundle
the server shows now, so the page fetches the bundle and draws its first picture while trame
connects and mounts, at the server's time and camera; ``viewer.js`` then moves that player into
the 3D view and drives it as before (``loadBundle``). When no bundle is ready yet (the first
start of a new scene), or the address asks for a view of its own (a shared link), the page starts
as it did.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.web.keys import Timeline, View

if TYPE_CHECKING:
    from app.web.app import ViewerApp

# what the index's head loads by itself (trame would otherwise load these after connecting)
HEAD_SCRIPTS = ("__pelvic_player/player.js", "__pelvic/early.js")
HEAD_STYLES = ("__pelvic/viewer.css",)


def trame_index() -> str:
    from trame_client.module.vue3 import www

    return (Path(www) / "index.html").read_text(encoding="utf-8")


def early_index(template: str, hint: dict[str, Any] | None) -> str:
    """``template`` (trame's index.html) with the page's player in its head, and ``hint``:
    ``{bundle: url, time, camera, labels, looks}``, what the server shows now (None: no bundle
    yet; looks: ``View.LOOKS``, each drawable's visibility, opacity and colour)."""
    hint = hint if hint and hint.get("bundle") else {}
    head = [f'<link rel="stylesheet" href="{html.escape(s)}" />' for s in HEAD_STYLES]
    if hint:  # fetched at once, beside trame's own scripts
        url = html.escape(hint["bundle"])
        head.append(f'<link rel="preload" as="fetch" crossorigin href="{url}" />')
    named = json.dumps(hint).replace("</", "<\\/")
    head.append(f"<script>window.PS_EARLY = {named};</script>")
    head += [f'<script defer src="{html.escape(s)}"></script>' for s in HEAD_SCRIPTS]
    return template.replace("</head>", "\n".join(head) + "\n</head>", 1)


def add_index(app: ViewerApp) -> None:
    """Serve ``early_index`` at ``/index.html`` (routes added at bind come before trame's
    static ones), and leave what its head loads out of trame's own lists."""
    state = app.state
    state.trame__scripts = [s for s in state.trame__scripts if s not in HEAD_SCRIPTS]
    state.trame__styles = [s for s in state.trame__styles if s not in HEAD_STYLES]
    template = trame_index()

    def bind(wslink_server: Any) -> None:
        from aiohttp import web

        async def handler(_request: web.Request) -> web.Response:
            bundle = state[View.BUNDLE] or {}
            hint = {"bundle": bundle.get("url"), "time": state[Timeline.TIME],
                    "camera": app.camera.current(), "labels": bool(state[View.LABELS]),
                    "looks": state[View.LOOKS] or None}
            return web.Response(text=early_index(template, hint),
                                content_type="text/html",
                                headers={"Cache-Control": "no-cache, no-store, must-revalidate"})

        async def launcher(_request: web.Request) -> web.Response:
            # trame's client first asks a session launcher (POST <page>/paraview/) where to
            # connect, and only after that request fails uses the page's own /ws: answered
            # here, the page connects at once and its console shows no failed request
            # ("use_host" is the page's own host; the client picks ws: or wss: as the page's)
            return web.json_response({"sessionURL": "ws://use_host/ws"})

        # "/" stays wslink's (or the lecture's) and sends the browser here
        wslink_server.app.add_routes([web.get("/index.html", handler),
                                      web.post("/paraview/", launcher)])

    app.ctrl.on_server_bind.add(bind)
