"""What a clip shows, frame by frame: pure data, no VTK.

A :class:`ClipPlan` maps frame index ``i`` to an animation time (the moment ``state_at`` is
asked for) and, for ``--camera orbit``, to a camera angle. Seeking is exact: frame ``i`` depends
on ``i`` alone, never on the frames before it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from app.errors import UserError
from app.model.scene import CameraPreset

MAX_FPS = 120.0
MAX_DURATION_S = 3600.0
STILL_CLIP_S = 5.0  # clip length for a scene with no timeline and no --duration
ORBIT_MAX_DEG_PER_S = 24.0  # "slowly": a full turn over 15 s or more, never faster than this
_SECONDS_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?s?$")


@dataclass(frozen=True)
class ClipPlan:
    """``n_frames`` frames at ``fps``; frame 0 shows ``t_start``, the last shows ``t_end``.

    ``t_start``/``t_end`` are None for a scene with no timeline (every frame shows the anatomy).
    """

    fps: float
    n_frames: int
    t_start: float | None
    t_end: float | None
    orbit: bool = False

    @property
    def duration(self) -> float:
        """Clip length in seconds of playback."""
        return self.n_frames / self.fps

    @property
    def fps_fraction(self) -> Fraction:
        """The frame rate as ffmpeg wants it (29.97 becomes 30000/1001)."""
        return Fraction(self.fps).limit_denominator(1001)

    def time_at(self, i: int) -> float | None:
        """Animation seconds shown by frame ``i`` (a linear time-stretch of the range)."""
        if not 0 <= i < self.n_frames:
            raise IndexError(f"frame {i} is outside 0..{self.n_frames - 1}")
        if self.t_start is None or self.t_end is None:
            return None
        if self.n_frames == 1:
            return self.t_end
        return self.t_start + (self.t_end - self.t_start) * (i / (self.n_frames - 1))

    def orbit_deg(self, i: int) -> float:
        """Camera azimuth of frame ``i`` about the view-up axis (0 = the base preset)."""
        if not self.orbit:
            return 0.0
        speed = min(360.0 / self.duration, ORBIT_MAX_DEG_PER_S)
        return speed * i / self.fps


def parse_moment(spread: Any, text: str | float, flag: str) -> float:
    """``--from``/``--to`` value -> animation seconds: a number of seconds or a date."""
    value = str(text).strip()
    try:
        if _SECONDS_RE.match(value):
            return float(spread.check_time(float(value.rstrip("s"))))
        return float(spread.time_of_date(value))
    except UserError as exc:
        raise UserError(f"{flag} {value}: {exc}") from None


def make_plan(spread: Any, fps: float = 30.0, start: str | float | None = None,
              end: str | float | None = None, duration: float | None = None,
              orbit: bool = False) -> ClipPlan:
    """Check the clip options against the scene's timeline (``spread``, or None) and plan it.

    Without ``duration`` the animation plays at its own pace (one animation second per second).
    """
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise UserError(f"--fps: expected a number of frames per second in (0, {MAX_FPS:g}], "
                        f"got {fps}")
    if duration is not None and not (math.isfinite(duration) and 0 < duration <= MAX_DURATION_S):
        raise UserError(f"--duration: expected seconds in (0, {MAX_DURATION_S:g}], got {duration}")
    if spread is None:
        if start is not None or end is not None:
            raise UserError("--from/--to: this scene has no spread timeline, so there is no range "
                            "to choose (try scenes/bilateral_plexopathy.yaml)")
        length = duration if duration is not None else STILL_CLIP_S
        return ClipPlan(fps, _frames(length, fps), None, None, orbit)
    t0 = float(spread.start_time) if start is None else parse_moment(spread, start, "--from")
    t1 = float(spread.duration) if end is None else parse_moment(spread, end, "--to")
    if t1 < t0:
        raise UserError(f"--from/--to: the range runs backwards ({t0:g} s to {t1:g} s)")
    if duration is None:
        if t1 == t0:
            raise UserError("--from and --to are the same moment; give --duration for a still "
                            "clip, or use 'render' for a picture")
        duration = t1 - t0
    return ClipPlan(fps, _frames(duration, fps), t0, t1, orbit)


def _frames(duration: float, fps: float) -> int:
    return max(1, int(round(duration * fps)))


def orbit_preset(base: CameraPreset, degrees: float) -> CameraPreset:
    """``base`` turned by ``degrees`` about its view-up axis through its focal point."""
    if degrees == 0.0:
        return base
    axis = np.asarray(base.view_up, float)
    axis = axis / np.linalg.norm(axis)
    focal = np.asarray(base.focal_point, float)
    v = np.asarray(base.position, float) - focal
    a = math.radians(degrees)
    # Rodrigues' rotation of the eye vector about the up axis.
    rotated = (v * math.cos(a) + np.cross(axis, v) * math.sin(a)
               + axis * float(axis @ v) * (1 - math.cos(a)))
    return CameraPreset(base.name, tuple(map(float, focal + rotated)), base.focal_point,
                        base.view_up, base.view_angle, base.label)
