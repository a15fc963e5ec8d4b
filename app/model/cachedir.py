"""Where pelvic-spread keeps what it can rebuild: ``$PELVIC_SPREAD_CACHE``, else
``$XDG_CACHE_HOME/pelvic-spread``, else ``~/.cache/pelvic-spread``.

Deleting the folder loses nothing but time. What lives there: parsed scene files (``yaml/``),
the browser player's bundles (``bundles/``) and procedural meshes built on demand.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("PELVIC_SPREAD_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pelvic-spread"


def private(path: Path) -> bool:
    """True when ``path`` and its folder belong to this user and only this user may write
    them: what the cache reads back as code-bearing data must be nobody else's."""
    if not hasattr(os, "getuid"):
        return True
    try:
        for p in (path, path.parent):
            st = p.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """``data`` to ``path`` through a temporary file (a reader never sees half of it)."""
    tmp = path.with_name(f".{path.name}.part{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
