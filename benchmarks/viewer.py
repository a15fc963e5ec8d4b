"""The browser viewer: time to the first 3D frame after `serve` starts, and what playback costs.

    .venv/bin/python benchmarks/viewer.py [SCENE] [--runs 3] [--seconds 6] [--old REV]
                                          [--before REV] [--gl llvmpipe]

Measured side by side in one run, in headless Chromium (/usr/bin/chromium), each against its
own ``serve`` process, the browser already open (as a user's would be):

- **first frame**: seconds from starting ``pelvic-spread serve`` to the first frame the
  page's 3D view (the browser player) draws. With the scenario's bundle in the disk cache
  (``serve`` started before, the usual case: the median of ``--runs``), and once with an empty
  cache (the first start after installing or changing the code: the bundle is built first).
- **playback**: websocket bytes the page receives per frame it draws during local playback
  (the player plays from the server's anchor: nothing is sent per frame), and per image
  during remote playback (the server renders and streams images).
- **the old page** (``--old REV``, default the last commit before the player page; ``--old
  none`` skips it): the same figures for trame-vtk's vtk.js view, served from a copy of that
  revision (``git archive``) with this virtual environment: the scene pushed through the
  websocket, then a few numbers per frame from the server's 20 Hz playback loop.
- **an earlier player page** (``--before REV``): its first frame, timed in turn with this one
  (each run alternates which starts first), for the ratio.

Targets: first frame within 3 s; local playback about 0 bytes per frame (bytes per second are
printed too: with software WebGL on a busy machine a page draws few frames). Prints the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.conftest import LLVMPIPE_ARGS  # noqa: E402 (the browser tests' flags)

CHROMIUM = os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium")
URL_RE = re.compile(r"Serving .* at (http://\S+)")
PLAY_FROM = "2011-06"  # the part of the story where most things move
OLD_REV = "035774f"  # the last commit whose page drew with trame-vtk's vtk.js view
READY = "window.pelvic && window.pelvic.sceneReady === true"
# headless Chromium draws WebGL with SwiftShader unless told to use the machine's GL
GL = {"SwiftShader": [], "llvmpipe": LLVMPIPE_ARGS}


class Serve:
    """``python -m app serve --port 0`` from ``root``; the address once it is printed."""

    def __init__(self, root: Path, scene: list[str], env: dict[str, str] | None = None):
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0", *scene], cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
        self.url = ""
        self.printed_at = 0.0
        self.lines: list[str] = []
        self.ready = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                self.lines.append(line.rstrip())
                m = URL_RE.search(line)
                if m and not self.url:
                    self.url, self.printed_at = m.group(1), time.time()
                    self.ready.set()

        threading.Thread(target=read, daemon=True).start()

    def wait(self) -> str:
        if not self.ready.wait(300):
            self.stop()
            raise RuntimeError("serve printed no address:\n" + "\n".join(self.lines[-20:]))
        return self.url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Page:
    """A Chromium page (opened before the server starts) that counts what the server sends
    over the websocket: bytes, and binary frames (the remote view's images)."""

    def __init__(self, browser):
        self.received = 0
        self.binary = 0
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.page.on("websocket", self._socket)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function(READY, timeout=180_000)
        self.page.evaluate("() => { window.__ticks = 0; "
                           "trame.state.watch(['tl_time'], () => window.__ticks++); }")

    def _socket(self, ws) -> None:
        ws.on("framereceived", self._count)

    def _count(self, payload) -> None:
        if isinstance(payload, bytes):
            self.binary += 1
            self.received += len(payload)
        else:
            self.received += len(payload.encode())

    def call(self, js: str, arg=None):
        return self.page.evaluate(js, arg)

    def playback(self, seconds: float, mode: str, player: bool) -> dict[str, float]:
        """Bytes received per frame drawn over ``seconds`` of playback from PLAY_FROM.

        Frames: the player's own (the new page, local mode), the server's images (remote
        mode), or the times the server sent (the old page, local: one frame each)."""
        self.call("m => trame.state.set('viewMode', m)", mode)
        self.page.wait_for_timeout(2500)  # the mode switch itself is not playback
        t = self.call("d => trame.state.get('tl_stages').find(s => s.start >= d).time",
                      PLAY_FROM)
        self.call("t => trame.trigger('tl_seek', [t])", t)
        self.page.wait_for_timeout(1500)
        frames = ("() => window.pelvic.frames" if player and mode == "local"
                  else "() => window.__ticks")
        f0, bytes0, bin0 = self.call(frames), self.received, self.binary
        start = time.monotonic()
        self.call("() => trame.trigger('tl_toggle')")
        self.page.wait_for_timeout(seconds * 1000)
        self.call("() => trame.trigger('tl_toggle')")
        elapsed = time.monotonic() - start
        self.page.wait_for_timeout(300)
        n = self.binary - bin0 if mode == "remote" else self.call(frames) - f0
        got = self.received - bytes0
        self.call("() => trame.state.set('viewMode', 'local')")
        return {"bytes": got, "frames": n, "per_frame": got / max(n, 1), "fps": n / elapsed}

    def close(self) -> None:
        self.page.close()


def first_frame(browser, root: Path, scene: list[str], env: dict[str, str] | None = None
                ) -> tuple[float, float, dict, Page, Serve]:
    """(seconds to the first 3D frame, seconds to the address, the page's marks, page, serve)."""
    page = Page(browser)
    serve = Serve(root, scene, env)
    try:
        page.open(serve.wait())
        first = page.call("() => window.pelvic.firstFrameAt") / 1000.0 - serve.t0
        return first, serve.printed_at - serve.t0, page.call("() => window.pelvic.marks"), \
            page, serve
    except BaseException:
        serve.stop()
        raise


def old_tree(rev: str) -> Path:
    """A copy of revision ``rev`` of this repository (its code, scenes and assets)."""
    out = Path(tempfile.mkdtemp(prefix="pelvic-spread-old-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    # its byte code, as ./dev writes it for this tree (no run compiles the package)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(out / "app")],
                   capture_output=True, check=False)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=None)
    ap.add_argument("--seconds", type=float, default=6.0, help="playback measured per mode")
    ap.add_argument("--runs", type=int, default=3, help="serve starts timed (median shown)")
    ap.add_argument("--old", default=OLD_REV, help="revision of the old page, or 'none'")
    ap.add_argument("--before", default="none",
                    help="an earlier revision of the player page, timed in turn (first frame)")
    ap.add_argument("--gl", choices=sorted(GL), default="SwiftShader",
                    help="Chromium's WebGL: its own software GPU, or Mesa's llvmpipe")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2
    scene = [args.scene] if args.scene else []
    old_root = None if args.old == "none" else old_tree(args.old)
    before_root = None if args.before == "none" else old_tree(args.before)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app")],
                   capture_output=True, check=False)
    results: dict[str, dict] = {}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as cold:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-background-networking",
                                           *GL[args.gl]])
        # 1. the player page: an empty bundle cache once, then the usual (warm) starts
        first, printed, marks, page, serve = first_frame(
            browser, ROOT, scene, {"PELVIC_SPREAD_CACHE": cold})
        page.close()
        serve.stop()
        results["cold"] = {"first": first, "printed": printed, "marks": marks}
        # the usual (warm) starts, and the old page's, taken in turn (the machine's load
        # changes from minute to minute: both see the same)
        runs: dict[str, list] = {"new": [], "old": [], "before": []}
        pages: dict[str, tuple] = {}
        for run in range(args.runs):
            trees = (("new", ROOT), ("old", old_root), ("before", before_root))
            for which, root in trees if run % 2 == 0 else trees[::-1]:
                if root is None:
                    continue
                try:
                    first, printed, marks, page, serve = first_frame(browser, root, scene)
                except Exception as exc:  # noqa: BLE001 (say which page, then stop)
                    raise SystemExit(f"the {which} page did not draw: {exc}") from None
                runs[which].append((first, printed, marks))
                if run < args.runs - 1 or which == "before":
                    page.close()
                    serve.stop()
                else:
                    pages[which] = (page, serve)
        for which, (page, serve) in pages.items():
            try:
                if which == "new":
                    local = page.playback(args.seconds, "local", player=True)
                    remote = page.playback(args.seconds, "remote", player=True)
                    results["new"] = {"runs": runs["new"], "local": local, "remote": remote}
                else:
                    local = page.playback(args.seconds, "local", player=False)
                    results["old"] = {"runs": runs["old"], "local": local}
            finally:
                page.close()
                serve.stop()
        browser.close()
    for root in (old_root, before_root):
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
    if runs["before"]:
        results["before"] = {"runs": runs["before"]}
    report(results, args)
    return 0


def report(results: dict, args: argparse.Namespace) -> None:
    def median_run(runs: list) -> tuple[float, float, dict, list[float]]:
        firsts = [r[0] for r in runs]
        m = statistics.median(firsts)
        best = min(runs, key=lambda r: abs(r[0] - m))
        return m, statistics.median(r[1] for r in runs), best[2], firsts

    def row(name: str, r: dict) -> str:
        per_s = r["bytes"] / max(args.seconds, 1e-9) / 1024
        return (f"  {name:<46} {r['per_frame'] / 1024:9.3f} KB/frame  {per_s:7.2f} KB/s  "
                f"({r['frames']} frames, {r['fps']:.1f} frames/s)")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"pelvic-spread viewer, headless Chromium ({args.gl}), {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at the end")
    new = results["new"]
    first, printed, marks, firsts = median_run(new["runs"])
    print("first 3D frame after `serve` starts (browser already open):")
    print(f"  player page, bundle in the disk cache        {first:8.2f} s   (median of "
          f"{len(firsts)}: {', '.join(f'{x:.2f}' for x in firsts)}; address printed at "
          f"{printed:.2f} s)")
    if "earlyFirstFrame" in marks:  # drawn by early.js while trame connected and mounted
        print(f"    in the page (ms after it opened): early.js started {marks.get('earlyStart')}, "
              f"bundle in {marks.get('earlyBundleIn')}, player built {marks.get('earlyBuilt')}, "
              f"first frame {marks.get('firstFrame')}; trame connected {marks.get('connected')}, "
              f"player in the mounted page {marks.get('built')}")
    else:
        print(f"    in the page (ms after it opened): connected {marks.get('connected')}, bundle "
              f"in {marks.get('bundleIn')}, player built {marks.get('built')}, first frame "
              f"{marks.get('firstFrame')}")
    cold = results["cold"]
    print(f"  player page, empty cache (bundle built first)  {cold['first']:6.2f} s   "
          f"(address at {cold['printed']:.2f} s)")
    def other(label: str, runs: list, arrived: str, what: str) -> tuple[float, float]:
        """A line for another page's first frames (``arrived``: the mark of its ``what``)."""
        o_first, o_printed, o_marks, o_firsts = median_run(runs)
        print(f"  {label:<44} {o_first:6.2f} s   (median of {len(o_firsts)}: "
              f"{', '.join(f'{x:.2f}' for x in o_firsts)}; address at {o_printed:.2f} s; in the "
              f"page: connected {o_marks.get('connected')}, {what} in "
              f"{o_marks.get(arrived)}, first frame {o_marks.get('firstFrame')} ms)")
        return o_first, o_printed

    before = results.get("before")
    if before:
        b_first, b_printed = other(f"player page at {args.before} (taken in turn)",
                                   before["runs"], "bundleIn", "bundle")
    old = results.get("old")
    if old:
        o_first, _ = other(f"old page ({args.old}, trame-vtk view)", old["runs"], "geometryIn",
                           "geometry")
    print("websocket bytes received per frame drawn during playback:")
    print(row("player page, local: plays from the anchor", new["local"]))
    print(row("player page, remote: server streams images", new["remote"]))
    if old:
        print(row("old page, local: numbers from the server", old["local"]))
    ratios = [f"first frame target 3 s: {'met' if first <= 3 else 'NOT met'}",
              f"local playback {new['local']['per_frame']:.1f} bytes/frame"]
    if before:
        ratios.insert(0, f"first frame {args.before}/now = {b_first / max(first, 1e-9):.2f}x, "
                         f"address {b_printed / max(printed, 1e-9):.2f}x")
    if old:
        ratios.insert(0, f"first frame old/new = {o_first / max(first, 1e-9):.1f}x")
        ratios.append(f"old local/new local bytes per second of playback = "
                      f"{old['local']['bytes'] / max(new['local']['bytes'], 1):.0f}x")
    print("ratios: " + "; ".join(ratios))


if __name__ == "__main__":
    sys.exit(main())
