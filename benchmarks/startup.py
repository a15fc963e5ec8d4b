"""Start-up of the command line with and without the parsed-scene cache, side by side.

    .venv/bin/python benchmarks/startup.py [--runs 5]

Each run starts a fresh process, alternately with an empty cache folder (``cold``: the scene
files are read by the YAML reader) and with one that already holds the case's parsed files and
its player bundle (``warm``). Measured: ``pelvic-spread validate`` from start to exit, and
``pelvic-spread serve`` from start to printing its address. Prints the medians and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cache: str, until: str | None = None) -> float:
    env = dict(os.environ, PELVIC_SPREAD_CACHE=cache, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    if until is None:
        subprocess.run([sys.executable, "-m", "app", *cmd], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        return time.perf_counter() - t0
    p = subprocess.Popen([sys.executable, "-m", "app", *cmd], cwd=ROOT, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for line in p.stdout:  # type: ignore[union-attr]
            if until in line:
                return time.perf_counter() - t0
        raise RuntimeError(f"{cmd[0]} ended without printing {until!r}")
    finally:
        p.terminate()
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    warm = tempfile.mkdtemp(prefix="ps-warm-")
    # fill the warm cache: the case's parsed files, and serve's bundle (built once)
    run(["serve", "--port", "0"], warm, until="Serving")
    run(["validate"], warm)
    deadline = time.monotonic() + 120
    while not list(Path(warm, "bundles").glob("*.bin")) and time.monotonic() < deadline:
        run(["serve", "--port", "0"], warm, until="Serving")
        time.sleep(5)
    tasks = {"validate": (["validate"], None), "serve, address": (["serve", "--port", "0"],
                                                                  "Serving")}
    got: dict[tuple[str, str], list[float]] = {}
    try:
        for _ in range(args.runs):
            for name, (cmd, until) in tasks.items():
                for kind in ("cold", "warm"):
                    cache = warm
                    if kind == "cold":  # no parsed files; the same bundle (not measured here)
                        cache = tempfile.mkdtemp(prefix="ps-cold-")
                        shutil.copytree(Path(warm, "bundles"), Path(cache, "bundles"),
                                        dirs_exist_ok=True)
                    got.setdefault((name, kind), []).append(run(cmd, cache, until))
                    if kind == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(warm, ignore_errors=True)
    print(f"pelvic-spread start-up, {os.cpu_count()} CPUs, medians of {args.runs} runs")
    for name in tasks:
        cold = statistics.median(got[(name, "cold")])
        hot = statistics.median(got[(name, "warm")])
        print(f"  {name:16s} cold {cold:5.2f} s  warm {hot:5.2f} s  ratio {cold / hot:4.2f}x"
              f"   (cold {[round(x, 2) for x in got[(name, 'cold')]]},"
              f" warm {[round(x, 2) for x in got[(name, 'warm')]]})")


if __name__ == "__main__":
    main()
