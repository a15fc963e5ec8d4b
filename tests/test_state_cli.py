"""``pelvic-spread state``: the JSON contract, and clear errors for bad moments."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

CASE = "scenes/bilateral_plexopathy.yaml"


def state(*args: str) -> dict:
    r = run_cli("state", *args, "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_state_json_shape():
    out = state(CASE, "--date", "2012-03")
    assert set(out) == {"time", "date", "stage", "nodes", "routes"}
    assert out["date"] == "2012-03-01"
    assert set(out["stage"]) == {"id", "title", "caption", "psa"}
    for node in out["nodes"].values():
        assert set(node) == {"involvement"} and 0.0 <= node["involvement"] <= 1.0
    for route in out["routes"]:
        assert set(route) == {"id", "style", "progress"}
        assert route["style"] in ("solid", "dashed") and 0.0 <= route["progress"] <= 1.0


def test_default_scene_is_the_case_and_time_equals_date():
    by_date = state("--date", "2013-11-01")
    by_time = state(CASE, "--time", str(by_date["time"]))
    assert by_date == by_time


def test_dated_findings():
    """CASE.md: what was involved by each date."""
    def inv(out, node):
        return out["nodes"][node]["involvement"]

    march_2012 = state(CASE, "--date", "2012-03")
    assert min(inv(march_2012, n) for n in ("sciatic_l", "ramus_s1_l", "ramus_s2_l")) > 0.95
    assert 0 < inv(march_2012, "dural_sac") < 0.1
    august_2013 = state(CASE, "--date", "2013-08")
    assert all(v["involvement"] == 0 for k, v in august_2013["nodes"].items() if k.endswith("_r"))
    assert august_2013["stage"]["id"] == "sacral_canal_mass"
    november_2013 = state(CASE, "--date", "2013-11")
    assert inv(november_2013, "ramus_s1_r") > 0.95
    april_2014 = state(CASE, "--date", "2014-04")
    for node in ("ramus_s2_l", "ramus_s2_r", "ramus_s3_l", "ramus_s3_r", "ramus_l4_l",
                 "ramus_l5_l", "ramus_s1_l", "ramus_s1_r", "sciatic_l", "sciatic_r"):
        assert inv(april_2014, node) > 0.95, node
    assert april_2014["stage"]["psa"] == 5.0


@pytest.mark.parametrize("args, message", [
    (["--date", "2031-01"], "outside the timeline"),
    (["--date", "2012-3"], "expected a date YYYY-MM or YYYY-MM-DD"),
    (["--date", "2012-02-30"], "not a calendar date"),
    (["--time", "-1"], "outside the timeline"),
    (["--time", "1e6"], "outside the timeline"),
    ([], "give --time SECONDS or --date"),
])
def test_bad_moments_are_clear_errors(args, message):
    r = run_cli("state", CASE, *args, "--json", timeout=120)
    assert r.returncode == 1
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_scene_without_timeline():
    r = run_cli("state", "scenes/base_anatomy.yaml", "--time", "3", timeout=120)
    assert r.returncode == 1
    assert "no spread timeline" in r.stderr
