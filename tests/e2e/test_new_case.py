"""A case written by ``new-case`` and edited only in YAML plays in the browser with its own
record and captions, and the browser exports a clip of it."""

from __future__ import annotations

import pytest

from app.web.keys import App, Export, Timeline, Trigger
from tests.e2e.conftest import (
    CHROMIUM,
    Served,
    launch_chromium,
    open_page,
    set_state,
    state,
    wait_state,
)


@pytest.fixture(scope="module")
def case_served(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from app.authoring import new_case

    folder = tmp_path_factory.mktemp("case")
    path = new_case("ward_round", folder / "ward_round.yaml")
    text = path.read_text()  # a lecturer's edit: another caption, in YAML only
    path.write_text(text.replace("title: Left leg symptoms", "title: The left foot drops"))
    s = Served(str(path), tmp_path_factory.mktemp("exports"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser(case_served):
    """Chromium alone (the shared fixture would also start a server with the default case)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def test_a_new_case_plays_with_its_own_record_and_exports(browser, case_served):
    page = open_page(browser, case_served.url)
    try:
        assert state(page, App.SCENE_TITLE) == "Ward round"
        assert [p["text"] for p in state(page, Timeline.PSA)] == [
            "PSA undetectable", "PSA 0.8 ng/ml", "PSA 2.5 ng/ml"]
        assert [e["short"] for e in state(page, Timeline.EVENTS)] == ["L symptoms", "MRI"]
        assert page.locator("#psa-chart .ps-psa-dot").count() == 3
        assert [e["text"] for e in state(page, App.LEGEND)] == [
            "perineural spread along the nerve"]
        page.evaluate("([n, a]) => window.trame.trigger(n, a)", [Trigger.TL_STAGE, [1]])
        wait_state(page, Timeline.CAPTION, "v && v.title === 'The left foot drops'")
        assert state(page, Timeline.CAPTION)["psa"] == "PSA 0.8 ng/ml"
        for key, value in ((Export.SIZE, "640x360"), (Export.FPS, 10), (Export.FORMAT, "mp4"),
                           (Export.RANGE, "stage")):
            set_state(page, key, value)
        mine = page.evaluate("([n, a]) => window.trame.trigger(n, a)", [Trigger.EX_START, []])
        assert mine.get("id"), mine  # this page's job, followed in everyone's list
        find = f"(window.trame.state.get({Export.JOBS!r}) || []).find(j => j.id === {mine['id']!r})"
        page.wait_for_function(f"() => {{ const j = {find}; "
                               "return j && ['done', 'error', 'cancelled'].includes(j.state); }",
                               timeout=150_000)
        job = page.evaluate(f"() => {find}")
        assert job["state"] == "done", job
        assert job["filename"].endswith(".mp4")
        assert not page.errors
    finally:
        page.close()
