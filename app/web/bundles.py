"""The player bundle of each scenario, for the page ``serve`` shows: built once, kept on disk.

The page's 3D view is the browser player (``app/player``); it needs the scenario's bundle (the
geometry, arrival times, timeline, cameras). Pushing 2-3 MB of scene through the one Python
websocket to every page that joins is what made joining slow, so the bundle is a **static file**
instead: gzip-compressed, under a content-hashed name (``/bundle/<scenario>.<hash>.bin``) that
browsers may cache forever, served by aiohttp straight from the disk cache.

Building a bundle takes a couple of seconds, so it is done once per scenario and kept in a
cache folder (``$PELVIC_SPREAD_CACHE``, else ``$XDG_CACHE_HOME/pelvic-spread``, else
``~/.cache/pelvic-spread``): a restart of ``serve`` finds it there. The cache key is made of
what the bundle is made from: the scene files (the file and those it extends), the mesh files
its nodes read (path, size, modification time), the code that turns them into a bundle, and
the bundle's options. Anything else changing does not need a new bundle.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model.cachedir import cache_root, write_atomic

ROUTE = "/bundle"
KEEP = 24  # bundles kept in the cache folder (the oldest go first)
GZIP_LEVEL = 6  # 9 is 5x slower for 1% less
APP = Path(__file__).resolve().parents[1]
# The code a bundle is made by (a change in any of it may change the bytes).
CODE = ("player/bundle.py", "render", "model", "anatomy", "spread", "atlas", "case.py")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,160}\.[0-9a-f]{16}\.bin")
EXTENDS_RE = re.compile(r"^extends:\s*['\"]?([^'\"#\n]+?)['\"]?\s*(#.*)?$", re.MULTILINE)


def cache_dir() -> Path:
    """Where bundles are kept between runs."""
    return cache_root() / "bundles"


_code_hash: str | None = None


def code_hash() -> str:
    """A hash of the source files that make a bundle (computed once per process)."""
    global _code_hash
    if _code_hash is None:
        h = hashlib.sha256()
        for part in CODE:
            root = APP / part
            files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
            for f in files:
                if f.is_file():
                    h.update(str(f.relative_to(APP)).encode() + b"\0" + f.read_bytes())
        _code_hash = h.hexdigest()
    return _code_hash


def scene_files(scene: Any) -> list[Path]:
    """The scene file and every file it extends (the nodes' own files among them)."""
    seen: list[Path] = []
    todo = [Path(scene.path)]
    todo += [Path(n.source[0]) for n in scene.nodes.values() if n.source and n.source[0]]
    while todo:
        path = todo.pop().resolve()
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for m in EXTENDS_RE.finditer(path.read_text()):
                todo.append(path.parent / m.group(1).strip())
    return sorted(seen)


def bundle_key(scene: Any, camera: str = "anterior", size: tuple[int, int] = (1280, 720)) -> str:
    """What a bundle of ``scene`` is made from, hashed: equal keys, equal bundles."""
    from app.player.bundle import FORMAT

    h = hashlib.sha256()
    h.update(json.dumps([FORMAT, camera, list(size), code_hash()]).encode())
    for path in scene_files(scene):
        h.update(str(path).encode() + b"\0" + path.read_bytes())
    for node in scene.nodes.values():
        f = node.geometry.file if node.geometry is not None else None
        if f is not None:
            with contextlib.suppress(OSError):
                st = Path(f).stat()
                h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class CachedBundle:
    """A bundle file in the cache: its URL name and where it lies."""

    name: str  # <scenario>.<content hash>.bin (the URL's last part)
    path: Path  # the gzip file
    size: int  # bytes on the wire (compressed)

    @property
    def url(self) -> str:
        return f"{ROUTE}/{self.name}"


class BundleCache:
    """Bundles by key, on disk; ``get`` builds a missing one (in the caller's thread)."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else cache_dir()
        self._lock = threading.Lock()
        self._served: dict[str, Path] = {}  # URL name -> file (only these are served)
        self._bytes: dict[str, bytes] = {}  # what was served, kept (a few MB per scenario)
        self._sent: asyncio.Event | None = None  # a bundle has gone to a page

    def _ref(self, key: str) -> Path:
        return self.folder / f"{key}.ref"

    def lookup(self, key: str) -> CachedBundle | None:
        """The cached bundle for ``key``, or None (nothing is built)."""
        try:
            name = self._ref(key).read_text().strip()
        except OSError:
            return None
        if not NAME_RE.fullmatch(name):
            return None
        path = self.folder / (name + ".gz")
        try:
            size = path.stat().st_size
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(self._ref(key))  # recently used: kept longest
        self._served[name] = path
        return CachedBundle(name, path, size)

    def get(self, scene: Any, key: str | None = None) -> CachedBundle:
        """The bundle of ``scene``: from the cache, else built now and kept."""
        key = key or bundle_key(scene)
        found = self.lookup(key)
        if found is not None:
            return found
        with self._lock:  # one build at a time (each makes its own offscreen plotter)
            found = self.lookup(key)
            if found is not None:
                return found
            return self._build(scene, key)

    def _build(self, scene: Any, key: str) -> CachedBundle:
        import gzip

        from app.player.bundle import build_bundle

        data = gzip.compress(build_bundle(scene).to_bytes(), compresslevel=GZIP_LEVEL, mtime=0)
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(scene.path).stem)[:120] or "scene"
        name = f"{stem}.{hashlib.sha256(data).hexdigest()[:16]}.bin"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (name + ".gz")
        write_atomic(path, data)
        write_atomic(self._ref(key), name.encode())
        self._prune()
        self._served[name] = path
        return CachedBundle(name, path, len(data))

    def _prune(self) -> None:
        """Keep the newest ``KEEP`` bundles (by last use)."""
        refs = sorted(self.folder.glob("*.ref"), key=_mtime, reverse=True)
        keep: set[str] = set()
        for ref in refs[:KEEP]:
            with contextlib.suppress(OSError):
                keep.add(ref.read_text().strip() + ".gz")
        for ref in refs[KEEP:]:
            with contextlib.suppress(OSError):
                ref.unlink()
        for f in self.folder.glob("*.bin.gz"):
            if f.name not in keep and f.name[:-3] not in self._served:
                with contextlib.suppress(OSError):
                    f.unlink()

    def file_for(self, name: str) -> Path | None:
        """The file behind a URL name this process handed out, or None (anything else)."""
        return self._served.get(name)

    def _sent_event(self) -> asyncio.Event:
        if self._sent is None:
            self._sent = asyncio.Event()
        return self._sent

    async def sent(self, timeout: float) -> bool:
        """Wait until a page has been sent a bundle (at most ``timeout`` seconds)."""
        try:
            await asyncio.wait_for(self._sent_event().wait(), timeout)
        except TimeoutError:
            return False
        return True

    def bind(self, wslink_server: Any) -> None:
        """``GET /bundle/<name>``: the gzip bytes as they are (Content-Encoding: gzip, so
        the browser inflates them natively), cacheable forever (the name is the content)."""
        from aiohttp import web

        async def serve(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            path = self.file_for(name)
            if path is None:
                raise web.HTTPNotFound(text="no such bundle")
            body = self._bytes.get(name)
            if body is None:
                try:
                    body = self._bytes[name] = path.read_bytes()
                except OSError:
                    raise web.HTTPNotFound(text="no such bundle") from None
            headers = {"Content-Type": "application/octet-stream",
                       "Cache-Control": "public, max-age=31536000, immutable"}
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
            # the player also inflates gzip bytes itself when no encoding was declared
            response = web.Response(body=body, headers=headers)
            await response.prepare(request)
            await response.write_eof()
            self._sent_event().set()
            return response

        wslink_server.app.add_routes([web.get(ROUTE + "/{name}", serve)])


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
