"""Easing functions: pure maps [0, 1] -> [0, 1], each with its inverse.

The inverse is what turns "where is the front at time t" into "when does the front reach
this point" (the arrival-time field), so every easing here must be monotone and invertible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Ease = Callable[[np.ndarray], np.ndarray]


def linear(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


def ease_in(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x


def ease_in_inverse(y: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(y, 0.0, 1.0))


def ease_out(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 1.0 - (1.0 - x) ** 2


def ease_out_inverse(y: np.ndarray) -> np.ndarray:
    return 1.0 - np.sqrt(1.0 - np.clip(y, 0.0, 1.0))


def smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep: slow start, slow end."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def smooth_inverse(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


EASINGS: dict[str, tuple[Ease, Ease]] = {
    "linear": (linear, linear),
    "ease_in": (ease_in, ease_in_inverse),
    "ease_out": (ease_out, ease_out_inverse),
    "smooth": (smooth, smooth_inverse),
}
