"""The whole viewer state as a value: JSON and URL round trips, with problems reported.

A view (scenario, time, camera, visibility, opacity, colours, rendering mode, labels) can be
saved to a JSON file or a link, sent to a student and restored exactly. Parsing never raises:
it returns what it could read and a list of problems in words a user can act on, which the
page shows. Checking against a scene (do these nodes exist?) is ``ShareLogic``'s job.

URL form (every key optional)::

    ?scenario=conus_route&date=2013-08-01&camera=anterior&hide=bladder,rectum
     &isolate=sciatic_l&opacity=hip_l:0.3&color=sciatic_l:ff8800&mode=remote&labels=1
    ?t=32.5&cam=px,py,pz,fx,fy,fz,ux,uy,uz,angle       (a free camera, a time in seconds)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from app.web.engine import Camera

FORMAT = "pelvic-spread-view/1"
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
HEX_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
MODES = ("local", "remote")
QUERY_KEYS = ("scenario", "t", "date", "camera", "cam", "hide", "isolate", "opacity", "color",
              "mode", "labels")


@dataclass(frozen=True)
class ViewState:
    """None means "not said": applying the view leaves that part as it is."""

    scenario: str | None = None
    time: float | None = None
    date: str | None = None  # used when ``time`` is None
    camera: str | Camera | None = None  # a preset name or an explicit camera
    hidden: tuple[str, ...] | None = None
    isolated: str | None = None  # "" = none
    opacity: dict[str, float] | None = None
    color: dict[str, str] | None = None  # "#rrggbb"
    mode: str | None = None
    labels: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT}
        for k, v in asdict(self).items():
            if k == "extra" or v is None:
                continue
            if k == "camera" and isinstance(self.camera, Camera):
                v = {"position": list(self.camera.position),
                     "focal_point": list(self.camera.focal_point),
                     "view_up": list(self.camera.view_up),
                     "view_angle": self.camera.view_angle}
            if k == "hidden":
                v = list(v)
            d[k] = v
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: Any) -> tuple[ViewState, list[str]]:
        problems: list[str] = []
        if not isinstance(d, dict):
            return cls(), [f"a view must be a JSON object, got {type(d).__name__}"]
        fmt = d.get("format", FORMAT)
        if fmt != FORMAT:
            problems.append(f"format: expected '{FORMAT}', got {fmt!r} (read anyway)")
        known = {"format", "scenario", "time", "date", "camera", "hidden", "isolated",
                 "opacity", "color", "mode", "labels"}
        for k in d:
            if k not in known:
                problems.append(f"unknown key '{k}' (ignored)")
        out: dict[str, Any] = {}
        _take(out, problems, "scenario", d.get("scenario"), _ident)
        _take(out, problems, "time", d.get("time"), _time)
        _take(out, problems, "date", d.get("date"), _date)
        cam = d.get("camera")
        if isinstance(cam, dict):
            _take(out, problems, "camera", cam, _camera_dict)
        else:
            _take(out, problems, "camera", cam, _ident)
        _take(out, problems, "hidden", d.get("hidden"), _id_list)
        _take(out, problems, "isolated", d.get("isolated"), _ident_or_empty)
        _take(out, problems, "opacity", d.get("opacity"), _opacity_map)
        _take(out, problems, "color", d.get("color"), _color_map)
        _take(out, problems, "mode", d.get("mode"), _mode)
        _take(out, problems, "labels", d.get("labels"), _bool)
        return cls(**out), problems

    @classmethod
    def from_json(cls, text: str | bytes) -> tuple[ViewState, list[str]]:
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            return cls(), [f"not a view file (JSON): {exc}"]
        return cls.from_dict(d)

    # -- URL --------------------------------------------------------------------------------
    def to_query(self) -> str:
        q: list[tuple[str, str]] = []
        if self.scenario:
            q.append(("scenario", self.scenario))
        if self.time is not None:
            q.append(("t", repr(float(self.time))))  # exact: a day boundary stays that day
        elif self.date:
            q.append(("date", self.date))
        if isinstance(self.camera, Camera):
            c = self.camera
            nums = [*c.position, *c.focal_point, *c.view_up, c.view_angle]
            q.append(("cam", ",".join(f"{v:.2f}".rstrip("0").rstrip(".") for v in nums)))
        elif self.camera:
            q.append(("camera", self.camera))
        if self.hidden is not None:
            q.append(("hide", ",".join(self.hidden)))
        if self.isolated:
            q.append(("isolate", self.isolated))
        if self.opacity:
            q.append(("opacity", ",".join(f"{k}:{v:g}" for k, v in self.opacity.items())))
        if self.color:
            q.append(("color", ",".join(f"{k}:{v.lstrip('#')}" for k, v in self.color.items())))
        if self.mode:
            q.append(("mode", self.mode))
        if self.labels is not None:
            q.append(("labels", "1" if self.labels else "0"))
        return urlencode(q, safe=",:")

    @classmethod
    def from_query(cls, query: str | dict[str, str]) -> tuple[ViewState, list[str]]:
        if isinstance(query, str):
            pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        else:
            pairs = list(query.items())
        problems: list[str] = []
        q: dict[str, str] = {}
        for k, v in pairs:
            if k not in QUERY_KEYS:
                problems.append(f"unknown link parameter '{k}' (ignored)")
                continue
            q[k] = v
        out: dict[str, Any] = {}
        _take(out, problems, "scenario", q.get("scenario"), _ident)
        _take(out, problems, "time", q.get("t"), _time, "t")
        _take(out, problems, "date", q.get("date"), _date)
        if "cam" in q:
            _take(out, problems, "camera", q["cam"], _camera_csv, "cam")
        else:
            _take(out, problems, "camera", q.get("camera"), _ident)
        if "hide" in q:
            _take(out, problems, "hidden", [s for s in q["hide"].split(",") if s], _id_list,
                  "hide")
        _take(out, problems, "isolated", q.get("isolate"), _ident_or_empty, "isolate")
        if "opacity" in q:  # the pairs are read inside _take: a bad one is a problem too
            _take(out, problems, "opacity", q["opacity"], lambda v: _opacity_map(_pairs(v)))
        if "color" in q:
            _take(out, problems, "color", q["color"], lambda v: _color_map(_pairs(v)))
        _take(out, problems, "mode", q.get("mode"), _mode)
        _take(out, problems, "labels", q.get("labels"), _bool)
        return cls(**out), problems


# -- field parsers: value -> parsed, or ValueError(message) ---------------------------------
def _take(out: dict, problems: list[str], key: str, value: Any, parse: Any,
          said: str | None = None) -> None:
    """Parse ``value`` into ``out[key]``; a problem names the key as the user wrote it."""
    if value is None:
        return
    try:
        out[key] = parse(value)
    except ValueError as exc:
        problems.append(f"{said or key}: {exc} (ignored)")


def _ident(v: Any) -> str:
    if not isinstance(v, str) or not ID_RE.match(v):
        raise ValueError(f"expected a name such as 'anterior', got {v!r}")
    return v


def _ident_or_empty(v: Any) -> str:
    return "" if v in ("", None) else _ident(v)


def _time(v: Any) -> float:
    try:
        t = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected seconds, got {v!r}") from None
    if isinstance(v, bool) or not math.isfinite(t):
        raise ValueError(f"expected seconds, got {v!r}")
    return t


def _date(v: Any) -> str:
    if not isinstance(v, str) or not DATE_RE.match(v):
        raise ValueError(f"expected a date YYYY-MM or YYYY-MM-DD, got {v!r}")
    return v


def _id_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)):
        raise ValueError(f"expected a list of structure ids, got {v!r}")
    return tuple(_ident(x) for x in v)


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        if not item:
            continue
        k, sep, v = item.partition(":")
        if not sep:
            raise ValueError(f"expected id:value pairs, got {item!r}")
        out[k] = v
    return out


def _opacity_map(v: Any) -> dict[str, float]:
    if not isinstance(v, dict):
        raise ValueError(f"expected {{id: opacity}}, got {v!r}")
    out = {}
    for k, x in v.items():
        _ident(k)
        f = _time(x)
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"opacity of '{k}' must be 0..1, got {x!r}")
        out[k] = f
    return out


def _color_map(v: Any) -> dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError(f"expected {{id: colour}}, got {v!r}")
    out = {}
    for k, x in v.items():
        _ident(k)
        m = HEX_RE.match(str(x))
        if not m:
            raise ValueError(f"colour of '{k}' must be rrggbb, got {x!r}")
        out[k] = "#" + m.group(1).lower()
    return out


def _mode(v: Any) -> str:
    if v not in MODES:
        raise ValueError(f"expected 'local' or 'remote', got {v!r}")
    return v


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if v in ("1", "true", "yes", "on", 1):
        return True
    if v in ("0", "false", "no", "off", 0):
        return False
    raise ValueError(f"expected 1 or 0, got {v!r}")


def _vec3(v: Any, what: str) -> tuple[float, float, float]:
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise ValueError(f"{what}: expected three numbers, got {v!r}")
    return tuple(_time(x) for x in v)  # type: ignore[return-value]


def _camera_dict(v: dict) -> Camera:
    try:
        cam = Camera(_vec3(v["position"], "position"), _vec3(v["focal_point"], "focal_point"),
                     _vec3(v.get("view_up", (0, 0, 1)), "view_up"),
                     _time(v.get("view_angle", 30.0)))
    except KeyError as exc:
        raise ValueError(f"camera needs {exc.args[0]}") from None
    return _check_camera(cam)


def _camera_csv(text: str) -> Camera:
    parts = text.split(",")
    if len(parts) != 10:
        raise ValueError(f"expected 10 numbers (position, focal point, view up, angle), "
                         f"got {len(parts)}")
    n = [_time(p) for p in parts]
    return _check_camera(Camera(tuple(n[0:3]), tuple(n[3:6]), tuple(n[6:9]), n[9]))


def _check_camera(cam: Camera) -> Camera:
    d = [a - b for a, b in zip(cam.position, cam.focal_point, strict=True)]
    if math.hypot(*d) < 1e-6:
        raise ValueError("camera position and focal point are the same point")
    if math.hypot(*cam.view_up) < 1e-6:
        raise ValueError("camera view_up is zero")
    if not 1.0 <= cam.view_angle <= 120.0:
        raise ValueError(f"view angle must be 1..120 degrees, got {cam.view_angle:g}")
    return cam
