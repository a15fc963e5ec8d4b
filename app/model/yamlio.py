"""Reading YAML with line numbers, and a small typed reader that reports ``FILE:LINE: message``.

Every scene-file section is parsed through :class:`Field`, so errors always name the file, the
line, the key path and what was expected.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from app.errors import Problem, SceneError
from app.model.cachedir import cache_root, private, write_atomic

_MISSING = object()
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{6})$")


def load_yaml(path: Path) -> Any:
    """Parse ``path`` keeping line numbers. Raises SceneError for unreadable or non-YAML files."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SceneError([Problem(path, None, "file not found")]) from None
    except IsADirectoryError:
        raise SceneError([Problem(path, None, "is a folder, expected a YAML scene file")]) from None
    except OSError as exc:
        raise SceneError([Problem(path, None, f"cannot read file: {exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SceneError([Problem(path, line, f"not UTF-8 text: byte 0x{raw[exc.start]:02x} "
                                              "cannot be read (save the file as UTF-8)")]) from None
    if not text.strip():
        raise SceneError([Problem(path, 1, "empty file, expected a YAML mapping with 'nodes'")])
    deep = too_deep(text)
    if deep is not None:  # the YAML reader recurses per level: refuse before it runs out
        raise SceneError([Problem(path, deep, f"nested more than {MAX_DEPTH} levels deep "
                                              "(a scene file needs fewer than ten)")])
    entry = _cache_file(raw)
    data = _cached(entry)
    if data is None:
        data = _parse(path, text)
        _remember(entry, data)
    _tag_file(data, path)
    return data


def _parse(path: Path, text: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except RecursionError:
        raise SceneError([Problem(path, 1, "nested too deeply to read")]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "syntax error"
        raise SceneError([Problem(path, line, f"not valid YAML: {what}")]) from None
    except YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        # a character the reader refuses (a NUL, a control character) comes with its index
        pos = getattr(exc, "position", None)
        line = text.count("\n", 0, pos) + 1 if isinstance(pos, int) else None
        raise SceneError([Problem(path, line, f"not valid YAML: {first}")]) from None
    if data is None:
        raise SceneError([Problem(path, 1, "empty file, expected a YAML mapping with 'nodes'")])
    return data


# -- parsed files, kept between runs ---------------------------------------------------------
# The round-trip reader (line numbers for every message) is pure Python: the case's two files
# take about 0.35 s to read, and every command and every `serve` start reads them. A parsed
# file is kept, pickled, under the hash of its bytes (and of the reader's version), so an edited
# file is simply read anew; only files that parsed are kept.
YAML_CACHE = "yaml"
YAML_CACHE_KEEP = 256  # files kept (the oldest go first)


def _cache_file(raw: bytes) -> Path:
    h = hashlib.sha256(raw)
    h.update(f"ruamel {ruamel.yaml.__version__} pickle {pickle.HIGHEST_PROTOCOL}".encode())
    return cache_root() / YAML_CACHE / f"{h.hexdigest()[:40]}.pickle"


def _cached(path: Path) -> Any:
    if not path.is_file() or not private(path):  # unpickling runs code: only our own files
        return None
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 (a damaged or foreign cache entry: read the file)
        return None


def _remember(path: Path, data: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600)
        kept = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-YAML_CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, RecursionError):
        pass  # no cache: the next run reads the file again


MAX_DEPTH = 64  # nesting levels a scene file may use (it needs fewer than ten)
_NESTING = re.compile(r"[\[\]{}\n]")


def too_deep(text: str) -> int | None:
    """The line where ``text`` nests more than ``MAX_DEPTH`` levels, by indentation (block
    style) or brackets (flow style), or None. A quick scan, before the YAML reader runs."""
    stack: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        while stack and stack[-1] >= indent:
            stack.pop()
        stack.append(indent)
        dashes = len(re.match(r"(?:-\s+)*", body).group(0).split("-")) - 1  # "- - - x"
        if len(stack) + dashes > MAX_DEPTH:
            return n
    depth, line = 0, 1
    for m in _NESTING.finditer(text):
        c = m.group(0)
        if c == "\n":
            line += 1
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif depth:
            depth -= 1
    return None


# Where a value came from. A merged section (``extends``) mixes values from several files, so a
# container remembers its file (``_ps_file``) and a merged mapping each key's (``_ps_key_files``).
_FILE_ATTR = "_ps_file"
_KEY_FILES_ATTR = "_ps_key_files"


def _tag_file(data: Any, path: Path) -> None:
    """Mark every container of a document with its file (each node visited once: aliases
    make a tree of any size out of a few nodes)."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if not isinstance(value, (CommentedMap, CommentedSeq)) or id(value) in seen:
            continue
        seen.add(id(value))
        setattr(value, _FILE_ATTR, path)
        stack.extend(value.values() if isinstance(value, CommentedMap) else value)


def _file_of(value: Any) -> Path | None:
    return getattr(value, _FILE_ATTR, None)


def merge_by_id(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``, for sections that ``extends`` merges (scenario, timeline).

    Mappings merge key by key; lists whose items all carry an ``id`` merge item by item (an
    item with the id of a base item changes only the keys it states, ``{id: X, remove: true}``
    drops it, new ids are appended); anything else in ``over`` replaces the base value. Every
    value keeps the file and line it was written at, so errors still point at the right file.
    """
    if isinstance(base, CommentedMap) and isinstance(over, CommentedMap):
        out = CommentedMap()
        files: dict[Any, Path | None] = {}
        for src in (base, over):
            for key in src:
                if src is over and key in base:
                    value = merge_by_id(base[key], over[key])
                else:
                    value = src[key]
                if src is base and key in over:
                    continue  # laid down when ``over`` is walked, at base's position
                out[key] = value
                files[key] = _file_of(src)
                _copy_lc(src, key, out, key)
        # keep the base order for keys both have
        ordered = CommentedMap()
        for key in list(base) + [k for k in over if k not in base]:
            ordered[key] = out[key]
            _copy_lc(out, key, ordered, key)
        setattr(ordered, _FILE_ATTR, _file_of(over))
        setattr(ordered, _KEY_FILES_ATTR, files)
        ordered.lc.line, ordered.lc.col = over.lc.line, over.lc.col
        return ordered
    if _id_list(base) and _id_list(over):
        out_seq = CommentedSeq()
        lines: list[tuple[Any, int]] = []
        overs = {item["id"]: (i, item) for i, item in enumerate(over)}
        for i, item in enumerate(base):
            hit = overs.get(item["id"])
            if hit is None:
                out_seq.append(item)
                lines.append((base, i))
                continue
            j, change = hit
            if change.get("remove") is True:
                continue
            out_seq.append(merge_by_id(item, change))
            lines.append((over, j))
        base_ids = {item["id"] for item in base}
        for j, item in enumerate(over):
            if item["id"] not in base_ids:
                out_seq.append(item)
                lines.append((over, j))
        for i, (src, j) in enumerate(lines):
            _copy_lc(src, j, out_seq, i)
        setattr(out_seq, _FILE_ATTR, _file_of(over))
        out_seq.lc.line, out_seq.lc.col = over.lc.line, over.lc.col
        return out_seq
    return over


def _copy_lc(src: Any, key: Any, dst: Any, dst_key: Any) -> None:
    data = src.lc.data
    if data is not None and key in data:
        dst.lc.add_kv_line_col(dst_key, list(data[key]))


def _id_list(value: Any) -> bool:
    return (isinstance(value, CommentedSeq) and len(value) > 0
            and all(isinstance(v, CommentedMap) and isinstance(v.get("id"), str) for v in value))


class Problems:
    """Collects problems across a file so the user sees all of them at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: Path, line: int | None, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise SceneError(self.items)


class Invalid(Exception):
    """Internal: the current field is unusable (already reported)."""


class Field:
    """A value in a YAML document, with its file, line and key path.

    ``f.get("color", str)`` returns a child Field; ``f.as_str()`` etc. check the type, report
    a problem naming the key path and line, and raise :class:`Invalid` if the value is unusable.
    """

    def __init__(self, value: Any, file: Path, line: int | None, path: str, problems: Problems):
        self.value = value
        self.file = file
        self.line = line
        self.path = path
        self.problems = problems

    # -- reporting -------------------------------------------------------------------------
    def error(self, message: str, line: int | None = None) -> None:
        where = f"{self.path}: " if self.path else ""
        self.problems.add(self.file, line if line is not None else self.line, f"{where}{message}")

    def fail(self, message: str) -> Invalid:
        self.error(message)
        return Invalid(message)

    # -- structure -------------------------------------------------------------------------
    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else str(key)

    def _file_for(self, key: Any, value: Any) -> Path:
        """The file a child value was written in (merged sections mix files)."""
        files = getattr(self.value, _KEY_FILES_ATTR, None)
        if files is not None and files.get(key) is not None:
            return files[key]
        return _file_of(value) or self.file

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def expect_map(self, what: str = "a mapping") -> Field:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected {what}, got {describe(self.value)}")
        return self

    def keys(self) -> list[str]:
        return [str(k) for k in self.expect_map().value.keys()]

    def key_line(self, key: str) -> int | None:
        value = self.value
        if isinstance(value, CommentedMap):
            try:
                return value.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                pass
        return self.line

    def check_keys(self, allowed: set[str] | list[str] | tuple[str, ...]) -> None:
        """Report every key not in ``allowed`` (unknown keys are errors, not ignored)."""
        self.expect_map()
        allowed_sorted = ", ".join(sorted(allowed))
        for key in self.value:
            if key not in allowed:
                self.error(
                    f"unknown key '{key}' (expected one of: {allowed_sorted})",
                    line=self.key_line(key),
                )

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str, default: Any = _MISSING) -> Field:
        """Child field ``key``; reports 'missing key' when absent and no default is given."""
        self.expect_map()
        if key in self.value:
            value = self.value[key]
            line = _value_line(self.value, key, self.key_line(key))
            return Field(value, self._file_for(key, value), line, self._child_path(key),
                         self.problems)
        if default is _MISSING:
            raise self.fail(f"missing required key '{key}'")
        return Field(default, self.file, self.line, self._child_path(key), self.problems)

    def items(self) -> Iterator[tuple[str, Field]]:
        self.expect_map()
        for key in self.value:
            line = _value_line(self.value, key, self.key_line(key))
            value = self.value[key]
            yield str(key), Field(value, self._file_for(key, value), line,
                                  self._child_path(str(key)), self.problems)

    def elements(self, what: str = "a list") -> Iterator[Field]:
        if not isinstance(self.value, list):
            raise self.fail(f"expected {what}, got {describe(self.value)}")
        for i, value in enumerate(self.value):
            line = self.line
            if isinstance(self.value, CommentedSeq):
                try:
                    line = self.value.lc.item(i)[0] + 1
                except (KeyError, TypeError):
                    pass
            yield Field(value, _file_of(value) or self.file, line, self._child_path(i),
                        self.problems)

    # -- scalars ---------------------------------------------------------------------------
    def as_str(self, pattern: re.Pattern[str] | None = None, expected: str = "") -> str:
        if not isinstance(self.value, str):
            raise self.fail(f"expected {expected or 'a string'}, got {describe(self.value)}")
        if pattern is not None and not pattern.match(self.value):
            raise self.fail(f"expected {expected}, got '{self.value}'")
        return str(self.value)

    def as_choice(self, choices: tuple[str, ...] | list[str]) -> str:
        if not isinstance(self.value, str) or self.value not in choices:
            raise self.fail(
                f"expected one of {', '.join(choices)}, got {describe(self.value)}"
            )
        return str(self.value)

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail(f"expected true or false, got {describe(self.value)}")
        return bool(self.value)

    def as_float(self, lo: float | None = None, hi: float | None = None,
                 positive: bool = False) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise self.fail(f"expected a number, got {describe(self.value)}")
        x = float(self.value)
        if not math.isfinite(x):
            raise self.fail(f"expected a finite number, got {self.value}")
        if positive and x <= 0:
            raise self.fail(f"expected a number > 0, got {self.value}")
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            raise self.fail(f"expected a number in [{lo}, {hi}], got {self.value}")
        return x

    def as_int(self, lo: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail(f"expected an integer, got {describe(self.value)}")
        if lo is not None and self.value < lo:
            raise self.fail(f"expected an integer >= {lo}, got {self.value}")
        return int(self.value)

    def as_vec3(self) -> tuple[float, float, float]:
        v = self.value
        if (not isinstance(v, list) or len(v) != 3
                or any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in v)):
            raise self.fail(f"expected a point [x, y, z] in mm, got {describe(v)}")
        if not all(math.isfinite(float(c)) for c in v):
            raise self.fail("expected finite coordinates")
        return (float(v[0]), float(v[1]), float(v[2]))

    def as_color(self) -> tuple[float, float, float]:
        v = self.value
        if isinstance(v, str) and HEX_COLOR.match(v):
            return tuple(int(v[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
        if (isinstance(v, list) and len(v) == 3
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c <= 1
                        for c in v)):
            return (float(v[0]), float(v[1]), float(v[2]))
        raise self.fail(f"expected a colour '#rrggbb' or [r, g, b] in 0..1, got {describe(v)}")

    def opt(self, key: str, convert: Callable[[Field], Any], default: Any = None) -> Any:
        """Convert child ``key`` if present, else return ``default``; reported errors -> default."""
        if not self.has(key):
            return default
        try:
            return convert(self.get(key))
        except Invalid:
            return default


def _value_line(mapping: Any, key: Any, fallback: int | None) -> int | None:
    if isinstance(mapping, CommentedMap):
        try:
            return mapping.lc.value(key)[0] + 1
        except (KeyError, TypeError):
            pass
    return fallback


def describe(value: Any) -> str:
    """How a value looks to a user, for 'expected X, got Y'."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"string '{short}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


def root_field(data: Any, file: Path, problems: Problems) -> Field:
    return Field(data, file, 1, "", problems)
