"""Shareable views: the page's state to a link or a JSON file and back.

Applying a view checks it against the scene: an unknown structure, scenario or camera, or a
time outside the timeline, becomes a message on the page and the rest of the view still
applies. Nothing a link says can stop the page from working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.web.engine import Camera
from app.web.keys import App, Share, Structure, Timeline, Trigger, View
from app.web.viewstate import ViewState

if TYPE_CHECKING:
    from app.web.app import ViewerApp


class ShareLogic:
    def __init__(self, app: ViewerApp):
        self.app = app
        app.state.setdefault(Share.QUERY, "")
        app.state.setdefault(Share.DIALOG, False)
        ctrl = app.ctrl
        ctrl.trigger(Trigger.SH_APPLY_QUERY)(self.apply_query)
        ctrl.trigger(Trigger.SH_APPLY_JSON)(self.apply_json)
        ctrl.trigger(Trigger.SH_JSON)(self.json)
        ctrl.trigger(Trigger.SH_REFRESH)(self.refresh)

    # -- out -------------------------------------------------------------------------------
    def current(self) -> ViewState:
        s = self.app.state
        preset = s[View.CAMERA]
        camera: str | Camera = preset if preset else self.app.engine.camera()
        time, date = self._moment()
        return ViewState(
            scenario=s[App.SCENARIO],
            time=time,
            date=date,
            camera=camera,
            hidden=tuple(s[Structure.HIDDEN] or ()),
            isolated=s[Structure.ISOLATED] or None,
            opacity=dict(s[Structure.OPACITY] or {}) or None,
            color=dict(s[Structure.COLOR] or {}) or None,
            mode=s[View.MODE],
            labels=bool(s[View.LABELS]),
        )

    def _moment(self) -> tuple[float | None, str | None]:
        """(time, None), or (None, date) when the time is the start of a day (stages and
        events are): ``date=2013-08-01`` reads better in a link than 35.9968..."""
        spread = self.app.engine.spread
        if spread is None:
            return None, None
        t = float(self.app.state[Timeline.TIME])
        date = spread.date_of_time(t)
        if abs(spread.time_of_date(date) - t) < 1e-9:
            return None, date
        return t, None

    def refresh(self) -> str:
        """The current view as a query string (also put in state for the Share dialog)."""
        q = self.current().to_query()
        self.app.state[Share.QUERY] = q
        return q

    def json(self) -> str:
        return self.current().to_json()

    # -- in --------------------------------------------------------------------------------
    def apply_query(self, query: str) -> None:
        view, problems = ViewState.from_query(str(query or ""))
        self.app.when_loaded(lambda: self.apply(view, problems, source="link"))

    def apply_json(self, text: str) -> None:
        view, problems = ViewState.from_json(text or "")
        self.app.when_loaded(lambda: self.apply(view, problems, source="view file"))

    def apply(self, view: ViewState, problems: list[str] | None = None,
              source: str = "view") -> list[str]:
        """Apply what ``view`` says; returns (and shows) the problems."""
        problems = list(problems or [])
        app, s = self.app, self.app.state
        if view.scenario and view.scenario != s[App.SCENARIO]:
            if not app.switch_scenario(view.scenario):
                problems.append(f"unknown scenario '{view.scenario}' (known: "
                                + ", ".join(x["value"] for x in s[App.SCENARIOS] or []) + ")")
        scene = app.engine.scene

        def known(ids: Any, what: str) -> list[str]:
            good = []
            for nid in ids:
                if nid in scene.nodes:
                    good.append(nid)
                else:
                    problems.append(f"{what}: unknown structure '{nid}' (ignored)")
            return good

        looks: dict[str, Any] = {}
        if view.hidden is not None:
            looks[Structure.HIDDEN] = known(view.hidden, "hide")
        if view.isolated is not None:
            looks[Structure.ISOLATED] = (view.isolated if known([view.isolated], "isolate")
                                         else "") if view.isolated else ""
        if view.opacity is not None:
            ok = known(view.opacity, "opacity")
            looks[Structure.OPACITY] = {k: view.opacity[k] for k in ok}
        if view.color is not None:
            ok = known(view.color, "color")
            looks[Structure.COLOR] = {k: view.color[k] for k in ok}
        if looks:
            s.update(looks)
        if view.mode is not None:
            s[View.MODE] = view.mode
        if view.labels is not None:
            s[View.LABELS] = view.labels
        spread = app.engine.spread
        if view.time is not None or view.date is not None:
            if spread is None:
                problems.append("this scenario has no timeline; time ignored")
            elif view.time is not None:
                t = view.time
                if not spread.start_time <= t <= spread.duration:
                    problems.append(f"time {t:g} s is outside the timeline "
                                    f"({spread.start_time:g} to {spread.duration:g} s); "
                                    "showing the nearest end")
                app.timeline.pause()
                app.timeline.seek(t)
            else:
                try:
                    t = spread.time_of_date(view.date)
                except Exception as exc:
                    problems.append(f"date: {exc}")
                else:
                    app.timeline.pause()
                    app.timeline.seek(t)
        if isinstance(view.camera, Camera):
            s[View.CAMERA] = ""
            app.camera.move_to(view.camera, animate=False)
        elif view.camera:
            if view.camera in scene.cameras or view.camera == "anterior":
                app.camera.goto(view.camera, animate=False)
            else:
                problems.append(f"camera: unknown preset '{view.camera}' (known: "
                                + ", ".join(scene.cameras) + ")")
        for p in problems:
            app.message(f"In the {source}: {p}", "warning")
        return problems
