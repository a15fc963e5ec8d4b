"""Fuzz scene files through ``pelvic-spread validate``: structure-aware and byte-level.

    .venv/bin/python tools/fuzz/scene_fuzz.py [--cases 10000] [--seed 1] [--keep DIR]

Each case is a scene file of ``scenes/`` changed by Hypothesis: on the YAML tree (wrong types,
keys removed or added, huge and non-finite numbers, deep nesting, long and odd unicode strings,
alias bombs, several changes at once) or on the bytes (flips, insertions, deletions,
truncation, NULs, invalid UTF-8, a line doubled). Each is written beside the real scenes (so
``extends:`` and mesh files still resolve) and run through the CLI's ``validate`` in a worker
process, as a user's ``pelvic-spread validate FILE`` would. A case passes when validate exits
0, or 2 with ``FILE:LINE: message`` lines, prints no traceback (exit 1 is the CLI's "internal
error"), within 5 s and 500 MB. A case that hangs is caught by the parent (the worker is killed
and restarted). Failures are kept (``--keep``) with what went wrong. Prints the figures.
``tests/test_scene_fuzz.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENES = ROOT / "scenes"
LIMIT_S = 5.0
LIMIT_MB = 500.0
HARD_KILL_S = 30.0  # the parent's own limit, for a case the worker cannot interrupt
WORKER_AS_BYTES = 2 * 2**30  # the worker's address space: a bomb fails there, not the machine
LINE_RE = re.compile(r"^.+?:\d+: \S")
FILE_RE = re.compile(r"^.+?: \S")


# -- the mutations (Hypothesis strategies) ----------------------------------------------------
def strategies() -> Any:
    """Build the strategies (Hypothesis imported only where cases are made)."""
    from hypothesis import strategies as st
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=True)
    bases = {p.name: p.read_text(encoding="utf-8") for p in sorted(SCENES.glob("*.yaml"))}
    trees = {name: loader.load(text) for name, text in bases.items()}

    def deep(depth: int, as_list: bool) -> Any:
        v: Any = "bottom"
        for i in range(depth):
            v = [v] if as_list else {f"k{i % 7}": v}
        return v

    def bomb(levels: int, width: int) -> Any:
        v: Any = ["lol"] * width
        for _ in range(levels):
            v = [v] * width  # the same object repeated: written as an anchor and aliases
        return v

    junk = st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.sampled_from([1e308, -1e308, float("inf"), float("-inf"), float("nan"), 0.0, -0.0,
                         5e-324, 2**63, -(2**63) - 1]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                                       exclude_categories=("Cs",)), min_size=1, max_size=30),
        st.sampled_from(["", " ", "\t", "~", "null", "yes", "no", "0x1F", "1e999", "-.inf",
                         ".nan", "../../etc/passwd", "/dev/zero", "x" * 100_000,
                         "é" * 20_000, "💥" * 5_000, "\u202e\u200b", "a\x85b", "#ff00zz",
                         "1900-02-30", "2012-13-01", "9999-12-31", "!!python/object:os.system"]),
        st.lists(st.integers(-5, 5), max_size=6),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5),
        st.dictionaries(st.text(max_size=8), st.integers(), max_size=4),
        st.builds(deep, st.integers(50, 3000), st.booleans()),
        st.builds(bomb, st.integers(3, 9), st.integers(3, 9)),
    )

    def paths(tree: Any) -> list:
        """Where a change can go: each container and value once (an alias bomb's shared
        lists are not walked again), at most a few thousand."""
        out: list = []
        seen: set[int] = set()
        stack: list = [((), tree)]
        while stack and len(out) < 5000:
            prefix, node = stack.pop()
            out.append(prefix)
            if id(node) in seen or len(prefix) >= 12:
                continue
            if isinstance(node, (dict, list)):
                seen.add(id(node))
            if isinstance(node, dict):
                stack.extend((prefix + (k,), v) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((prefix + (i,), v) for i, v in enumerate(node[:40]))
        return out

    def at(tree: Any, path: tuple) -> Any:
        for p in path:
            tree = tree[p]
        return tree

    @st.composite
    def tree_case(draw: Any) -> tuple[str, str, bytes]:
        name = draw(st.sampled_from(sorted(trees)))
        tree = copy.deepcopy(trees[name])
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            path = draw(st.sampled_from(paths(tree)))
            op = draw(st.sampled_from(["replace", "replace", "delete", "extra", "retype",
                                       "duplicate", "number"]))
            ops.append(op)
            if not path:
                if op in ("replace", "retype"):
                    tree = draw(junk)
                continue
            parent, key = at(tree, path[:-1]), path[-1]
            if op == "replace":
                parent[key] = draw(junk)
            elif op == "delete":
                del parent[key]
            elif op == "extra" and isinstance(parent[key], dict):
                parent[key][draw(st.text(min_size=1, max_size=12))] = draw(junk)
            elif op == "extra" and isinstance(parent[key], list):
                parent[key].insert(draw(st.integers(0, len(parent[key]))), draw(junk))
            elif op == "retype":
                v = parent[key]
                parent[key] = (list(v.values()) if isinstance(v, dict)
                               else {str(i): x for i, x in enumerate(v)} if isinstance(v, list)
                               else [v] if draw(st.booleans()) else str(v))
            elif op == "duplicate" and isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
            elif op == "number":
                parent[key] = draw(st.sampled_from([1e308, -1e308, float("nan"), float("inf"),
                                                    -1e9, 1e9, 2**64, -1, 0]))
        return f"tree {name} {'+'.join(ops)}", name, dump(tree)

    @st.composite
    def byte_case(draw: Any) -> tuple[str, str, bytes]:
        name = draw(st.sampled_from(sorted(bases)))
        data = bytearray(bases[name].encode("utf-8"))
        ops = []
        for _ in range(draw(st.integers(1, 8))):
            op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "nul",
                                       "badutf8", "dupline", "indent"]))
            ops.append(op)
            n = len(data)
            i = draw(st.integers(0, max(0, n - 1)))
            if op == "flip" and n:
                data[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=16))
            elif op == "delete":
                del data[i:i + draw(st.integers(1, 200))]
            elif op == "truncate":
                del data[i:]
            elif op == "nul":
                data[i:i] = b"\x00"
            elif op == "badutf8":
                data[i:i] = draw(st.sampled_from(
                    [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80"]))
            elif op == "dupline":
                lines = bytes(data).split(b"\n")
                j = draw(st.integers(0, len(lines) - 1))
                lines.insert(j, lines[j])
                data = bytearray(b"\n".join(lines))
            elif op == "indent":
                lines = bytes(data).split(b"\n")
                j = draw(st.integers(0, len(lines) - 1))
                lines[j] = draw(st.sampled_from([b" ", b"\t", b"    "])) + lines[j]
                data = bytearray(b"\n".join(lines))
        return f"bytes {name} {'+'.join(ops)}", name, bytes(data)

    return st.one_of(tree_case(), byte_case())


def dump(tree: Any) -> bytes:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.BytesIO()
    try:
        yaml.dump(tree, buf)
    except RecursionError:  # nesting too deep for the writer: flow style, by hand
        return flow(tree).encode()
    return buf.getvalue()


def flow(tree: Any) -> str:
    """``tree`` as one line of flow-style YAML, without recursion (for very deep trees)."""
    out: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, _Text):
            out.append(item.text)
        elif isinstance(item, dict):
            out.append("{")
            parts: list[Any] = []
            for i, (k, v) in enumerate(item.items()):
                parts += [_Text(", " if i else ""), _Text(json.dumps(str(k)) + ": "), v]
            stack.append(_Text("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            out.append("[")
            parts = []
            for i, v in enumerate(item):
                parts += [_Text(", " if i else ""), v]
            stack.append(_Text("]"))
            stack.extend(reversed(parts))
        else:
            out.append(json.dumps(item, default=str) if not isinstance(item, float)
                       or item == item and abs(item) != float("inf") else
                       {True: ".nan"}.get(item != item, ".inf" if item > 0 else "-.inf"))
    return "".join(out) + "\n"


class _Text:
    def __init__(self, text: str):
        self.text = text


# -- one case -----------------------------------------------------------------------------------
class TooSlow(BaseException):  # not caught by the CLI's "internal error" handler
    pass


def _alarm(*_: Any) -> None:
    raise TooSlow


def _peak_reset() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_case(path: Path) -> dict[str, Any]:
    """``pelvic-spread validate PATH`` in this process: exit code, messages, CPU time (the
    machine is shared: wall time says more about the neighbours), peak memory."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    _peak_reset()
    t0 = time.process_time()
    w0 = time.perf_counter()
    signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, LIMIT_S)
    outcome = "ok"
    rc = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["validate", str(path)])
    except TooSlow:
        outcome = "slow"
    except MemoryError:
        outcome = "memory"
    except BaseException as exc:  # noqa: BLE001 (that is the finding)
        outcome = f"raised {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    seconds = time.process_time() - t0
    wall = time.perf_counter() - w0
    peak = _peak_mb()
    lines = [x for x in err.getvalue().splitlines() if x.strip()]
    if outcome == "ok":
        if rc not in (0, 2):
            outcome = f"exit {rc}: {lines[0][:200] if lines else ''}"
        elif rc == 2 and not lines:
            outcome = "exit 2 without a message"
        elif rc == 2 and not LINE_RE.match(lines[0]):
            outcome = f"no FILE:LINE: {lines[0][:200]}"
        elif "Traceback" in err.getvalue():
            outcome = "traceback"
        elif seconds > LIMIT_S:
            outcome = "slow"
        elif peak > LIMIT_MB:
            outcome = "memory"
    return {"outcome": outcome, "rc": rc, "seconds": round(seconds, 3), "wall": round(wall, 3),
            "peak_mb": round(peak, 1), "message": lines[0][:160] if lines else ""}


# -- the worker: Hypothesis makes cases, each is validated; one JSON line per case ------------
def worker(cases: int, seed: int, workdir: Path) -> None:
    import resource

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_AS_BYTES, WORKER_AS_BYTES))
    sys.setrecursionlimit(10_000)
    target = workdir / "scenes" / "fuzz_case.yaml"
    emit = sys.__stdout__

    @hseed(seed)
    @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategies())
    def one(case: tuple[str, str, bytes]) -> None:
        kind, base, data = case
        target.write_bytes(data)
        print(json.dumps({"start": kind, "bytes": len(data)}), file=emit, flush=True)
        result = run_case(target)
        result.update(kind=kind, base=base, bytes=len(data))
        if result["outcome"] != "ok":
            keep = workdir / "failures" / f"case-{time.monotonic_ns()}.yaml"
            keep.parent.mkdir(exist_ok=True)
            shutil.copyfile(target, keep)
            result["kept"] = str(keep)
        print(json.dumps(result), file=emit, flush=True)

    one()


# -- the parent: workers, a hard timeout, the figures -------------------------------------------
def run(cases: int, seed: int, keep: Path | None = None, quiet: bool = False) -> dict[str, Any]:
    """Validate ``cases`` mutants; returns the counts and maxima (and the failures)."""
    with tempfile.TemporaryDirectory(prefix="scene-fuzz-") as tmp:
        workdir = Path(tmp)
        shutil.copytree(SCENES, workdir / "scenes")
        for extra in ("assets", "app/data"):  # what scenes may point at by relative path
            if (ROOT / extra).is_dir() and not (workdir / extra).exists():
                (workdir / extra).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(ROOT / extra, workdir / extra)
        results: list[dict[str, Any]] = []
        t0 = time.monotonic()
        try:
            _rounds(cases, seed, workdir, results, t0, quiet)
        except KeyboardInterrupt:  # Ctrl-C: the figures of the cases done so far
            print(f"  interrupted after {len(results)} cases", flush=True)
        failures = [r for r in results if r["outcome"] != "ok"]
        if keep is not None and failures:
            keep.mkdir(parents=True, exist_ok=True)
            for r in failures:
                if r.get("kept") and Path(r["kept"]).exists():
                    shutil.copy(r["kept"], keep / Path(r["kept"]).name)
                    r["kept"] = str(keep / Path(r["kept"]).name)
            (keep / "failures.json").write_text(json.dumps(failures, indent=1))
        return summarise(results, time.monotonic() - t0)


def _rounds(cases: int, seed: int, workdir: Path, results: list[dict[str, Any]], t0: float,
            quiet: bool) -> None:
    """Workers until ``cases`` are done (a killed or finished worker is followed by another)."""
    round_seed = seed
    while len(results) < cases:
        left = cases - len(results)
        errlog = open(workdir / "worker.err", "w+")  # noqa: SIM115 (read back below)
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--cases", str(left),
             "--seed", str(round_seed), "--workdir", str(workdir)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=errlog, text=True)
        round_seed += 1
        current: dict[str, Any] | None = None
        assert proc.stdout is not None
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        hung = False
        try:
            while True:
                if not sel.select(HARD_KILL_S if current else 300):
                    hung = True
                    break
                line = proc.stdout.readline()
                if not line:
                    break
                doc = json.loads(line)
                if "start" in doc:
                    current = doc
                    continue
                current = None
                results.append(doc)
                if not quiet and len(results) % 500 == 0:
                    print(f"  {len(results)} cases, {time.monotonic() - t0:.0f} s", flush=True)
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise
        if hung:
            proc.kill()
            results.append({"outcome": "hung (killed)",
                            "kind": current["start"] if current else "(making a case)",
                            "seconds": HARD_KILL_S, "peak_mb": 0.0, "message": ""})
        proc.wait()
        sel.close()
        if not hung and proc.returncode != 0:
            errlog.seek(0)
            err = errlog.read()
            results.append({"outcome": f"worker died ({proc.returncode})",
                            "kind": current["start"] if current else "?",
                            "seconds": 0.0, "peak_mb": 0.0, "message": err[-300:]})
        errlog.close()
        if not hung and proc.returncode == 0 and len(results) < cases:
            continue  # Hypothesis stopped early (saw all it could): another seed


def summarise(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    by_rc: dict[str, int] = {}
    for r in results:
        by_rc[str(r.get("rc"))] = by_rc.get(str(r.get("rc")), 0) + 1
    tree = [r for r in results if str(r.get("kind", "")).startswith("tree")]
    return {
        "cases": len(results), "tree": len(tree), "bytes": len(results) - len(tree),
        "valid": by_rc.get("0", 0), "rejected_cleanly": sum(
            1 for r in results if r["outcome"] == "ok" and r.get("rc") == 2),
        "failures": [r for r in results if r["outcome"] != "ok"],
        "max_seconds": max((r["seconds"] for r in results), default=0.0),
        "max_peak_mb": max((r["peak_mb"] for r in results), default=0.0),
        "total_seconds": round(seconds, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="folder to keep failing cases in")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sys.path.insert(0, str(ROOT))
        worker(args.cases, args.seed, args.workdir)
        return 0
    def stop(*_: Any) -> None:  # kill PID, or Ctrl-C: the figures so far (a background job
        raise KeyboardInterrupt  # started from a script ignores SIGINT)

    signal.signal(signal.SIGTERM, stop)
    s = run(args.cases, args.seed, args.keep)
    print(f"scene files: {s['cases']} cases ({s['tree']} on the YAML tree, {s['bytes']} on "
          f"the bytes) in {s['total_seconds']} s")
    print(f"  valid: {s['valid']}, rejected cleanly (exit 2, FILE:LINE:): "
          f"{s['rejected_cleanly']}, failures: {len(s['failures'])}")
    print(f"  slowest case {s['max_seconds']:.2f} s (limit {LIMIT_S:g}), highest peak memory "
          f"{s['max_peak_mb']:.0f} MB (limit {LIMIT_MB:g})")
    kinds: dict[str, int] = {}
    for f in s["failures"]:
        kinds[f["outcome"][:70]] = kinds.get(f["outcome"][:70], 0) + 1
    for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {n:5d} x {k}")
    return 0 if not s["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
