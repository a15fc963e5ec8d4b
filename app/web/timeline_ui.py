"""Timeline bar (thin): play/pause, stages, a dated scrubber, speed, and the PSA chart.

The date, the scrubber's thumb and the chart's "now" line show what this page's player shows
(``tl_now``, kept by viewer.js), so they move with the picture during playback while the server
sets ``tl_time`` only every so often; moving the scrubber sets ``tl_time`` for every page.
"""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

from app.web.keys import Timeline as K
from app.web.keys import Trigger as T
from app.web.timeline_logic import SPEEDS

# x position (percent) of a time on the scrubber and chart
X = f"(100 * (({{t}}) - {K.START}) / Math.max(1e-9, {K.DURATION} - {K.START}))"


def x_of(expr: str) -> str:
    return X.format(t=expr)


NOW = f"({K.NOW} || {{}})"  # what this page's player shows now ({} until it is there)
NOW_TIME = f"({NOW}.time ?? {K.TIME})"
NOW_STAGE = f"({NOW}.stage ?? {K.STAGE})"


def build() -> None:
    with html.Div(classes="ps-timeline", id="timeline"):
        with html.Div(classes="d-flex align-center ga-1"):
            v3.VBtn(icon="mdi-skip-previous", variant="text", density="comfortable",
                    click=f"trigger('{T.TL_PREV}')", id="tl-prev", title="Previous stage (←)")
            v3.VBtn(icon=(f"{K.PLAYING} ? 'mdi-pause' : 'mdi-play'",), color="primary",
                    variant="flat", density="comfortable", click=f"trigger('{T.TL_TOGGLE}')",
                    id="tl-play", title=(f"{K.PLAYING} ? 'Pause (space)' : 'Play (space)'",))
            v3.VBtn(icon="mdi-skip-next", variant="text", density="comfortable",
                    click=f"trigger('{T.TL_NEXT}')", id="tl-next", title="Next stage (→)")
            html.Div(f"{{{{ {NOW}.label || {K.DATE_LABEL} }}}}", classes="ps-date", id="tl-date",
                     title=(K.DATE,))
            html.Div(f"{{{{ {NOW_STAGE} >= 0 && {K.STAGES}[{NOW_STAGE}] ? "
                     f"{K.STAGES}[{NOW_STAGE}].title : '' }}}}",
                     classes="ps-stage-title text-truncate", id="tl-stage")
            v3.VSpacer()
            v3.VSelect(v_model=(K.SPEED,), items=("speeds", [
                {"title": f"{s:g}×", "value": s} for s in SPEEDS]),
                density="compact", variant="outlined", hide_details=True,
                label="Speed", classes="ps-speed", id="tl-speed")
        # scrubber with stage marks above and years below
        with html.Div(classes="ps-scrub"):
            with html.Div(classes="ps-marks"):
                html.Div(v_for=f"(st, i) in {K.STAGES}", key=("st.id",),
                         classes=(f"['ps-mark', {{'ps-mark-on': i === {NOW_STAGE}}}]",),
                         style=(f"`left: ${{{x_of('st.time')}}}%`",),
                         title=("st.title + ' (' + st.start.slice(0, 7) + ')'",),
                         click=f"trigger('{T.TL_STAGE}', [i])", id=("'stage-' + st.id",))
            v3.VSlider(model_value=(NOW_TIME,), update_modelValue=f"{K.TIME} = $event",
                       min=(K.START,), max=(K.DURATION,),
                       step=0.01, hide_details=True, density="compact", color="primary",
                       track_size=4, thumb_size=14, classes="ps-slider", id="tl-slider")
            with html.Div(classes="ps-years"):
                html.Div("{{ tk.label }}", v_for=f"tk in {K.TICKS}", key=("tk.label",),
                         classes="ps-year", style=(f"`left: ${{{x_of('tk.time')}}}%`",))
            from app.web.slab_ui import finding_marks

            finding_marks(x_of)  # MRI and PET findings: a click sets the date and the slab
        # PSA over the dates, with the current date and the clinical events
        with html.Div(v_if=f"{K.PSA}.length || {K.EVENTS}.length", classes="ps-psa",
                      id="psa-chart"):
            html.Div(f"{{{{ {K.MARKER}.name }}}} {{{{ {K.PSA_TOP} }}}}", classes="ps-psa-axis",
                     title=(f"{K.MARKER}.name + ' in ' + {K.MARKER}.unit "
                            "+ ' (top of the chart)'",))
            with html.Div(classes="ps-psa-plot"):
                html.Div(v_html=(K.PSA_SVG,), classes="ps-psa-svg")
                html.Div(v_for=f"p in {K.PSA}", key=("p.date",), classes="ps-psa-dot",
                         style=(f"`left: ${{{x_of('p.time')}}}%; bottom: "
                                f"${{5 + 85 * Math.min(p.value, {K.PSA_TOP}) / {K.PSA_TOP}}}%`",),
                         title=("p.text + ', ' + p.date + (p.note ? ' (' + p.note + ')' : '')",))
                with html.Div(v_for=f"(e, i) in {K.EVENTS}", key=("e.id",),
                              classes=("['ps-event', 'ps-event-' + e.side, "
                                       "{'ps-event-low': i % 2 === 1}]",),
                              style=(f"`left: ${{{x_of('e.time')}}}%`",),
                              title=("e.label + ' (' + e.date + ')'",),
                              click=f"trigger('{T.TL_EVENT}', [e.id])", id=("'event-' + e.id",)):
                    html.Span("{{ e.short }}", classes="ps-event-label")
                html.Div(classes="ps-now", style=(f"`left: ${{{x_of(NOW_TIME)}}}%`",))
