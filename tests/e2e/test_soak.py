"""A one-minute soak (``benchmarks/soak.py`` runs ten): pages that play, seek, switch,
hide and reload leave the server as they found it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from soak import soak  # noqa: E402


@pytest.mark.slow
def test_a_minute_of_busy_pages_leaves_the_server_flat(browser, served):
    r = soak(browser, served, pages=3, seconds=60, seed=7, report=lambda *_: None)
    assert sum(r["actions"].values()) >= 5  # (a busy 2-core machine does few a minute)
    assert r["page_errors"] == [] and r["tracebacks"] == []
    assert r["still_drawing"] == r["pages"]
    assert r["end"]["census"]["vtk"] == r["start"]["census"]["vtk"]
    assert r["end"]["rss_mb"] - r["start"]["rss_mb"] <= 50
