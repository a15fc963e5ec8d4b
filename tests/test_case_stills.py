"""Stills of the case on the built-in anatomy at two dated moments, against references."""

from __future__ import annotations

import pytest

from tests.conftest import REFERENCES, run_cli
from tests.imagecmp import compare, load


@pytest.mark.parametrize("date", ["2012-03", "2014-04"])
def test_case_still_matches_reference(tmp_path, date):
    out = tmp_path / f"case_{date}.png"
    result = run_cli("render", "-o", str(out), "--date", date, "--size", "640x360")
    assert result.returncode == 0, result.stderr
    compare(load(out), REFERENCES / f"case_{date}.png")


def test_moments_differ(tmp_path):
    """The two moments are different pictures (the spread is drawn, not just the anatomy)."""
    import numpy as np

    images = []
    for date in ("2011-06", "2014-04"):
        out = tmp_path / f"{date}.png"
        assert run_cli("render", "-o", str(out), "--date", date, "--size", "320x180"
                       ).returncode == 0
        images.append(load(out).astype(int))
    changed = (np.abs(images[0] - images[1]).max(axis=2) > 60).mean()
    assert changed > 0.01
