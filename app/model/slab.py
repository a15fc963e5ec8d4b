"""Slabs: an axial, coronal or sagittal band of the scene, at a position and a thickness.

Written as ``ORIENTATION:WHERE[,thickness=MM][,context=hidden|faint]`` where ``WHERE`` is

- a named level (:data:`LEVELS`, found from the scene's landmarks): ``axial:S1``,
  ``axial:sciatic_notch``;
- an explicit coordinate along the slab's axis (LPS mm): ``axial:z=-40``, ``coronal:y=30``,
  ``sagittal:x=0``;
- any landmark of the scene: ``axial:sacral_promontory``.

Why in the model layer: the slab is plain data that the CLI, the export, the viewer's state and
the scene file's imaging findings (``app.spread.schema``) all parse the same way; numpy only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from app.errors import UserError

# orientation -> (axis index, axis letter)
ORIENTATIONS: dict[str, tuple[int, str]] = {"axial": (2, "z"), "coronal": (1, "y"),
                                            "sagittal": (0, "x")}
CONTEXTS = ("hidden", "faint")
DEFAULT_THICKNESS = 6.0  # mm: a typical MR slice at the sacrum is 3-6 mm
THICKNESS_RANGE = (0.5, 200.0)
STEP_MM = 2.0  # one key press or slider notch


class SlabError(UserError):
    """A slab text that cannot be understood; the message says what was expected."""


@dataclass(frozen=True)
class Level:
    """A named level: the mean of some landmarks' coordinates on the slab's axis, plus an offset.

    Levels are defined by landmarks so that they follow whatever anatomy the scene uses (the
    procedural model or a fitted atlas).
    """

    name: str
    orientation: str
    landmarks: tuple[str, ...]
    offset: float = 0.0
    label: str = ""

    def position(self, landmarks: Mapping[str, np.ndarray]) -> float | None:
        """The level's coordinate (mm), or None if the scene lacks one of its landmarks."""
        axis = ORIENTATIONS[self.orientation][0]
        try:
            values = [float(np.asarray(landmarks[name], float)[axis]) for name in self.landmarks]
        except KeyError:
            return None
        return float(np.mean(values)) + self.offset


def _axial(name: str, landmarks: tuple[str, ...], offset: float, label: str) -> Level:
    return Level(name, "axial", landmarks, offset, label)


# The S1 level passes through the S1-S2 part of the sacral canal (where the case's mass sits)
# and the S1 roots on their way to the anterior foramina, as the paper's Figure 3 does; the
# sciatic-notch level through the plexus and sciatic nerves leaving the pelvis (Figure 2).
LEVELS: dict[tuple[str, str], Level] = {(lv.orientation, lv.name): lv for lv in (
    _axial("S1", ("sacral_canal_s1_s2",), -2.0,
           "Axial at S1: S1 roots and the sacral canal (cf. Fig. 3)"),
    _axial("S2", ("anterior_foramen_s2_l", "anterior_foramen_s2_r"), 0.0,
           "Axial at S2: the S2 foramina"),
    _axial("S3", ("anterior_foramen_s3_l", "anterior_foramen_s3_r"), 0.0,
           "Axial at S3: the S3 foramina"),
    _axial("sciatic_notch", ("ischial_spine_l", "ischial_spine_r"), -4.0,
           "Axial at the sciatic notch: the sciatic nerves leaving the pelvis below piriformis, "
           "at the ischial spines (cf. Fig. 2)"),
    _axial("prostate", ("prostate_bed",), 0.0, "Axial through the prostate bed"),
    Level("midline", "sagittal", ("sacral_promontory",), 0.0, "Midline sagittal"),
    Level("sacral_canal", "coronal", ("sacral_canal_s1_s2",), 0.0,
          "Coronal through the sacral canal at S1-S2"),
)}


@dataclass(frozen=True)
class Slab:
    """A band ``|coordinate - position| <= thickness / 2`` along one axis of the LPS frame."""

    orientation: str  # axial | coronal | sagittal
    position: float  # mm along the axis (z for axial, y for coronal, x for sagittal)
    thickness: float = DEFAULT_THICKNESS
    level: str = ""  # the named level it was set from, if it still sits there
    context: str = "hidden"  # what shows outside the slab: hidden | faint

    @property
    def axis(self) -> int:
        return ORIENTATIONS[self.orientation][0]

    @property
    def letter(self) -> str:
        return ORIENTATIONS[self.orientation][1]

    @property
    def normal(self) -> np.ndarray:
        n = np.zeros(3)
        n[self.axis] = 1.0
        return n

    @property
    def bounds(self) -> tuple[float, float]:
        h = self.thickness / 2.0
        return self.position - h, self.position + h

    def moved(self, delta_mm: float) -> Slab:
        """The same slab shifted along its axis (no longer at its named level)."""
        return replace(self, position=round(self.position + delta_mm, 3), level="")

    def at(self, position: float) -> Slab:
        return replace(self, position=round(float(position), 3), level="")

    def spec(self) -> str:
        """The text that parses back to this slab (a named level when it sits on one)."""
        where = self.level or f"{self.letter}={_num(self.position)}"
        out = f"{self.orientation}:{where},thickness={_num(self.thickness)}"
        if self.context != "hidden":
            out += f",context={self.context}"
        return out

    def describe(self) -> str:
        """A short human line: ``axial S1 (z -3 mm, 6 mm thick)``."""
        name = f" {self.level.replace('_', ' ')}" if self.level else ""
        return (f"{self.orientation}{name} ({self.letter} {_num(self.position, 1)} mm, "
                f"{_num(self.thickness, 1)} mm thick)")

    def contains(self, points: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        c = np.asarray(points, float)[..., self.axis]
        return (c >= lo) & (c <= hi)

    def to_json(self) -> dict[str, object]:
        return {"orientation": self.orientation, "position": self.position,
                "thickness": self.thickness, "level": self.level, "context": self.context,
                "spec": self.spec()}


def _num(v: float, digits: int = 3) -> str:
    text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_WHERE_RE = re.compile(r"^([xyz])\s*=\s*(.+)$")


def parse_slab(text: str, landmarks: Mapping[str, np.ndarray] | None = None) -> Slab:
    """Parse a slab text (see the module docstring). Raises SlabError saying what was expected."""
    landmarks = landmarks or {}
    expected = ("expected ORIENTATION:LEVEL or ORIENTATION:AXIS=MM, e.g. 'axial:S1' or "
                "'axial:z=-40,thickness=6'")
    if not isinstance(text, str) or ":" not in text:
        raise SlabError(f"slab '{text}': {expected}")
    orientation, rest = (s.strip() for s in text.split(":", 1))
    orientation = orientation.lower()
    if orientation not in ORIENTATIONS:
        raise SlabError(f"slab '{text}': unknown orientation '{orientation}' (expected one of "
                        f"{', '.join(ORIENTATIONS)})")
    parts = [p.strip() for p in rest.split(",")]
    where, options = parts[0], parts[1:]
    if not where:
        raise SlabError(f"slab '{text}': {expected}")
    thickness = DEFAULT_THICKNESS
    context = "hidden"
    for opt in options:
        key, _, value = (s.strip() for s in opt.partition("="))
        if key == "thickness":
            thickness = _number(text, "thickness", value)
            lo, hi = THICKNESS_RANGE
            if not lo <= thickness <= hi:
                raise SlabError(f"slab '{text}': thickness {value} mm is out of range "
                                f"({lo:g} to {hi:g} mm)")
        elif key == "context":
            if value not in CONTEXTS:
                raise SlabError(f"slab '{text}': context '{value}' (expected hidden or faint)")
            context = value
        else:
            raise SlabError(f"slab '{text}': unknown option '{key}' (expected thickness=MM "
                            "or context=hidden|faint)")
    axis, letter = ORIENTATIONS[orientation]
    m = _WHERE_RE.match(where)
    if m:
        if m.group(1) != letter:
            raise SlabError(f"slab '{text}': {_article(orientation)} {orientation} slab is "
                            f"placed by {letter}=MM, not {m.group(1)}=")
        return Slab(orientation, _number(text, letter, m.group(2)), thickness, "", context)
    level = _find_level(orientation, where)
    if level is not None:
        pos = level.position(landmarks)
        if pos is None:
            missing = [n for n in level.landmarks if n not in landmarks]
            raise SlabError(f"slab '{text}': level {level.name} needs the landmark(s) "
                            f"{', '.join(missing)}, which this scene does not have")
        return Slab(orientation, round(pos, 3), thickness, level.name, context)
    if where in landmarks:
        pos = float(np.asarray(landmarks[where], float)[axis])
        return Slab(orientation, round(pos, 3), thickness, where, context)
    names = sorted({lv.name for (o, _), lv in LEVELS.items() if o == orientation})
    raise SlabError(f"slab '{text}': unknown level '{where}' (expected {letter}=MM, a level "
                    f"({', '.join(names) or 'none'}) or a landmark of the scene)")


def _find_level(orientation: str, name: str) -> Level | None:
    for (o, n), level in LEVELS.items():
        if o == orientation and n.lower() == name.lower():
            return level
    return None


def _number(text: str, key: str, value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise SlabError(f"slab '{text}': {key} must be a number of mm, got '{value}'") from None
    if not math.isfinite(v):
        raise SlabError(f"slab '{text}': {key} must be a finite number of mm, got '{value}'")
    return v


def slab_levels(landmarks: Mapping[str, np.ndarray]) -> list[tuple[str, str, float]]:
    """The named levels this scene can place: (spec, label, position)."""
    out = []
    for (orientation, name), level in LEVELS.items():
        pos = level.position(landmarks)
        if pos is not None:
            out.append((f"{orientation}:{name}", level.label, pos))
    return out


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
