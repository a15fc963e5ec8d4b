"""``pelvic-spread export``: a thin shell over :func:`app.export.pipeline.export_clip`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from app.errors import UserError
from app.export.pipeline import ExportOptions, Progress, export_clip
from app.export.progress import ProgressFile, TerminalProgress
from app.model.scene import CameraPreset
from app.render.look import Look


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While exporting, SIGTERM cleans up like Ctrl-C does (the handler is restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def options_from_args(args: argparse.Namespace) -> ExportOptions:
    from app.render.still import parse_size

    view = getattr(args, "view", None)
    return ExportOptions(size=parse_size(args.size), fps=args.fps, start=args.start,
                         end=args.end, duration=args.duration, camera=args.camera,
                         quality=args.quality, captions=args.captions,
                         slab=getattr(args, "slab", None),
                         layout=getattr(args, "layout", "single"),
                         labels=getattr(args, "labels", True),
                         look=look_from_view_file(Path(view)) if view else None)


def look_from_view_file(path: Path) -> Look:
    """A saved view (the page's "Save view" JSON, or what the browser's Export sends) as the
    look of a clip: its camera, hidden/isolated structures, opacities, colours and labels."""
    from app.web.viewstate import ViewState

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--view {path}: cannot read: {exc.strerror or exc}") from None
    view, problems = ViewState.from_json(text)
    if problems:
        raise UserError(f"--view {path}: " + "; ".join(problems))
    camera = None
    if view.camera is not None and not isinstance(view.camera, str):
        c = view.camera
        camera = CameraPreset("view", tuple(c.position), tuple(c.focal_point),
                              tuple(c.view_up), float(c.view_angle))
    colours = {k: tuple(int(v.lstrip("#")[i:i + 2], 16) / 255.0 for i in (0, 2, 4))
               for k, v in (view.color or {}).items()}
    return Look(camera=camera, hidden=tuple(view.hidden or ()), isolated=view.isolated or "",
                opacity=dict(view.opacity or {}), color=colours, labels=bool(view.labels))


def human_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    return f"{n / 1e3:.1f} kB" if n < 1_000_000 else f"{n / 1e6:.1f} MB"


def run_export(args: argparse.Namespace) -> int:
    from app.case import load_scene, resolve_scene_path
    from app.export.slides import format_of as slide_format

    if slide_format(Path(args.output)) is not None:  # .glb, .usdz: a 3D model for slides
        from app.export.slides import run_slide_export

        return run_slide_export(args)
    if not getattr(args, "organs", True):
        raise UserError("--no-organs: only .glb and .usdz models leave the organs out")
    progress_path = getattr(args, "progress_file", None)
    machine = ProgressFile(Path(progress_path), args.output) if progress_path else None
    bar = TerminalProgress(sys.stderr)

    def progress(p: Progress) -> None:
        bar(p)
        if machine is not None:
            machine(p)

    try:
        with sigterm_as_interrupt():
            options = options_from_args(args)
            scene = load_scene(resolve_scene_path(args.scene))
            result = export_clip(scene, Path(args.output), options, progress=progress)
    except KeyboardInterrupt:
        bar.end_line()
        if machine is not None:
            machine.fail("cancelled; no file was written", cancelled=True)
        raise
    except UserError as exc:
        bar.end_line()
        if machine is not None:
            machine.fail(str(exc))
        raise
    except Exception as exc:
        bar.end_line()
        if machine is not None:
            machine.fail(f"internal error: {type(exc).__name__}: {exc}")
        raise
    w, h = result.size
    print(f"wrote {result.path}: {result.frames} frames, {w}x{h}, {result.fps:g} fps, "
          f"{result.frames / result.fps:.1f} s, {human_bytes(result.bytes)}; took "
          f"{result.seconds:.1f} s ({result.render_fps:.1f} frames/s once the scene was built)",
          file=sys.stderr)
    print(result.path)
    return 0
