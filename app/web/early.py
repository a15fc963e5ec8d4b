"""The page's ``index.html``: trame's own, with the browser player named in its head.

trame's page loads its scripts only after its websocket has connected and the state has come,
then mounts every control (about half a second of the browser's main thread), and only then did
the player start. Here the head also loads ``player.js`` and ``early.js`` and names the bundle
the server shows now, so the page fetches the bundle and draws its first picture while trame
connects and mounts; ``viewer.js`` then moves that player into the 3D view and drives it as
before (``loadBundle``). When no bundle is ready yet (the first start of a new scene), the page
starts as it did.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.web.keys import View

if TYPE_CHECKING:
    from app.web.app import ViewerApp

# what the index's head loads by itself (trame would otherwise load these after connecting)
HEAD_SCRIPTS = ("__pelvic_player/player.js", "__pelvic/early.js")
HEAD_STYLES = ("__pelvic/viewer.css",)


def trame_index() -> str:
    from trame_client.module.vue3 import www

    return (Path(www) / "index.html").read_text(encoding="utf-8")


def early_index(template: str, bundle_url: str | None) -> str:
    """``template`` (trame's index.html) with the page's player, and ``bundle_url``, in its head."""
    hint = json.dumps({"bundle": bundle_url} if bundle_url else {}).replace("</", "<\\/")
    head = [f'<link rel="stylesheet" href="{html.escape(s)}" />' for s in HEAD_STYLES]
    if bundle_url:  # fetched at once, beside trame's own scripts
        url = html.escape(bundle_url)
        head.append(f'<link rel="preload" as="fetch" crossorigin href="{url}" />')
    head.append(f"<script>window.PS_EARLY = {hint};</script>")
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
            return web.Response(text=early_index(template, bundle.get("url")),
                                content_type="text/html",
                                headers={"Cache-Control": "no-cache, no-store, must-revalidate"})

        # "/" stays wslink's (or the lecture's) and sends the browser here
        wslink_server.app.add_routes([web.get("/index.html", handler)])

    app.ctrl.on_server_bind.add(bind)
