"""Export dialog (thin): size, fps, range, format; this page's job (its place in the shared
queue, progress, a download link when done) and the queue's length."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

from app.web.export_logic import FORMATS, SIZES
from app.web.keys import Export as K
from app.web.keys import Trigger as T
from app.web.rules import EXPORT_CHOICES

RANGES = [{"title": "Whole animation", "value": "whole"},
          {"title": "Current stage", "value": "stage"},
          {"title": "From / to dates", "value": "dates"}]

# the choices as this page has them, sent with the click (its writes may still be queued)
CLICKED = "{" + ", ".join(f"{k}: {k}" for k in EXPORT_CHOICES) + "}"


def build() -> None:
    mine = f"{K.JOBS}.filter(j => {K.MINE} && j.id === {K.MINE}.id)"
    busy = f"{mine}.some(j => ['queued', 'running'].includes(j.state))"
    running = f"{K.JOBS}.filter(j => j.state === 'running').length"
    waiting = f"{K.JOBS}.filter(j => j.state === 'queued').length"
    with v3.VDialog(v_model=(K.DIALOG,), max_width=560, id="export-dialog"):
        with v3.VCard(title="Export a clip"):
            with v3.VCardText():
                with v3.VRow(dense=True):
                    with v3.VCol(cols=6):
                        v3.VSelect(v_model=(K.SIZE,), items=(K.SIZES, list(SIZES)),
                                   label="Size", density="compact", id="ex-size")
                    with v3.VCol(cols=3):
                        v3.VSelect(v_model=(K.FPS,), items=(K.FPSS, [10, 15, 24, 25, 30]),
                                   label="fps", density="compact", id="ex-fps")
                    with v3.VCol(cols=3):
                        v3.VSelect(v_model=(K.FORMAT,), items=(K.FORMATS, list(FORMATS)),
                                   label="Format", density="compact", id="ex-format")
                with v3.VRadioGroup(v_model=(K.RANGE,), inline=True, density="compact",
                                    hide_details=True, id="ex-range"):
                    for r in RANGES:
                        v3.VRadio(label=r["title"], value=r["value"],
                                  id=f"ex-range-{r['value']}")
                with v3.VRow(dense=True, v_if=f"{K.RANGE} === 'dates'"):
                    with v3.VCol(cols=6):
                        v3.VTextField(v_model=(K.FROM,), label="From (YYYY-MM or YYYY-MM-DD)",
                                      density="compact", id="ex-from")
                    with v3.VCol(cols=6):
                        v3.VTextField(v_model=(K.TO,), label="To", density="compact",
                                      id="ex-to")
                # this page's own job (all pages share the queue and see its length)
                with html.Div(v_for=f"job in {mine}", key=("job.id",), classes="mt-2",
                              id="ex-status"):
                    v3.VProgressLinear(model_value=("100 * (job.progress || 0)",),
                                       height=8, rounded=True, color="primary",
                                       v_if="job.state !== 'error'")
                    html.Div("{{ job.state === 'running' ? Math.round(100 * job.progress) + '%'"
                             " + (job.eta_s != null ? ', about ' + Math.ceil(job.eta_s)"
                             " + ' s left' : '') : job.state === 'queued' ? 'Waiting: number '"
                             " + job.position + ' in the queue' : job.state }}",
                             classes="text-body-2 mt-1", id="ex-progress")
                    v3.VAlert("{{ job.error }}", v_if="job.state === 'error'",
                              type="error", density="compact", id="ex-error")
                    html.A("Download {{ job.filename }}", v_if="job.url",
                           href=("job.url",), download=("job.filename",),
                           id="ex-download", classes="text-body-1")
                v3.VAlert(f"{{{{ {K.MINE}.error }}}}", v_if=f"{K.MINE} && {K.MINE}.error",
                          type="error", density="compact", classes="mt-2", id="ex-refused")
                html.Div(f"{{{{ {running} }}}} rendering, {{{{ {waiting} }}}} waiting "
                         "(one clip per processor core at a time)",
                         v_if=f"{running} + {waiting} > 0", classes="text-caption mt-1",
                         id="ex-queue")
            with v3.VCardActions():
                v3.VBtn("Export", color="primary", variant="flat", prepend_icon="mdi-movie",
                        click=f"trigger('{T.EX_START}', [{CLICKED}]).then(r => {K.MINE} = r)",
                        id="ex-start", disabled=(busy,))
                v3.VBtn("Cancel export", click=f"trigger('{T.EX_CANCEL}', [{K.MINE}.id])",
                        id="ex-cancel", v_if=busy)
                v3.VSpacer()
                v3.VBtn("Close", click=f"{K.DIALOG} = false")
