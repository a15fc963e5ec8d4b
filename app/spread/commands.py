"""Thin command-line shells over the spread model (the CLI calls these; tests call them too)."""

from __future__ import annotations

from typing import Any

from app.errors import UserError
from app.model.scene import Scene
from app.spread.model import Spread, SpreadState


def spread_of(scene: Scene) -> Spread:
    """The scene's spread model, or a UserError saying the scene has none."""
    if scene.spread is None:
        raise UserError(f"scene '{scene.name}' ({scene.path}) has no scenario/timeline to play")
    return scene.spread


def resolve_time(spread: Spread, time: float | str | None = None,
                 date: str | None = None) -> float:
    """Animation seconds from exactly one of ``time`` (seconds) or ``date`` (YYYY-MM[-DD])."""
    if (time is None) == (date is None):
        raise UserError("give exactly one of --time SECONDS or --date YYYY-MM[-DD]")
    if date is not None:
        return spread.time_of_date(date)
    return spread.check_time(time)  # type: ignore[arg-type]


def state_dict(state: SpreadState) -> dict[str, Any]:
    """The JSON shape of a state (``pelvic-spread state --json``)."""
    stage = state.stage
    return {
        "time": round(state.time, 6),
        "date": state.date,
        "stage": None if stage is None else {
            "id": stage.id, "title": stage.title, "caption": stage.caption, "psa": state.psa,
        },
        "nodes": {nid: {"involvement": round(ns.involvement, 6)}
                  for nid, ns in state.nodes.items()},
        "routes": [{"id": r.id, "style": r.style, "progress": round(r.progress, 6)}
                   for r in state.routes],
    }


def state_json(scene: Scene, time: float | str | None = None,
               date: str | None = None) -> dict[str, Any]:
    """``{"time", "date", "stage": {id, title, caption, psa}, "nodes", "routes"}`` at a moment.

    Raises UserError for a scene without a spread, a malformed date, or a time or date
    outside the timeline.
    """
    spread = spread_of(scene)
    return state_dict(spread.state_at(resolve_time(spread, time, date)))
