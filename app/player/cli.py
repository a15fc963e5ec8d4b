"""``pelvic-spread export case.html`` / ``export site/``: a thin shell over ``export``."""

from __future__ import annotations

import argparse
import sys
import time

from app.player.export import export_player


def human_bytes(n: int) -> str:
    return f"{n} bytes" if n < 1000 else (f"{n / 1e3:.1f} kB" if n < 1_000_000
                                           else f"{n / 1e6:.1f} MB")


def run_player_export(args: argparse.Namespace) -> int:
    from app.case import load_scene, resolve_scene_path
    from app.render.still import parse_size

    size = parse_size(args.size)
    t0 = time.monotonic()
    scene = load_scene(resolve_scene_path(args.scene))
    if args.camera == "orbit":
        args.camera = "anterior"  # the page turns by itself; it opens on the front view
    result = export_player(scene, args.output, args.camera, size,
                           html_flag=getattr(args, "html", False))
    what = "page" if len(result.files) == 1 else f"site, {len(result.files)} files"
    print(f"wrote {result.path}: {what}, {human_bytes(result.bytes)} (bundle "
          f"{human_bytes(result.bundle_bytes)}, {human_bytes(result.bundle_gz_bytes)} "
          f"compressed; positions within {result.max_error_mm:.4f} mm); took "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    print(result.path)
    return 0
