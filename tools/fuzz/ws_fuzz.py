"""Fuzz ``pelvic-spread serve``'s websocket as a hostile page would, while a real page plays.

    .venv/bin/python tools/fuzz/ws_fuzz.py [--messages 5000] [--seed 1] [--no-browser]

Starts its own server, opens one well-behaved Chromium page that plays the timeline, and a
second lean client that only watches (another page of the lecture). A rogue wslink client
then sends the malformed messages of issue 12 and random ones: bad values for every key,
keys only the server writes, unknown keys, triggers with wrong arguments, unknown RPCs,
broken envelopes, bytes that are not msgpack, oversized and half-sent chunks. Then it checks
that the watcher never saw a refused value, that the shared state is what it was, that the
playing page played on, and that the server log has no traceback. Prints the figures.
``tests/e2e/test_hostile_page.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from wsclient import WslinkClient, chunk  # noqa: E402

from app.web import rules  # noqa: E402
from app.web.keys import App, Export, Timeline, View  # noqa: E402

Message = tuple  # ("update", changes) | ("trigger", name, args) | ("call", method, args)
# | ("send", any value) | ("raw", bytes) | ("text", str)

# The twenty: what a hostile client sent, which once ended as tl_time -999999995.8.
MALFORMED: list[Message] = [
    ("update", [{"key": Timeline.TIME, "value": "abc"}]),
    ("update", [{"key": Timeline.TIME, "value": 1e308}]),
    ("update", [{"key": Timeline.TIME, "value": math.nan}]),
    ("update", [{"key": Timeline.TIME, "value": None}]),
    ("update", [{"key": Timeline.TIME, "value": -1e9}]),
    ("update", [{"key": Timeline.SPEED, "value": 0}]),
    ("update", [{"key": Timeline.SPEED, "value": -5}]),
    ("update", [{"key": Timeline.SPEED, "value": "fast"}]),
    ("update", [{"key": App.SCENARIO, "value": "../../etc/passwd"}]),
    ("update", [{"key": View.CAMERA_GOTO, "value": {"seq": 99, "camera": "junk"}}]),
    ("trigger", "cam_moved", [{"position": "junk", "focalPoint": None}]),
    ("trigger", "cam_moved", [[1, 2, 3]]),
    ("update", [{"key": Timeline.STAGE, "value": 1e9}]),
    ("trigger", "tl_stage", [1e9]),
    ("trigger", "no_such_trigger", [1, 2]),
    ("trigger", "tl_seek", []),
    ("call", "no.such.rpc", [{"x": 1}]),
    ("call", "viewport.no.such", []),
    ("update", [{"value": 3}]),
    ("update", [{"key": None, "value": 3}]),
]


def _junk(rng: random.Random, depth: int = 0) -> Any:
    """A value of any kind a msgpack page could send."""
    kinds = ["int", "float", "str", "bool", "none", "list", "dict", "big", "nan", "bytes"]
    k = rng.choice(kinds if depth < 3 else kinds[:5])
    if k == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**64 - 1, rng.randint(-10**6, 10**6)])
    if k == "float":
        return rng.choice([1e308, -1e308, 5e-324, -0.0, rng.uniform(-1e9, 1e9)])
    if k == "str":
        return rng.choice(["", "abc", "../../etc/passwd", "\x00\x01", "é" * 50, "x" * 10_000,
                           "<script>alert(1)</script>", "💥" * 10, "#zzzzzz", "1e9"])
    if k == "bool":
        return rng.random() < 0.5
    if k == "none":
        return None
    if k == "list":
        return [_junk(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    if k == "dict":
        return {str(_junk(rng, 3))[:20]: _junk(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if k == "big":
        return list(range(rng.randint(1000, 20000)))
    if k == "nan":
        return rng.choice([math.nan, math.inf, -math.inf])
    return rng.randbytes(rng.randint(0, 64))


ALL_KEYS = sorted(set(rules.WRITABLE) | rules.SERVER_ONLY | rules.CLIENT_ONLY
                  | {"sp_r", "sp_h0", "sp_m0", "trame__client_only", "trame__template_main"})


def random_message(rng: random.Random, view: Any) -> Message:
    """One random message that the rules refuse whole (or that is malformed below them):
    what a page may legitimately do is not the fuzzer's business."""
    while True:
        r = rng.random()
        if r < 0.45:  # a state update
            n = rng.choice([1, 1, 1, 2, 3, 70])
            changes = []
            for _ in range(n):
                key = rng.choice(ALL_KEYS + ["", "x" * 300, "no_such", "__proto__"])
                changes.append({"key": key, "value": _junk(rng)})
            if rng.random() < 0.05:
                changes = _junk(rng)
            msg: Message = ("update", changes)
            if not isinstance(changes, list) or all(
                    not isinstance(c, dict) or rules.check_change(c.get("key"), c.get("value"),
                                                                  view) is not None
                    for c in changes):
                return msg
            continue
        if r < 0.75:  # a trigger
            name = rng.choice(sorted(rules.TRIGGERS) + ["nope", "trigger__1", "", "a" * 500])
            args = _junk(rng) if rng.random() < 0.2 else [
                _junk(rng) for _ in range(rng.randint(0, 4))]
            if rules.check_trigger(name, args, {}, view) is not None:
                return ("trigger", name, args)
            continue
        if r < 0.85:  # another RPC, maybe trame's own
            method = rng.choice(["trame.force.push", "trame.lifecycle.update",
                                 "trame.error.client", "wslink.hello", "no.such",
                                 "trame.state.update", "trame.trigger"])
            args = [_junk(rng) for _ in range(rng.randint(0, 3))]
            if method == "trame.lifecycle.update" and args and str(args[0]) in rules.LIFECYCLE:
                continue
            if method == "trame.state.update" and args:
                args[0] = [{"key": "no_such", "value": 1}] if rng.random() < 0.5 else args[0]
            if method == "trame.trigger" and args and str(args[0]) in rules.TRIGGERS:
                continue
            return ("call", method, args)
        if r < 0.93:  # a broken envelope
            return ("send", rng.choice([
                _junk(rng), {"id": _junk(rng), "method": "trame.trigger"},
                {"id": "rpc:x:1", "method": _junk(rng)},
                {"id": "rpc:x:1", "method": "trame.trigger", "args": _junk(rng)},
                {"id": "rpc:x:1", "method": "trame.trigger", "args": [], "kwargs": _junk(rng)},
            ]))
        if r < 0.98:  # bytes
            kind = rng.randrange(4)
            if kind == 0:
                return ("raw", rng.randbytes(rng.randint(0, 40)))
            if kind == 1:  # a header declaring a huge message
                return ("raw", rng.randbytes(4) + (0).to_bytes(4, "little")
                        + rng.randint(2**24, 2**32 - 1).to_bytes(4, "little") + b"x")
            if kind == 2:  # half a message
                return ("raw", rng.randbytes(4) + (0).to_bytes(4, "little")
                        + (1000).to_bytes(4, "little") + b"x" * 10)
            return ("raw", chunk(rng.randbytes(rng.randint(1, 200))))
        return ("text", rng.choice(["hello", "{}", "x" * 5000]))


def random_messages(seed: int, n: int, view: Any) -> Iterator[Message]:
    rng = random.Random(seed)
    for _ in range(n):
        yield random_message(rng, view)


async def send(client: WslinkClient, msg: Message, timeout: float = 2.0) -> None:
    """Send one message; wait for the answer when it is an RPC the server answers."""
    kind = msg[0]
    try:
        if kind == "update":
            await client.call("trame.state.update", [msg[1]], timeout=timeout)
        elif kind == "trigger":
            await client.call("trame.trigger", [msg[1], msg[2], {}], timeout=timeout)
        elif kind == "call":
            await client.call(msg[1], msg[2], timeout=timeout)
        elif kind == "send":
            await client.send(msg[1])
        elif kind == "raw":
            await client.send_bytes(msg[1])
        elif kind == "text":
            await client.ws.send_str(msg[1])
    except TimeoutError:
        pass  # dropped messages get no answer
    except (ConnectionError, aiohttp.ClientError):
        pass  # the server closed this connection (a message over wslink's size): reconnect


class StateView(dict):
    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key)
        return default if value is None else value


def leaked(published: list[dict[str, Any]], view: Any) -> list[tuple[str, Any]]:
    """Values a watching page received that the rules would refuse from a page."""
    bad = []
    for update in published:
        for key, value in update.items():
            rule = rules.WRITABLE.get(key)
            if rule is not None and rule.check(value, view) is not None:
                bad.append((key, value))
    return bad


SKIP_COMPARE = {App.NOTES, Export.JOBS}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = (set(before) | set(after)) - SKIP_COMPARE
    return sorted(k for k in keys if repr(before.get(k)) != repr(after.get(k)))


async def attack(url: str, messages: list[Message] | Iterator[Message],
                 reconnect_every: int = 500) -> dict[str, Any]:
    """Send ``messages`` from a rogue client; return counts and timing."""
    sent = 0
    closed_by_server = 0
    t0 = time.monotonic()
    worst = 0.0
    rogue = await WslinkClient.connect(url).open()
    try:
        for msg in messages:
            t = time.monotonic()
            await send(rogue, msg)
            worst = max(worst, time.monotonic() - t)
            sent += 1
            if rogue.ws.closed or (reconnect_every and sent % reconnect_every == 0):
                closed_by_server += rogue.ws.closed
                await rogue.close()
                rogue = await WslinkClient.connect(url).open()
        alive = isinstance(await rogue.call("trame.state.get", []), dict)
    finally:
        await rogue.close()
    return {"sent": sent, "seconds": time.monotonic() - t0, "slowest_answer_s": worst,
            "rogue_still_served": alive, "closed_by_server": closed_by_server}


# -- a server and a page, for the standalone run -------------------------------------------------
class Server:
    """``python -m app serve --port 0`` with its output collected."""

    def __init__(self, export_dir: Path):
        env = dict(os.environ, PELVIC_SPREAD_EXPORTS=str(export_dir), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0"],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url = ""
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                m = re.search(r"Serving .* at (http://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(300):
            self.stop()
            raise RuntimeError("serve printed no address:\n" + "\n".join(self.lines[-30:]))

    def tracebacks(self) -> list[str]:
        return [line for line in self.lines if "Traceback" in line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=5000, help="random messages (default 5000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-browser", action="store_true", help="no playing Chromium page")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            return asyncio.run(_run(server, args))
        finally:
            server.stop()


async def _run(server: Server, args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    watcher = await WslinkClient.connect(server.url).open()
    pool = ThreadPoolExecutor(1)
    loop = asyncio.get_running_loop()
    page = None
    if not args.no_browser:
        page = await loop.run_in_executor(pool, PlayingPage, server.url)
    await watcher.trigger("tl_seek", 1.0)
    await asyncio.sleep(1.0)
    view = StateView(watcher.state)
    before = dict(watcher.state)
    if page is not None:
        await loop.run_in_executor(pool, page.start)
    # made as they are sent: making thousands first would block the loop, and the watcher,
    # that cannot answer the server's heartbeat meanwhile, would be disconnected
    messages = itertools.chain(MALFORMED, random_messages(args.seed, args.messages, view))
    done = asyncio.Event()

    async def sample() -> None:
        while page is not None and not done.is_set():
            times.append(await loop.run_in_executor(pool, page.time))
            await asyncio.sleep(0.5)

    times: list[float] = []
    sampler = asyncio.ensure_future(sample())
    try:
        result = await attack(server.url, messages)
    finally:
        done.set()
        await sampler
    if page is not None:
        await loop.run_in_executor(pool, page.stop)
    await watcher.trigger("tl_seek", 1.0)  # the same moment as before: the same state
    await asyncio.sleep(1.0)
    after = dict(watcher.state)
    leaks = leaked(watcher.published, StateView(watcher.state))
    changed = differences(before, after)
    await watcher.close()
    refused = sum(1 for line in server.lines if "refused from page" in line)
    print(f"messages sent: {result['sent']} (20 malformed + {args.messages} random) in "
          f"{result['seconds']:.1f} s; slowest answer {result['slowest_answer_s'] * 1000:.0f} ms;"
          f" connections the server closed (messages over its size limit): "
          f"{result['closed_by_server']}")
    print(f"server log: {refused} refusal lines (the first 20 per connection, then counts), "
          f"{len(server.tracebacks())} tracebacks")
    print(f"watching page: {len(watcher.published)} updates received, {len(leaks)} refused "
          f"values among them; shared state changed in {len(changed)} keys {changed[:8]}")
    if page is not None:
        steps = [b - a for a, b in zip(times, times[1:])]
        print(f"playing page: tl_time {times[0]:.2f} -> {times[-1]:.2f} over {len(times)} "
              f"samples, {sum(s < 0 for s in steps)} steps back, {len(page.errors)} page errors")
    ok = (not leaks and not server.tracebacks() and result["rogue_still_served"]
          and (page is None or (not page.errors and times[-1] > times[0])))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


class PlayingPage:
    """A Chromium page that plays the timeline from its start (one thread owns it)."""

    def __init__(self, url: str):
        from playwright.sync_api import sync_playwright

        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(
            executable_path=os.environ.get("PELVIC_SPREAD_CHROMIUM", "/usr/bin/chromium"),
            headless=True, args=["--no-sandbox"])
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 800})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true",
                                    timeout=120_000)

    def start(self) -> None:
        self.page.evaluate("() => window.trame.trigger('tl_toggle')")

    def time(self) -> float:
        return float(self.page.evaluate("() => window.trame.state.get('tl_time')"))

    def stop(self) -> None:
        self.page.evaluate("() => window.trame.state.get('tl_playing') && "
                           "window.trame.trigger('tl_toggle')")
        self.browser.close()
        self.pw.stop()


if __name__ == "__main__":
    sys.exit(main())
