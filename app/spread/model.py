"""The spread model: time in, frozen state out.

:class:`Spread` is built once from a scene (see ``schema.parse_spread``); ``state_at(t)`` is a
pure function of the animation time ``t`` in seconds. Arrival times (when tumour reaches each
point of each nerve) are the single source everything else follows from: node involvement,
arrow growth and the colouring of nerve surfaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from app.spread.calendar import Keyframes, SpreadTimeError, format_day, parse_day
from app.spread.routes import Route, arrival_days_for_u, vertex_u

# Samples per node used for involvement (fraction of the centreline's length reached).
INVOLVEMENT_SAMPLES = 513


@dataclass(frozen=True)
class Stage:
    """A chapter of the story: a date range with a title, a caption in our words and a source."""

    id: str
    title: str
    caption: str
    start_day: float
    end_day: float
    source: str = ""  # the paper's figure or video the stage rests on

    @property
    def start(self) -> str:
        return format_day(self.start_day)

    @property
    def end(self) -> str:
        return format_day(self.end_day)


@dataclass(frozen=True)
class MarkerValue:
    """A measured tumour-marker value (PSA for the case) on a date."""

    date: str  # as written: YYYY-MM[-DD]
    day: float
    value: float  # 0 = undetectable
    note: str = ""


@dataclass(frozen=True)
class ClinicalEvent:
    """A dated event of the patient's history (a symptom, a scan, a biopsy)."""

    id: str
    date: str
    day: float
    label: str
    short: str  # a few words under the timeline mark
    side: str  # left | right | both | none: which side it concerns (colours the mark)


@dataclass(frozen=True)
class Record:
    """The clinical record a scene's timeline carries: marker values and events, in date order.

    Empty for a scene without one: then no marker chart and no marker line are shown.
    """

    marker: str = "PSA"
    unit: str = "ng/ml"
    values: tuple[MarkerValue, ...] = ()
    events: tuple[ClinicalEvent, ...] = ()

    def value_at_day(self, day: float) -> float | None:
        """The latest value measured on or before ``day`` (None before the first)."""
        latest = None
        for v in self.values:
            if v.day <= day:
                latest = v.value
        return latest

    def text(self, value: float | None) -> str:
        return format_psa(value, self.unit, self.marker)


def format_psa(value: float | None, unit: str = "ng/ml", marker: str = "PSA") -> str:
    """How every picture writes a marker value: "PSA 1.2 ng/ml", "PSA undetectable", or ""."""
    if value is None:
        return ""
    if value == 0:
        return f"{marker} undetectable"
    return f"{marker} {value:g} {unit}".rstrip()


MODALITIES = ("MRI", "PET")


@dataclass(frozen=True)
class Finding:
    """What a scan showed, when, and on which slab: a mark on the timeline that sets the date
    and the slab, and a caption in our own words resting on the paper's figure."""

    id: str
    date: str
    day: float
    modality: str  # MRI | PET
    slab: str  # a slab text (app.model.slab), as the scene file gives it
    text: str
    figure: str = ""  # the paper's figure the finding rests on
    enlarged: tuple[str, ...] = ()  # node ids seen enlarged
    enhancing: tuple[str, ...] = ()  # node ids seen enhancing (or taking up tracer, on PET)


@dataclass(frozen=True)
class SlabPreset:
    """A named slab the viewer offers as a button ("Fig. 3: axial at S1")."""

    id: str
    label: str
    slab: str


@dataclass(frozen=True)
class LegendEntry:
    """What an arrow style means in a scenario (every picture's legend reads these)."""

    style: str  # solid | dashed
    text: str


@dataclass(frozen=True)
class Mass:
    """A tumour mass at a fixed centre whose radius grows through (day, radius mm) knots."""

    id: str
    label: str
    center: tuple[float, float, float]
    knot_days: tuple[float, ...]
    knot_radius: tuple[float, ...]  # non-decreasing

    @property
    def max_radius(self) -> float:
        return float(max(self.knot_radius))

    def radius_at_day(self, day: float) -> float:
        if day < self.knot_days[0]:
            return 0.0
        return float(np.interp(day, self.knot_days, self.knot_radius))


@dataclass(frozen=True)
class NodeState:
    involvement: float  # fraction 0..1 of the node's centreline length reached


@dataclass(frozen=True)
class RouteState:
    id: str
    style: str  # "solid" | "dashed"
    progress: float  # 0..1 of the route's length
    front_s: float  # mm along the route
    front: tuple[float, float, float]  # front position on the route centre line, mm
    direction: tuple[float, float, float]  # unit direction of travel at the front
    started: bool  # the arrow is visible
    finished: bool


@dataclass(frozen=True)
class MassState:
    id: str
    center: tuple[float, float, float]
    radius: float  # mm, 0 = not there yet
    scale: float  # radius / max radius, 0..1

    @property
    def visible(self) -> bool:
        return self.radius > 0.0


@dataclass(frozen=True)
class SpreadState:
    """Everything a renderer or a UI needs for one moment. Equal times give equal states."""

    time: float  # animation seconds
    day: float  # calendar day number (fractional)
    date: str  # YYYY-MM-DD
    stage: Stage | None
    nodes: Mapping[str, NodeState]
    routes: tuple[RouteState, ...]
    masses: tuple[MassState, ...]
    psa: float | None = None  # the latest marker value measured by this date (the record's)
    psa_text: str = ""  # the same, as every picture writes it ("PSA 1.2 ng/ml")

    @property
    def caption(self) -> str:
        return self.stage.caption if self.stage is not None else ""

    def involvement(self, node_id: str) -> float:
        ns = self.nodes.get(node_id)
        return ns.involvement if ns is not None else 0.0

    def route(self, route_id: str) -> RouteState:
        for r in self.routes:
            if r.id == route_id:
                return r
        raise KeyError(route_id)


@dataclass(frozen=True, eq=False)
class Spread:
    """A scenario (routes, masses) on a scene's nerves, and the timeline that dates it."""

    keyframes: Keyframes
    routes: tuple[Route, ...]
    stages: tuple[Stage, ...]
    masses: tuple[Mass, ...]
    centrelines: Mapping[str, np.ndarray]  # node id -> (N, 3): every node with a path
    seed: tuple[float, float, float] | None = None  # where it starts (the prostate bed)
    seed_label: str = ""
    lead_time: float = 2.0  # seconds of bright leading edge behind each front
    legend: tuple[LegendEntry, ...] = ()  # one entry per arrow style the routes draw
    record: Record = field(default_factory=Record)
    findings: tuple[Finding, ...] = ()  # imaging findings, in date order
    slab_presets: tuple[SlabPreset, ...] = ()
    _involvement_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def findings_on(self, day: float, days: float = 1.0) -> tuple[Finding, ...]:
        """The findings dated within ``days`` of ``day`` (what a caption shows on that date)."""
        return tuple(f for f in self.findings if abs(f.day - day) < days)

    def legend_text(self, style: str) -> str:
        for entry in self.legend:
            if entry.style == style:
                return entry.text
        return ""

    # -- time <-> date -----------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.keyframes.end

    @property
    def start_time(self) -> float:
        return self.keyframes.start

    def time_of_date(self, date: object) -> float:
        """Animation seconds of a date (``YYYY-MM`` = first of the month, ``YYYY-MM-DD``)."""
        day = parse_day(date)
        first, last = self.keyframes.first_day, self.keyframes.last_day
        if not first <= day <= last:
            raise SpreadTimeError(
                f"date {date} is outside the timeline ({format_day(first)} to {format_day(last)})")
        return self.keyframes.time_of_day(day)

    def date_of_time(self, t: float) -> str:
        return format_day(self.keyframes.day_of_time(self.check_time(t)))

    def check_time(self, t: float) -> float:
        """``t`` itself, or SpreadTimeError when it is not a time on the timeline."""
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise SpreadTimeError(f"expected a time in seconds, got {t!r}") from None
        if not np.isfinite(t) or not self.start_time <= t <= self.duration:
            raise SpreadTimeError(
                f"time {t:g} s is outside the timeline ({self.start_time:g} to "
                f"{self.duration:g} s)")
        return t

    # -- arrival times -----------------------------------------------------------------------
    def arrival_days(self, node_id: str, u: np.ndarray) -> np.ndarray:
        return arrival_days_for_u(self.routes, node_id, np.asarray(u, float))

    def arrival_for_u(self, node_id: str, u: np.ndarray) -> np.ndarray:
        """Arrival time in animation seconds at fractions ``u`` of a node (inf: never).

        Pass a surface's ``point_data["u"]`` to get what the renderer colours by.
        """
        return self.keyframes.times_of_days(self.arrival_days(node_id, u))

    def arrival(self, node_id: str) -> np.ndarray:
        """Arrival time (s) at every centreline point of ``node_id`` (inf where never)."""
        return self.arrival_for_u(node_id, vertex_u(self.centrelines[node_id]))

    def involved_nodes(self) -> tuple[str, ...]:
        """Nodes some route reaches, in scene order."""
        hit = {c.node for r in self.routes for c in r.coverage}
        return tuple(n for n in self.centrelines if n in hit)

    def _sorted_arrivals(self, node_id: str) -> np.ndarray:
        cached = self._involvement_cache.get(node_id)
        if cached is None:
            u = np.linspace(0.0, 1.0, INVOLVEMENT_SAMPLES)
            cached = np.sort(self.arrival_for_u(node_id, u))
            self._involvement_cache[node_id] = cached
        return cached

    def involvement(self, node_id: str, t: float) -> float:
        arr = self._sorted_arrivals(node_id)
        return float(np.searchsorted(arr, t, side="right")) / len(arr)

    def first_arrival(self, node_id: str) -> float:
        """Earliest arrival time (s) on the node, inf if never reached."""
        return float(self._sorted_arrivals(node_id)[0])

    # -- state -------------------------------------------------------------------------------
    def stage_at_day(self, day: float) -> Stage | None:
        current = None
        for stage in self.stages:
            if stage.start_day <= day:
                current = stage
        return current

    def state_at(self, t: float) -> SpreadState:
        """The frozen state at animation time ``t`` (clamped to the timeline)."""
        t = float(np.clip(float(t), self.start_time, self.duration))
        day = self.keyframes.day_of_time(t)
        nodes = {nid: NodeState(self.involvement(nid, t)) for nid in self.centrelines}
        routes = []
        for r in self.routes:
            s = r.s_at_day(day)
            p, d = r.front(s)
            routes.append(RouteState(
                id=r.id, style=r.style, progress=s / r.length if r.length > 0 else 1.0,
                front_s=s, front=tuple(map(float, p)), direction=tuple(map(float, d)),
                started=day >= r.start_day, finished=day >= r.end_day))
        masses = []
        for m in self.masses:
            radius = m.radius_at_day(day)
            masses.append(MassState(m.id, m.center, radius,
                                    radius / m.max_radius if m.max_radius > 0 else 0.0))
        psa = self.record.value_at_day(day)
        return SpreadState(
            time=t, day=day, date=format_day(day), stage=self.stage_at_day(day),
            nodes=MappingProxyType(nodes), routes=tuple(routes), masses=tuple(masses),
            psa=psa, psa_text=self.record.text(psa))

    def route(self, route_id: str) -> Route:
        for r in self.routes:
            if r.id == route_id:
                return r
        raise KeyError(route_id)

    def route_arrival(self, route: Route, s: np.ndarray) -> np.ndarray:
        """Arrival time (s) at arc lengths ``s`` along a route (what arrows are coloured by)."""
        return self.keyframes.times_of_days(route.day_at_s(s))
