"""Lecture relays through a real Redis: a presenter on ``serve --lecture --relay``, followers
on two ``pelvic-spread relay`` processes (and one on the server itself), all in step.

Debian's ``redis-server`` is started here on a free loopback port (``.ci/run`` installs it);
without it the module skips. Followers are lean websocket clients, plus one Chromium page on
a relay when Chromium is there (the page and the case's bundle come from the relay).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
KEY = "relay-test-key"
CHROMIUM = Path(os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium"))

pytestmark = pytest.mark.skipif(not Path(REDIS).exists(),
                                reason="redis-server not installed (.ci/run installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process and the first output line matching ``pattern``."""

    def __init__(self, args: list[str], pattern: str, timeout: float = 300, cwd: Path = ROOT):
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self.match: re.Match | None = None
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                if self.match is None and (m := re.search(pattern, line)):
                    self.match = m
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        found.wait(timeout)
        if self.match is None:
            self.stop()
            raise RuntimeError(f"{args[:4]} did not start:\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    pytest.importorskip("redis")
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    p = Proc([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--dir", str(d)], r"[Rr]eady to accept connections",
             timeout=30, cwd=d)
    yield f"redis://127.0.0.1:{port}/3"
    p.stop()


@pytest.fixture(scope="module")
def lecture(redis_url):
    s = Proc([sys.executable, "-m", "app", "serve", "--lecture", "--port", "0",
              "--presenter-key", KEY, "--relay", redis_url], r"Followers: (http://\S+)/follow")
    yield s.match.group(1) + "/"
    s.stop()


def start_relay(redis_url: str) -> Proc:
    return Proc([sys.executable, "-m", "app", "relay", redis_url, "--port", "0"],
                r"followers at (http://\S+)/follow", timeout=120)


@pytest.fixture(scope="module")
def relays(redis_url, lecture):
    rs = [start_relay(redis_url) for _ in range(2)]
    yield [r.match.group(1) + "/" for r in rs]
    for r in rs:
        r.stop()


class Follower:
    """A lean follower: the raw bytes of every message, and the merged state."""

    def __init__(self, base: str):
        self.base = base
        self.raw: list[bytes] = []
        self.state: dict = {}
        self.pongs: list[dict] = []

    async def run(self, session) -> None:
        url = self.base.replace("http://", "ws://") + "lecture/ws"
        async with session.ws_connect(url) as ws:
            self.ws = ws
            async for msg in ws:
                m = json.loads(msg.data)
                if m["t"] == "pong":
                    self.pongs.append(m)
                    continue
                self.raw.append(msg.data)
                if m["t"] == "snap":
                    self.state = dict(m["s"])
                else:
                    self.state.update(m["s"])


async def presenter(base: str):
    """A wslink client holding the presenter's cookie (as the browser does after /?key=)."""
    import aiohttp

    sys.path.insert(0, str(ROOT / "tools" / "fuzz"))
    from wsclient import WslinkClient

    name = "ps_presenter_" + hashlib.sha256(KEY.encode()).hexdigest()[:8]
    value = hmac.new(KEY.encode(), b"presenter", "sha256").hexdigest()
    session = aiohttp.ClientSession(cookies={name: value})
    ws = await session.ws_connect(base.replace("http://", "ws://") + "ws", max_msg_size=0)
    client = WslinkClient(session, ws)
    await client.hello()
    await client.load_state()
    return client


async def until(pred, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)



def in_thread(coro):
    """Run ``coro`` on its own event loop in a thread (Playwright's sync API holds one here)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()

def test_followers_on_two_relays_and_on_the_server_stay_in_step(lecture, relays, redis_url):
    import aiohttp

    async def go():
        async with aiohttp.ClientSession() as session:
            fs = [Follower(b) for b in (lecture, relays[0], relays[0], relays[1], relays[1])]
            tasks = [asyncio.ensure_future(f.run(session)) for f in fs]
            try:
                # the case's bundle is built, stored in Redis and named in every snapshot
                await until(lambda: all(f.state.get("bundle") for f in fs), 120)
                bundle = fs[0].state["bundle"]
                assert all(f.state["bundle"] == bundle for f in fs)
                bodies = []
                for base in (lecture, *relays):
                    async with session.get(base + bundle) as r:
                        assert r.status == 200
                        assert "immutable" in r.headers["Cache-Control"]
                        bodies.append(await r.read())
                assert bodies[0][:2] == b"\x1f\x8b" and len(set(bodies)) == 1  # the same bytes

                p = await presenter(lecture)
                try:
                    marks = [len(f.raw) for f in fs]
                    await p.trigger("tl_stage", 3)
                    await until(lambda: all(f.state.get("stage") == 3 for f in fs))
                    t = p.state["tl_time"]
                    assert all(f.state["time"] == t for f in fs)
                    # one event, packed once by the presenter's hub: the same bytes everywhere
                    assert len({f.raw[m] for f, m in zip(fs, marks)}) == 1

                    await p.trigger("tl_toggle")
                    await until(lambda: all(f.state.get("playing") for f in fs))
                    anchors = {(f.state["anchorTime"], f.state["anchorWall"]) for f in fs}
                    assert len(anchors) == 1
                    await p.trigger("cam_preset", "posterior")
                    await until(lambda: all(f.state.get("camera") == {"preset": "posterior"}
                                            for f in fs))
                    await p.trigger("tl_toggle")
                    await until(lambda: all(f.state.get("playing") is False for f in fs))
                    assert len({f.state["time"] for f in fs}) == 1

                    # a relay answers pings in the presenter's clock (same machine: ~0 apart)
                    for f in fs:
                        await f.ws.send_str(json.dumps({"t": "ping", "c": time.time() * 1000}))
                    await until(lambda: all(f.pongs for f in fs))
                    for f in fs:
                        assert abs(f.pongs[-1]["s"] - time.time() * 1000) < 500

                    # a relay that starts late catches up from the stored snapshot
                    late = start_relay(redis_url)
                    try:
                        lf = Follower(late.match.group(1) + "/")
                        lt = asyncio.ensure_future(lf.run(session))
                        await until(lambda: lf.state.get("time") == fs[0].state["time"])
                        assert lf.state == fs[0].state
                        lt.cancel()
                    finally:
                        late.stop()
                    await p.trigger("cam_preset", "anterior")
                finally:
                    await p.close()
            finally:
                for t in tasks:
                    t.cancel()
            return fs

    asyncio.run(go())


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not found at {CHROMIUM}")
def test_a_browser_follows_through_a_relay(lecture, relays):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import launch_chromium

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        try:
            page = b.new_page(viewport={"width": 640, "height": 400})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(relays[1] + "follow")
            check = "() => !!(window.pelvicFollow && window.pelvicFollow.ready)"
            end = time.monotonic() + 120
            while not page.evaluate(check):
                assert time.monotonic() < end, "the follower page did not load from the relay"
                time.sleep(0.1)

            async def seek():
                p = await presenter(lecture)
                try:
                    await p.trigger("tl_stage", 6)
                    await asyncio.sleep(0.3)
                    return p.state["tl_time"]
                finally:
                    await p.close()

            t = in_thread(seek())
            end = time.monotonic() + 10
            js = f"() => Math.abs(pelvicFollow.player.getTime() - {t}) < 1e-6"
            while not page.evaluate(js):
                assert time.monotonic() < end, "the relay's follower did not follow the seek"
                time.sleep(0.05)
            assert page.evaluate("() => pelvicFollow.player.state().stageIndex") == 6
            assert not errors, errors
        finally:
            b.close()
