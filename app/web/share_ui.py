"""Share dialog (thin): the view as a link or a JSON file, and opening a view file."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

from app.web.keys import Share as K


def build() -> None:
    with v3.VDialog(v_model=(K.DIALOG,), max_width=640, id="share-dialog"):
        with v3.VCard(title="Share this view"):
            with v3.VCardText():
                html.P("The link restores the scenario, time, camera, visible structures, "
                       "opacity, colours and labels.", classes="text-body-2 mb-2")
                v3.VTextField(model_value=("window.location.origin + window.location.pathname"
                                           f" + '?' + {K.QUERY}",),
                              readonly=True, density="compact", variant="outlined",
                              hide_details=True, id="share-link", label="Link")
            with v3.VCardActions():
                v3.VBtn("Copy link", prepend_icon="mdi-content-copy",
                        click="window.pelvic.copyLink()", id="share-copy")
                v3.VBtn("Download view (JSON)", prepend_icon="mdi-download",
                        click="window.pelvic.downloadView()", id="share-download")
                v3.VBtn("Open view file…", prepend_icon="mdi-upload",
                        click="window.pelvic.openView()", id="share-open")
                v3.VSpacer()
                v3.VBtn("Close", click=f"{K.DIALOG} = false")
