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


def pytest_itemcollected(item):
    """With pytest-xdist (``./dev test`` runs two workers): the browser tests one after another
    on one worker, beside the rest; their timings assume one Chromium at a time. (Marked as
    items are collected, before pytest-xdist reads the groups.)"""
    if "/e2e/" in str(item.path):
        item.add_marker(pytest.mark.xdist_group("browser"))


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
