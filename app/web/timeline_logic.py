"""Timeline bar: the time, playback, stages, the caption and the PSA chart.

``tl_time`` is the one value that says where the story is; everything else (date, caption,
the spread in 3D) is derived from it through ``spread.state_at``, so seeking, playing and a
shared link all show the same picture for the same time. Playback runs on the server, which
makes every connected browser show the same moment (a lecturer drives several screens).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time as _time
from typing import TYPE_CHECKING, Any

from app.spread.calendar import month_year
from app.web.keys import Timeline as K
from app.web.keys import Trigger

if TYPE_CHECKING:
    from app.web.app import ViewerApp

FPS = 20.0  # playback ticks per second
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
BACK_GRACE_S = 0.4  # "previous stage" just after a stage start goes to the one before


def psa_svg(points: list[dict], start: float, duration: float, top: float) -> str:
    """The PSA curve as an SVG stretched over the chart (viewBox 0 0 1000 100)."""
    span = max(duration - start, 1e-9)
    xy = []
    for p in points:
        x = 1000.0 * (p["time"] - start) / span
        y = 95.0 - 85.0 * min(p["value"], top) / top
        xy.append(f"{x:.1f},{y:.1f}")
    grid = "".join(
        f'<line x1="0" x2="1000" y1="{95 - 85 * v / top:.1f}" y2="{95 - 85 * v / top:.1f}" '
        'class="ps-grid"/>' for v in range(0, int(top) + 1, max(1, int(top) // 3)))
    return ('<svg viewBox="0 0 1000 100" preserveAspectRatio="none" width="100%" '
            f'height="100%">{grid}<polyline points="{" ".join(xy)}" class="ps-psa-line"/></svg>')


class TimelineLogic:
    def __init__(self, app: ViewerApp):
        self.app = app
        self._task: asyncio.Task | None = None
        self._anchor = (0.0, 0.0)  # (animation time, wall clock) playback runs from
        self._played: float | None = None  # the time playback last set
        state, ctrl = app.state, app.ctrl
        state.setdefault(K.SPEED, 1.0)
        state.setdefault(K.PLAYING, False)
        state.change(K.TIME)(self._on_time)
        state.change(K.PLAYING)(self._on_playing)
        state.change(K.SPEED)(self._on_speed)
        ctrl.trigger(Trigger.TL_TOGGLE)(self.toggle)
        ctrl.trigger(Trigger.TL_NEXT)(self.next_stage)
        ctrl.trigger(Trigger.TL_PREV)(self.prev_stage)
        ctrl.trigger(Trigger.TL_SEEK)(self.seek)
        ctrl.trigger(Trigger.TL_STAGE)(self.goto_stage)
        ctrl.trigger(Trigger.TL_EVENT)(self.goto_event)

    @property
    def spread(self) -> Any:
        return self.app.engine.spread

    # -- scene switch ------------------------------------------------------------------------
    def reset_for_scene(self, keep_date: str | None = None) -> None:
        """New scenario: its stages, marks and record; stay on the same date when it has it."""
        s = self.app.state
        self.pause()
        sp = self.spread
        if sp is None:
            s.update({K.START: 0.0, K.DURATION: 0.0, K.STAGES: [], K.TICKS: [], K.PSA: [],
                      K.EVENTS: [], K.MARKER: {"name": "", "unit": ""}, K.STAGE: -1,
                      K.DATE: "", K.DATE_LABEL: "",
                      K.CAPTION: None, K.PSA_SVG: "", K.PSA_TOP: 1.0})
            s[K.TIME] = 0.0
            return
        first, last = sp.keyframes.first_day, sp.keyframes.last_day
        # exact times (no rounding): a stage's start time must map back to its first day
        stages = [{"id": st.id, "title": st.title, "start": st.start,
                   "time": sp.keyframes.time_of_day(st.start_day)}
                  for st in sp.stages]
        y0 = dt.date.fromordinal(int(first)).year
        y1 = dt.date.fromordinal(int(last)).year
        ticks = []
        for year in range(y0, y1 + 1):
            day = dt.date(year, 1, 1).toordinal()
            if first <= day <= last:
                ticks.append({"time": round(sp.keyframes.time_of_day(day), 4),
                              "label": str(year)})
        record = sp.record  # the scene file's: a scene without one shows no chart
        s.update({
            K.START: float(sp.start_time),
            K.DURATION: float(sp.duration),
            K.STAGES: stages,
            K.TICKS: ticks,
            K.MARKER: {"name": record.marker, "unit": record.unit},
            K.PSA: [dict(p, time=t) for p, t in self._dated(
                [{"date": v.date, "value": v.value, "note": v.note,
                  "text": record.text(v.value)} for v in record.values])],
            K.EVENTS: [dict(e, time=t) for e, t in self._dated(
                [{"id": e.id, "date": e.date, "label": e.label, "short": e.short,
                  "side": e.side} for e in record.events])],
        })
        top = max([1.0] + [p["value"] for p in s[K.PSA]])
        top = float(math.ceil(top))
        s[K.PSA_TOP] = top
        s[K.PSA_SVG] = psa_svg(s[K.PSA], float(sp.start_time), float(sp.duration), top)
        t = sp.duration
        if keep_date:
            try:
                t = sp.time_of_date(keep_date)
            except Exception:  # a date this scenario does not cover: its end instead
                t = sp.duration
        self.seek(t, force=True)

    def _dated(self, items: list[dict]) -> list[tuple[dict, float]]:
        out = []
        for item in items:
            try:
                out.append((item, self.spread.time_of_date(item["date"])))
            except Exception:  # outside this timeline: not shown
                continue
        return out

    # -- time --------------------------------------------------------------------------------
    def seek(self, t: Any, force: bool = False) -> None:
        """Go to animation time ``t`` (clamped to the timeline)."""
        if self.spread is None:
            return
        try:
            t = float(t)
        except (TypeError, ValueError):
            return
        t = min(max(t, self.spread.start_time), self.spread.duration)
        self._anchor = (t, _time.monotonic())
        if force and self.app.state[K.TIME] == t:
            self._on_time()
        self.app.state[K.TIME] = t

    def _on_time(self, **_: Any) -> None:
        if self.spread is None:
            return
        t = self.app.state[K.TIME]
        try:
            t = float(t)
        except (TypeError, ValueError):
            t = self.spread.duration
        if t != self._played:  # moved by hand (scrubber, stage, link): play on from here
            self._anchor = (t, _time.monotonic())
        state = self.app.engine.set_time(t)
        stage = state.stage
        index = -1 if stage is None else [st.id for st in self.spread.stages].index(stage.id)
        caption = None if stage is None else {
            "title": stage.title, "caption": stage.caption, "psa": state.psa_text,
            "source": stage.source}
        self.app.state.update({
            K.DATE: state.date,
            K.DATE_LABEL: month_year(state.date),
            K.STAGE: index,
            K.CAPTION: caption,
        })
        self.app.show_spread(state)

    def stage_times(self) -> list[float]:
        return [st["time"] for st in self.app.state[K.STAGES] or []]

    def next_stage(self) -> None:
        t = float(self.app.state[K.TIME] or 0.0)
        later = [x for x in self.stage_times() if x > t + 1e-6]
        if later:
            self.seek(later[0])
        elif self.spread is not None:
            self.seek(self.spread.duration)

    def prev_stage(self) -> None:
        t = float(self.app.state[K.TIME] or 0.0)
        if self.app.state[K.PLAYING]:
            t -= BACK_GRACE_S
        earlier = [x for x in self.stage_times() if x < t - 1e-6]
        if earlier:
            self.seek(earlier[-1])
        elif self.spread is not None:
            self.seek(self.spread.start_time)

    def goto_stage(self, index: Any) -> None:
        times = self.stage_times()
        try:
            self.seek(times[int(index)])
        except (TypeError, ValueError, IndexError):
            return

    def goto_event(self, event_id: str) -> None:
        for e in self.app.state[K.EVENTS] or []:
            if e["id"] == event_id:
                self.seek(e["time"])
                return

    # -- playback ----------------------------------------------------------------------------
    def toggle(self) -> None:
        self.app.state[K.PLAYING] = not self.app.state[K.PLAYING]

    def pause(self) -> None:
        self.app.state[K.PLAYING] = False

    def _on_playing(self, **_: Any) -> None:
        playing = bool(self.app.state[K.PLAYING])
        if playing and self.spread is None:
            self.app.state[K.PLAYING] = False
            return
        if playing and (self._task is None or self._task.done()):
            t = float(self.app.state[K.TIME] or 0.0)
            if t >= self.spread.duration - 1e-6:  # at the end: play from the start
                t = self.spread.start_time
                self.app.state[K.TIME] = t
            self._anchor = (t, _time.monotonic())
            self._task = asyncio.ensure_future(self._play())

    def _on_speed(self, **_: Any) -> None:
        t = float(self.app.state[K.TIME] or 0.0)
        self._anchor = (t, _time.monotonic())

    def speed(self) -> float:
        try:
            return max(0.05, min(16.0, float(self.app.state[K.SPEED])))
        except (TypeError, ValueError):
            return 1.0

    async def _play(self) -> None:
        """Advance the time from the wall clock: the picture is always ``state_at(t)``."""
        state = self.app.state
        try:
            while state[K.PLAYING] and self.spread is not None:
                await asyncio.sleep(1.0 / FPS)
                if not state[K.PLAYING]:
                    break
                t0, w0 = self._anchor
                t = round(t0 + self.speed() * (_time.monotonic() - w0), 4)
                with state:
                    if t >= self.spread.duration:
                        t = self.spread.duration
                        state[K.PLAYING] = False
                    self._played = t
                    state[K.TIME] = t
        finally:
            self._task = None
