"""Progress of an export: a bar with ETA on a terminal, plain lines in logs, JSON for machines."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TextIO

from app.export.pipeline import Progress


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TerminalProgress:
    """``[#####.....]  45%  135/300  12.3 fps  ETA 00:13`` redrawn in place on a TTY;
    elsewhere (a log, a pipe) one plain line every ``line_every_s`` seconds and at the end."""

    def __init__(self, stream: TextIO, label: str = "export", width: int = 28,
                 tty: bool | None = None, line_every_s: float = 5.0):
        self.stream = stream
        self.label = label
        self.width = width
        self.tty = stream.isatty() if tty is None else tty
        self.line_every_s = line_every_s
        self._last = -1e9
        self._drawn = False
        self._width = 0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.phase in ("finishing", "done")
        if self.tty:
            if not final and now - self._last < 0.1 and p.done != p.total:
                return
            filled = int(self.width * p.fraction)
            bar = "#" * filled + "." * (self.width - filled)
            what = "finishing…" if p.phase == "finishing" else f"ETA {format_eta(p.eta_s)}"
            line = (f"\r{self.label} [{bar}] {p.fraction:4.0%}  {p.done}/{p.total}  "
                    f"{p.fps:5.1f} fps  {what}")
            pad = " " * max(0, self._width - len(line))  # wipe a longer previous line
            self._width = len(line)
            self.stream.write(line + pad + ("\n" if p.phase == "done" else ""))
            self._drawn = p.phase != "done"
        else:
            if p.phase == "rendering" and now - self._last < self.line_every_s and p.done:
                return
            if p.phase == "rendering":
                line = (f"{self.label}: {p.done}/{p.total} frames ({p.fraction:.0%}), "
                        f"{p.fps:.1f} fps, ETA {format_eta(p.eta_s)}")
            elif p.phase == "finishing":
                line = f"{self.label}: {p.total} frames rendered, finishing the file"
            else:
                line = f"{self.label}: done in {p.elapsed_s:.1f} s ({p.fps:.1f} fps)"
            self.stream.write(line + "\n")
        self._last = now
        self.stream.flush()

    def end_line(self) -> None:
        """Move off a half-drawn bar (before an error message is printed)."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


class ProgressFile:
    """The machine-readable channel: a small JSON document, replaced atomically.

    ``{"state": "running"|"done"|"error"|"cancelled", "done", "total", "progress", "eta_s",
    "fps", "phase", "error", "output"}``. Readers never see a half-written file.
    """

    def __init__(self, path: Path, output: Path | str | None = None, every_s: float = 0.25):
        self.path = Path(path)
        self.output = str(output) if output is not None else None
        self.every_s = every_s
        self._last = -1e9
        self.write({"state": "running", "done": 0, "total": 0, "progress": 0.0,
                    "eta_s": None, "fps": 0.0, "phase": "starting", "error": None,
                    "output": self.output})

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == "rendering" and now - self._last < self.every_s and p.done != p.total:
            return
        self._last = now
        self.write({"state": "done" if p.phase == "done" else "running", "done": p.done,
                    "total": p.total, "progress": round(p.fraction, 4),
                    "eta_s": None if p.eta_s is None else round(p.eta_s, 1),
                    "fps": round(p.fps, 2), "phase": p.phase, "error": None,
                    "output": self.output})

    def fail(self, message: str, cancelled: bool = False) -> None:
        try:
            doc = json.loads(self.path.read_text())
        except (OSError, ValueError):
            doc = {}
        doc.update(state="cancelled" if cancelled else "error", error=message, eta_s=None)
        self.write(doc)

    def write(self, doc: dict) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)  # progress is best effort; the export goes on
