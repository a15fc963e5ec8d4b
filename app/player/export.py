"""``pelvic-spread export case.html`` and ``export site/``: the player as static files.

- **One file** (``.html``): the bundle gzip-compressed and base64-encoded inside a
  ``<script type="application/octet-stream">``, the player's JS and CSS inline, and a
  Content-Security-Policy that allows no network request at all. It opens from disk.
- **A site** (a folder): ``index.html`` plus content-hashed, compressed assets
  (``case.<hash>.bin.gz``, ``player.<hash>.js`` and ``.css`` with ``.gz`` twins for servers
  that serve precompressed files), for a course website or any static host. Hashed names
  can be cached forever; only ``index.html`` changes from one export to the next.

Writes are atomic: a temporary name beside the target, renamed at the end.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import html
import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.model.scene import Scene
from app.player.bundle import Bundle, build_bundle

STATIC = Path(__file__).resolve().parent / "static"
OFFLINE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data: blob:; connect-src blob: data:")
SITE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self' blob: data:")
GZIP_LEVEL = 9
# an empty icon: the browser then asks no host for /favicon.ico (a 404 on most)
NO_ICON = '<link rel="icon" href="data:,">'


@dataclass(frozen=True)
class PlayerExport:
    path: Path
    bytes: int  # the HTML file, or every file of the site
    bundle_bytes: int  # the bundle, uncompressed
    bundle_gz_bytes: int
    files: tuple[Path, ...]
    max_error_mm: float


def player_assets() -> tuple[str, str]:
    """The built player (JS, CSS); a clear error when the build is missing."""
    js, css = STATIC / "player.js", STATIC / "player.css"
    if not js.exists() or not css.exists():
        raise UserError(f"{STATIC}: the browser player is not built (run 'npm install && "
                        "npm run build' in player/)")
    return js.read_text(encoding="utf-8"), css.read_text(encoding="utf-8")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _page(title: str, csp: str, head: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
            f"<meta name=\"generator\" content=\"pelvic-spread\">\n"
            f"<title>{html.escape(title)}</title>\n{NO_ICON}\n{head}\n</head>\n<body>\n"
            "<div id=\"ps-root\"><div class=\"psp-loading\">Loading the case…</div></div>\n"
            "<noscript>This case plays in a browser with JavaScript.</noscript>\n"
            f"{body}\n</body>\n</html>\n")


def offline_html(bundle: Bundle) -> str:
    """The whole case as one HTML document (no network request)."""
    js, css = player_assets()
    data = base64.b64encode(_gzip(bundle.to_bytes())).decode("ascii")
    lines = "\n".join(data[i:i + 16384] for i in range(0, len(data), 16384))
    return _page(bundle.header["name"] or "Pelvic spread", OFFLINE_CSP,
                 f"<style>\n{css}\n</style>",
                 f"<script id=\"ps-bundle\" type=\"application/octet-stream\">\n{lines}\n"
                 f"</script>\n<script>\n{js}\n</script>")


def _check_target_file(out: Path) -> None:
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"{out}: expected an output path ending in .html")
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise UserError(f"{out}: is a folder; give a file name such as case.html")
    if not os.access(out.parent, os.W_OK):
        raise UserError(f"{out}: folder {out.parent} is not writable")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def export_html(scene: Scene, out: Path, camera: str | None = "anterior",
                size: tuple[int, int] = (1280, 720)) -> PlayerExport:
    """Write ``scene`` as one self-contained HTML file at ``out``."""
    out = Path(out)
    _check_target_file(out)
    player_assets()  # fail before building anything
    bundle = build_bundle(scene, camera=camera, size=size)
    raw = bundle.to_bytes()
    page = offline_html(bundle).encode("utf-8")
    _write_atomic(out, page)
    return PlayerExport(out, len(page), len(raw), len(_gzip(raw)), (out,),
                        float(bundle.header["quantisation"]["max_error_mm"]))


def _hashed(stem: str, suffix: str, data: bytes) -> str:
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}{suffix}"


def _check_target_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    parent = out.parent
    if not parent.is_dir():
        raise UserError(f"{out}: folder {parent} does not exist")
    where = out if out.is_dir() else parent
    if not os.access(where, os.W_OK):
        raise UserError(f"{out}: folder {where} is not writable")


def export_site(scene: Scene, out: Path, camera: str | None = "anterior",
                size: tuple[int, int] = (1280, 720)) -> PlayerExport:
    """Write ``scene`` as a static site in folder ``out``: index.html and hashed assets.

    Files of an earlier export stay (a page still open keeps its assets); index.html is
    replaced last, so the folder always serves one whole version.
    """
    out = Path(out)
    _check_target_folder(out)
    js, css = player_assets()
    bundle = build_bundle(scene, camera=camera, size=size)
    raw = bundle.to_bytes()
    bin_gz = _gzip(raw)
    js_b, css_b = js.encode("utf-8"), css.encode("utf-8")
    names = {"bundle": _hashed("case", ".bin.gz", bin_gz), "js": _hashed("player", ".js", js_b),
             "css": _hashed("player", ".css", css_b)}
    page = _page(bundle.header["name"] or "Pelvic spread", SITE_CSP,
                 f"<link rel=\"stylesheet\" href=\"{names['css']}\">",
                 f"<script id=\"ps-bundle\" type=\"application/octet-stream\" "
                 f"data-src=\"{names['bundle']}\"></script>\n"
                 f"<script src=\"{names['js']}\"></script>").encode("utf-8")
    files = {names["bundle"]: bin_gz, names["js"]: js_b, names["js"] + ".gz": _gzip(js_b),
             names["css"]: css_b, names["css"] + ".gz": _gzip(css_b)}
    created = not out.exists()
    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create: {exc.strerror or exc}") from None
    written: list[Path] = []
    try:
        for name, data in files.items():
            path = out / name
            if not path.exists() or path.stat().st_size != len(data):
                _write_atomic(path, data)
            written.append(path)
        _write_atomic(out / "index.html", page)
        written.append(out / "index.html")
    except BaseException:
        if created:  # a folder we made holds nothing half-written
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    total = sum(p.stat().st_size for p in written)
    return PlayerExport(out, total, len(raw), len(bin_gz), tuple(written),
                        float(bundle.header["quantisation"]["max_error_mm"]))


def wants_player(output: str, html_flag: bool = False) -> bool:
    """Whether an export target asks for the player: ``.html``, a path ending in ``/``, or an
    existing folder with ``--html`` (a plain folder name still means numbered PNGs)."""
    if output.lower().endswith((".html", ".htm")):
        return True
    if output.endswith(("/", os.sep)):
        return True
    return html_flag


def export_player(scene: Scene, output: str, camera: str | None, size: tuple[int, int],
                  html_flag: bool = False) -> PlayerExport:
    """The CLI's entry: a file or a site, by the shape of ``output``."""
    if output.lower().endswith((".html", ".htm")):
        return export_html(scene, Path(output), camera, size)
    out = Path(output)
    if not output.endswith(("/", os.sep)) and not out.is_dir():
        raise UserError(f"{output}: --html writes a site into an existing folder (or give "
                        "a name ending in / to create one, or a file name ending in .html)")
    return export_site(scene, out, camera, size)
