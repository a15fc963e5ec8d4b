"""Comparing rendered pictures with reference images under a tolerance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def compare(image: np.ndarray, reference: Path, max_mean: float = 4.0,
            max_changed: float = 0.03) -> None:
    """Assert ``image`` matches ``reference``: mean abs difference (0..255) and the share of
    pixels differing by more than 40 levels stay under the limits.

    Set PELVIC_SPREAD_UPDATE_REFERENCES=1 to (re)write the reference instead.
    """
    if os.environ.get("PELVIC_SPREAD_UPDATE_REFERENCES") or not reference.exists():
        if not os.environ.get("PELVIC_SPREAD_UPDATE_REFERENCES"):
            raise AssertionError(f"reference image {reference} is missing; run with "
                                 "PELVIC_SPREAD_UPDATE_REFERENCES=1 and look at it")
        reference.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(reference)
        return
    ref = load(reference)
    assert image.shape == ref.shape, f"size {image.shape} differs from reference {ref.shape}"
    diff = np.abs(image.astype(np.int16) - ref.astype(np.int16))
    mean = float(diff.mean())
    changed = float((diff.max(axis=2) > 40).mean())
    if mean > max_mean or changed > max_changed:
        out = reference.with_name(reference.stem + ".actual.png")
        Image.fromarray(image).save(out)
        raise AssertionError(
            f"image differs from {reference.name}: mean abs diff {mean:.2f} (limit {max_mean}), "
            f"{changed:.1%} pixels changed (limit {max_changed:.0%}); actual saved to {out}")
