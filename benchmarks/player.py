"""The offline player: time to the first 3D frame after opening the exported HTML file,
side by side with the `serve` page's first frame, in one run.

    .venv/bin/python benchmarks/player.py [SCENE] [--runs 3]

Every measurement starts a fresh headless Chromium (/usr/bin/chromium), so no run profits from
shaders an earlier one compiled (a real first visit has none either). Headless Chromium draws
WebGL with SwiftShader (its own software GPU) unless told to use the machine's GL; both are
measured: SwiftShader, and Mesa's llvmpipe (the software GL that VTK's `render` uses here, and
what Firefox uses on this machine):

- **offline HTML**: `pelvic-spread export case.html`, then from opening the file (navigation
  start) to the player's first frame of the whole scene drawn (``window.pelvic.marks``);
- **serve, page on a running server**: from opening the page to the player's first frame with the
  whole scene (viewer.js's ``firstFrame`` mark), the server already up and its scene built;
- **serve, from its start**: from starting `pelvic-spread serve` to that first frame.

Also: playback frames per second in the offline page, the time to draw a frame, and the
file's size. Targets: first frame at most 1.5 s; the file at most 6 MB (built-in anatomy).

``--before REV`` also exports the case with revision REV of the project and times its offline
page in turn with this one (first frame, playback, size), for the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
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
ARGS = ["--no-sandbox", "--disable-background-networking"]
GL = {"SwiftShader": [], "llvmpipe": LLVMPIPE_ARGS}


def offline_first_frame(pw, url: str, gl: list[str]) -> tuple[float, dict, float]:
    """(seconds from opening to the first frame, the page's marks, playback frames/s); the
    marks also get ``scriptPerFrame``: the median script time (ms) of drawing a new moment, the
    part of a playback frame that a real GPU does not take away, and ``frameDrawn``: the median
    time (ms) of drawing a new moment until its pixels can be read back (script and GPU)."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS + gl)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page.goto(url)
        page.wait_for_function("window.pelvic && (window.pelvic.ready || window.pelvic.error)",
                               timeout=120_000)
        marks = page.evaluate("window.pelvic.marks")
        fps = page.evaluate("""() => new Promise(done => {
            const p = window.pelvic.player; let n = 0;
            const off = p.on('frame', () => n++);
            p.seek(p.header.timeline.start); p.play({speed: 4});
            setTimeout(() => { p.pause(); off(); done(n / 3); }, 3000); })""")
        # each of 15 new moments: the script of drawing it, then until its pixels can be read
        script, drawn = page.evaluate("""() => {
            const p = window.pelvic.player, tl = p.header.timeline, ms = [[], []];
            const gl = p.canvas().getContext('webgl2'), px = new Uint8Array(4);
            for (let i = 1; i <= 15; i++) {
                p.setTime(tl.start + i / 16 * (tl.duration - tl.start));
                const t0 = performance.now(); p.render(); const t1 = performance.now();
                gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);  // waits for the GPU
                ms[0].push(t1 - t0); ms[1].push(performance.now() - t0);
            }
            return ms.map(m => m.sort((a, b) => a - b)[7]); }""")
        marks["scriptPerFrame"], marks["frameDrawn"] = script, drawn
        return marks["firstFrame"] / 1000.0, marks, fps
    finally:
        browser.close()


class Serve:
    """A `pelvic-spread serve` started now, and the address it printed."""

    URL_RE = re.compile(r"Serving .* at (http://\S+)")

    def __init__(self, args: list[str]):
        self.t0 = time.time()
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.url = ""
        found = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                m = self.URL_RE.search(line)
                if m and not self.url:
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(300):
            self.stop()
            raise RuntimeError(f"{' '.join(args)} printed no address")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ServePages:
    """One fresh `serve`: the first frame of a browser already open when it starts, then
    pages opened on it once its scene is built."""

    def __init__(self, pw, scene: list[str]):
        self.pw = pw
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        self.serve = Serve([sys.executable, "-m", "app", "serve", "--port", "0", *scene])
        try:
            page = self._open(browser)
            self.from_start = page.evaluate("window.pelvic.firstFrameAt") / 1000.0 - \
                self.serve.t0
        except BaseException:
            self.serve.stop()
            raise
        finally:
            browser.close()

    def _open(self, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(self.serve.url)
        page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true",
                               timeout=120_000)
        return page

    def page_first_frame(self, gl: list[str]) -> float:
        """Seconds from opening the page (fresh browser) to the player's first whole frame."""
        browser = self.pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=ARGS + gl)
        try:
            return self._open(browser).evaluate("window.pelvic.marks.firstFrame") / 1000.0
        finally:
            browser.close()

    def stop(self) -> None:
        self.serve.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=None)
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median shown)")
    ap.add_argument("--before", default=None,
                    help="an earlier revision whose offline page is timed in turn")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    scene = [args.scene] if args.scene else []
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "case.html"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "app", "export", *scene, "-o", str(html)],
                       cwd=ROOT, check=True, capture_output=True)
        export_s = time.monotonic() - t0
        size = html.stat().st_size
        old_html = Path(tmp) / "before.html"
        old_size = 0
        if args.before:
            from benchmarks.viewer import old_tree
            subprocess.run([sys.executable, "-m", "app", "export", *scene, "-o", str(old_html)],
                           cwd=old_tree(args.before), check=True, capture_output=True)
            old_size = old_html.stat().st_size
        before = {k: {"first": [], "fps": [], "script": [], "drawn": []} for k in GL}
        offline = {k: [] for k in GL}
        opens = {k: [] for k in GL}
        marks = {k: [] for k in GL}
        fps = {k: [] for k in GL}
        starts = []
        with sync_playwright() as pw:
            for _ in range(args.runs):  # interleaved, so load from others hits all alike
                serve = ServePages(pw, scene)
                try:
                    starts.append(serve.from_start)
                    for name, gl in GL.items():
                        first, m, f = offline_first_frame(pw, html.as_uri(), gl)
                        offline[name].append(first)
                        marks[name].append(m)
                        fps[name].append(f)
                        opens[name].append(serve.page_first_frame(gl))
                        if args.before:
                            first, m, f = offline_first_frame(pw, old_html.as_uri(), gl)
                            before[name]["first"].append(first)
                            before[name]["script"].append(m["scriptPerFrame"])
                            before[name]["drawn"].append(m["frameDrawn"])
                            before[name]["fps"].append(f)
                finally:
                    serve.stop()
    med = statistics.median
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    runs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"pelvic-spread offline player, headless Chromium, {os.cpu_count()} CPUs, load "
          f"average {load:.1f} at the end; medians of {args.runs} runs (each run's figures in "
          "brackets)")
    print(f"  export case.html: {export_s:.2f} s, {size / 1e6:.2f} MB "
          f"(target 6 MB: {'met' if size <= 6e6 else 'NOT met'})"
          + (f"; at {args.before}: {old_size / 1e6:.2f} MB" if args.before else ""))
    print(f"  serve, from its start -> first frame (SwiftShader)   {med(starts):7.2f} s  "
          f"({runs(starts)})")
    for name in GL:
        off, opn = med(offline[name]), med(opens[name])
        # the marks of the run nearest the median (with an even count the median is a mean)
        m = marks[name][min(range(len(offline[name])),
                            key=lambda i: abs(offline[name][i] - off))]
        print(f"  WebGL on {name}:")
        print(f"    offline HTML: open file -> first 3D frame         {off:7.2f} s  "
              f"({runs(offline[name])})")
        print(f"      in the page (ms): script {m['start']:.0f}, bundle inflated "
              f"{m['bundle']:.0f}, scene built {m['built']:.0f}, first frame "
              f"{m['firstFrame']:.0f}")
        print(f"    serve (running): open page -> first frame         {opn:7.2f} s  "
              f"({runs(opens[name])})")
        script = med([x["scriptPerFrame"] for x in marks[name]])
        drawn = med([x["frameDrawn"] for x in marks[name]])
        print(f"    offline playback                                  {med(fps[name]):7.1f} "
              f"frames/s (a frame drawn {drawn:.0f} ms, its script {script:.0f} ms)")
        print(f"    ratios: serve page / offline = {opn / off:.2f}x, serve start / offline = "
              f"{med(starts) / off:.2f}x; target 1.5 s: {'met' if off <= 1.5 else 'NOT met'}")
        if args.before:
            b = before[name]
            print(f"    offline HTML at {args.before} (in turn): first frame "
                  f"{med(b['first']):.2f} s ({runs(b['first'])}), playback "
                  f"{med(b['fps']):.1f} frames/s (a frame drawn {med(b['drawn']):.0f} ms, its "
                  f"script {med(b['script']):.0f} ms); ratios {args.before}/now: first frame "
                  f"{med(b['first']) / off:.2f}x, playback "
                  f"{med(fps[name]) / max(med(b['fps']), 1e-9):.2f}x the frames/s, a frame "
                  f"drawn {med(b['drawn']) / max(drawn, 1e-9):.2f}x, its script "
                  f"{med(b['script']) / max(script, 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
