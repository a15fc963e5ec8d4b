"""Long sessions stay flat: many Chromium pages on one ``serve`` for minutes, then counts.

    .venv/bin/python benchmarks/soak.py [--pages 8] [--minutes 10] [--seed 1] [--webgl W]
    .venv/bin/python benchmarks/soak.py --loads 100      # first picture, load after load

Soak: ``--pages`` pages on one server for ``--minutes``, each doing in turn what a lecture
does: play and pause, seek, next/previous stage, switch scenario, choose a camera preset,
hide and show structures, labels, and now and then reload (a reconnect). Then everything is
put back as it was at the start and it prints, side by side with the start: the server's
memory (RSS), its VTK renderers, props and observers (``GET /__census``), page errors and
server tracebacks, and whether every page still draws. The issue's bar: no page error, no
traceback, at most 50 MB more memory, no VTK object beyond the scene's own.

Loads: ``--loads N`` pages opened one after another on one server, each waiting for the page's
own "scene drawn" signal (``window.pelvic.sceneReady``); prints how many drew, the median and
slowest time, and for any that did not, what its page had reached (``window.pelvic.marks``).

``tests/e2e/test_soak.py`` runs a one-minute soak (marked slow).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "fuzz"))
sys.path.insert(0, str(ROOT))

READY = "window.pelvic && window.pelvic.sceneReady === true"
SCENARIOS = ("bilateral_plexopathy", "conus_route", "parallel_spread")
NODES = ("bladder", "rectum", "prostate", "sacrum", "hip_l", "hip_r", "l5", "sciatic_l")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def census(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.rstrip("/") + "/__census", timeout=30) as r:
        return json.loads(r.read())


class Pages:
    """Chromium pages on one server, with their errors collected."""

    def __init__(self, browser: Any, url: str):
        self.browser, self.url = browser, url
        self.errors: list[str] = []
        self.pages: list[Any] = []

    def open(self, timeout_s: float = 120.0) -> Any:
        page = self.browser.new_page(viewport={"width": 640, "height": 420})
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.url)
        page.wait_for_function(READY, timeout=timeout_s * 1000)
        return page


def act(page: Any, rng: random.Random) -> str:
    """One thing a lecturer or a student does."""
    trig = "([n, a]) => window.trame.trigger(n, a)"
    what = rng.choice(["play", "seek", "seek", "stage", "scenario", "preset", "preset",
                       "hide", "labels", "reload"])
    if what == "play":
        page.evaluate(trig, ["tl_toggle", []])
    elif what == "seek":
        page.evaluate(trig, ["tl_seek", [round(rng.uniform(0, 60), 2)]])
    elif what == "stage":
        page.evaluate(trig, [rng.choice(["tl_next", "tl_prev"]), []])
    elif what == "scenario":
        page.evaluate("n => window.trame.state.set('app_scenario', n)", rng.choice(SCENARIOS))
    elif what == "preset":
        page.evaluate(trig, ["cam_preset_index", [rng.randrange(6)]])
    elif what == "hide":
        page.evaluate(trig, ["st_toggle", [rng.choice(NODES)]])
    elif what == "labels":
        page.evaluate("() => window.trame.state.set('view_labels', "
                      "!window.trame.state.get('view_labels'))")
    elif what == "reload":
        # (on two busy cores a page's "load" can take over Playwright's 30 s; the bar is that
        # it draws again)
        page.reload(wait_until="commit", timeout=120_000)
        page.wait_for_function(READY, timeout=180_000)
    return what


def settle(page: Any) -> None:
    """Everything back as at the start: paused, the case, anterior, all structures, no labels."""
    trig = "([n, a]) => window.trame.trigger(n, a)"
    page.evaluate("() => window.trame.state.get('tl_playing') && "
                  "window.trame.trigger('tl_toggle')")
    page.evaluate("() => window.trame.state.set('app_scenario', 'bilateral_plexopathy')")
    page.wait_for_function("window.trame.state.get('app_scenario') === 'bilateral_plexopathy'"
                           " && window.pelvic.shown === 'bilateral_plexopathy'",
                           timeout=120_000)
    page.evaluate(trig, ["st_reset", []])
    page.evaluate(trig, ["cam_preset", ["anterior"]])
    page.evaluate(trig, ["tl_seek", [30.0]])
    page.evaluate("() => window.trame.state.set('view_labels', false)")
    page.wait_for_timeout(1500)


def soak(browser: Any, server: Any, pages: int, seconds: float, seed: int,
         report: Any = print) -> dict[str, Any]:
    rng = random.Random(seed)
    pool = Pages(browser, server.url)
    first = pool.open()
    settle(first)
    pool.pages = [first] + [pool.open() for _ in range(pages - 1)]
    time.sleep(2.0)
    start = {"rss_mb": rss_mb(server.proc.pid), "census": census(server.url)}
    report(f"start: {pages} pages drawn; server RSS {start['rss_mb']:.0f} MB; "
           f"VTK {start['census']['vtk']}")
    actions: dict[str, int] = {}
    t0 = time.monotonic()
    rounds = 0
    while time.monotonic() - t0 < seconds:
        for page in pool.pages:
            what = act(page, rng)
            actions[what] = actions.get(what, 0) + 1
            page.wait_for_timeout(rng.randint(150, 600))
        rounds += 1
        if rounds % 10 == 0:
            report(f"  {time.monotonic() - t0:.0f} s: RSS {rss_mb(server.proc.pid):.0f} MB, "
                   f"{sum(actions.values())} actions, {len(pool.errors)} page errors")
    settle(pool.pages[0])
    drawn = 0
    for page in pool.pages:  # every page still draws: a fresh frame after a seek
        page.evaluate("() => { window.__f0 = window.pelvic.frames; "
                      "window.trame.trigger('tl_seek', [31.0 + Math.random()]); }")
        try:
            page.wait_for_function("window.pelvic.sceneReady && window.pelvic.frames > "
                                   "window.__f0", timeout=60_000)
            drawn += 1
        except Exception:  # noqa: BLE001 (counted)
            pass
    settle(pool.pages[0])
    time.sleep(2.0)
    end = {"rss_mb": rss_mb(server.proc.pid), "census": census(server.url)}
    for page in pool.pages:
        page.close()
    return {"pages": pages, "seconds": round(time.monotonic() - t0), "actions": actions,
            "start": start, "end": end, "page_errors": pool.errors, "still_drawing": drawn,
            "tracebacks": [line for line in server.lines if "Traceback" in line]}


def loads(browser: Any, server: Any, n: int, timeout_s: float, report: Any = print
          ) -> dict[str, Any]:
    pool = Pages(browser, server.url)
    times: list[float] = []
    missed: list[dict[str, Any]] = []
    for i in range(n):
        page = browser.new_page(viewport={"width": 640, "height": 420})
        page.on("pageerror", lambda e: pool.errors.append(str(e)))
        t = time.monotonic()
        page.goto(server.url)
        try:
            page.wait_for_function(READY, timeout=timeout_s * 1000)
            times.append(time.monotonic() - t)
        except Exception:  # noqa: BLE001 (what the page reached is the finding)
            missed.append({"load": i, "marks": page.evaluate(
                "() => JSON.stringify(window.pelvic && window.pelvic.marks)")})
        page.close()
        if (i + 1) % 20 == 0:
            report(f"  {i + 1} loads: {len(times)} drew, {len(missed)} did not")
    return {"loads": n, "drew": len(times), "missed": missed, "page_errors": pool.errors,
            "median_s": statistics.median(times) if times else None,
            "max_s": max(times) if times else None,
            "tracebacks": [line for line in server.lines if "Traceback" in line]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loads", type=int, default=0, help="instead: N page loads in a row")
    ap.add_argument("--load-timeout", type=float, default=60.0)
    ap.add_argument("--webgl", choices=("llvmpipe", "swiftshader"), default="llvmpipe",
                    help="Chromium's WebGL: Mesa's llvmpipe (as the tests use) or its own")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from ws_fuzz import Server

    from tests.e2e.conftest import LLVMPIPE_ARGS  # the browser tests' flags for llvmpipe

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium"),
                    headless=True,
                    args=["--no-sandbox"] + (LLVMPIPE_ARGS if args.webgl == "llvmpipe" else []))
                if args.loads:
                    r = loads(browser, server, args.loads, args.load_timeout)
                else:
                    r = soak(browser, server, args.pages, args.minutes * 60, args.seed)
                browser.close()
        finally:
            server.stop()
    if args.loads:
        print(f"first picture: {r['drew']} of {r['loads']} loads drew the scene; median "
              f"{r['median_s']:.1f} s, slowest {r['max_s']:.1f} s; page errors "
              f"{len(r['page_errors'])}, server tracebacks {len(r['tracebacks'])}")
        for m in r["missed"]:
            print("  missed:", m)
        return 0 if r["drew"] == r["loads"] and not r["page_errors"] else 1
    s, e = r["start"], r["end"]
    grew = e["rss_mb"] - s["rss_mb"]
    print(f"soak: {r['pages']} pages for {r['seconds']} s ({args.webgl}), "
          f"actions {r['actions']} ({sum(r['actions'].values())})")
    print(f"  server RSS: start {s['rss_mb']:.0f} MB, end {e['rss_mb']:.0f} MB "
          f"({grew:+.0f} MB; bar +50 MB)")
    print(f"  VTK: start {s['census']['vtk']}, end {e['census']['vtk']}")
    print(f"  page errors {len(r['page_errors'])}, server tracebacks {len(r['tracebacks'])}, "
          f"pages still drawing {r['still_drawing']} of {r['pages']}")
    for err in r["page_errors"][:5]:
        print("  page error:", err[:200])
    ok = (grew <= 50 and s["census"]["vtk"] == e["census"]["vtk"] and not r["page_errors"]
          and not r["tracebacks"] and r["still_drawing"] == r["pages"])
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
