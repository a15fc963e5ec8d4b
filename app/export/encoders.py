"""Where frames go: an ffmpeg process (MP4, WebM, GIF) or a folder of numbered PNGs.

ffmpeg is the one imageio-ffmpeg ships (``get_ffmpeg_exe``). We drive it ourselves rather than
through ``imageio_ffmpeg.write_frames`` because that generator neither captures ffmpeg's
messages nor checks its exit status: a disk that fills while the MP4 index is being moved to the
front (``+faststart``) would go unnoticed. Here the command is an argument list (no shell), its
stderr is kept, and a non-zero exit becomes an :class:`EncoderError` quoting ffmpeg.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

FORMATS = ("mp4", "webm", "gif", "png")
SUFFIXES = {".mp4": "mp4", ".webm": "webm", ".gif": "gif"}
FRAME_NAME = "frame_{:05d}.png"
DEFAULT_QUALITY = {"mp4": 7, "webm": 7, "gif": 10, "png": 10}


class EncoderError(Exception):
    """The encoder failed; the message quotes what ffmpeg (or the file system) said."""


@dataclass(frozen=True)
class Encoding:
    """How one format is encoded: ffmpeg output arguments for a quality 0..10."""

    fmt: str
    quality: int

    def output_args(self) -> list[str]:
        q = self.quality
        if self.fmt == "mp4":
            # veryfast: ~7 ms a 720p frame on one core here, so encoding keeps pace with
            # software rendering; crf 36..16 over quality 0..10 (default 7 -> crf 22).
            return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(36 - 2 * q),
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]
        if self.fmt == "webm":
            # Constant quality (-b:v 0); realtime/cpu-used 8 keeps VP9 near x264's speed.
            return ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", str(52 - 3 * q),
                    "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
                    "-pix_fmt", "yuv420p", "-f", "webm"]
        if self.fmt == "gif":
            return ["-lavfi", "[0:v][1:v]paletteuse=dither=sierra2_4a:diff_mode=rectangle",
                    "-loop", "0", "-f", "gif"]
        raise ValueError(self.fmt)

    @property
    def gif_colors(self) -> int:
        return 16 + 24 * self.quality  # 16 .. 256


def format_of(out: Path) -> str:
    """The format an output path asks for; a path with no suffix (or a folder) means PNGs."""
    if out.is_dir() or not out.suffix:
        return "png"
    fmt = SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"{out}: unknown output type '{out.suffix}' (expected .mp4, .webm, "
                         ".gif, or a folder name for numbered PNGs)")
    return fmt


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class FfmpegProcess:
    """ffmpeg reading raw RGB frames on stdin and writing ``path``.

    It runs in its own session, so a Ctrl-C in the terminal reaches only us; we decide whether
    it finishes (``finish``) or is killed (``abort``).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: Fraction | float,
                 output_args: list[str], extra_inputs: list[str] | None = None):
        w, h = size
        self.path = path
        self.frame_bytes = w * h * 3
        self.cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-framerate", str(Fraction(fps).limit_denominator(1001)), "-i", "pipe:0",
                    *(extra_inputs or []), *output_args, str(path)]
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        try:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
        except OSError as exc:
            raise EncoderError(f"cannot start ffmpeg ({self.cmd[0]}): {exc}") from None
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr.append(line)

    def write(self, frame: np.ndarray) -> None:
        if frame.nbytes != self.frame_bytes:
            raise ValueError(f"frame has {frame.nbytes} bytes, expected {self.frame_bytes}")
        try:
            self.proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, OSError):
            self.proc.wait()
            raise EncoderError(self.explain()) from None

    def finish(self) -> None:
        """Close stdin and wait for ffmpeg to write the file; raise if it failed."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.proc.wait()
        self._drain.join(timeout=5)
        if self.proc.returncode != 0:
            raise EncoderError(self.explain())

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stderr):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass
        self.proc.wait()

    def explain(self) -> str:
        """What went wrong, in ffmpeg's words (its last lines)."""
        self._drain.join(timeout=2)
        rc = self.proc.returncode
        if rc is not None and rc < 0:
            try:
                why = f"ffmpeg was stopped by {signal.Signals(-rc).name}"
            except ValueError:
                why = f"ffmpeg was stopped by signal {-rc}"
        else:
            why = f"ffmpeg failed (exit status {rc})"
        said = list(self._stderr)[-6:]
        return why + (":\n  " + "\n  ".join(said) if said else "")


class VideoSink:
    """An MP4, WebM or GIF file written by ffmpeg as frames arrive."""

    def __init__(self, path: Path, size: tuple[int, int], fps: Fraction | float,
                 encoding: Encoding, palette: Path | None = None):
        extra = ["-i", str(palette)] if encoding.fmt == "gif" else None
        if encoding.fmt == "gif" and palette is None:
            raise ValueError("a GIF needs a palette")
        self.process = FfmpegProcess(path, size, fps, encoding.output_args(), extra)

    def write(self, frame: np.ndarray) -> None:
        self.process.write(frame)

    def finish(self) -> None:
        self.process.finish()

    def abort(self) -> None:
        self.process.abort()


class PngFolderSink:
    """Numbered PNGs (``frame_00000.png``...) in a folder."""

    def __init__(self, folder: Path, compress_level: int = 3):
        self.folder = folder
        self.compress_level = compress_level
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        from PIL import Image

        path = self.folder / FRAME_NAME.format(self.count)
        try:
            Image.fromarray(np.ascontiguousarray(frame)).save(
                path, format="PNG", compress_level=self.compress_level)
        except OSError as exc:
            raise EncoderError(f"cannot write {path.name}: {exc.strerror or exc}") from None
        self.count += 1

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


def make_palette(samples: list[np.ndarray], path: Path, colors: int) -> None:
    """A GIF palette (ffmpeg palettegen) from sample frames of the clip.

    Sampling a few frames instead of the whole clip keeps memory flat: palettegen would
    otherwise hold every frame until the end. The scene is mostly still anatomy, so a handful
    of moments spread over the range carries all its colours.
    """
    size = (samples[0].shape[1], samples[0].shape[0])
    proc = FfmpegProcess(path, size, 1, [
        "-vf", f"palettegen=max_colors={colors}:stats_mode=full:reserve_transparent=0",
        "-frames:v", "1", "-update", "1", "-f", "image2", "-c:v", "png"])
    try:
        for frame in samples:
            proc.write(frame)
        proc.finish()
    except BaseException:
        proc.abort()
        raise


def remove_quietly(path: Path) -> None:
    """Remove a file or a folder of files we wrote; missing is fine."""
    try:
        if path.is_dir() and not path.is_symlink():
            for child in path.iterdir():
                child.unlink(missing_ok=True)
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def frame_files(folder: Path) -> list[Path]:
    """The numbered PNGs in an export folder, in order."""
    return sorted(p for p in folder.iterdir() if _is_frame_name(p.name))


def _is_frame_name(name: str) -> bool:
    return name.startswith("frame_") and name.endswith(".png") and name[6:-4].isdigit()


def only_frames(folder: Path) -> bool:
    """True when ``folder`` holds nothing but numbered PNGs (an earlier export we may replace)."""
    return all(_is_frame_name(p.name) and p.is_file() for p in folder.iterdir())


__all__ = ["DEFAULT_QUALITY", "EncoderError", "Encoding", "FORMATS", "FRAME_NAME",
           "FfmpegProcess", "PngFolderSink", "VideoSink", "format_of", "frame_files",
           "make_palette", "only_frames", "remove_quietly"]
