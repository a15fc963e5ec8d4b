"""What a page may change in the shared state, and what it may ask the server to do.

Every browser connected to ``serve`` shares one state, so whatever one page writes, every
other page shows and every handler acts on. A page is therefore untrusted input, like a scene
file: each key a page may write has a rule here (type, range, enumeration, length), each
trigger a rule per argument. Keys that only the server writes are listed too, and refused
from pages. ``tests/test_web_rules.py`` fails when a key in ``keys.py`` is in neither list, or
when the page writes a key or calls a trigger that has no rule. ``app.web.guard`` enforces
these rules where page messages arrive, before any handler or other page sees them.

A rule returns None for a good value, else what was expected (shown to the sender).
Bounds and choices may depend on the state (the time's range is the scenario's timeline).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.web.keys import App, Export, Share, Slab, Structure, Timeline, View
from app.web.keys import Trigger as T

StateView = Mapping[str, Any]  # what a rule may read: the server's current state
Dynamic = Any  # a constant, or a function of the state giving it


def _now(value: Dynamic, state: StateView) -> Any:
    return value(state) if callable(value) else value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Rule:
    """A check of one value a page sent."""

    def check(self, value: Any, state: StateView) -> str | None:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Flag(Rule):
    def check(self, value: Any, state: StateView) -> str | None:
        return None if isinstance(value, bool) else f"true or false, got {_shown(value)}"


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN, not infinite)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class Number(Rule):
    lo: Dynamic
    hi: Dynamic
    whole: bool = False
    slack: float = 1e-6  # a slider's float rounding at its ends

    def check(self, value: Any, state: StateView) -> str | None:
        lo, hi = float(_now(self.lo, state)), float(_now(self.hi, state))
        what = "a whole number" if self.whole else "a number"
        expected = f"{what} from {lo:g} to {hi:g}, got {_shown(value)}"
        if not is_number(value) or (self.whole and value != int(value)):
            return expected
        tol = self.slack * max(1.0, abs(lo), abs(hi))
        return None if lo - tol <= value <= hi + tol else expected


@dataclass(frozen=True)
class Choice(Rule):
    values: Dynamic  # a tuple, or a function of the state giving the allowed values

    def check(self, value: Any, state: StateView) -> str | None:
        allowed = list(_now(self.values, state))
        ok = (not isinstance(value, (bool, dict, list))
              and any(value == a and type(value) is not bool for a in allowed))
        if ok:
            return None
        shown = ", ".join(repr(a) for a in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
        return f"one of {shown}, got {_shown(value)}"


@dataclass(frozen=True)
class Text(Rule):
    max_len: int
    pattern: str | None = None  # a regular expression the whole text must match
    what: str = "text"

    def check(self, value: Any, state: StateView) -> str | None:
        if not isinstance(value, str):
            return f"{self.what}, got {_shown(value)}"
        if len(value) > self.max_len:
            return f"{self.what} of at most {self.max_len} characters, got {len(value)}"
        if any(ord(c) < 32 and c not in "\t\n" for c in value):
            return f"{self.what} without control characters"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"{self.what}, got {_shown(value)}"
        return None


@dataclass(frozen=True)
class Maybe(Rule):
    """None (or left out), or what ``rule`` accepts."""

    rule: Rule

    def check(self, value: Any, state: StateView) -> str | None:
        return None if value is None else self.rule.check(value, state)


@dataclass(frozen=True)
class CameraRule(Rule):
    """``{position, focalPoint, viewUp: [x, y, z], viewAngle}``, finite and sane."""

    def check(self, value: Any, state: StateView) -> str | None:
        expected = "a camera {position, focalPoint, viewUp, viewAngle}"
        if not isinstance(value, dict) or set(value) - {
                "position", "focalPoint", "viewUp", "viewAngle"}:
            return f"{expected}, got {_shown(value)}"
        for key in ("position", "focalPoint", "viewUp"):
            v = value.get(key)
            if (not isinstance(v, list) or len(v) != 3
                    or not all(is_number(x) and abs(x) < 1e7 for x in v)):
                return f"{expected}: {key} as three finite numbers, got {_shown(v)}"
        angle = value.get("viewAngle")
        if not is_number(angle) or not 1 <= angle <= 179:
            return f"{expected}: viewAngle from 1 to 179, got {_shown(angle)}"
        if math.dist(value["position"], value["focalPoint"]) < 1e-6:
            return f"{expected}: position and focal point apart"
        if math.hypot(*value["viewUp"]) < 1e-9:
            return f"{expected}: a non-zero viewUp"
        return None


class Fields(Rule):
    """A dict holding some of ``keys`` (state keys), each value passing that key's rule in
    ``WRITABLE``: the export dialog's choices sent with its Export button."""

    def __init__(self, keys: tuple[str, ...], what: str):
        self.keys, self.what = keys, what

    def check(self, value: Any, state: StateView) -> str | None:
        if not isinstance(value, dict) or set(value) - set(self.keys):
            return f"{self.what} (some of {', '.join(self.keys)}), got {_shown(value)}"
        for key, v in value.items():
            why = WRITABLE[key].check(v, state)
            if why is not None:
                return f"{key}: {why}"
        return None


@dataclass(frozen=True)
class Size(Rule):
    """``WIDTHxHEIGHT`` within bounds (a clip's frame)."""

    max_w: int = 3840
    max_h: int = 2160

    def check(self, value: Any, state: StateView) -> str | None:
        expected = f"WIDTHxHEIGHT from 16x16 to {self.max_w}x{self.max_h}, got {_shown(value)}"
        m = re.fullmatch(r"(\d{2,5})x(\d{2,5})", value) if isinstance(value, str) else None
        if m is None:
            return expected
        w, h = int(m.group(1)), int(m.group(2))
        return None if 16 <= w <= self.max_w and 16 <= h <= self.max_h else expected


# -- the shared state -------------------------------------------------------------------------
# A page may write these keys (through its controls: v-model, click expressions, viewer.js).
NODE_ID = r"[A-Za-z0-9_.\-]{1,128}"
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)  # the same as timeline_logic.SPEEDS (a test says so)


def _scenarios(s: StateView) -> list[str]:
    return [x["value"] for x in s.get(App.SCENARIOS) or [] if isinstance(x, dict)]


def _nodes(s: StateView) -> list[str]:
    return ["", *(s.get(Structure.DEFAULTS) or {})]


WRITABLE: dict[str, Rule] = {
    App.SCENARIO: Choice(_scenarios),
    App.PANEL: Flag(),
    App.PRESENTING: Flag(),
    View.MODE: Choice(("local", "remote")),
    View.LABELS: Flag(),
    Timeline.TIME: Number(lambda s: s.get(Timeline.START) or 0.0,
                          lambda s: s.get(Timeline.DURATION) or 0.0),
    Timeline.SPEED: Choice(SPEEDS),
    Structure.SEARCH: Text(100),
    Structure.SELECTED: Choice(_nodes),
    Share.DIALOG: Flag(),
    Export.DIALOG: Flag(),
    Export.SIZE: Size(),
    Export.FPS: Number(1, 60),
    Export.RANGE: Choice(("whole", "stage", "dates")),
    Export.FROM: Text(32),
    Export.TO: Text(32),
    Export.FORMAT: Choice(("mp4", "webm", "gif")),
    Slab.ON: Flag(),
    Slab.ORIENT: Choice(("axial", "coronal", "sagittal")),
    Slab.POS: Number(lambda s: s.get(Slab.MIN) or 0.0, lambda s: s.get(Slab.MAX) or 0.0),
    Slab.THICK: Number(1, 40),
    Slab.LABELS: Flag(),
}

# Only the server writes these: a page that sends one is put back to the server's value.
SERVER_ONLY: frozenset[str] = frozenset({
    App.SCENE_TITLE, App.SCENARIOS, App.CREDIT, App.HAS_SPREAD, App.LEGEND, App.MESSAGES,
    View.LABEL_ANCHORS, View.CAMERA, View.PRESETS, View.CAMERA_GOTO, View.BUNDLE, View.LOOKS,
    View.REMOTE_LIB,
    Timeline.START, Timeline.DURATION, Timeline.PLAYING, Timeline.DATE, Timeline.DATE_LABEL,
    Timeline.STAGES, Timeline.STAGE, Timeline.CAPTION, Timeline.TICKS, Timeline.PSA,
    Timeline.EVENTS, Timeline.PSA_SVG, Timeline.PSA_TOP, Timeline.MARKER, Timeline.ANCHOR,
    Structure.ROWS, Structure.EXPANDED, Structure.HIDDEN, Structure.ISOLATED,
    Structure.OPACITY, Structure.COLOR, Structure.SPREAD_NODES, Structure.DEFAULTS,
    Share.QUERY,
    Export.SIZES, Export.FPSS, Export.FORMATS, Export.JOBS,
    Slab.MIN, Slab.MAX, Slab.SPEC, Slab.LABEL, Slab.PRESETS, Slab.FINDINGS, Slab.FINDING,
    Slab.PANEL, Slab.PLANES, Slab.MESSAGE,
})
SERVER_ONLY_PREFIXES: tuple[str, ...] = ()  # families of keys (name + i), none at present

# Keys each page keeps for itself (trame "client only": never sent to the server).
CLIENT_ONLY: frozenset[str] = frozenset({App.NOTES, Export.MINE, Timeline.NOW,
                                        View.REMOTE_READY})


def server_only(key: str) -> bool:
    return key in SERVER_ONLY or key.startswith(SERVER_ONLY_PREFIXES)


def check_change(key: Any, value: Any, state: StateView) -> str | None:
    """None if a page may set ``key`` to ``value`` now, else why not (for its sender)."""
    if not isinstance(key, str) or not key:
        return "a change without a key"
    rule = WRITABLE.get(key)
    if rule is None:
        if server_only(key):
            return f"{key} is set by the server only"
        return f"{_shown(key)} is not a key pages may set"
    why = rule.check(value, state)
    return None if why is None else f"{key}: expected {why}"


# -- triggers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Args:
    """A trigger's positional arguments: ``required`` first, then optional ones."""

    required: tuple[Rule, ...] = ()
    optional: tuple[Rule, ...] = ()

    def check(self, args: Any, kwargs: Any, state: StateView) -> str | None:
        if not isinstance(args, list) or kwargs not in (None, {}):
            return "positional arguments only"
        n_min, n_max = len(self.required), len(self.required) + len(self.optional)
        if not n_min <= len(args) <= n_max:
            return (f"{n_min} argument(s)" if n_min == n_max
                    else f"{n_min} to {n_max} arguments") + f", got {len(args)}"
        for i, (rule, value) in enumerate(zip(self.required + self.optional, args)):
            why = rule.check(value, state)
            if why is not None:
                return f"argument {i + 1}: expected {why}"
        return None


NONE = Args()
NODE = Text(128, NODE_ID, "a structure id")
ANY_TIME = Number(-1e9, 1e9)  # seek clamps to the timeline itself

# the export dialog's keys, sent again with its Export click (a page's state writes can lag)
EXPORT_CHOICES = (Export.SIZE, Export.FPS, Export.FORMAT, Export.RANGE, Export.FROM, Export.TO)

TRIGGERS: dict[str, Args] = {
    T.APP_CLOCK: NONE,
    T.APP_DISMISS: Args(optional=(Maybe(Number(0, 2**53, whole=True)),)),
    T.APP_SCREENSHOT: Args(optional=(Number(16, 3840), Number(16, 2160))),
    T.TL_TOGGLE: NONE,
    T.TL_NEXT: NONE,
    T.TL_PREV: NONE,
    T.TL_SEEK: Args((ANY_TIME,)),
    T.TL_STAGE: Args((Number(0, 10_000, whole=True),)),
    T.TL_EVENT: Args((Text(128),)),
    T.CAM_PRESET: Args((Text(64, r"[A-Za-z0-9_]+", "a preset name"),)),
    T.CAM_PRESET_INDEX: Args((Number(0, 99, whole=True),)),
    T.CAM_MOVED: Args(optional=(Maybe(CameraRule()),)),
    T.CAM_CURRENT: NONE,
    T.ST_TOGGLE: Args((NODE,)),
    T.ST_ISOLATE: Args(optional=(Maybe(Text(128, f"|{NODE_ID}", "a structure id")),)),
    T.ST_EXPAND: Args((NODE,)),
    T.ST_SET_OPACITY: Args((NODE, Number(0, 1))),
    T.ST_SET_COLOR: Args((NODE, Text(9, r"#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?", "#rrggbb"))),
    T.ST_RESET: NONE,
    T.ST_SHOW_ALL: NONE,
    T.SH_APPLY_QUERY: Args((Text(4096),)),
    T.SH_APPLY_JSON: Args((Text(200_000),)),
    T.SH_JSON: NONE,
    T.SH_REFRESH: NONE,
    T.SL_FINDING: Args((Text(64, r"[a-z0-9_]+", "a finding id"),)),
    T.SL_PRESET: Args((Text(64, r"[a-z0-9_]+", "a slab preset id"),)),
    T.SL_STEP: Args((Number(-50, 50, whole=True),)),
    T.EX_START: Args(optional=(Fields(EXPORT_CHOICES, "the export's choices"),)),
    T.EX_CANCEL: Args(optional=(Maybe(Text(32, r"[0-9a-f]+", "a job id")),)),
}
GENERATED_TRIGGER = "trigger__"  # names trame gives widgets' own callbacks


def check_trigger(name: Any, args: Any, kwargs: Any, state: StateView) -> str | None:
    """None if a page may call trigger ``name`` with these arguments, else why not."""
    if not isinstance(name, str):
        return f"a trigger name, got {_shown(name)}"
    spec = TRIGGERS.get(name)
    if spec is None:
        return f"unknown trigger {_shown(name)}"
    why = spec.check(args, kwargs, state)
    return None if why is None else f"{name}: {why}"


# -- how often ----------------------------------------------------------------------------------
# What a page may do only so many times per second (each a heavy job on the shared server).
RATE: dict[str, int] = {"export": 1, "switch": 2}  # at most this many in any one second
RATED_TRIGGERS: dict[str, str] = {T.EX_START: "export", T.SH_APPLY_QUERY: "switch",
                                  T.SH_APPLY_JSON: "switch"}
RATED_KEYS: dict[str, str] = {App.SCENARIO: "switch"}

# trame's own lifecycle calls a page makes (others would run server callbacks at will)
LIFECYCLE = frozenset({"client_connected", "client_exited", "client_unmounted"})
