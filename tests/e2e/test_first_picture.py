"""First picture every time: a page whose scene request never answers asks again, and draws."""

from __future__ import annotations

from tests.e2e.conftest import CHROMIUM  # noqa: F401  (the module's fixtures need it)


def test_a_page_left_waiting_for_its_scene_asks_again(browser, served):
    page = browser.new_page(viewport={"width": 640, "height": 420})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("window.PS_ASK_AGAIN_MS = 3000")
    held: list = []

    def bundle(route):
        if not held:
            held.append(route)  # the first request for the scene: never answered
        else:
            route.continue_()

    page.route("**/bundle/**", bundle)
    try:
        page.goto(served.url)
        page.wait_for_function("window.pelvic && window.pelvic.sceneReady === true",
                               timeout=90_000)
        assert held, "the page never asked for its scene"
        assert page.evaluate("window.pelvic.askedAgain") >= 1
        assert errors == []
    finally:
        page.close()
