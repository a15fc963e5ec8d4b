"""The player's bundle for the page ``serve`` shows: built once per scenario, kept on disk,
served as a static, content-hashed, compressed file."""

from __future__ import annotations

import asyncio
import gzip
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.case import DEFAULT_SCENE, load_scene
from app.player.bundle import read_bundle
from app.web import bundles
from app.web.bundles import BundleCache, bundle_key


@pytest.fixture(scope="module")
def case():
    return load_scene(DEFAULT_SCENE)


class FakeBundle:
    """What ``build_bundle`` returns, without building anything (for the cache's logic)."""

    def __init__(self, data: bytes):
        self.data = data

    def to_bytes(self) -> bytes:
        return self.data


def test_a_bundle_is_built_once_and_a_restart_finds_it(tmp_path, case, monkeypatch):
    cache = BundleCache(tmp_path)
    found = cache.get(case)
    assert re.fullmatch(r"bilateral_plexopathy\.[0-9a-f]{16}\.bin", found.name)
    assert found.url == f"/bundle/{found.name}"
    raw = gzip.decompress(found.path.read_bytes())
    bundle = read_bundle(raw)  # the very bytes the player reads
    assert bundle.header["name"] == case.name and bundle.header["timeline"] is not None
    # a new process (a restart of serve) finds it on disk, builds nothing
    monkeypatch.setattr("app.player.bundle.build_bundle", _no_build)
    again = BundleCache(tmp_path).get(case)
    assert again.name == found.name and again.path == found.path


def _no_build(*_a, **_k):
    raise AssertionError("built again")


def test_the_key_follows_what_a_bundle_is_made_of(tmp_path, case, monkeypatch):
    key = bundle_key(case)
    assert bundle_key(case) == key  # stable
    assert bundle_key(load_scene(DEFAULT_SCENE)) == key  # the same files: the same key
    # a scene that extends the case and changes one word: another key (its file is read,
    # and the case it extends is part of it too)
    other = tmp_path / "other.yaml"
    other.write_text(f"extends: {DEFAULT_SCENE.resolve()}\nname: Another title\n")
    assert DEFAULT_SCENE.resolve() in bundles.scene_files(load_scene(other))
    assert bundle_key(load_scene(other)) != key
    # the code that builds bundles is part of the key
    monkeypatch.setattr(bundles, "_code_hash", "something else")
    assert bundle_key(case) != key
    assert bundle_key(case, size=(640, 360)) != bundle_key(case)


def test_only_bundles_handed_out_are_served_and_old_ones_are_pruned(tmp_path, case,
                                                                      monkeypatch):
    made = []

    def fake_build(scene, *_a, **_k):
        made.append(scene)
        return FakeBundle(b"PSB1" + bytes([len(made)]) * 64)

    monkeypatch.setattr("app.player.bundle.build_bundle", fake_build)
    monkeypatch.setattr(bundles, "KEEP", 2)
    cache = BundleCache(tmp_path)
    names = [cache.get(case, key=f"{i:032x}").name for i in range(3)]
    assert len(made) == 3 and len(set(names)) == 3  # content hashes differ
    assert cache.file_for(names[2]) is not None
    assert cache.file_for("../../etc/passwd") is None
    assert cache.file_for("bilateral_plexopathy.0123456789abcdef.bin") is None
    assert len(list(tmp_path.glob("*.ref"))) == 2  # the oldest went
    fresh = BundleCache(tmp_path)
    assert fresh.lookup(f"{2:032x}") is not None
    assert fresh.lookup(f"{0:032x}") is None  # pruned: it would be built again
    assert not list(tmp_path.glob(".*part*"))  # no half-written file left


def test_the_route_serves_the_gzip_bytes_cacheable_forever(tmp_path, case, monkeypatch):
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    monkeypatch.setattr("app.player.bundle.build_bundle",
                        lambda *_a, **_k: FakeBundle(b"PSB1" + b"x" * 1000))
    cache = BundleCache(tmp_path)
    found = cache.get(case)
    app = web.Application()
    cache.bind(SimpleNamespace(app=app))

    async def fetch() -> list:
        async with TestClient(TestServer(app)) as client:
            out = []
            res = await client.get(found.url, headers={"Accept-Encoding": "gzip"},
                                   auto_decompress=False)
            out.append((res.status, dict(res.headers), await res.read()))
            res = await client.get(found.url, headers={"Accept-Encoding": "identity"},
                                   auto_decompress=False)
            out.append((res.status, dict(res.headers), await res.read()))
            for bad in ("/bundle/nope.0123456789abcdef.bin", "/bundle/..%2F..%2Fetc%2Fpasswd"):
                res = await client.get(bad)
                out.append((res.status, {}, b""))
            return out

    (s1, h1, b1), (s2, h2, b2), (s3, _, _), (s4, _, _) = asyncio.run(fetch())
    assert s1 == 200 and h1["Content-Encoding"] == "gzip"
    assert "immutable" in h1["Cache-Control"] and "max-age=31536000" in h1["Cache-Control"]
    assert gzip.decompress(b1).startswith(b"PSB1")
    # a client that takes no gzip gets the same bytes undeclared (the player inflates them)
    assert s2 == 200 and "Content-Encoding" not in h2 and b2 == b1
    assert s3 == 404 and s4 == 404


def test_cache_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PELVIC_SPREAD_CACHE", str(tmp_path / "c"))
    assert bundles.cache_dir() == tmp_path / "c" / "bundles"
    monkeypatch.delenv("PELVIC_SPREAD_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert bundles.cache_dir() == Path(tmp_path / "x" / "pelvic-spread" / "bundles")
