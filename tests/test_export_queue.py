"""Exports under pressure: a queue with at most one render process per core, positions, a
size limit for the export folder, and partial files of killed exports swept.

Real ``python -m app export`` children render a small mesh scene; the test cancels them once
the queue has been seen, so it takes seconds, not the length of twenty clips.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from app.errors import UserError
from app.export.jobs import ExportJobs, parse_size
from app.export.pipeline import PART_MARK


@pytest.fixture(scope="module")
def ball_scene(tmp_path_factory) -> Path:
    import pyvista as pv

    d = tmp_path_factory.mktemp("ball")
    pv.Sphere(radius=40, theta_resolution=16, phi_resolution=12).triangulate().save(d / "a.ply")
    (d / "scene.yaml").write_text("\n".join([
        "format: pelvic-spread/1", "name: queue test", "nodes:",
        "  - {id: ball, kind: mesh, color: [0.8, 0.5, 0.4], geometry: {file: a.ply}}",
        "cameras:",
        "  anterior: {position: [0, -420, 0], focal_point: [0, 0, 0], view_up: [0, 0, 1]}",
    ]) + "\n")
    return d / "scene.yaml"


LONG = {"size": "64x48", "fps": 10, "duration": 300, "format": "gif"}


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` and that run ``app export``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"export" in cmd and stat.rsplit(")", 1)[1].split()[0] != "Z":
            out.append(int(entry.name))
    return out


def test_twenty_at_once_run_one_per_core_and_the_rest_wait_in_order(ball_scene, tmp_path):
    cores = os.cpu_count() or 1
    jobs = ExportJobs(tmp_path / "out")
    assert jobs.max_running == cores
    try:
        ids = [jobs.start(ball_scene, dict(LONG, name=f"clip{i}"), owner=f"page{i}")
               for i in range(20)]
        statuses = [jobs.status(i) for i in ids]
        running = [s for s in statuses if s["state"] == "running"]
        queued = [s for s in statuses if s["state"] == "queued"]
        assert len(running) == min(cores, 20)
        assert [s["position"] for s in queued] == list(range(1, 21 - len(running)))
        assert all(s["position"] is None for s in running)
        assert len(children(os.getpid())) <= cores
        assert jobs.owner(ids[3]) == "page3"
        # a queued job that is cancelled leaves the queue, and those behind it move up
        first_waiting = queued[0]["id"]
        assert jobs.cancel(first_waiting)
        assert jobs.status(queued[1]["id"])["position"] == 1
        # one running job ends: the next waiting one starts, still one per core
        assert jobs.cancel(running[0]["id"])
        deadline = time.monotonic() + 30
        while jobs.running() < min(cores, 20) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert jobs.running() == min(cores, 20)
        assert jobs.status(queued[1]["id"])["state"] == "running"
        assert len(children(os.getpid())) <= cores
    finally:
        jobs.close()
    assert children(os.getpid()) == []


def test_a_full_export_folder_refuses_new_exports_clearly(ball_scene, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old-clip.mp4").write_bytes(b"x" * 5000)
    jobs = ExportJobs(out, max_bytes=4096)
    try:
        with pytest.raises(UserError, match=r"export folder is full: 4\.\d KB used of its "
                                            r"4\.0 KB limit.*--export-limit"):
            jobs.start(ball_scene, LONG)
        jobs.max_bytes = parse_size("1M")
        job = jobs.start(ball_scene, LONG)
        assert jobs.status(job)["state"] == "running"
    finally:
        jobs.close()


def test_parts_of_killed_exports_are_swept(ball_scene, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = 2**22 + 12345  # above Linux's pid_max default: no such process
    stale = out / f".old.mp4{PART_MARK}{dead}"
    stale.write_bytes(b"x")
    mine = out / f".busy.mp4{PART_MARK}{os.getpid()}"  # a live writer's: kept
    mine.write_bytes(b"x")
    jobs = ExportJobs(out)  # the server starts
    try:
        assert not stale.exists() and mine.exists()
        # an export killed while writing leaves nothing behind either
        job = jobs.start(ball_scene, LONG)
        proc = jobs._job(job).proc
        deadline = time.monotonic() + 60
        while not list(out.glob(f".*{PART_MARK}{proc.pid}")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(out.glob(f".*{PART_MARK}{proc.pid}")), "the export wrote no partial file"
        os.kill(proc.pid, signal.SIGKILL)
        status = jobs.wait(job, timeout=30)
        assert status["state"] == "error"
        assert not list(out.glob(f".*{PART_MARK}{proc.pid}"))
    finally:
        jobs.close()
        mine.unlink()


def test_sizes_are_read_with_units():
    assert parse_size("500M") == 500 * 2**20
    assert parse_size("2G") == 2 * 2**30
    assert parse_size("1.5g") == int(1.5 * 2**30)
    assert parse_size("1234") == 1234
    for bad in ("", "lots", "-1G", "2X"):
        with pytest.raises(ValueError, match="500M or 2G"):
            parse_size(bad)
