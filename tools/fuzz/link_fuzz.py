"""Fuzz share links: random and adversarial query strings opened in a real Chromium page.

    .venv/bin/python tools/fuzz/link_fuzz.py [--links 1000] [--seed 1] [--reloads 20]

Starts its own server and one Chromium page. Each link's query is applied as the page applies
its own address when it opens (``sh_apply_query`` with ``location.search``); ``--reloads``
of them are opened as fresh page loads instead. After each: no page error, no dialog (no
script ran from the link), the 3D view still there, the shared state sane (a known scenario,
the time on the timeline), and when the link has a problem (``ViewState.from_query`` or the
scene refuses part of it) a message on the page. Links are applied at the pace the server
allows one page (``rules.RATE``: scenario switches per second). Prints the figures.
``tests/e2e/test_link_fuzz.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from app.web import rules  # noqa: E402
from app.web.viewstate import QUERY_KEYS  # noqa: E402

ADVERSARIAL = [
    "", "?", "?&&&", "?=", "?=x", "?x", "?t=", "?t=abc", "?t=1e308", "?t=-1e9", "?t=nan",
    "?t=inf", "?t=-0", "?t=0x10", "?date=2012-13-45", "?date=1999-01-01", "?date=9999-12-31",
    "?date=2012-02-30", "?date=yesterday", "?camera=../../etc/passwd", "?camera=",
    "?camera=left&camera=right", "?cam=1,2,3", "?cam=nan,0,0,0,0,0,0,0,1,30",
    "?cam=0,0,0,0,0,0,0,0,1,30", "?cam=1e308,0,0,0,0,0,0,0,1,30", "?cam=0,-500,0,0,0,0,0,0,0,30",
    "?cam=0,-500,0,0,0,0,0,0,1,500", "?hide=<script>alert(1)</script>",
    "?hide=" + ",".join(["bladder"] * 2000), "?hide=" + "x" * 8000, "?hide=,,,,",
    "?isolate=nope", "?isolate=../../x", "?opacity=bladder:2", "?opacity=bladder:nan",
    "?opacity=:", "?opacity=bladder", "?color=bladder:zzzzzz", "?color=bladder:#ff0000ff",
    "?color=:ff0000", "?mode=both", "?mode=REMOTE", "?labels=maybe", "?labels=2",
    "?scenario=../../etc/passwd", "?scenario=<img src=x onerror=alert(1)>",
    "?scenario=conus_route&t=abc&hide=nope", "?%ZZ=1", "?%00=%00", "?t=%FF%FE",
    "?scenario=%E2%80%AE", "?hide=%F0%9F%92%A5", "?t=1&t=2&t=3", "?" + "a=1&" * 500,
    "?__proto__=1", "?constructor=x", "?hide=sacrum&isolate=sacrum&opacity=sacrum:0",
    "?javascript:alert(1)", "?date=2013-08-01#frag", "?t=12.5;drop", "?mode=remote&mode=local",
]

JUNK = ["", "1", "-1", "0", "abc", "1e999", "nan", "null", "undefined", "true", "%00", "%ZZ",
        "<b>x</b>", "'\"", "x" * 300, "é", "💥", ",", ":", "#ff0000", "2013-08-01",
        "bladder", "sciatic_l", "left", "conus_route", "parallel_spread", "remote"]


def random_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(list(QUERY_KEYS) * 3 + ["x", "", "T", "hide[]", "%20"])
        value = rng.choice(JUNK)
        if key in ("hide", "opacity", "color") and rng.random() < 0.5:
            value = ",".join(rng.choice(JUNK) + (":" + rng.choice(JUNK) if rng.random() < 0.5
                                                 else "") for _ in range(rng.randint(1, 5)))
        if key == "cam" and rng.random() < 0.5:
            value = ",".join(str(rng.choice([0, 1, -500, 1e308, math.nan, 30]))
                             for _ in range(rng.choice([9, 10, 11])))
        if rng.random() < 0.3:
            value = quote(value, safe="")
        parts.append(f"{key}={value}" if rng.random() < 0.9 else key)
    return "?" + "&".join(parts)


def queries(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = list(ADVERSARIAL)
    while len(out) < n:
        out.append(random_query(rng))
    return out[:n]


def expects_message(query: str) -> bool:
    """Whether the link has a problem the reader itself reports (the scene may add more)."""
    from app.web.viewstate import ViewState

    _view, problems = ViewState.from_query(query.split("#", 1)[0])  # as location.search
    return bool(problems)


class LinkPage:
    """One Chromium page on the server; applies links as the page does when it opens."""

    SANE = """() => { const s = window.trame.state;
        const names = (s.get('app_scenarios') || []).map(x => x.value);
        const t = s.get('tl_time'), a = s.get('tl_start'), b = s.get('tl_duration');
        return { scenario: names.includes(s.get('app_scenario')),
                 time: typeof t === 'number' && isFinite(t) && t >= a - 1e-6 && t <= b + 1e-6,
                 canvas: !!document.querySelector('#view3d canvas'),
                 messages: (s.get('app_messages') || []).length
                   + (s.get('app_notes') || []).length }; }"""

    def __init__(self, browser: Any, url: str):
        self.url = url.rstrip("/") + "/"
        self.browser = browser
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = self._open("")

    def _open(self, query: str) -> Any:
        page = self.browser.new_page(viewport={"width": 1024, "height": 700})
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.goto(self.url + query)
        page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true",
                               timeout=120_000)
        return page

    def apply(self, query: str, reload: bool = False, pace: float = 0.0) -> dict[str, Any]:
        """Apply ``query``; what the page shows afterwards."""
        errors0 = len(self.errors)
        if reload:
            self.page.close()
            self.page = self._open(query)
        else:
            self.page.evaluate("() => window.trame.trigger('app_dismiss')")
            self.page.wait_for_function("() => !(window.trame.state.get('app_messages') || [])"
                                        ".length", timeout=20_000)
            self.page.evaluate("() => window.trame.state.set('app_notes', [])")
            self.page.evaluate("q => { history.replaceState(null, '', location.pathname + q); "
                               "window.trame.trigger('sh_apply_query', [location.search]); }",
                               query)
        want = expects_message(query)
        if want:
            try:
                self.page.wait_for_function("() => (window.trame.state.get('app_messages')"
                                            " || []).length + (window.trame.state.get("
                                            "'app_notes') || []).length > 0", timeout=20_000)
            except Exception:  # noqa: BLE001 (reported below as a missing message)
                pass
        else:
            self.page.wait_for_timeout(300)
        if pace:
            self.page.wait_for_timeout(int(pace * 1000))
        shown = self.page.evaluate(self.SANE)
        shown["new_errors"] = self.errors[errors0:]
        shown["message_expected"] = want
        shown["ok"] = (shown["scenario"] and shown["time"] and shown["canvas"]
                       and not shown["new_errors"] and (shown["messages"] > 0 or not want))
        return shown


def run(browser: Any, url: str, links: list[str], reloads: int = 0,
        report: Any = None) -> dict[str, Any]:
    page = LinkPage(browser, url)
    pace = 1.0 / rules.RATE["switch"]
    reload_every = max(1, len(links) // reloads) if reloads else 0
    failures = []
    with_message = 0
    t0 = time.monotonic()
    for i, q in enumerate(links):
        shown = page.apply(q, reload=bool(reload_every) and i % reload_every == 0, pace=pace)
        with_message += shown["messages"] > 0
        if not shown["ok"]:
            failures.append({"query": q[:300], **shown})
        if report is not None and (i + 1) % 50 == 0:
            report(f"  {i + 1} links, {len(failures)} failures, {time.monotonic() - t0:.0f} s")
    page.page.close()
    return {"links": len(links), "reloads": (len(links) + reload_every - 1) // reload_every
            if reload_every else 0, "with_message": with_message, "failures": failures,
            "dialogs": page.dialogs, "page_errors": page.errors,
            "seconds": round(time.monotonic() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reloads", type=int, default=20, help="links opened as fresh page loads")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from ws_fuzz import Server

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium"),
                    headless=True, args=["--no-sandbox"])
                s = run(browser, server.url, queries(args.seed, args.links), args.reloads,
                        report=lambda line: print(line, flush=True))
                browser.close()
        finally:
            server.stop()
        tracebacks = server.tracebacks()
    print(f"share links: {s['links']} ({len(ADVERSARIAL)} adversarial, the rest random; "
          f"{s['reloads']} as fresh page loads) in {s['seconds']} s")
    print(f"  with a message on the page: {s['with_message']}; failures: {len(s['failures'])}; "
          f"page errors: {len(s['page_errors'])}; dialogs: {len(s['dialogs'])}; "
          f"server tracebacks: {len(tracebacks)}")
    for f in s["failures"][:10]:
        print("  ", f)
    ok = not (s["failures"] or s["page_errors"] or s["dialogs"] or tracebacks)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
