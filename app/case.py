"""A case: a scene graph, the built-in anatomy it may draw on, and its spread model.

This is the one place that puts the layers together. ``app.model`` reads the graph and knows
no anatomy or spread; ``app.anatomy`` builds procedural meshes; ``app.spread`` parses the
scenario and timeline. Everything above (render, web, export, CLI) loads scenes through here.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from app import anatomy
from app.errors import SceneError
from app.model.loader import DEFAULT_SCENE, SCENES_DIR, read_scene, resolve_scene_path
from app.model.scene import Scene
from app.model.yamlio import Invalid
from app.spread.model import Spread
from app.spread.schema import parse_spread

__all__ = ["Case", "DEFAULT_SCENE", "SCENES_DIR", "load_scene", "resolve_scene_path"]


@dataclasses.dataclass(frozen=True, eq=False)
class Case(Scene):
    """A scene with its spread model (None for an anatomy-only scene)."""

    spread: Spread | None = None


def load_scene(path: str | os.PathLike[str]) -> Case:
    """Load and validate a scene file as a case. Raises SceneError listing every problem."""
    source = read_scene(Path(path), procedural=anatomy)
    fields = {f.name: getattr(source.scene, f.name) for f in dataclasses.fields(Scene)}
    case = Case(**fields)
    if source.scenario is None and source.timeline is None:
        return case
    try:
        spread = parse_spread(source.scenario, source.timeline, case)
    except Invalid:
        spread = None
    problems = []
    for f in (source.scenario, source.timeline):
        if f is not None:
            problems.extend(f.problems.items)
            f.problems.items.clear()
    if problems:
        raise SceneError(problems)
    return dataclasses.replace(case, spread=spread)
