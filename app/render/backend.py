"""Which OpenGL window VTK opens: an offscreen one first wherever there is no display.

VTK (9.4 and later) picks its window class at run time, trying X first, then EGL, then
OSMesa. Without a display the X attempt fails and prints "bad X server connection" at the top
of every ``render`` and ``export``, before EGL takes over. Naming the offscreen class in
``VTK_DEFAULT_OPENGL_WINDOW`` (read each time a window is created) skips that attempt.
A choice the user made in that variable is kept.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable, MutableMapping

ENV = "VTK_DEFAULT_OPENGL_WINDOW"
EGL = "vtkEGLRenderWindow"
OSMESA = "vtkOSOpenGLRenderWindow"


def offscreen_window_class(environ: MutableMapping[str, str] | None = None,
                           find_library: Callable[[str], str | None] = ctypes.util.find_library,
                           platform: str = sys.platform) -> str | None:
    """The window class to ask VTK for, or None to leave VTK's own choice.

    None where a display exists (X can render offscreen too), off Linux, or where the user
    already named a class; else EGL when its library is installed, then OSMesa.
    """
    env = os.environ if environ is None else environ
    if not platform.startswith("linux") or env.get(ENV) or env.get("DISPLAY"):
        return None
    if find_library("EGL"):
        return EGL
    if find_library("OSMesa"):
        return OSMESA
    return None


def use_offscreen_backend(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Before the first render window: choose the offscreen class (see the module docstring).

    Returns the class now named in the environment, if any. Cheap after the first call.
    """
    env = os.environ if environ is None else environ
    choice = offscreen_window_class(env)
    if choice is not None:
        env[ENV] = choice
    return env.get(ENV)
