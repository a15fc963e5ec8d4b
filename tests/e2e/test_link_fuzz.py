"""Share links that are not share links: a short run of ``tools/fuzz/link_fuzz.py``. Each
shows the page with a message where the link has a problem, and no page error or dialog."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fuzz"))

from link_fuzz import ADVERSARIAL, queries, run  # noqa: E402


def test_odd_links_show_the_page_with_a_message(browser, served):
    picked = [ADVERSARIAL[i] for i in (7, 19, 28, 40, 46, 50)]
    links = picked + queries(20261202, len(ADVERSARIAL) + 2)[-2:]
    result = run(browser, served.url, links, reloads=1)
    assert result["failures"] == [] and result["dialogs"] == []
    assert result["page_errors"] == []
    assert result["with_message"] >= len(picked)
    assert not [line for line in served.lines if "Traceback" in line]
