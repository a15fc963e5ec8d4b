"""The follower page and its files: content-hashed, compressed, cacheable forever.

``AssetStore`` keeps them in one folder (``follow.html`` and ``lecture/a/NAME``), so that
what ``serve --lecture`` and ``relay`` serve is also a folder any web server or CDN can serve.
Hashed names never change content: ``Cache-Control: immutable``; only ``follow.html`` is
revalidated. A case's bundle is built in a child process (``python -m app.lecture.assets``):
the server's event loop, which answers the followers, never waits on VTK.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import hashlib
import html
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.player.export import NO_ICON

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "lecture/a/"  # asset URLs, relative to the follower page
WS_PATH = "lecture/ws"
IMMUTABLE = "public, max-age=31536000, immutable"
FOLLOW_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data: blob:; connect-src 'self' ws: wss: blob: data:")
BUILD_TIMEOUT_S = 300.0
SLABS_KEPT = 16  # slab files kept (a dragged slab makes one per position it stops at)
PANELS_KEPT = 16  # MR panel pictures kept (playback with a slab makes one per month shown)
# files that come and go, by the stem of their name: how many of each are kept
KEPT = {"slab": SLABS_KEPT, "panel": PANELS_KEPT}


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def hashed(stem: str, suffix: str, data: bytes) -> str:
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}{suffix}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class AssetStore:
    """A folder of the follower's files; names are content hashes (or ``follow.html``)."""

    def __init__(self, root: Path | None = None):
        self._own = root is None
        self.root = Path(tempfile.mkdtemp(prefix="pelvic-lecture-")) if root is None else root
        (self.root / PREFIX).mkdir(parents=True, exist_ok=True)
        self.names: set[str] = set()
        self.page: dict[str, str] = {}  # js, css, follow_js, follow_css -> names
        self._bundles: dict[str, str] = {}  # scene path -> bundle name
        self._building: dict[str, asyncio.Future] = {}
        # files that come and go (slabs, panels), by stem: the names kept, oldest first
        self._kept: dict[str, collections.OrderedDict[str, None]] = {
            stem: collections.OrderedDict() for stem in KEPT}

    def add(self, name: str, data: bytes, twin: bool = True) -> str:
        """Store ``data`` as ``lecture/a/name`` (and ``name.gz`` for servers that serve
        precompressed files); the name, for URLs."""
        path = self.root / PREFIX / name
        if not path.exists() or path.stat().st_size != len(data):
            _write_atomic(path, data)
        self.names.add(name)
        if twin:
            _write_atomic(path.with_name(name + ".gz"), gz(data))
        return name

    def drop(self, name: str) -> None:
        """Forget a file ``add`` stored (and its ``.gz`` twin)."""
        self.names.discard(name)
        for path in (self.root / PREFIX / name, self.root / PREFIX / (name + ".gz")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def add_page(self) -> str:
        """The player and the follower script with their styles, and ``follow.html``."""
        from app.player.export import player_assets

        js, css = (s.encode("utf-8") for s in player_assets())
        fjs = (STATIC / "follow.js").read_bytes()
        fcss = (STATIC / "follow.css").read_bytes()
        self.page = {"js": self.add(hashed("player", ".js", js), js),
                     "css": self.add(hashed("player", ".css", css), css),
                     "follow_js": self.add(hashed("follow", ".js", fjs), fjs),
                     "follow_css": self.add(hashed("follow", ".css", fcss), fcss)}
        page = follow_html(self.page).encode("utf-8")
        _write_atomic(self.root / "follow.html", page)
        return "follow.html"

    def file(self, name: str) -> Path | None:
        """The stored file ``name`` (only names this store wrote), else None."""
        if name not in self.names:
            return None
        path = self.root / PREFIX / name
        return path if path.is_file() else None

    def keep(self, name: str) -> None:
        """Note a stored file of a kind that comes and goes (its stem in ``KEPT``): followers
        fetch such a file at once, so beyond the last ``KEPT[stem]`` the oldest are dropped."""
        stem = name.split(".", 1)[0]
        kept = self._kept.get(stem)
        if kept is None:
            return
        kept[name] = None
        kept.move_to_end(name)
        while len(kept) > KEPT[stem]:
            self.drop(kept.popitem(last=False)[0])

    def url(self, name: str) -> str:
        return PREFIX + name

    # -- bundles ------------------------------------------------------------------------------
    def bundle_name(self, scene_path: Path | str) -> str | None:
        """The bundle already built for this scene file, else None."""
        return self._bundles.get(str(Path(scene_path).resolve()))

    async def build_bundle(self, scene_path: Path | str) -> str:
        """Build the scene's bundle once (in a child process); its asset name."""
        key = str(Path(scene_path).resolve())
        if key in self._bundles:
            return self._bundles[key]
        fut = self._building.get(key)
        if fut is None:
            fut = asyncio.ensure_future(self._build(key))
            self._building[key] = fut
        try:
            return await asyncio.shield(fut)
        finally:
            if fut.done():
                self._building.pop(key, None)

    async def _build(self, key: str) -> str:
        out = self.root / PREFIX
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.lecture.assets", key, str(out),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=str(Path(__file__).resolve().parents[2]))
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), BUILD_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise UserError(f"{key}: building the follower bundle took over "
                            f"{BUILD_TIMEOUT_S:.0f} s") from None
        if proc.returncode != 0:
            tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise UserError(f"{key}: cannot build the follower bundle: " + " | ".join(tail))
        name = stdout.decode().strip().splitlines()[-1]
        self.names.add(name)
        self._bundles[key] = name
        return name

    def close(self) -> None:
        if self._own:
            shutil.rmtree(self.root, ignore_errors=True)


def follow_html(names: dict[str, str], ws: str = WS_PATH) -> str:
    """The follower page: static, the same for every lecture (the websocket says the rest).
    ``?ws=wss://host/lecture/ws`` points a copy on another host at a relay."""
    a = PREFIX
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{FOLLOW_CSP}\">\n"
            "<meta name=\"generator\" content=\"pelvic-spread\">\n"
            "<title>Pelvic spread: lecture</title>\n"
            f"{NO_ICON}\n"
            f"<link rel=\"stylesheet\" href=\"{a}{names['css']}\">\n"
            f"<link rel=\"stylesheet\" href=\"{a}{names['follow_css']}\">\n"
            "</head>\n<body>\n"
            f"<div id=\"ps-root\" data-ws=\"{html.escape(ws)}\"></div>\n"
            "<noscript>The lecture plays in a browser with JavaScript.</noscript>\n"
            f"<script src=\"{a}{names['js']}\"></script>\n"
            f"<script src=\"{a}{names['follow_js']}\"></script>\n"
            "</body>\n</html>\n")


def routes(store: AssetStore, on_follow: Any = None) -> list[Any]:
    """aiohttp routes: ``/follow`` (the page) and ``/lecture/a/NAME`` (hashed files)."""
    from aiohttp import web

    async def follow(request: web.Request) -> web.StreamResponse:
        path = store.root / "follow.html"
        if not path.is_file():
            raise web.HTTPServiceUnavailable(text="the follower page is being prepared")
        return web.FileResponse(path, headers={"Cache-Control": "no-cache",
                                               "Content-Type": "text/html; charset=utf-8"})

    async def follow_slash(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/follow" + (f"?{request.query_string}"
                                          if request.query_string else ""))

    async def asset(request: web.Request) -> web.StreamResponse:
        path = store.file(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound(text="no such file")
        kind = {".js": "text/javascript", ".css": "text/css",
                ".json": "application/json", ".jpg": "image/jpeg"}.get(
                    path.suffix, "application/octet-stream")
        # aiohttp sends NAME.gz (stored beside) to browsers that accept gzip
        return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE,
                                               "Content-Type": kind})

    return [web.get("/follow", follow), web.get("/follow/", follow_slash),
            web.get("/" + PREFIX + "{name}", asset)]


def _main(argv: list[str]) -> int:
    """``python -m app.lecture.assets SCENE OUT_DIR``: build the bundle, print its name."""
    from app.case import load_scene
    from app.player.bundle import build_bundle

    scene_path, out = Path(argv[0]), Path(argv[1])
    data = gz(build_bundle(load_scene(scene_path)).to_bytes())
    name = hashed("case", ".bin.gz", data)
    path = out / name
    if not path.exists():
        _write_atomic(path, data)
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
