"""Where there is no display, VTK goes straight to an offscreen window: no X attempt, no warning."""

from __future__ import annotations

import os
import re

import pytest

from app.render.backend import EGL, ENV, OSMESA, offscreen_window_class, use_offscreen_backend
from tests.conftest import run_cli

# VTK's logger marks its lines "WARN|" / "ERR|"; its older output window says "Warning:".
VTK_NOISE = re.compile(r"bad X server|WARN\||ERR\||vtk\w+\.?\w*:\d+|Warning: In ", re.I)


def libraries(*present: str):
    return lambda name: f"lib{name}.so.1" if name in present else None


@pytest.mark.parametrize("env, present, expected", [
    ({}, ("EGL", "OSMesa"), EGL),
    ({}, ("OSMesa",), OSMESA),
    ({}, (), None),  # nothing offscreen installed: VTK's own choice
    ({"DISPLAY": ":0"}, ("EGL",), None),  # a display: X can render offscreen as well
    ({ENV: "vtkOSOpenGLRenderWindow"}, ("EGL",), None),  # the user's choice stands
])
def test_offscreen_class_choice(env, present, expected):
    assert offscreen_window_class(env, libraries(*present), "linux") == expected


def test_other_platforms_keep_vtks_choice():
    assert offscreen_window_class({}, libraries("EGL"), "darwin") is None
    assert offscreen_window_class({}, libraries("EGL"), "win32") is None


def test_choice_is_written_once_and_kept():
    env: dict[str, str] = {}
    chosen = use_offscreen_backend(env)
    assert chosen in (EGL, OSMESA, None)
    if chosen is not None:
        assert env[ENV] == chosen
        env[ENV] = "mine"
        assert use_offscreen_backend(env) == "mine"


def _headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", ENV, "WAYLAND_DISPLAY")}
    env["PYTHONWARNINGS"] = "default"  # Python warnings would show too
    return env


def test_render_without_display_is_quiet(tmp_path):
    out = tmp_path / "still.png"
    result = run_cli("render", "-o", str(out), "--date", "2013-08", "--size", "320x180",
                     env=_headless_env())
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000
    assert not VTK_NOISE.search(result.stderr), result.stderr
    assert "Warning" not in result.stderr, result.stderr


def test_export_without_display_is_quiet(tmp_path):
    out = tmp_path / "frames"
    result = run_cli("export", "-o", str(out), "--size", "160x90", "--fps", "2", "--duration", "1",
                     env=_headless_env())
    assert result.returncode == 0, result.stderr
    assert len(list(out.glob("*.png"))) == 2
    assert not VTK_NOISE.search(result.stderr), result.stderr
