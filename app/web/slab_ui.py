"""Slab controls, the schematic MR panel beside the 3D view, and finding marks (thin).

What happens on a click is in ``slab_logic``; clipping the browser's own surfaces is in
``static/slab.js``.
"""

from __future__ import annotations

from trame.widgets import client, html
from trame.widgets import vuetify3 as v3

from app.web.keys import App
from app.web.keys import Slab as K
from app.web.keys import Trigger as T

ORIENTATIONS = [{"title": "Axial", "value": "axial"}, {"title": "Coronal", "value": "coronal"},
                {"title": "Sagittal", "value": "sagittal"}]
THICKNESSES = [2, 3, 4, 6, 10, 20]

STYLE = """
.ps-slab { position: absolute; bottom: 64px; right: 12px; z-index: 5; display: flex;
  flex-direction: column-reverse; align-items: flex-end; gap: 6px; max-width: 70%; }
.ps-slab-bar { display: flex; align-items: center; gap: 6px; flex-wrap: wrap;
  justify-content: flex-end; background: rgba(255,255,255,.92); border-radius: 8px;
  border: 1px solid rgba(0,0,0,.12); padding: 4px 8px; }
.ps-slab-bar .v-btn { text-transform: none; letter-spacing: 0; }
.ps-slab-select { width: 100px; flex: 0 0 auto; }
.ps-slab-thick { width: 88px; flex: 0 0 auto; }
.ps-slab-slider { flex: 1 1 120px; min-width: 100px; }
.ps-slab-controls { flex-wrap: nowrap; justify-content: stretch; border-radius: 0;
  border: 0; padding: 2px 6px; }
.ps-slab-controls .ps-slab-level { display: none; }
.ps-slab-level { font-size: .8rem; color: #333; white-space: nowrap; }
.ps-mr { position: absolute; top: 0; right: 0; bottom: 0; width: 42%; z-index: 4;
  background: #000; display: flex; flex-direction: column; }
.ps-mr img { width: 100%; flex: 1 1 auto; min-height: 0; object-fit: contain; }
.ps-mr-finding { background: rgba(20,20,24,.92); color: #eee; font-size: .86rem;
  padding: 8px 12px; line-height: 1.35; }
.ps-mr-finding b { color: #ffd36e; display: block; }
/* with the panel, the 3D view (local or remote) and its overlays take the left 58% */
.ps-view:has(> .ps-mr) > div:first-child { width: 58% !important; }
.ps-view:has(> .ps-mr) > .ps-remote, .ps-view:has(> .ps-mr) > .ps-labels { right: 42%; }
.ps-view:has(> .ps-mr) > .ps-slab, .ps-view:has(> .ps-mr) > .ps-presets,
.ps-view:has(> .ps-mr) > .ps-messages { right: calc(42% + 12px); }
.ps-view:has(> .ps-mr) > .ps-credit { max-width: calc(58% - 24px); }
.ps-findings { position: absolute; left: 12px; right: 12px; bottom: -4px; height: 0;
  pointer-events: none; }
.ps-finding { position: absolute; transform: translateX(-50%); font-size: 10px; line-height: 12px;
  z-index: 2;
  padding: 0 3px; border-radius: 3px; color: #fff; cursor: pointer; pointer-events: auto;
  white-space: nowrap; }
.ps-finding-MRI { background: #6a1b9a; }
.ps-finding-PET { background: #e65100; }
.ps-finding-on { outline: 2px solid #1976d2; }
"""


def build() -> None:
    """Inside the 3D view: the slab toggle and presets (bottom right) and, with a slab, the MR
    panel on the right with the slab's controls above it."""
    client.Style(STYLE)
    with html.Div(classes="ps-slab", id="slab", v_if=f"!{App.PRESENTING} || {K.ON}"):
        with html.Div(classes="ps-slab-bar"):
            v3.VBtn("Slab", prepend_icon=(f"{K.ON} ? 'mdi-layers' : 'mdi-layers-outline'",),
                    click=f"{K.ON} = !{K.ON}", size="small",
                    variant=(f"{K.ON} ? 'flat' : 'outlined'",), color="primary",
                    id="slab-toggle", title="A slab through the scene, with the MR panel (↑/↓ "
                                            "move it)")
            v3.VBtn("{{ p.label }}", v_for=f"p in {K.PRESETS}", key=("p.id",), size="small",
                    variant="tonal", click=f"trigger('{T.SL_PRESET}', [p.id])",
                    id=("'slab-preset-' + p.id",), title=("p.slab",))
    with html.Div(classes="ps-mr", v_if=f"{K.ON} && {K.PANEL}", id="mr-panel"):
        with html.Div(classes="ps-slab-bar ps-slab-controls", id="slab-controls"):
            v3.VSelect(v_model=(K.ORIENT,), items=("sl_orients", ORIENTATIONS),
                       density="compact", variant="outlined", hide_details=True,
                       classes="ps-slab-select", id="slab-orient")
            v3.VBtn(icon="mdi-chevron-down", size="x-small", variant="text",
                    click=f"trigger('{T.SL_STEP}', [-1])", id="slab-down", title="Down (↓)")
            v3.VSlider(v_model_number=(K.POS,), min=(K.MIN,), max=(K.MAX,), step=0.5,
                       hide_details=True, density="compact", color="primary",
                       classes="ps-slab-slider", id="slab-slider")
            v3.VBtn(icon="mdi-chevron-up", size="x-small", variant="text",
                    click=f"trigger('{T.SL_STEP}', [1])", id="slab-up", title="Up (↑)")
            v3.VSelect(v_model_number=(K.THICK,), items=("sl_thicks", [
                {"title": f"{t} mm", "value": float(t)} for t in THICKNESSES]),
                density="compact", variant="outlined", hide_details=True,
                classes="ps-slab-thick", id="slab-thick")
            v3.VBtn(icon=(f"{K.LABELS} ? 'mdi-label' : 'mdi-label-off-outline'",),
                    size="x-small", variant="text", click=f"{K.LABELS} = !{K.LABELS}",
                    id="slab-labels", title="Labels on the MR panel")
            html.Div(f"{{{{ {K.LABEL} }}}}", classes="ps-slab-level", id="slab-level")
        html.Img(src=(K.PANEL,), id="mr-image", alt="Schematic MR image of the slab")
        with html.Div(classes="ps-mr-finding", v_if=K.FINDING, id="mr-finding"):
            html.B(f"{{{{ {K.FINDING}.title }}}}")
            html.Span(f" {{{{ {K.FINDING}.text }}}}")
            html.Span(f" (Paper: {{{{ {K.FINDING}.figure }}}})", v_if=f"{K.FINDING}.figure")


def finding_marks(x_of) -> None:  # noqa: ANN001 - timeline_ui.x_of, passed to avoid a cycle
    """MRI and PET marks under the scrubber: a click sets the date and the slab."""
    with html.Div(classes="ps-findings", id="findings"):
        html.Div("{{ f.modality }}", v_for=f"f in {K.FINDINGS}", key=("f.id",),
                 classes=(f"['ps-finding', 'ps-finding-' + f.modality, "
                          f"{{'ps-finding-on': {K.FINDING} && {K.FINDING}.id === f.id}}]",),
                 style=(f"`left: ${{{x_of('f.time')}}}%; bottom: ${{f.row * 13}}px`",),
                 title=("f.label + ' (' + f.slab + '): ' + f.text",),
                 click=f"trigger('{T.SL_FINDING}', [f.id])", id=("'finding-' + f.id",))

