"""The spread model: routes over the nerve graph, arrival times, a dated timeline.

numpy only (no VTK): ``Spread.state_at(t)`` is the one function the still renderer, the
browser viewer and the clip exporter all call. ``app.render.spread_layer`` draws its states.
"""

from app.spread.calendar import SpreadTimeError, format_day, parse_day
from app.spread.model import (
    ClinicalEvent,
    Finding,
    LegendEntry,
    MarkerValue,
    Mass,
    MassState,
    NodeState,
    Record,
    RouteState,
    SlabPreset,
    Spread,
    SpreadState,
    Stage,
    format_psa,
)
from app.spread.routes import Route

__all__ = [
    "ClinicalEvent", "Finding", "LegendEntry", "SlabPreset", "MarkerValue", "Record", "format_psa",
    "Mass", "MassState", "NodeState", "Route", "RouteState", "Spread", "SpreadState",
    "SpreadTimeError", "Stage", "format_day", "parse_day",
]
