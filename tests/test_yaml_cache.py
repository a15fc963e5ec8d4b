"""Parsed scene files are kept between runs, keyed by their bytes; what comes back is what the
reader gave, line numbers included, and only this user's own cache files are read back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.errors import SceneError
from app.model import yamlio
from app.model.loader import read_scene

SCENE = """\
format: pelvic-spread/1
name: Cached
nodes:
  - id: pelvis
    name: Pelvis
    kind: group
  - id: bone
    name: Bone
    parent: pelvis
    geometry: {procedural: sacrum}
    colour: "#e9e0cc"
"""


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PELVIC_SPREAD_CACHE", str(root))
    return root / yamlio.YAML_CACHE


def _no_parsing(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(yamlio, "_parse", refuse)


def test_a_second_read_comes_from_the_cache_with_its_line_numbers(tmp_path, cache, monkeypatch):
    f = tmp_path / "case.yaml"
    f.write_text(SCENE)
    first = yamlio.load_yaml(f)
    assert len(list(cache.glob("*.pickle"))) == 1
    _no_parsing(monkeypatch)
    again = yamlio.load_yaml(f)
    assert again == first and again is not first
    assert again["nodes"][1].lc.line == first["nodes"][1].lc.line == 6
    # a mistake found after parsing still names its line, from the cached copy
    f2 = tmp_path / "bad.yaml"
    f2.write_text(SCENE.replace('"#e9e0cc"', '"#e9e0cz"'))
    monkeypatch.undo()
    monkeypatch.setenv("PELVIC_SPREAD_CACHE", str(cache.parent))
    with pytest.raises(SceneError) as one:
        read_scene(f2)
    _no_parsing(monkeypatch)
    with pytest.raises(SceneError) as two:
        read_scene(f2)
    assert str(one.value) == str(two.value) and "bad.yaml:11" in str(two.value)


def test_an_edited_file_is_read_anew(tmp_path, cache):
    f = tmp_path / "case.yaml"
    f.write_text(SCENE)
    assert yamlio.load_yaml(f)["name"] == "Cached"
    f.write_text(SCENE.replace("name: Cached", "name: Edited"))
    assert yamlio.load_yaml(f)["name"] == "Edited"
    assert len(list(cache.glob("*.pickle"))) == 2


def test_files_that_do_not_parse_are_not_kept(tmp_path, cache):
    f = tmp_path / "broken.yaml"
    f.write_text("nodes: [\n")
    for _ in range(2):
        with pytest.raises(SceneError, match="broken.yaml:2: not valid YAML"):
            yamlio.load_yaml(f)
    assert not cache.exists() or not list(cache.glob("*.pickle"))


def test_a_damaged_or_foreign_cache_file_is_not_read(tmp_path, cache, monkeypatch):
    f = tmp_path / "case.yaml"
    f.write_text(SCENE)
    yamlio.load_yaml(f)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert yamlio.load_yaml(f)["name"] == "Cached"  # read from the file again, and kept anew
    if hasattr(os, "getuid"):
        entry.chmod(0o666)  # anybody could have written it: never unpickled
        _no_parsing(monkeypatch)
        with pytest.raises(AssertionError, match="parsed again"):
            yamlio.load_yaml(f)
