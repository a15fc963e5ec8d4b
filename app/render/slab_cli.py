"""The ``--slab``/``--panel`` options of ``render`` and ``export``: parsed once, here.

Kept out of ``app/cli.py`` so the verbs only gain a line or two each.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import UserError

if TYPE_CHECKING:  # the parser is built on every command: numpy only once a slab is used
    from app.model.slab import Slab

SLAB_HELP = ("a slab through the scene: ORIENTATION:LEVEL or ORIENTATION:AXIS=MM, with "
             "',thickness=MM' and ',context=faint' as options, e.g. axial:S1, "
             "axial:sciatic_notch, axial:z=-40,thickness=6, coronal:y=45, sagittal:x=0")


def add_slab_arguments(parser: argparse.ArgumentParser, clip: bool = False) -> None:
    parser.add_argument("--slab", metavar="SPEC", help=SLAB_HELP)
    if clip:
        parser.add_argument("--layout", choices=("single", "side-by-side"), default="single",
                            help="with --slab: 'side-by-side' puts the schematic MR panel "
                                 "beside the 3D view")
    else:
        parser.add_argument("--panel", choices=("mr",), default=None,
                            help="with --slab: the schematic MR panel beside the 3D view")
    parser.add_argument("--labels", action=argparse.BooleanOptionalAction, default=True,
                        help="labels on the MR panel's structures (default on)")


def slab_of(scene: Any, spec: str | None) -> Slab | None:
    """The slab a ``--slab`` text names in ``scene`` (None without one)."""
    if spec is None:
        return None
    from app.model.slab import parse_slab

    return parse_slab(spec, getattr(scene, "landmarks", {}) or {})


def render_slab(args: argparse.Namespace, scene: Any, out: Path, size: tuple[int, int],
                t: float | None) -> Path:
    """``render --slab ... [--panel mr]``: the clipped, capped 3D view (and the panel)."""
    from app.render.slab import render_slab_still

    if args.slab is None:
        raise UserError("--panel mr needs a slab: add --slab axial:S1 (or another level)")
    slab = slab_of(scene, args.slab)
    if args.camera is not None:
        from app.render.scene_view import camera_for

        camera_for(scene, args.camera)  # a UserError naming the presets, before rendering
    return render_slab_still(scene, out, slab, camera=args.camera, size=size, time=t,
                             panel=args.panel == "mr", labels=args.labels,
                             captions=getattr(args, "captions", True))
