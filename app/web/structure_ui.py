"""Structure panel (thin): tree with search, show/hide, isolate; opacity and colour of one."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

from app.web.keys import Structure as K
from app.web.keys import Trigger as T

SEL = K.SELECTED


def build() -> None:
    with html.Div(classes="ps-structure d-flex flex-column", style="height: 100%"):
        with html.Div(classes="d-flex align-center pa-2 ga-1"):
            v3.VTextField(v_model=(K.SEARCH,), placeholder="Search structures",
                          prepend_inner_icon="mdi-magnify", density="compact",
                          variant="outlined", hide_details=True, clearable=True,
                          id="st-search", click_clear=f"{K.SEARCH} = ''")
        with html.Div(classes="d-flex px-2 ga-1"):
            v3.VBtn("Show all", size="small", variant="tonal", prepend_icon="mdi-eye",
                    click=f"trigger('{T.ST_SHOW_ALL}')", id="st-show-all")
            v3.VBtn("Reset", size="small", variant="tonal", prepend_icon="mdi-restore",
                    click=f"trigger('{T.ST_RESET}')", id="st-reset",
                    title="Back to the scene's own visibility, opacity and colours")
            v3.VSpacer()
            v3.VChip("isolated", v_if=K.ISOLATED, size="small", color="primary",
                     closable=True, click_close=f"trigger('{T.ST_ISOLATE}', [''])")
        with html.Div(classes="ps-tree flex-grow-1 px-1", id="st-tree"):
            with html.Div(v_for=f"row in {K.ROWS}", key=("row.id",),
                          id=("'row-' + row.id",),
                          classes=("['ps-row', {'ps-off': row.off, 'ps-sel': row.id === "
                                   f"{SEL}, 'ps-iso': row.id === {K.ISOLATED}}}]",),
                          style=("`padding-left: ${4 + row.depth * 14}px`",)):
                v3.VIcon(v_if="row.group", size="small", classes="ps-caret",
                         icon=(f"{K.EXPANDED}.includes(row.id) || {K.SEARCH} ? "
                               "'mdi-chevron-down' : 'mdi-chevron-right'",),
                         click=f"trigger('{T.ST_EXPAND}', [row.id])")
                html.Span(v_else=True, classes="ps-caret-space")
                v3.VIcon(icon=("row.off ? 'mdi-eye-off-outline' : 'mdi-eye'",), size="small",
                         classes="ps-eye", click=f"trigger('{T.ST_TOGGLE}', [row.id])",
                         title=("row.off ? 'Show ' + row.name : 'Hide ' + row.name",))
                html.Span(
                    "{{ row.name }}", classes="ps-name",
                    click=f"{SEL} = ({SEL} === row.id ? '' : row.id)",
                    title=("row.id",))
                v3.VIcon(icon="mdi-target", size="small", classes="ps-iso-btn",
                         click=f"trigger('{T.ST_ISOLATE}', [row.id])",
                         title=("'Isolate ' + row.name + ' (others faint)'",))
        # the selected structure: opacity and colour
        with html.Div(v_if=SEL, classes="ps-selected pa-2", id="st-selected"):
            html.Div(f"{{{{ ({K.ROWS}.find(r => r.id === {SEL}) || {{name: {SEL}}}).name }}}}",
                     classes="text-subtitle-2")
            v3.VSlider(
                model_value=(f"{K.OPACITY}[{SEL}] ?? ({K.DEFAULTS}[{SEL}] || {{}}).opacity ?? 1",),
                update_modelValue=f"trigger('{T.ST_SET_OPACITY}', [{SEL}, $event])",
                min=0, max=1, step=0.05, density="compact", hide_details=True,
                label="Opacity", id="st-opacity", thumb_label=True)
            with html.Div(classes="d-flex align-center ga-2"):
                html.Span("Colour", classes="text-body-2")
                html.Input(
                    type="color", id="st-color",
                    value=(f"{K.COLOR}[{SEL}] || ({K.DEFAULTS}[{SEL}] || {{}}).color "
                           "|| '#cccccc'",),
                    disabled=(f"{K.SPREAD_NODES}.includes({SEL})",),
                    change=f"trigger('{T.ST_SET_COLOR}', [{SEL}, $event.target.value])")
                html.Span("coloured by the spread", v_if=f"{K.SPREAD_NODES}.includes({SEL})",
                          classes="text-caption text-medium-emphasis")
                v3.VSpacer()
                v3.VBtn(f"{{{{ {K.ISOLATED} === {SEL} ? 'End isolation' : 'Isolate' }}}}",
                        size="small", variant="text",
                        click=f"trigger('{T.ST_ISOLATE}', [{SEL}])")
