"""The viewer's state as a value: JSON and URL round trips, and what bad input gives."""

from __future__ import annotations

import json

from app.web.camera_logic import interpolate
from app.web.engine import Camera
from app.web.viewstate import ViewState

CAM = Camera((10.0, -500.0, 20.0), (0.0, 10.0, -40.0), (0.0, 0.0, 1.0), 30.0)
FULL = ViewState(scenario="conus_route", time=31.25, camera=CAM, hidden=("bladder", "rectum"),
                 isolated="sciatic_l", opacity={"hip_l": 0.3}, color={"sciatic_l": "#ff8800"},
                 mode="remote", labels=True)


def test_json_round_trip_is_exact():
    back, problems = ViewState.from_json(FULL.to_json())
    assert problems == []
    assert back == FULL


def test_query_round_trip_is_exact():
    back, problems = ViewState.from_query(FULL.to_query())
    assert problems == []
    assert back == FULL


def test_query_with_preset_and_date():
    view, problems = ViewState.from_query("?date=2013-08-01&camera=left&hide=&labels=0")
    assert problems == []
    assert view.date == "2013-08-01" and view.camera == "left"
    assert view.hidden == () and view.labels is False and view.time is None


def test_bad_link_parts_are_reported_and_the_rest_kept():
    view, problems = ViewState.from_query(
        "t=abc&camera=Left!&hide=bladder,../etc&opacity=hip_l:2&mode=fast&zoom=3&date=2013-08")
    assert view.date == "2013-08"  # the good part survives
    text = "\n".join(problems)
    for word in ("t:", "camera:", "hide:", "opacity:", "mode:", "parameter 'zoom'"):
        assert word in text, (word, text)
    assert view.time is None and view.camera is None and view.mode is None


def test_bad_json_is_a_message_not_an_exception():
    view, problems = ViewState.from_json("{not json")
    assert view == ViewState() and "not a view file" in problems[0]
    view, problems = ViewState.from_json(json.dumps([1, 2]))
    assert "JSON object" in problems[0]
    view, problems = ViewState.from_json(json.dumps(
        {"camera": {"position": [0, 0, 0], "focal_point": [0, 0, 0]}, "time": 3}))
    assert view.time == 3 and view.camera is None
    assert any("same point" in p for p in problems)


def test_camera_interpolation_ends_and_keeps_distance_smooth():
    b = Camera((600.0, 20.0, -40.0), (0.0, 20.0, -45.0), (0.0, 0.0, 1.0), 45.0)
    assert interpolate(CAM, b, 0.0) == CAM or all(
        abs(x - y) < 1e-9 for x, y in zip(interpolate(CAM, b, 0.0).position, CAM.position,
                                          strict=True))
    end = interpolate(CAM, b, 1.0)
    for got, want in ((end.position, b.position), (end.focal_point, b.focal_point)):
        assert all(abs(x - y) < 1e-6 for x, y in zip(got, want, strict=True))
    mid = interpolate(CAM, b, 0.5)
    assert abs(mid.view_angle - 37.5) < 1e-9
    # the camera turns around the focus, it does not cut through it
    d = [p - f for p, f in zip(mid.position, mid.focal_point, strict=True)]
    assert sum(v * v for v in d) ** 0.5 > 400


def test_a_link_never_raises_whatever_its_pairs_say():
    # found by tools/fuzz/link_fuzz.py: "?opacity=bladder" raised instead of reporting
    for query in ("?opacity=bladder", "?color=x", "?opacity=:", "?color=a:b:c"):
        view, problems = ViewState.from_query(query)
        assert problems and view.opacity is None and view.color is None, query
