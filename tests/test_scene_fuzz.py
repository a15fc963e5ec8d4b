"""Scene files that are not scene files: a short run of ``tools/fuzz/scene_fuzz.py`` and the
cases it once found, each refused by ``validate`` with ``FILE:LINE:`` and no traceback."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "tools" / "fuzz"))

pytest.importorskip("hypothesis")


def test_a_short_fuzz_run_finds_nothing():
    from scene_fuzz import run

    summary = run(cases=24, seed=20261202, quiet=True)
    assert summary["cases"] == 24
    assert summary["failures"] == [], summary["failures"]
    assert summary["rejected_cleanly"] > 0
    assert summary["max_seconds"] <= 5.0 and summary["max_peak_mb"] <= 500.0


def _bomb(levels: int = 9) -> list[str]:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return lines


@pytest.mark.parametrize("name, data, line, words", [
    ("nul", b"format: pelvic-spread/1\nname: x\x00y\nnodes: []\n", 2, "character #x0000"),
    ("latin1", b"format: pelvic-spread/1\nnodes: []\nname: caf\xe9\n", 3, "not UTF-8"),
    ("deep-block", ("format: pelvic-spread/1\nname: x\nnodes:\n"
                    + "".join("  " * i + "- k:\n" for i in range(1, 90))).encode(), None,
     "nested more than"),
    ("deep-flow", b"format: pelvic-spread/1\nname: x\nnodes: " + b"[" * 5000 + b"]" * 5000
     + b"\n", 3, "nested more than"),
    ("bomb", ("\n".join(["format: pelvic-spread/1", "name: bomb", *_bomb(),
                         "nodes: *a8"]) + "\n").encode(), None, ""),
])
def test_what_the_fuzzer_found_is_refused_with_file_and_line(tmp_path, name, data, line, words):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    t0 = time.monotonic()
    result = run_cli("validate", str(path), timeout=60)
    assert time.monotonic() - t0 < 30
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    found = int(first[len(str(path)) + 1:].split(":", 1)[0])
    assert line is None or found == line, first
    assert words in first and "Traceback" not in result.stderr


def test_too_deep_counts_levels_not_characters():
    from app.model.yamlio import MAX_DEPTH, too_deep

    ok = "a:\n" + "".join("  " * i + "k:\n" for i in range(1, MAX_DEPTH - 1))
    assert too_deep(ok) is None
    assert too_deep(ok + "  " * MAX_DEPTH + "k:\n" + "  " * (MAX_DEPTH + 1) + "z: 1\n")
    assert too_deep("x: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH) is None
    assert too_deep("x: 1\ny: " + "[" * (MAX_DEPTH + 1)) == 2
    for real in sorted(Path(ROOT / "scenes").glob("*.yaml")):
        assert too_deep(real.read_text()) is None, real
