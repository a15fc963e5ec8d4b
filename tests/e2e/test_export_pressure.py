"""Twenty export requests at once: one render process per core, the rest queued, and the
page shows where its own clip stands. Nineteen pages are lean wslink clients (what a page
sends when its Export button is pressed); the twentieth is Chromium.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.e2e.conftest import open_page, wait_state

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fuzz"))

from wsclient import LoopThread, WslinkClient  # noqa: E402

SMALL = {"ex_size": "64x48", "ex_fps": 10, "ex_format": "gif", "ex_range": "whole"}


async def gather(coros) -> list:
    return list(await asyncio.gather(*coros))


def export_children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"export" in cmd:
            out.append(int(entry.name))
    return out


def test_twenty_exports_at_once_queue_with_their_place_shown(browser, served):
    cores = os.cpu_count() or 1
    page = open_page(browser, served.url)
    bg = LoopThread()
    clients: list[WslinkClient] = []
    answers: list = []
    try:
        clients = bg.run(gather(WslinkClient.connect(served.url).open() for _ in range(19)))
        bg.run(clients[0].update(SMALL))
        answers = bg.run(gather(c.trigger("ex_start") for c in clients))
        assert all("id" in a for a in answers), answers
        page.locator("#export").click()
        page.locator("#export-dialog").wait_for()
        page.locator("#ex-start").click()
        wait_state(page, "ex_mine", "v && v.id")
        mine = page.evaluate("() => window.trame.state.get('ex_mine').id")
        wait_state(page, "ex_jobs", "v.length === 20")
        jobs = page.evaluate("() => window.trame.state.get('ex_jobs')")
        running = [j for j in jobs if j["state"] == "running"]
        queued = [j for j in jobs if j["state"] == "queued"]
        assert len(running) == min(cores, 20) and len(running) + len(queued) == 20
        assert sorted(j["position"] for j in queued) == list(range(1, len(queued) + 1))
        assert len(export_children(served.proc.pid)) <= cores
        my_job = next(j for j in jobs if j["id"] == mine)
        assert my_job["state"] == "queued" and my_job["position"] == len(queued)
        progress = page.locator("#ex-progress")
        progress.wait_for()
        assert f"number {len(queued)} in the queue" in progress.inner_text()
        assert f"{len(running)} rendering, {len(queued)} waiting" in \
            page.locator("#ex-queue").inner_text()
        # another page cannot cancel this page's clip; this page can
        refused = bg.run(clients[0].trigger("ex_cancel", mine))
        assert "only the page that started" in refused["error"]
        page.locator("#ex-cancel").click()
        wait_state(page, "ex_jobs", f"v.find(j => j.id === {mine!r}).state === 'cancelled'")
        assert page.errors == []
    finally:
        for c, a in zip(clients, answers):
            if isinstance(a, dict) and "id" in a:
                # a running job's cancel waits for its process (up to its grace period)
                bg.run(c.trigger("ex_cancel", a["id"], timeout=60))
        for c in clients:
            bg.run(c.close())
        bg.close()
        page.close()
    assert not [line for line in served.lines if "Traceback" in line]
