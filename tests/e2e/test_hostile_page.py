"""A hostile client on the lecture's server: what it sends changes nothing other pages see.

A rogue wslink client (hello with trame's default secret, then ``trame.state.update`` and
friends) sends the issue's twenty malformed messages and a couple of hundred random ones,
while a real Chromium page plays the timeline and a lean client watches. ``tools/fuzz/
ws_fuzz.py`` is the long version of this test.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

from tests.e2e.conftest import open_page, state, trigger, wait_state

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fuzz"))

from ws_fuzz import (  # noqa: E402
    MALFORMED,
    StateView,
    attack,
    differences,
    leaked,
    random_messages,
)
from wsclient import WslinkClient  # noqa: E402

T0 = 1.0


def test_a_rogue_client_changes_nothing_that_other_pages_see(browser, served):
    page = open_page(browser, served.url)
    first_line = len(served.lines)
    trigger(page, "tl_seek", T0)
    wait_state(page, "tl_time", f"v === {T0}")
    snapped, playing, paused, finished = (threading.Event() for _ in range(4))
    out: dict = {}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        watcher = await WslinkClient.connect(served.url).open()
        try:
            await asyncio.sleep(0.5)
            out["before"] = dict(watcher.state)
            snapped.set()
            await loop.run_in_executor(None, playing.wait, 60)
            messages = list(MALFORMED) + list(random_messages(7, 200, StateView(watcher.state)))
            out["result"] = await attack(served.url, messages)
            finished.set()
            await loop.run_in_executor(None, paused.wait, 60)
            await asyncio.sleep(1.0)
            out["after"] = dict(watcher.state)
            out["leaks"] = leaked(watcher.published, StateView(watcher.state))
        finally:
            finished.set()
            await watcher.close()

    thread = threading.Thread(target=lambda: asyncio.run(scenario()), daemon=True)
    thread.start()
    assert snapped.wait(60)
    trigger(page, "tl_toggle")
    wait_state(page, "tl_playing", "v === true")
    playing.set()
    # what the page shows: its player animates from the play anchor by itself (the server's
    # tl_time follows only at a low rate)
    shown = "() => window.pelvic.player.getTime()"
    times = []
    # for as long as the attack lasts, and at least 2.5 s (the attack can be over in well under
    # a second; on a busy machine the page may skip a frame or two in that time)
    started = time.monotonic()
    while not finished.is_set() or time.monotonic() - started < 2.5:
        time.sleep(0.3)
        times.append(page.evaluate(shown))
    times.append(page.evaluate(shown))
    trigger(page, "tl_toggle")
    wait_state(page, "tl_playing", "v === false")
    trigger(page, "tl_seek", T0)  # the same moment again: the same shared state
    wait_state(page, "tl_time", f"v === {T0}")
    paused.set()
    thread.join(60)
    try:
        result = out["result"]
        assert result["sent"] == 220 and result["rogue_still_served"]
        # the watching page never received a value the rules refuse, and ends where it began
        assert out["leaks"] == []
        assert differences(out["before"], out["after"]) == []
        # the playing page played on, forwards only, and was never told off
        assert times[-1] > times[0] + 0.5, times
        assert all(b >= a for a, b in zip(times, times[1:])), times
        assert state(page, "app_notes") == [] and page.errors == []
        assert state(page, "tl_speed") == out["after"]["tl_speed"] == 1
        log = served.lines[first_line:]
        assert any("refused from page" in line for line in log)
        assert not [line for line in log if "Traceback" in line or "Exception raised" in line]
    finally:
        page.close()


def test_a_page_that_sends_a_bad_value_gets_the_servers_back_with_a_note(browser, served):
    page = open_page(browser, served.url)
    other = open_page(browser, served.url)
    try:
        page.evaluate("() => window.trame.state.set('tl_speed', 'fast')")
        wait_state(page, "tl_speed", "v === 1")
        page.locator(".ps-note").first.wait_for(timeout=10_000)
        assert "tl_speed" in page.locator("#messages").inner_text()
        time.sleep(0.5)
        assert state(other, "app_notes") == [] and state(other, "tl_speed") == 1
        page.locator(".ps-note button").first.click()  # the note closes on this page only
        wait_state(page, "app_notes", "v.length === 0")
    finally:
        page.close()
        other.close()
