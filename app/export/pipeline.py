"""Clip export: frames stream from the renderer to the encoder, which works in parallel.

The main thread owns VTK and renders frame after frame (``FrameRenderer.render``: the very 3D
pictures ``render`` makes). A writer thread takes them from a small bounded queue, burns in the
captions (the drawing ``render`` burns into stills) and hands them to the encoder: an ffmpeg
process for video, PIL for PNGs. So memory holds a few frames whatever the clip's length, and
encoding overlaps rendering.

Output is atomic: everything is written to a hidden name beside the target and renamed at the
end; Ctrl-C, an error, a full disk or an unwritable path leave nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.export.encoders import (
    DEFAULT_QUALITY,
    EncoderError,
    Encoding,
    PngFolderSink,
    VideoSink,
    format_of,
    make_palette,
    only_frames,
    remove_quietly,
)
from app.export.plan import ClipPlan, make_plan, orbit_preset
from app.model.scene import Scene
from app.render.captions import CaptionOverlay, overlay_for

QUEUE_FRAMES = 4  # frames in flight between renderer and encoder (memory stays flat)
GIF_PALETTE_SAMPLES = 8
PART_MARK = ".part-"


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked for (``start``/``end``: seconds or YYYY-MM[-DD] dates)."""

    size: tuple[int, int] = (1920, 1080)
    fps: float = 30.0
    start: str | float | None = None
    end: str | float | None = None
    duration: float | None = None
    camera: str = "anterior"  # a preset name, or "orbit"
    quality: int | None = None  # 0 (small) .. 10 (best); None: the format's default
    captions: bool = True
    slab: str | None = None  # a slab through the scene (``axial:S1``); see app.model.slab
    layout: str = "single"  # "side-by-side": the schematic MR panel beside the 3D view
    labels: bool = True  # labels on the MR panel
    look: Any = None  # app.render.look.Look: the page's view (camera, structures, labels)


@dataclass(frozen=True)
class Progress:
    done: int  # frames rendered and queued for the encoder
    total: int
    elapsed_s: float  # since the export started (scene building included)
    phase: str  # "rendering" | "finishing" | "done"
    rendering_s: float = 0.0  # since the first frame started: the pace, and so the ETA

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def fps(self) -> float:
        return self.done / self.rendering_s if self.rendering_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None until there is a pace)."""
        if self.phase == "done":
            return 0.0
        if self.done < 2 or self.rendering_s <= 0:
            return None
        return (self.total - self.done) / self.fps


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    fmt: str
    frames: int
    size: tuple[int, int]
    fps: float
    seconds: float  # wall time of the export, scene building included
    bytes: int
    rendering_s: float = 0.0  # from the first frame to the finished file

    @property
    def render_fps(self) -> float:
        """Frames per second from the first frame to the finished file."""
        return self.frames / self.rendering_s if self.rendering_s > 0 else 0.0


# -- the output file -----------------------------------------------------------------------
class AtomicOutput:
    """A hidden ``.NAME.part-PID`` beside ``target``, renamed onto it by ``commit``."""

    def __init__(self, target: Path, folder: bool):
        self.target = target
        self.folder = folder
        self.tmp = target.with_name(f".{target.name}{PART_MARK}{os.getpid()}")
        self._created = False

    def check(self) -> None:
        """Fail early, before any rendering, on a target we could never write."""
        t, parent = self.target, self.target.parent
        if not parent.exists():
            raise UserError(f"{t}: folder {parent} does not exist")
        if not parent.is_dir():
            raise UserError(f"{t}: {parent} is not a folder")
        if self.folder:
            if t.exists() and not t.is_dir():
                raise UserError(f"{t}: exists and is not a folder (a name with no suffix asks "
                                "for a folder of numbered PNGs)")
            if t.is_dir() and not only_frames(t):
                raise UserError(f"{t}: folder is not empty; give an empty or new folder for "
                                "the frames")
        elif t.is_dir():
            raise UserError(f"{t}: is a folder; give a file name such as clip.mp4")

    def create(self) -> Path:
        self.check()
        try:
            if self.folder:
                self.tmp.mkdir()
            else:
                os.close(os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except OSError as exc:
            raise UserError(f"{self.target}: cannot write there: "
                            f"{exc.strerror or exc}") from None
        self._created = True
        return self.tmp

    def commit(self) -> None:
        try:
            if self.folder and self.target.is_dir():
                # Replace an earlier export's frames: move it aside, move ours in, drop it.
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                remove_quietly(old)
            else:
                os.replace(self.tmp, self.target)
        except OSError as exc:
            raise UserError(f"{self.target}: cannot write: {exc.strerror or exc}") from None
        self._created = False

    def discard(self) -> None:
        if self._created:
            remove_quietly(self.tmp)
            self._created = False


# -- the writer thread ---------------------------------------------------------------------
class FrameWriter(threading.Thread):
    """Takes (frame, state) from a bounded queue, burns in captions, feeds the sink."""

    _DONE = object()

    def __init__(self, sink: Any, overlay: CaptionOverlay | None, maxsize: int = QUEUE_FRAMES):
        super().__init__(name="export-writer", daemon=True)
        self.sink = sink
        self.overlay = overlay
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self.written = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                item = self.queue.get()
                if item is self._DONE:
                    return
                frame, state = item
                if self.overlay is not None:
                    self.overlay.draw(frame, state)
                self.sink.write(frame)
                self.written += 1
        except BaseException as exc:  # handed to the main thread, which reports it
            self.error = exc

    def put(self, frame: np.ndarray, state: Any) -> None:
        """Queue a frame; blocks while the encoder is behind; raises if the writer failed."""
        while True:
            self._raise_if_failed()
            try:
                self.queue.put((frame, state), timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait for every queued frame to be written."""
        while self.is_alive():
            with contextlib.suppress(queue.Full):
                self.queue.put(self._DONE, timeout=0.1)
                break
            self._raise_if_failed()
        self.join()
        self._raise_if_failed()

    def abort(self) -> None:
        self._halt.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(self._DONE)

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


# -- the export ----------------------------------------------------------------------------
class ClipFrames:
    """Frame ``i`` of a plan: the ``render`` picture of ``plan.time_at(i)`` and its state."""

    def __init__(self, scene: Scene, plan: ClipPlan, size: tuple[int, int], camera: str | None,
                 options: ExportOptions | None = None):
        from app.render.still import FrameRenderer

        self.scene = scene
        self.plan = plan
        self.orbit = camera == "orbit"
        self.size = size
        self.options = options or ExportOptions(size=size)
        # Captions are burned in on the writer thread (or left out with --no-captions).
        if self.options.slab is not None:
            from app.render.slab import SlabFrames
            from app.render.slab_cli import slab_of

            self.renderer = SlabFrames(
                scene, slab_of(scene, self.options.slab), size,
                None if camera in (None, "orbit") else camera,
                panel=self.options.layout == "side-by-side", captions=False,
                labels=self.options.labels, look=self.options.look)
        else:
            self.renderer = FrameRenderer(scene, size, camera, spread=True, captions=False,
                                          look=self.options.look)
        self.base = None
        if self.orbit:
            from app.render.scene_view import camera_for

            self.base = camera_for(scene, "anterior")

    def frame(self, i: int) -> tuple[np.ndarray, Any]:
        t = self.plan.time_at(i)
        if self.orbit:
            from app.render.scene_view import apply_camera

            apply_camera(self.renderer.plotter, orbit_preset(self.base, self.plan.orbit_deg(i)))
        return self.renderer.render(t)

    def caption_overlay(self) -> CaptionOverlay:
        """The captions for these frames (on the 3D view's half beside an MR panel)."""
        overlay_on = getattr(self.renderer, "caption_overlay", None)
        return overlay_on() if overlay_on is not None else overlay_for(self.scene, self.size)

    def close(self) -> None:
        self.renderer.close()


def check_options(scene: Scene, out: Path, options: ExportOptions) -> tuple[str, ClipPlan, int]:
    """Validate everything before any file is touched: (format, plan, quality)."""
    try:
        fmt = format_of(out)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    w, h = options.size
    if fmt in ("mp4", "webm") and (w % 2 or h % 2):
        raise UserError(f"--size {w}x{h}: {fmt.upper()} (yuv420p) needs an even width and "
                        f"height; try {w + w % 2}x{h + h % 2}")
    quality = DEFAULT_QUALITY[fmt] if options.quality is None else options.quality
    if not (isinstance(quality, int) and 0 <= quality <= 10):
        raise UserError(f"--quality: expected a whole number from 0 (small) to 10 (best), "
                        f"got {options.quality}")
    if options.camera not in ("orbit", None):
        from app.render.scene_view import camera_for

        camera_for(scene, options.camera)  # UserError naming the known presets
    if options.slab is not None:
        from app.render.slab_cli import slab_of

        slab_of(scene, options.slab)  # UserError saying what a slab text looks like
    elif options.layout != "single":
        raise UserError(f"--layout {options.layout}: the MR panel shows a slab; add --slab "
                        "axial:S1 (or another level)")
    plan = make_plan(scene.spread, options.fps, options.start, options.end, options.duration,
                     orbit=options.camera == "orbit")
    return fmt, plan, quality


def export_clip(scene: Scene, out: Path | str, options: ExportOptions,
                progress: ProgressFn | None = None) -> ExportResult:
    """Render ``scene`` over the options' range into ``out`` (.mp4, .webm, .gif or a folder).

    Raises UserError for bad options or an unwritable target; KeyboardInterrupt passes
    through. Either way nothing is left at ``out`` or beside it.
    """
    out = Path(out)
    fmt, plan, quality = check_options(scene, out, options)
    target = AtomicOutput(out, folder=fmt == "png")
    target.check()
    frames = sink = writer = None
    started = time.perf_counter()
    first_frame = [started]

    def report(done: int, phase: str) -> None:
        if progress is not None:
            now = time.perf_counter()
            progress(Progress(done, plan.n_frames, now - started, phase, now - first_frame[0]))

    cleanup = contextlib.ExitStack()
    try:
        tmp = target.create()
        frames = ClipFrames(scene, plan, options.size, options.camera, options)
        overlay = None
        if options.captions:
            overlay = frames.caption_overlay()
        encoding = Encoding(fmt, quality)
        if fmt == "png":
            sink = PngFolderSink(tmp)
        elif fmt == "gif":
            tmpdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="pelvic-spread-"))
            palette = Path(tmpdir) / "palette.png"
            make_palette(_palette_samples(frames, plan, overlay), palette, encoding.gif_colors)
            sink = VideoSink(tmp, options.size, plan.fps_fraction, encoding, palette)
        else:
            sink = VideoSink(tmp, options.size, plan.fps_fraction, encoding)
        writer = FrameWriter(sink, overlay)
        writer.start()
        first_frame[0] = time.perf_counter()
        report(0, "rendering")
        for i in range(plan.n_frames):
            image, state = frames.frame(i)
            writer.put(image, state)
            report(i + 1, "rendering")
        writer.close()
        report(plan.n_frames, "finishing")
        sink.finish()
        target.commit()
    except BaseException as exc:
        if writer is not None:
            writer.abort()
        if sink is not None:
            sink.abort()  # also unblocks a writer stuck in a pipe write
        if writer is not None and writer.is_alive():
            writer.join(timeout=10)  # no frame may land after the temp is gone
        target.discard()
        if isinstance(exc, EncoderError):
            raise UserError(f"{out}: {exc}") from None
        if isinstance(exc, OSError):
            raise UserError(f"{out}: {exc.strerror or exc}") from None
        raise
    finally:
        if frames is not None:
            frames.close()
        cleanup.close()
    now = time.perf_counter()
    seconds, rendering_s = now - started, now - first_frame[0]
    report(plan.n_frames, "done")
    size_bytes = (sum(p.stat().st_size for p in out.iterdir()) if out.is_dir()
                  else out.stat().st_size)
    return ExportResult(out, fmt, plan.n_frames, options.size, plan.fps, seconds, size_bytes,
                        rendering_s)


def _palette_samples(frames: ClipFrames, plan: ClipPlan,
                     overlay: CaptionOverlay | None) -> list[np.ndarray]:
    n = plan.n_frames
    picks = sorted({round(k * (n - 1) / max(GIF_PALETTE_SAMPLES - 1, 1))
                    for k in range(min(GIF_PALETTE_SAMPLES, n))})
    out = []
    for i in picks:
        image, state = frames.frame(i)
        out.append(overlay.draw(image, state) if overlay is not None else image)
    return out
