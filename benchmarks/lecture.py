"""A hall on one server: lecture followers against the shared trame state, side by side.

    .venv/bin/python benchmarks/lecture.py [--followers 500] [--old-followers 200]
        [--events 12] [--browsers 2] [--old-rev REV]

1. **Lecture path**: ``serve --lecture``; ``--followers`` lean websocket followers (aiohttp,
   no rendering) join ``/lecture/ws`` at once, plus ``--browsers`` real Chromium follower
   pages; a presenter (a wslink client holding the presenter's cookie, as a browser does after
   ``/?key=``) seeks ``--events`` times, then plays for a few seconds.
2. **Shared-state path**: plain ``serve``; ``--old-followers`` lean wslink clients (hello and
   the state, as a trame page does, no rendering) and one client that moves ``tl_time``
   through ``trame.state.update``, as in the issue's table; then playback.
   ``--old-rev REV`` serves this path from a copy of an older revision (``git archive``).

Figures: seconds until every follower has joined (its snapshot / its state); per event the
delay until each follower has it (p50, p95 over every follower and event) and until the last
one has it; messages and bytes per follower per event; messages per follower per second of
playback; the server's memory growth (RSS) from before the joins to after. Targets for the
lecture path at 500: joined within 10 s, p95 at most 250 ms, nothing per frame, at most 1 KB
per follower per event, at most 100 MB. The Chromium followers check that they show the
presenter's date after each seek.

Why the shared-state path's bytes per follower per change grow with the number of followers:
a change a page sends (``trame.state.update``) is passed on by trame with
``publish(..., skip_last_active_client=True)``; wslink's ``ServerProtocol.publish`` loops over
every connection and, for each, schedules ``sendWrappedMessage(client_id=that one,
skip_last_active_client=True)``, whose ``getAuthenticatedWebsockets`` ignores the client id
when skipping is asked for and returns every connection but the sender. So each of N
connections triggers a send to all the others: N x (N - 1) messages (each msgpack-packed again)
for one change, and every follower receives the same change N times ("messages / follower /
event" above is about N). Changes the server makes itself go once to each page, but are still
packed once per page.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "fuzz"))
CHROMIUM = os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium")
KEY = "benchmark-key"
PLAY_S = 4.0


class Serve:
    def __init__(self, args: list[str], root: Path = ROOT):
        self.proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0",
                                      *args], cwd=root, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self.url = ""
        self.ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                m = re.search(r"Serving .* at (http://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                if self.url and ("--lecture" not in args or line.startswith("Followers:")):
                    self.ready.set()
            self.ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not self.ready.wait(300) or not self.url:
            self.stop()
            raise RuntimeError("serve did not start:\n" + "\n".join(self.lines[-20:]))

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


# -- lean clients -------------------------------------------------------------------------------
class LectureFollower:
    def __init__(self) -> None:
        self.joined_at: float | None = None
        self.arrivals: list[tuple[float, int, dict]] = []  # (perf time, bytes, fields)
        self.packed: list[float] = []  # seconds from the hub packing an event to its arrival

    async def run(self, session: Any, url: str) -> None:
        async with session.ws_connect(url, autoping=True, max_msg_size=0) as ws:
            async for msg in ws:
                now = time.perf_counter()
                m = json.loads(msg.data)
                if m.get("t") == "snap":
                    if self.joined_at is None:
                        self.joined_at = now
                elif m.get("t") == "ev":
                    self.arrivals.append((now, len(msg.data), m["s"]))
                    self.packed.append((time.time() * 1000 - m["now"]) / 1000)


class StateFollower:
    """A trame page as the websocket sees it: hello, the state, then every publish."""

    def __init__(self) -> None:
        self.joined_at: float | None = None
        self.arrivals: list[tuple[float, int, dict]] = []
        self.client: Any = None

    async def run(self, session: Any, url: str) -> None:
        from wsclient import HEADER, WslinkClient

        ws = await session.ws_connect(url, max_msg_size=0)
        client = WslinkClient(session, ws)
        self.client = client
        parts: dict[int, tuple[int, int]] = {}

        def dispatch(doc: Any, size: int = 0) -> None:
            original(doc)
            if isinstance(doc, dict) and str(doc.get("id", "")).startswith("publish:"):
                r = doc.get("result")
                self.arrivals.append((time.perf_counter(), size, r if isinstance(r, dict)
                                      else {}))

        original = client._dispatch
        client._dispatch = dispatch  # type: ignore[method-assign]
        sizes: dict[int, int] = {}

        async def read() -> None:  # wslink chunks, counting every byte that arrives
            import msgpack

            async for msg in ws:
                data = msg.data
                if not isinstance(data, (bytes, bytearray)) or len(data) < HEADER:
                    continue
                ident = int.from_bytes(data[0:4], "little")
                size = int.from_bytes(data[8:12], "little")
                sizes[ident] = sizes.get(ident, 0) + len(data)
                buf = client._parts.setdefault(ident, bytearray())
                buf.extend(data[HEADER:])
                if len(buf) < size:
                    continue
                del client._parts[ident]
                n = sizes.pop(ident, 0)
                try:
                    doc = msgpack.unpackb(bytes(buf), raw=False, strict_map_key=False)
                except Exception:  # noqa: BLE001
                    continue
                dispatch(doc, n)

        client._reader.cancel()
        client._reader = asyncio.ensure_future(read())
        del parts
        await client.hello()
        await client.load_state()
        self.joined_at = time.perf_counter()
        await asyncio.Event().wait()


async def presenter(base: str, cookie: bool) -> Any:
    import aiohttp
    from wsclient import WslinkClient

    cookies = {}
    if cookie:
        name = "ps_presenter_" + hashlib.sha256(KEY.encode()).hexdigest()[:8]
        cookies[name] = hmac.new(KEY.encode(), b"presenter", "sha256").hexdigest()
    session = aiohttp.ClientSession(cookies=cookies)
    ws = await session.ws_connect(base.replace("http://", "ws://") + "ws", max_msg_size=0)
    client = WslinkClient(session, ws)
    await client.hello()
    await client.load_state()
    return client


# -- one run of each path -----------------------------------------------------------------------
async def run_path(kind: str, base: str, serve: Serve, n: int, events: int,
                   browsers: list[Any]) -> dict[str, Any]:
    import aiohttp

    lecture = kind == "lecture"
    conn = aiohttp.TCPConnector(limit=0)
    session = aiohttp.ClientSession(connector=conn)
    p = await presenter(base, cookie=lecture)
    end = time.monotonic() + 180
    while not p.state.get("tl_duration") and time.monotonic() < end:  # the scene is built
        await asyncio.sleep(0.2)
    if lecture:  # the case's bundle is built before the hall comes in
        probe = LectureFollower()
        url = base.replace("http://", "ws://") + "lecture/ws"
        t = asyncio.ensure_future(probe.run(session, url))
        while not (probe.arrivals or probe.joined_at):
            await asyncio.sleep(0.1)
        t.cancel()
        await asyncio.sleep(5.0)
    else:
        url = base.replace("http://", "ws://") + "ws"
    await asyncio.sleep(1.0)
    rss0 = serve.rss_mb()
    followers = [LectureFollower() if lecture else StateFollower() for _ in range(n)]
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(f.run(session, url)) for f in followers]
    deadline = t0 + 120
    while sum(f.joined_at is not None for f in followers) < n and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    joined = [f.joined_at - t0 for f in followers if f.joined_at is not None]
    await asyncio.sleep(2.0)  # let the joins settle
    rss1 = serve.rss_mb()

    duration = float(p.state.get("tl_duration") or 58.0)
    delays: list[float] = []
    last: list[float] = []
    msgs: list[int] = []
    nbytes: list[int] = []
    dates_ok = 0
    for k in range(events):
        target = round(3.0 + (k * 4.37) % (duration - 6.0), 4)
        for f in followers:
            f.arrivals.clear()
        sent = time.perf_counter()
        if lecture:
            await p.trigger("tl_seek", target)
        else:
            await p.update({"tl_time": target})
        end = sent + 15
        while time.perf_counter() < end:
            if all(any(abs(float(a[2].get("time" if lecture else "tl_time", -1)) - target)
                       < 1e-6 for a in f.arrivals) for f in followers):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # whatever else this one change sends
        per = []
        for f in followers:
            hit = next((a[0] for a in f.arrivals
                        if abs(float(a[2].get("time" if lecture else "tl_time", -1)) - target)
                        < 1e-6), None)
            if hit is not None:
                per.append(hit - sent)
            msgs.append(len(f.arrivals))
            nbytes.append(sum(a[1] for a in f.arrivals))
        delays.extend(per)
        last.append(max(per) if len(per) == len(followers) else float("inf"))
        if browsers and lecture:
            label = p.state.get("tl_date_label")
            ok = True
            for page in browsers:
                for _ in range(100):
                    shown = await page.evaluate(
                        "() => document.getElementById('date') ? "
                        "document.getElementById('date').textContent : ''")
                    if shown == label:
                        break
                    await asyncio.sleep(0.05)
                ok = ok and shown == label
            dates_ok += ok
        await asyncio.sleep(0.2)

    # playback: what arrives per second while the server plays
    for f in followers:
        f.arrivals.clear()
    await p.trigger("tl_stage", 0)
    await asyncio.sleep(0.5)
    for f in followers:
        f.arrivals.clear()
    await p.trigger("tl_toggle")
    await asyncio.sleep(0.5)  # the play itself has arrived
    for f in followers:
        f.arrivals.clear()
    await asyncio.sleep(PLAY_S)  # what comes while it plays, before the pause
    play_msgs = [len(f.arrivals) for f in followers]
    play_bytes = [sum(a[1] for a in f.arrivals) for f in followers]
    await p.trigger("tl_toggle")
    await asyncio.sleep(0.5)

    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await p.close()
    await session.close()
    return {
        "n": n, "joined": len(joined), "join_s": max(joined) if joined else float("nan"),
        "p50": pct(delays, 0.5), "p95": pct(delays, 0.95), "last_p95": pct(last, 0.95),
        "msgs": sum(msgs) / max(1, len(msgs)), "bytes": sum(nbytes) / max(1, len(nbytes)),
        "play_msgs_s": sum(play_msgs) / max(1, len(play_msgs)) / PLAY_S,
        "play_bytes_s": sum(play_bytes) / max(1, len(play_bytes)) / PLAY_S,
        "rss_growth": rss1 - rss0, "rss0": rss0, "events": events, "dates_ok": dates_ok,
        "fanout_p95": pct([x for f in followers for x in getattr(f, "packed", [])[:events]],
                          0.95),
    }


async def open_browsers(pw: Any, base: str, count: int) -> tuple[Any, list[Any]]:
    if count <= 0 or not Path(CHROMIUM).exists():
        return None, []
    browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                       args=["--no-sandbox", "--disable-background-networking"])
    pages = []
    for _ in range(count):
        ctx = await browser.new_context(viewport={"width": 480, "height": 320})
        page = await ctx.new_page()
        await page.goto(base + "follow")
        end = time.monotonic() + 180
        while not await page.evaluate("() => !!(window.pelvicFollow && pelvicFollow.ready)"):
            if time.monotonic() > end:
                raise RuntimeError("a Chromium follower did not load")
            await asyncio.sleep(0.2)
        pages.append(page)
    return browser, pages


async def lecture_run(serve: Serve, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser, pages = await open_browsers(pw, serve.url, args.browsers)
        try:
            out = await run_path("lecture", serve.url, serve, args.followers, args.events,
                                 pages)
        finally:
            if browser is not None:
                await browser.close()
    out["browsers"] = len(pages)
    return out


def old_tree(rev: str) -> Path:
    out = Path(tempfile.mkdtemp(prefix="pelvic-spread-old-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--followers", type=int, default=500)
    ap.add_argument("--old-followers", type=int, default=200)
    ap.add_argument("--events", type=int, default=12)
    ap.add_argument("--browsers", type=int, default=2, help="Chromium followers (lecture)")
    ap.add_argument("--old-rev", default=None, help="serve the shared-state path from REV")
    args = ap.parse_args(argv)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))

    results: dict[str, dict] = {}
    serve = Serve(["--lecture", "--presenter-key", KEY])
    try:
        results["lecture"] = asyncio.run(lecture_run(serve, args))
    finally:
        serve.stop()
    if args.old_followers > 0:
        root = old_tree(args.old_rev) if args.old_rev else ROOT
        serve = Serve([], root)
        try:
            results["state"] = asyncio.run(run_path("state", serve.url, serve,
                                                    args.old_followers, args.events, []))
        finally:
            serve.stop()
    else:  # the lecture path alone
        results["state"] = {k: float("nan") for k in results["lecture"]}
        results["state"].update(n=0, joined=0)
    report(results, args)
    return 0


def report(r: dict[str, dict], args: argparse.Namespace) -> None:
    a, b = r["lecture"], r["state"]

    def ratio(x: float, y: float) -> str:
        if y == 0 or x != x or y != y:
            return "-"
        return f"{x / y:.3g}"

    rows = [
        ("followers", f"{a['n']}", f"{b['n']}", "", ""),
        ("joined (all)", f"{a['joined']}/{a['n']} in {a['join_s']:.2f} s",
         f"{b['joined']}/{b['n']} in {b['join_s']:.2f} s", ratio(a["join_s"], b["join_s"]),
         "<= 10 s"),
        ("event -> follower p50", f"{1000 * a['p50']:.0f} ms", f"{1000 * b['p50']:.0f} ms",
         ratio(a["p50"], b["p50"]), ""),
        ("event -> follower p95", f"{1000 * a['p95']:.0f} ms", f"{1000 * b['p95']:.0f} ms",
         ratio(a["p95"], b["p95"]), "<= 250 ms"),
        ("event -> last follower p95", f"{1000 * a['last_p95']:.0f} ms",
         f"{1000 * b['last_p95']:.0f} ms", ratio(a["last_p95"], b["last_p95"]), ""),
        ("messages / follower / event", f"{a['msgs']:.2f}", f"{b['msgs']:.2f}",
         ratio(a["msgs"], b["msgs"]), ""),
        ("bytes / follower / event", f"{a['bytes']:.0f} B", f"{b['bytes']:.0f} B",
         ratio(a["bytes"], b["bytes"]), "<= 1 KB"),
        ("playback: messages / follower / s", f"{a['play_msgs_s']:.2f}",
         f"{b['play_msgs_s']:.2f}", ratio(a["play_msgs_s"], b["play_msgs_s"]), "0 per frame"),
        ("playback: bytes / follower / s", f"{a['play_bytes_s']:.0f} B",
         f"{b['play_bytes_s']:.0f} B", ratio(a["play_bytes_s"], b["play_bytes_s"]), ""),
        ("server memory growth", f"{a['rss_growth']:.1f} MB", f"{b['rss_growth']:.1f} MB",
         ratio(a["rss_growth"], b["rss_growth"]), "<= 100 MB"),
    ]
    w = [max(len(x[i]) for x in rows) for i in range(5)]
    head = ("", "lecture (/lecture/ws)", "shared state (trame)", "ratio", "target")
    w = [max(w[i], len(head[i])) for i in range(5)]
    print(" | ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    print("-+-".join("-" * x for x in w))
    for row in rows:
        print(" | ".join(c.ljust(w[i]) for i, c in enumerate(row)))
    print(f"lecture: from the hub packing an event to a follower having it, p95 "
          f"{1000 * a['fanout_p95']:.0f} ms (the rest of the delay is the presenter's seek "
          f"handled by the trame server: state, the server's own 3D scene)")
    if a.get("browsers"):
        print(f"Chromium followers ({a['browsers']}) showed the presenter's date after "
              f"{a['dates_ok']}/{a['events']} seeks")
    print(f"(events: {args.events} seeks each; playback {PLAY_S:.0f} s; "
          f"server RSS before the joins: {a['rss0']:.0f} MB lecture, {b['rss0']:.0f} MB "
          f"shared state; the shared-state path "
          f"{'from ' + args.old_rev if args.old_rev else 'of this tree'})")


if __name__ == "__main__":
    sys.exit(main())
