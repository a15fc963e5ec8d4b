"""Clip exports for the browser: each job is ``python -m app export ...`` in its own process.

The web page never renders clips itself: a job has its own process, hence its own offscreen
render window, and the page stays responsive. The child reports through a small JSON progress
file (``--progress-file``); ``status`` reads it. Files only ever land in ``out_dir``: a name
from the browser is reduced to a plain file name before it is used.

    jobs = ExportJobs("out/clips")
    job = jobs.start("scenes/bilateral_plexopathy.yaml",
                     {"size": "1280x720", "fps": 30, "start": "2011-06", "end": "2014-04",
                      "format": "mp4", "captions": True, "name": "left then right"})
    jobs.status(job)  # {"state": "running", "progress": 0.42, "eta_s": 12.5, "done": False,...}
    jobs.cancel(job)
"""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.export.encoders import remove_quietly
from app.export.pipeline import PART_MARK

EXTENSIONS = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}
OPTION_KEYS = ("size", "fps", "start", "end", "format", "captions", "name", "camera",
               "duration", "quality", "view")
MAX_VIEW_BYTES = 64_000  # a page's view (camera, structures, labels) as JSON
MAX_BROWSER_SIZE = (3840, 2160)
MAX_NAME = 80
CANCEL_GRACE_S = 10.0
DEFAULT_LIMIT_BYTES = 2 * 2**30  # the export folder's size limit unless serve says otherwise
MAX_WAITING = 64  # queued jobs at most (each page's are limited per second too)
_MOMENT_RE = re.compile(r"^(\d{4}-\d{2}(-\d{2})?|\d+(\.\d+)?)$")
_CAMERA_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _Job:
    id: str
    path: Path
    argv: list[str]
    progress_file: Path
    log_file: Path
    state: str = "queued"  # queued | running | done | error | cancelled
    owner: str | None = None  # the page that asked for it (only it may cancel)
    proc: subprocess.Popen | None = None
    error: str | None = None
    cancel_requested: bool = False
    done_event: threading.Event = field(default_factory=threading.Event)


def safe_name(name: str, fmt: str) -> str:
    """A browser-supplied name as a plain file name in the output folder.

    Folders (``../``, ``/``, ``\\``), hidden names, odd characters and over-long names are
    stripped; the extension always matches ``fmt``.
    """
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    ext = EXTENSIONS[fmt]
    for known in EXTENSIONS.values():
        if known and base.lower().endswith(known):
            base = base[: -len(known)]
            break
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip(".-_ ")
    stem = re.sub(r"\.{2,}", ".", stem)[:MAX_NAME].strip(".-_ ")
    return (stem or "clip") + ext


def normalise_options(options: dict[str, Any]) -> dict[str, Any]:
    """Check the browser's options; UserError with a message the page can show."""
    if not isinstance(options, dict):
        raise UserError("export options must be a mapping")
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise UserError(f"unknown export option(s): {', '.join(unknown)} "
                        f"(known: {', '.join(OPTION_KEYS)})")
    out: dict[str, Any] = {}
    fmt = options.get("format", "mp4")
    if fmt not in EXTENSIONS:
        raise UserError(f"format: expected one of {', '.join(EXTENSIONS)}, got {fmt!r}")
    out["format"] = fmt
    size = options.get("size", "1280x720")
    if isinstance(size, (list, tuple)) and len(size) == 2:
        size = f"{size[0]}x{size[1]}"
    m = re.fullmatch(r"(\d{2,5})x(\d{2,5})", str(size))
    if not m:
        raise UserError(f"size: expected WIDTHxHEIGHT such as 1280x720, got {size!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= MAX_BROWSER_SIZE[0] and 16 <= h <= MAX_BROWSER_SIZE[1]):
        raise UserError(f"size: {w}x{h} is out of range (16x16 to "
                        f"{MAX_BROWSER_SIZE[0]}x{MAX_BROWSER_SIZE[1]})")
    out["size"] = f"{w}x{h}"
    out["fps"] = _number(options.get("fps", 30), "fps", 1, 60)
    for key in ("start", "end"):
        value = options.get(key)
        if value is None or value == "":
            continue
        text = f"{value:g}" if isinstance(value, (int, float)) else str(value).strip()
        if isinstance(value, bool) or not _MOMENT_RE.match(text):
            raise UserError(f"{key}: expected seconds or a date YYYY-MM[-DD], got {value!r}")
        out[key] = text
    if options.get("duration") not in (None, ""):
        out["duration"] = _number(options["duration"], "duration", 0.1, 600)
    if options.get("quality") not in (None, ""):
        q = options["quality"]
        if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 10:
            raise UserError(f"quality: expected a whole number 0..10, got {q!r}")
        out["quality"] = q
    camera = options.get("camera") or "anterior"
    if not isinstance(camera, str) or not _CAMERA_RE.match(camera):
        raise UserError(f"camera: expected a preset name or 'orbit', got {camera!r}")
    out["camera"] = camera
    captions = options.get("captions", True)
    if not isinstance(captions, bool):
        raise UserError(f"captions: expected true or false, got {captions!r}")
    out["captions"] = captions
    out["name"] = options.get("name") or ""
    view = options.get("view")
    if view is not None:
        import json

        if not isinstance(view, dict):
            raise UserError("view: expected the page's view as a mapping")
        text = json.dumps(view)
        if len(text) > MAX_VIEW_BYTES:
            raise UserError(f"view: too large ({len(text)} bytes, at most {MAX_VIEW_BYTES})")
        out["view"] = text
    return out


def _number(value: Any, key: str, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(x) or not lo <= x <= hi:
        raise UserError(f"{key}: expected a number from {lo:g} to {hi:g}, got {value!r}")
    return x


def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1.5G``, ``750000K`` or plain bytes -> bytes (ValueError if not)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"expected a size such as 500M or 2G, got {text!r}")
    scale = 1024 ** " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * scale)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


class ExportJobs:
    """Runs exports into ``out_dir``, ``max_running`` at a time (default: one per core), the
    rest waiting in order; refuses new ones once the folder holds ``max_bytes``."""

    def __init__(self, out_dir: Path | str, python: str | None = None,
                 max_running: int | None = None, max_bytes: int | None = DEFAULT_LIMIT_BYTES):
        self.out_dir = Path(out_dir).resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.out_dir / ".jobs"
        self.state_dir.mkdir(exist_ok=True)
        self.python = python or sys.executable
        self.max_running = max(1, max_running or os.cpu_count() or 1)
        self.max_bytes = max_bytes  # None: no limit
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.RLock()
        self._sweep_stale_parts()
        ref = weakref.ref(self)
        atexit.register(lambda: (j := ref()) is not None and j.close())

    # -- the API the viewer calls --------------------------------------------------------------
    def start(self, scene_path: Path | str, options: dict[str, Any],
              owner: str | None = None) -> str:
        """Queue an export; returns its job id. UserError for bad options, a full folder or
        too long a queue. ``owner``: who may cancel it (None: anyone)."""
        opts = normalise_options(options)
        scene = Path(scene_path).resolve()
        if not scene.is_file():
            raise UserError(f"scene {scene_path} not found")
        self.check_room()
        default = f"{scene.stem}-{opts.get('start', 'start')}-{opts.get('end', 'end')}"
        job_id = secrets.token_hex(6)
        with self._lock:
            path = self._unique(safe_name(opts["name"] or default, opts["format"]))
            argv = [self.python, "-m", "app", "export", str(scene), f"--output={path}",
                    f"--size={opts['size']}", f"--fps={opts['fps']:g}",
                    f"--camera={opts['camera']}",
                    "--captions" if opts["captions"] else "--no-captions",
                    f"--progress-file={self.state_dir / (job_id + '.json')}"]
            if "start" in opts:
                argv.append(f"--from={opts['start']}")
            if "end" in opts:
                argv.append(f"--to={opts['end']}")
            if "duration" in opts:
                argv.append(f"--duration={opts['duration']:g}")
            if "quality" in opts:
                argv.append(f"--quality={opts['quality']}")
            if "view" in opts:  # the page's look: camera, structures, labels
                view_file = self.state_dir / f"{job_id}.view.json"
                view_file.write_text(opts["view"], encoding="utf-8")
                argv.append(f"--view={view_file}")
            if sum(j.state == "queued" for j in self._jobs.values()) >= MAX_WAITING:
                raise UserError(f"{MAX_WAITING} exports are already waiting; try again later")
            job = _Job(job_id, path, argv, self.state_dir / f"{job_id}.json",
                       self.state_dir / f"{job_id}.log", owner=owner)
            self._jobs[job_id] = job
            self._pump()
        return job_id

    def used_bytes(self) -> int:
        """What the export folder holds now (clips, partial files, job logs)."""
        total = 0
        for folder in (self.out_dir, self.state_dir):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
        return total

    def check_room(self) -> None:
        """UserError when the export folder has reached its size limit."""
        if self.max_bytes is None:
            return
        used = self.used_bytes()
        if used >= self.max_bytes:
            raise UserError(
                f"the export folder is full: {human_bytes(used)} used of its "
                f"{human_bytes(self.max_bytes)} limit ({self.out_dir}). Remove clips from it, "
                "or start serve with a larger --export-limit")

    def position(self, job_id: str) -> int | None:
        """A queued job's place in the queue (1: next to start), else None."""
        with self._lock:
            waiting = [j.id for j in self._jobs.values() if j.state == "queued"]
        return waiting.index(job_id) + 1 if job_id in waiting else None

    def owner(self, job_id: str) -> str | None:
        return self._job(job_id).owner

    def status(self, job_id: str) -> dict[str, Any]:
        """``{"id", "state", "position", "progress" 0..1, "eta_s", "done", "error",
        "filename"}``; ``position``: place in the queue while queued (1: next)."""
        with self._lock:
            job = self._job(job_id)
            self._pump()
            doc = _read_json(job.progress_file)
            progress = float(doc.get("progress") or 0.0)
            eta = doc.get("eta_s")
            if job.state == "done":
                progress, eta = 1.0, 0.0
            elif job.state in ("queued", "cancelled", "error"):
                eta = None
            return {"id": job.id, "state": job.state, "position": self.position(job.id),
                    "progress": progress, "eta_s": eta,
                    "fps": doc.get("fps"), "done": job.state == "done", "error": job.error,
                    "filename": job.path.name}

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job (nothing is left of it). False if it had ended."""
        with self._lock:
            job = self._job(job_id)
            if job.state == "queued":
                job.state, job.error = "cancelled", "cancelled"
                job.done_event.set()
                return True
            if job.state != "running" or job.proc is None:
                return False
            job.cancel_requested = True
            proc = job.proc
        # The child treats SIGTERM like Ctrl-C: it stops ffmpeg and removes its partial file.
        # (SIGINT could be ignored, inherited from a server started in the background.)
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=CANCEL_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            proc.wait()
        job.done_event.wait(timeout=5)
        remove_quietly(job.path.with_name(f".{job.path.name}{PART_MARK}{proc.pid}"))
        return True

    def path(self, job_id: str) -> Path | None:
        """The finished file (for the download link), or None while it is not there."""
        with self._lock:
            job = self._job(job_id)
            return job.path if job.state == "done" and job.path.exists() else None

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until the job has ended (for scripts and tests); returns its status."""
        self._job(job_id).done_event.wait(timeout)
        return self.status(job_id)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            ids = list(self._jobs)
        return [self.status(i) for i in ids]

    def close(self) -> None:
        """Cancel everything still queued or running (server shutdown)."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.state in ("queued", "running")]
        for job_id in ids:
            self.cancel(job_id)

    # -- internals ---------------------------------------------------------------------------
    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(f"no export job {job_id!r}")
        return job

    def _unique(self, name: str) -> Path:
        taken = {j.path.name for j in self._jobs.values() if j.state in ("queued", "running")}
        stem, ext = (name[: -len(Path(name).suffix)], Path(name).suffix) if Path(
            name).suffix else (name, "")
        candidate, k = name, 1
        while candidate in taken or (self.out_dir / candidate).exists():
            k += 1
            candidate = f"{stem}-{k}{ext}"
        path = self.out_dir / candidate
        if path.parent != self.out_dir:  # safe_name makes this impossible; keep it checked
            raise UserError(f"refusing to write outside {self.out_dir}")
        return path

    def _pump(self) -> None:
        running = sum(1 for j in self._jobs.values() if j.state == "running")
        for job in self._jobs.values():
            if running >= self.max_running:
                break
            if job.state == "queued":
                self._launch(job)
                running += 1

    def _launch(self, job: _Job) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        with open(job.log_file, "wb") as log:
            try:
                job.proc = subprocess.Popen(job.argv, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, env=env,
                                            cwd=self.state_dir)
            except OSError as exc:
                job.state, job.error = "error", f"cannot start the export: {exc}"
                job.done_event.set()
                return
        job.state = "running"
        threading.Thread(target=self._watch, args=(job,), name=f"export-{job.id}",
                         daemon=True).start()

    def running(self) -> int:
        """How many export processes run now."""
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.state == "running")

    def _watch(self, job: _Job) -> None:
        assert job.proc is not None
        rc = job.proc.wait()
        if rc != 0:  # killed or failed: its partial file, if it left one, goes too
            remove_quietly(job.path.with_name(f".{job.path.name}{PART_MARK}{job.proc.pid}"))
        with self._lock:
            doc = _read_json(job.progress_file)
            if job.cancel_requested:
                job.state, job.error = "cancelled", "cancelled"
            elif rc == 0 and job.path.exists():
                job.state = "done"
            else:
                job.state = "error"
                job.error = doc.get("error") or _last_message(job.log_file) or (
                    f"export stopped (exit status {rc})")
            job.done_event.set()
            self._pump()

    def _sweep_stale_parts(self) -> None:
        """Remove ``.NAME.part-PID`` left by an export whose process no longer exists (a
        server or export that was killed): done when the server starts."""
        for p in self.out_dir.glob(f".*{PART_MARK}*"):
            pid = p.name.rsplit(PART_MARK, 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                remove_quietly(p)


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _last_message(log: Path) -> str:
    """The child's last ``pelvic-spread: ...`` line (what a terminal user would have seen)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("pelvic-spread:"):
            return line.removeprefix("pelvic-spread:").strip()
        if line.startswith("pelvic-spread "):  # argparse: "pelvic-spread export: error: ..."
            return line
    return ""
