"""Timeline bar: the time, playback, stages, the caption and the PSA chart.

``tl_time`` says where the story is; everything else (date, caption, the spread in 3D) is
derived from it through ``spread.state_at``, so seeking, playing and a shared link all show the
same picture for the same time. Playback is shared by every connected browser (a lecturer
drives several screens), but not sent frame by frame: when it starts, changes speed or is
moved, the server publishes a **play anchor** (``tl_anchor``: the animation time at an instant
of the server's wall clock, and the speed), and each page's player animates from it by itself.
The server keeps ``tl_time`` (and with it the date, stage and caption) up to date at each
stage change and twice a second; in remote mode it also renders frames for the image stream.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import math
import time as _time
from typing import TYPE_CHECKING, Any

from app.spread.calendar import month_year
from app.web.keys import Timeline as K
from app.web.keys import Trigger

if TYPE_CHECKING:
    from app.web.app import ViewerApp

FPS = 20.0  # remote mode: frames the server renders per second of playback
TICK_S = 0.5  # while playing, the server's tl_time (date, stage, caption) at least this often
STAGE_LAG_S = 0.005  # wake this long after a stage starts (then the state is in it)
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
        self._anchor = (0.0, 0.0)  # (animation time, monotonic clock) playback runs from
        self._anchor_speed = 1.0  # the speed the anchor was set with
        self._played: float | None = None  # the time playback last set
        state, ctrl = app.state, app.ctrl
        state.setdefault(K.SPEED, 1.0)
        state.setdefault(K.PLAYING, False)
        state.setdefault(K.ANCHOR, None)
        state.setdefault(K.NOW, None)
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
        self._set_anchor(t)
        self.kick()
        if force and self.app.state[K.TIME] == t:
            self._on_time()
        self.app.state[K.TIME] = t

    def now(self) -> float:
        """The moment the pages show now: from the anchor while playing (``tl_time`` is
        set only every so often then), else ``tl_time``."""
        if self.app.state[K.PLAYING] and self.spread is not None:
            return self._anchored()
        try:
            return float(self.app.state[K.TIME])
        except (TypeError, ValueError):
            return 0.0 if self.spread is None else float(self.spread.duration)

    def sync(self) -> float:
        """While playing, bring ``tl_time`` and the server's scene to this moment (for a
        screenshot, a shared link, remote rendering); the time."""
        t = self.now()
        if self.app.state[K.PLAYING] and self.spread is not None:
            self._played = t
            self.app.state[K.TIME] = t
            self.app.engine.set_time(t)
        return t

    def _set_anchor(self, t: float) -> None:
        """Playback runs on from ``t`` now; pages are told when it is playing."""
        self._anchor = (t, _time.monotonic())
        self._anchor_speed = self.speed()
        self._publish_anchor()

    def _publish_anchor(self) -> None:
        state = self.app.state
        if not state[K.PLAYING] or self.spread is None:
            state[K.ANCHOR] = None
            return
        t0, w0 = self._anchor
        wall = _time.time() - (_time.monotonic() - w0)
        state[K.ANCHOR] = {"time": t0, "wall": round(wall * 1000.0, 1),
                           "speed": self._anchor_speed}

    def _on_time(self, **_: Any) -> None:
        if self.spread is None:
            return
        t = self.app.state[K.TIME]
        try:
            t = float(t)
        except (TypeError, ValueError):
            t = self.spread.duration
        if t != self._played and t != self._anchor[0]:
            # moved by hand (the scrubber): play on from here (seek has anchored already)
            self._set_anchor(t)
            self.kick()
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
        t = self.now()
        later = [x for x in self.stage_times() if x > t + 1e-6]
        if later:
            self.seek(later[0])
        elif self.spread is not None:
            self.seek(self.spread.duration)

    def prev_stage(self) -> None:
        t = self.now()
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
        if self.app.state[K.PLAYING]:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Play on from where it is (from the start when at the end)."""
        if self.spread is None:
            return
        state = self.app.state
        t = self.now()
        if t >= self.spread.duration - 1e-6:  # at the end: play from the start
            t = self.spread.start_time
        state[K.PLAYING] = True
        self._played = t
        state[K.TIME] = t
        self._set_anchor(t)
        self._start()

    def pause(self) -> None:
        """Stop where the pages are now (``tl_time`` exactly there)."""
        state = self.app.state
        if not state[K.PLAYING]:
            if state[K.ANCHOR] is not None:
                state[K.ANCHOR] = None
            self._stop()
            return
        t = self.now()
        self._stop()
        state[K.PLAYING] = False
        state[K.ANCHOR] = None
        self._played = None
        if self.spread is not None:
            state[K.TIME] = t

    def _on_playing(self, **_: Any) -> None:
        """``tl_playing`` set from elsewhere than ``play``/``pause``: act on it."""
        state = self.app.state
        playing = bool(state[K.PLAYING])
        if playing and self.spread is None:
            state[K.PLAYING] = False
        elif playing and state[K.ANCHOR] is None:
            self._set_anchor(self.now())
            self._start()
        elif not playing and (self._task is not None or state[K.ANCHOR] is not None):
            t = self._anchored()
            self._stop()
            state[K.ANCHOR] = None
            self._played = None
            if self.spread is not None:
                state[K.TIME] = t

    def _anchored(self) -> float:
        """The time the anchor gives now (playing or not)."""
        t0, w0 = self._anchor
        t = t0 + self._anchor_speed * (_time.monotonic() - w0)
        if self.spread is None:
            return t
        return min(max(t, self.spread.start_time), self.spread.duration)

    def _on_speed(self, **_: Any) -> None:
        if self.app.state[K.PLAYING]:
            self._set_anchor(self.now())  # the time at the old speed, on at the new one
            self.kick()

    def speed(self) -> float:
        try:
            return max(0.05, min(16.0, float(self.app.state[K.SPEED])))
        except (TypeError, ValueError):
            return 1.0

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop (scripts, tests): now() still follows the clock
            return
        self._task = asyncio.ensure_future(self._play())

    def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task is not _current_task():
            task.cancel()

    def kick(self) -> None:
        """The anchor or the mode changed: the playback loop starts over from it at once."""
        if self.app.state[K.PLAYING]:
            self._stop()
            self._start()

    async def _play(self) -> None:
        """Playback on the server: no frame is sent to pages that render by themselves (they
        play from the anchor). ``tl_time`` is set when a stage starts and every ``TICK_S``
        (the date, stage and caption follow); remote mode renders ``FPS`` frames a second."""
        state = self.app.state
        me = _current_task()
        last_tick = _time.monotonic()
        shown = self._stage_index(self.now())
        try:
            while state[K.PLAYING] and self.spread is not None and self._task is me:
                t = self.now()
                end = self.spread.duration
                stage = self._stage_index(t)
                tick = _time.monotonic() - last_tick >= TICK_S - 1e-3
                if t >= end or stage != shown or tick:
                    last_tick = _time.monotonic()
                    shown = stage
                    with state:
                        if t >= end:
                            t = end
                            state[K.PLAYING] = False
                            state[K.ANCHOR] = None
                            self._task = None
                        self._played = t
                        state[K.TIME] = t
                    if t >= end:
                        break
                if self.app.remote:
                    self.app.engine.set_time(t)
                    self.app.redraw()
                    delay = 1.0 / FPS
                else:
                    times = self.stage_times()
                    later = times[bisect.bisect_right(times, t):] + [end]
                    until_stage = (later[0] - t) / max(self._anchor_speed, 1e-6) + STAGE_LAG_S
                    delay = min(TICK_S - (_time.monotonic() - last_tick), until_stage)
                await asyncio.sleep(max(STAGE_LAG_S, delay))
        finally:
            if self._task is me:
                self._task = None

    def _stage_index(self, t: float) -> int:
        """The stage ``tl_stage`` names at time ``t`` (-1 before the first)."""
        return bisect.bisect_right(self.stage_times(), t) - 1


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
