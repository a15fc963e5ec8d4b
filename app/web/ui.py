"""The page (thin): app bar, structure drawer, 3D view with overlays, timeline bar, dialogs.

Only layout and bindings live here; what happens on a click is in the ``*_logic`` modules and,
for what must happen in the browser itself, in ``static/viewer.js``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from trame.ui.vuetify3 import VAppLayout
from trame.widgets import client, html
from trame.widgets import vtk as vtk_widgets
from trame.widgets import vuetify3 as v3
from trame_client.widgets.core import HTML_CTX, AbstractElement

from app.web import export_ui, share_ui, slab_ui, structure_ui, timeline_ui
from app.web.keys import PLAYER_ID, REMOTE_REF, App, Share, Timeline, View
from app.web.keys import Trigger as T

if TYPE_CHECKING:
    from app.web.app import ViewerApp

STATIC_NAME = "__pelvic"
NAMES_NAME = "__pelvic_names"
PLAYER_NAME = "__pelvic_player"


def enable_static(server) -> None:  # noqa: ANN001
    """The page's own scripts: ``names.js`` (every state key and trigger name, written from
    ``keys.py`` at start), the browser player (``app/player/static/player.js``, the same file
    an exported case.html inlines) and ``viewer.js``, which spells no name by hand."""
    import atexit
    import shutil
    import tempfile

    from app.player.export import STATIC as PLAYER_STATIC
    from app.web.app import STATIC
    from app.web.keys import js_module

    names_dir = Path(tempfile.mkdtemp(prefix="pelvic-spread-names-"))
    atexit.register(shutil.rmtree, names_dir, True)
    (names_dir / "names.js").write_text(js_module())
    server.enable_module({
        "serve": {STATIC_NAME: str(STATIC), NAMES_NAME: str(names_dir),
                  PLAYER_NAME: str(PLAYER_STATIC)},
        "scripts": [f"{NAMES_NAME}/names.js", f"{PLAYER_NAME}/player.js",
                    f"{STATIC_NAME}/viewer.js", f"{STATIC_NAME}/slab.js"],
        "styles": [f"{STATIC_NAME}/viewer.css"],
    })


def build_ui(app: ViewerApp) -> None:
    server = app.server
    enable_static(server)
    server.state.trame__title = "Pelvic spread"
    with _rendered_once(), VAppLayout(server, full_height=True) as layout:
        layout.root.classes = (f"{{'ps-presenting': {App.PRESENTING}}}",)
        client.Style("html { overflow: hidden; }")
        _app_bar()
        with v3.VNavigationDrawer(v_model=(App.PANEL,), width=310, id="structure-panel",
                                  v_if=f"!{App.PRESENTING}"):
            structure_ui.build()
        with v3.VMain(classes="ps-main"):
            with html.Div(classes="ps-stage"):
                with html.Div(classes="ps-view", id="view3d"):
                    # the browser player draws here (viewer.js mounts it from the bundle)
                    html.Div(id=PLAYER_ID, classes="ps-player")
                    with html.Div(v_if=f"{View.MODE} === 'remote' && {View.REMOTE_READY}",
                                  classes="ps-remote"):
                        app.remote_view = vtk_widgets.VtkRemoteView(
                            app.remote_window(), ref=REMOTE_REF, interactive_ratio=1,
                            interactive_quality=70, still_quality=95,
                            raw_attrs=['is="vtk-remote-view"'])
                        # <component is=...>: Vue looks the view up as it shows it (after
                        # viewer.js has loaded trame-vtk), not once as the page mounts
                        app.remote_view._elem_name = "component"
                    _overlays()
                    slab_ui.build()
                with html.Div(v_if=App.HAS_SPREAD):
                    timeline_ui.build()
        share_ui.build()
        export_ui.build()
    _defer_remote_view(server)


def _defer_remote_view(server) -> None:  # noqa: ANN001
    """trame-vtk's script (1.7 MB) only shows the server's images (remote mode), so the page
    loads it after its first picture (``viewer.js``) rather than before its controls mount:
    evaluating it held every page's start for 0.3-0.4 s. Its files are still served."""
    from trame_vtk.modules.common import scripts, vue_use

    state = server.state
    state.setdefault(View.REMOTE_READY, False)
    state[View.REMOTE_LIB] = {"scripts": list(scripts), "use": list(vue_use)}
    state.trame__scripts = [s for s in state.trame__scripts if s not in scripts]
    state.trame__vue_use = [u for u in state.trame__vue_use if u not in vue_use]


@contextmanager
def _rendered_once() -> Iterator[None]:
    """Widgets whose ``with`` block closes inside this one render nothing by themselves.

    trame renders a widget's whole subtree when its block closes (so that the state keys its
    attributes name get their defaults early), and the layout renders the whole page again
    when it closes: nested blocks rendered this page's 900 widgets about 2,300 times, half a
    second of every ``serve`` start. The layout's own rendering, once, gives the state the
    same defaults before any page connects."""
    original = AbstractElement.__exit__
    AbstractElement.__exit__ = lambda element, *_: HTML_CTX.exit(element)
    try:
        yield
    finally:
        AbstractElement.__exit__ = original


# what this page's player shows now (viewer.js keeps it; {} until the player is there)
NOW = f"({Timeline.NOW} || {{}})"


def _app_bar() -> None:
    with v3.VAppBar(density="compact", flat=True, border="b", classes="ps-bar",
                    v_if=f"!{App.PRESENTING}"):
        v3.VAppBarNavIcon(click=f"{App.PANEL} = !{App.PANEL}", title="Structures",
                          id="panel-toggle")
        html.Div("Pelvic spread", classes="ps-title")
        v3.VSelect(v_model=(App.SCENARIO,), items=(App.SCENARIOS,), density="compact",
                   variant="outlined", hide_details=True, label="Scenario",
                   classes="ps-scenario ml-3", id="scenario")
        v3.VSpacer()
        v3.VBtn(icon=(f"{View.LABELS} ? 'mdi-label' : 'mdi-label-off-outline'",),
                click=f"{View.LABELS} = !{View.LABELS}", title="Labels on key structures",
                id="labels", variant="text")
        v3.VBtn(icon=(f"{View.MODE} === 'local' ? 'mdi-monitor' : 'mdi-server'",),
                click=f"{View.MODE} = ({View.MODE} === 'local' ? 'remote' : 'local')",
                title=(f"{View.MODE} === 'local' ? 'Rendering in this browser (click: on "
                       "the server)' : 'Rendering on the server (click: in this browser)'",),
                id="mode", variant="text")
        v3.VBtn(icon="mdi-camera", click="window.pelvic.screenshot()", id="screenshot",
                title="Download a picture (PNG)", variant="text")
        v3.VBtn(icon="mdi-share-variant", click=f"trigger('{T.SH_REFRESH}'); {Share.DIALOG} = true",
                id="share", title="Share this view (link or file)", variant="text")
        v3.VBtn(icon="mdi-movie-open", click="ex_dialog = true", id="export",
                title="Export a clip", variant="text", v_if=App.HAS_SPREAD)
        v3.VBtn(icon="mdi-presentation-play", click="window.pelvic.present(true)",
                id="present", title="Presentation mode (Esc leaves)", variant="text")


def _presets() -> None:
    with html.Div(classes="ps-presets", id="presets"):
        with v3.VBtnToggle(model_value=(View.CAMERA,), density="compact", variant="elevated",
                           divided=True, mandatory=False):
            v3.VBtn("{{ p.label.split(' (')[0] }}", v_for=f"p in {View.PRESETS}",
                    key=("p.name",), value=("p.name",), size="small",
                    click=f"trigger('{T.CAM_PRESET}', [p.name])",
                    id=("'cam-' + p.name",), title=("p.label + ' (key ' + p.key + ')'",))


def _overlays() -> None:
    _presets()
    # caption card: what the player shows now (its stage from the bundle, so the words change
    # with the picture), the server's caption until the player is there; labels on key
    # structures are the player's own
    def now(field: str) -> str:
        return f"({NOW}.date ? {NOW}.{field} : ({Timeline.CAPTION} || {{}}).{field})"

    with html.Div(v_if=f"{NOW}.date ? {NOW}.stage >= 0 : {Timeline.CAPTION}",
                  classes="ps-caption", id="caption"):
        html.Div(f"{{{{ {NOW}.label || {Timeline.DATE_LABEL} }}}}", classes="ps-caption-date")
        html.Div(f"{{{{ {now('title')} }}}}", classes="ps-caption-title", id="caption-title")
        html.Div(f"{{{{ {now('caption')} }}}}", classes="ps-caption-text")
        with html.Div(classes="ps-caption-foot"):
            html.Span(f"{{{{ {now('psa')} }}}}", classes="ps-caption-psa")
            html.Span(f"Paper: {{{{ {now('source')} }}}}", v_if=now("source"),
                      classes="ps-caption-source")
    # legend and credit
    with html.Div(v_if=App.HAS_SPREAD, classes="ps-legend", id="legend"):
        with html.Div(v_for=f"e in {App.LEGEND}", key=("e.style",), classes="ps-legend-row"):
            html.Span(classes=("['ps-arrow', 'ps-arrow-' + e.style]",))
            html.Span("{{ e.text }}")
        with html.Div(classes="ps-legend-row"):
            html.Span(classes="ps-swatch ps-swatch-front")
            html.Span("tumour front, just reached")
        with html.Div(classes="ps-legend-row"):
            html.Span(classes="ps-swatch ps-swatch-calm")
            html.Span("nerve involved")
    html.Div(f"{{{{ {App.CREDIT} }}}}", v_if=App.CREDIT, classes="ps-credit", id="credit")
    # messages (bad links, failed loads): never a dead view, always words
    with html.Div(classes="ps-messages", id="messages"):
        v3.VAlert("{{ m.text }}", v_for=f"m in {App.MESSAGES}", key=("m.id",),
                  type=("m.kind",), density="compact", closable=True, variant="elevated",
                  click_close=f"trigger('{T.APP_DISMISS}', [m.id])", classes="mb-1")
        # this page's own notes (a change of its that the server refused)
        v3.VAlert("{{ n.text }}", v_for=f"n in {App.NOTES}", key=("n.id",), type=("n.kind",),
                  density="compact", closable=True, variant="elevated", classes="mb-1 ps-note",
                  click_close=f"{App.NOTES} = {App.NOTES}.filter(x => x.id !== n.id)")
    # presentation mode: a way out for mouse users too
    v3.VBtn(icon="mdi-close", v_if=App.PRESENTING, classes="ps-exit", size="small",
            click="window.pelvic.present(false)", title="Leave presentation mode (Esc)",
            id="present-exit")
    html.Div("Loading the 3D scene…", classes="ps-loading")  # viewer.js hides it
