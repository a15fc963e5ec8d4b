"""What the server holds, counted: for long-session checks (``benchmarks/soak.py``).

``GET /__census`` answers a small JSON document: the VTK renderers, props and observers of
the viewer's render window, the export jobs listed, the pages connected and the refused
messages so far. It reads counts only, takes no input and changes nothing, so it needs no key;
it says nothing a page could not see (no paths, no state values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.web.app import ViewerApp

ROUTE = "/__census"


def observers(obj: Any) -> int:
    """Observers on a VTK object: tags are numbered from 1 per object, so probe them all."""
    if obj is None:
        return 0
    probe = obj.AddObserver("UserEvent", lambda *_: None)
    obj.RemoveObserver(probe)
    return sum(obj.GetCommand(tag) is not None for tag in range(1, probe))


def vtk_census(plotter: Any) -> dict[str, int]:
    """Renderers, props (actors and 2D text) and observers in ``plotter``'s window."""
    window = plotter.render_window
    rens = window.GetRenderers()
    renderers = [rens.GetItemAsObject(i) for i in range(rens.GetNumberOfItems())]
    return {
        "renderers": len(renderers),
        "layers": int(window.GetNumberOfLayers()),
        "props": sum(r.GetViewProps().GetNumberOfItems() for r in renderers),
        "observers": (observers(window) + observers(window.GetInteractor())
                      + observers(plotter.camera) + sum(observers(r) for r in renderers)),
    }


def census(app: ViewerApp) -> dict[str, Any]:
    protocol = app.server.protocol
    web = getattr(protocol, "_web", None)
    pages = sum(len(getattr(h, "connections", {})) for h in getattr(web, "_ws_handlers", ()))
    return {
        "vtk": vtk_census(app.engine.plotter),
        "scenario": app.engine.path.stem,
        "pages": pages,
        "export_jobs": len(app.export.jobs.list()),
        "refused": getattr(getattr(app, "guard", None), "refused", 0),
    }


def add_route(app: ViewerApp) -> None:
    """Serve ``census(app)`` at ``ROUTE`` once the web server is bound."""

    def bind(wslink_server: Any) -> None:
        from aiohttp import web

        async def handler(_request: web.Request) -> web.Response:
            return web.json_response(census(app), headers={"Cache-Control": "no-store"})

        wslink_server.app.add_routes([web.get(ROUTE, handler)])

    app.ctrl.on_server_bind.add(bind)
