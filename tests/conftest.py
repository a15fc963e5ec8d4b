"""Shared fixtures. Rendering is always offscreen; real anatomy is read from ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

ROOT = Path(__file__).resolve().parents[1]
SHARED_ANATOMY = ROOT.parent / "shared" / "anatomy"
REFERENCES = Path(__file__).resolve().parent / "references"


# Two lines of browser tests, one per worker, each module's tests in turn on its line; the
# halves take about as long (per-file times with --durations), and the lecture tests, whose
# drift limits are the tightest, share their line with the lighter pages, not with the soak.
BROWSER_LINE_B = {"test_web_viewer.py", "test_soak.py", "test_slab_viewer.py",
                  "test_hostile_page.py", "test_link_fuzz.py"}


def pytest_itemcollected(item):
    """With pytest-xdist (``./dev test`` runs two workers): each browser module runs all on
    one worker (its server and Chromium are per module), in one of two lines; the rest fill
    in beside them. (Marked as items are collected, before pytest-xdist reads the groups.)"""
    if "/e2e/" in str(item.path):
        line = "browser-b" if item.path.name in BROWSER_LINE_B else "browser-a"
        item.add_marker(pytest.mark.xdist_group(line))


def run_cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m app ARGS`` in a fresh process, as a user would."""
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=kw.pop("cwd", ROOT),
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def case_scene():
    from app.case import DEFAULT_SCENE, load_scene

    return load_scene(DEFAULT_SCENE)


@pytest.fixture(scope="session")
def base_scene():
    from app.case import SCENES_DIR, load_scene

    return load_scene(SCENES_DIR / "base_anatomy.yaml")


def require_anatomy(sub: str) -> Path:
    path = SHARED_ANATOMY / sub
    if not path.is_dir():
        pytest.skip(f"real anatomy meshes not found at {path} (only present beside the project "
                    "checkout in CI and development)")
    return path
