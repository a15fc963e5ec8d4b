"""The browser viewer: time to the first 3D frame, and websocket bytes per animation frame.

    .venv/bin/python benchmarks/viewer.py [SCENE] [--seconds 6]

Measured in one run, in headless Chromium (/usr/bin/chromium), each against its own
``serve`` process:

- **first frame**: seconds from starting ``pelvic-spread serve`` to the first frame of the
  3D scene drawn by vtk.js in the page (the browser is already open, as a user's would be);
- **local**: bytes received over the websocket per animation frame during playback with
  client-side rendering, where the browser applies the spread itself (a few numbers a frame);
- **remote**: the same with server-side rendering (an image a frame);
- **rebuild**: client-side rendering with the animation applied the naive way: the server
  rebuilds the grown nerve tubes and arrows each frame (``frame_update.Rebuilder``) and
  resends the scene with ``view.update()``.

Targets: first frame within 5 s; local playback under 4 KB per frame. Prints the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CHROMIUM = os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium")
URL_RE = re.compile(r"Serving .* at (http://\S+)")
PLAY_FROM = "2011-06"  # the part of the story where most things move


# -- the naive server, for the "rebuild" column ---------------------------------------------
def child_rebuild(scene: str | None) -> int:
    """Serve the viewer with the spread applied by rebuilding geometry every frame."""
    from frame_update import Rebuilder

    from app.web.server import free_port, make_server, url_for

    server, app = make_server(scene)
    layer = app.engine.layer
    for actor in layer.actors():  # the uniform-driven arrows give way to rebuilt ones
        actor.SetVisibility(False)
    rebuild = Rebuilder(app.engine.view, layer)

    def show_spread(state) -> None:
        if state is None or app.view is None or not server.protocol:
            return
        rebuild.frame(state.time)
        app.view.update()  # trame-vtk's ordinary path: resend the scene (and an image)

    app.show_spread = show_spread
    port = free_port("127.0.0.1")
    server.controller.on_server_ready.add(
        lambda **_: print(f"Serving rebuild at {url_for('127.0.0.1', port)}", flush=True))
    sys.argv = sys.argv[:1]
    server.start(host="127.0.0.1", port=port, open_browser=False, show_connection_info=False,
                 disable_logging=True, timeout=0)
    return 0


# -- harness ---------------------------------------------------------------------------------
class Serve:
    def __init__(self, args: list[str]):
        self.t0 = time.time()
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.url = ""
        self.printed_at = 0.0
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                m = URL_RE.search(line)
                if m and not self.url:
                    self.url, self.printed_at = m.group(1), time.time()
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(300):
            self.stop()
            raise RuntimeError(f"{' '.join(args)} printed no address")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Page:
    """A Chromium page that counts the bytes the server sends over the websocket."""

    def __init__(self, browser, url: str):
        self.received = 0
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.page.on("websocket", self._socket)
        self.page.goto(url)
        self.page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true",
                                    timeout=120_000)
        self.page.evaluate("() => { window.__ticks = 0; "
                           "trame.state.watch(['tl_time'], () => window.__ticks++); }")

    def _socket(self, ws) -> None:
        ws.on("framereceived", lambda payload: self._count(payload))

    def _count(self, payload) -> None:
        self.received += len(payload if isinstance(payload, bytes) else payload.encode())

    def call(self, js: str, arg=None):
        return self.page.evaluate(js, arg)

    def playback(self, seconds: float, mode: str) -> tuple[float, int, float]:
        """(bytes per frame, frames, frames per second) over ``seconds`` of playback."""
        self.call("m => trame.state.set('viewMode', m)", mode)
        self.page.wait_for_timeout(2500)  # the mode switch itself is not playback
        t = self.call("d => trame.state.get('tl_stages').find(s => s.start >= d).time",
                      PLAY_FROM)
        self.call("t => trame.trigger('tl_seek', [t])", t)
        self.page.wait_for_timeout(1500)
        ticks0 = self.call("() => window.__ticks")
        bytes0 = self.received
        start = time.monotonic()
        self.call("() => trame.state.set('tl_playing', true)")
        self.page.wait_for_timeout(seconds * 1000)
        self.call("() => trame.state.set('tl_playing', false)")
        elapsed = time.monotonic() - start
        self.page.wait_for_timeout(500)
        frames = self.call("() => window.__ticks") - ticks0
        return (self.received - bytes0) / max(frames, 1), frames, frames / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=None)
    ap.add_argument("--seconds", type=float, default=6.0, help="playback measured per mode")
    ap.add_argument("--runs", type=int, default=3, help="serve starts timed (median shown)")
    ap.add_argument("--child-rebuild", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rebuild:
        return child_rebuild(args.scene)

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2
    scene = [args.scene] if args.scene else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-background-networking"])
        # 1. serve start -> first 3D frame (browser already open); the median of a few runs,
        # since other work on a shared machine makes single runs vary by seconds
        firsts, printed, marks = [], [], []
        for run in range(args.runs):
            serve = Serve([sys.executable, "-m", "app", "serve", "--port", "0", *scene])
            try:
                page = Page(browser, serve.url)
                firsts.append(page.call("() => window.pelvic.firstFrameAt") / 1000.0
                              - serve.t0)
                printed.append(serve.printed_at - serve.t0)
                marks.append(page.call("() => window.pelvic.marks"))
            except BaseException:
                serve.stop()
                raise
            if run < args.runs - 1:
                page.page.close()
                serve.stop()
        first = statistics.median(firsts)
        try:
            # 2./3. playback, client-side then server-side rendering
            local = page.playback(args.seconds, "local")
            remote = page.playback(args.seconds, "remote")
            page.page.close()
        finally:
            serve.stop()
        # 4. the naive path: geometry rebuilt and resent every frame
        naive = Serve([sys.executable, str(Path(__file__).resolve()), "--child-rebuild",
                       *scene])
        try:
            page = Page(browser, naive.url)
            rebuild = page.playback(args.seconds, "local")
            page.page.close()
        finally:
            naive.stop()
        browser.close()

    def row(name: str, r: tuple[float, int, float]) -> str:
        return (f"  {name:<44} {r[0] / 1024:10.2f} KB/frame  "
                f"({r[1]} frames, {r[2]:.1f} frames/s)")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"pelvic-spread viewer, headless Chromium, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at the end")
    print(f"  first 3D frame after `serve` start           {first:10.2f} s   "
          f"(median of {len(firsts)}: {', '.join(f'{x:.2f}' for x in firsts)}; address "
          f"printed at {statistics.median(printed):.2f} s; target 5 s)")
    m = marks[firsts.index(first)] if first in firsts else marks[-1]
    print(f"    in the page of the median run (ms after it opened): connected "
          f"{m.get('connected')}, geometry in {m.get('geometryIn')}, first frame "
          f"{m.get('firstFrame')}")
    print("websocket bytes received per animation frame during playback:")
    print(row("local: browser applies the spread itself", local))
    print(row("remote: server renders, streams images", remote))
    print(row("local, geometry rebuilt + resent per frame", rebuild))
    lo = max(local[0], 1.0)
    print(f"ratios: remote/local = {remote[0] / lo:.0f}x, rebuild/local = {rebuild[0] / lo:.0f}x"
          f"; local target < 4 KB/frame: {'met' if local[0] < 4096 else 'NOT met'}; "
          f"first frame target 5 s: {'met' if first <= 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
