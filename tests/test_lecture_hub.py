"""Lecture mode without a browser: the hall's snapshot and packing, the hub's events from the
presenter's state, and the guard refusing every other page's writes."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest

from app.lecture import hall as hall_mod
from app.lecture.hall import Hall
from app.model.loader import DEFAULT_SCENE
from app.web.engine import FAINT, hex_color
from app.web.keys import Slab, Structure, Timeline, Trigger, View


class FakeTransport:
    """A socket's transport: records the very objects written to it."""

    def __init__(self) -> None:
        self.buffered = 0
        self.frames: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def write(self, data: bytes) -> None:
        self.frames.append(data)


class FakeSocket:
    def __init__(self) -> None:
        self._req = SimpleNamespace(transport=FakeTransport())
        self.closed = False

    @property
    def sent(self) -> list[bytes]:
        """The messages, unwrapped from their websocket frames."""
        return [unframe(f) for f in self._req.transport.frames]

    async def close(self, **_: object) -> None:
        self.closed = True


def unframe(wire: bytes) -> bytes:
    assert wire[0] == 0x82  # one final binary frame, unmasked (server to client)
    n = wire[1]
    if n == 126:
        return wire[4:4 + int.from_bytes(wire[2:4], "big")]
    if n == 127:
        return wire[10:10 + int.from_bytes(wire[2:10], "big")]
    return wire[2:2 + n]


def run(coro_fn):
    return asyncio.run(coro_fn())


def decode(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"))


# -- the hall ---------------------------------------------------------------------------------
def test_an_event_is_packed_once_and_the_same_bytes_go_to_every_follower(monkeypatch):
    packs = []
    real = hall_mod.pack
    monkeypatch.setattr(hall_mod, "pack", lambda *a: packs.append(a) or real(*a))

    async def go():
        h = Hall()
        socks = [FakeSocket() for _ in range(50)]
        h.followers.update(socks)
        data = h.update({"time": 12.5, "playing": False})
        await asyncio.sleep(0)
        return h, socks, data

    h, socks, data = run(go)
    assert len(packs) == 1
    wires = [s._req.transport.frames for s in socks]
    assert all(len(w) == 1 and w[0] is wires[0][0] for w in wires)  # one frame object for all
    assert socks[0].sent == [data]
    msg = decode(data)
    assert msg["t"] == "ev" and msg["q"] == 1 and msg["s"] == {"time": 12.5, "playing": False}
    assert len(data) < 1024


def test_only_changed_fields_travel_and_nothing_for_no_change():
    async def go():
        h = Hall()
        s = FakeSocket()
        h.followers.add(s)
        h.update({"time": 1.0, "labels": False, "hidden": ["sacrum"]})
        again = h.update({"time": 1.0, "labels": False, "hidden": ["sacrum"]})
        h.update({"time": 2.0, "labels": False})
        await asyncio.sleep(0)
        return h, s, again

    h, s, again = run(go)
    assert again is None
    assert [decode(d)["s"] for d in s.sent] == [
        {"time": 1.0, "labels": False, "hidden": ["sacrum"]}, {"time": 2.0}]
    assert h.state == {"time": 2.0, "labels": False, "hidden": ["sacrum"]}
    assert h.seq == 2


def test_a_join_gets_the_snapshot_packed_once_and_costs_the_others_nothing(monkeypatch):
    packs = []
    real = hall_mod.pack
    monkeypatch.setattr(hall_mod, "pack", lambda *a: packs.append(a[0]) or real(*a))

    async def go():
        h = Hall()
        old = [FakeSocket() for _ in range(5)]
        h.followers.update(old)
        h.update({"time": 3.0, "camera": {"preset": "posterior"}})
        await asyncio.sleep(0)
        before = [len(s.sent) for s in old]
        joined = []
        for _ in range(20):  # what handle() does for a join
            s = FakeSocket()
            h.followers.add(s)
            h._write(s, h.snapshot_wire())
            joined.append(s)
        await asyncio.sleep(0)
        return h, old, before, joined

    h, old, before, joined = run(go)
    assert [len(s.sent) for s in old] == before  # nobody else heard of the 20 joins
    assert packs == ["ev", "snap"]  # 20 joins, one snapshot
    snap = decode(joined[0].sent[0])
    assert snap["t"] == "snap" and snap["q"] == h.seq
    assert snap["s"] == {"time": 3.0, "camera": {"preset": "posterior"}}
    first = joined[0]._req.transport.frames[0]
    assert all(s._req.transport.frames[0] is first for s in joined)  # one snapshot frame


def test_ping_gets_the_server_clock_and_junk_gets_nothing():
    h = Hall(clock=lambda: 1000.0)
    pong = decode(h.answer('{"t":"ping","c":990.5}'))
    assert pong == {"t": "pong", "c": 990.5, "s": 1000.0}
    for junk in ("", "[]", "{", '{"t":"ev","s":{"time":1}}', '{"t":"ping","c":"x"}',
                 b"\xff\xfe", '{"t":"ping","c":true}'):
        assert h.answer(junk) is None
    assert decode(h.answer('{"t":"sync"}'))["t"] == "snap"


def test_a_follower_that_stops_reading_is_dropped_not_waited_for():
    async def go():
        h = Hall()
        slow, fine = FakeSocket(), FakeSocket()
        slow._req.transport.buffered = hall_mod.SLOW_BUFFER + 1
        h.followers.update([slow, fine])
        h.update({"time": 1.0})
        await asyncio.sleep(0)
        return h, slow, fine

    h, slow, fine = run(go)
    assert slow.closed and slow not in h.followers and not slow.sent
    assert len(fine.sent) == 1


def test_a_relay_forwards_the_same_bytes_and_refuses_a_gap():
    async def go():
        hub, relay = Hall(), Hall()
        relay.load(hub.epoch, 0, {})
        s = FakeSocket()
        relay.followers.add(s)
        first = hub.update({"time": 1.0})
        second = hub.update({"time": 2.0})
        third = hub.update({"time": 3.0})
        ok1 = relay.forward(first, decode(first))
        gap = relay.forward(third, decode(third))  # second never came
        await asyncio.sleep(0)
        return relay, s, first, second, ok1, gap

    relay, s, first, second, ok1, gap = run(go)
    assert ok1 and not gap
    assert s.sent[-1] == first
    assert relay.state == {"time": 1.0}



def test_a_relay_holds_the_bundle_before_its_followers_hear_of_it():
    """Followers fetch the bundle as soon as an event names it: the relay must have the file by
    then, from a snapshot and from an event alike (CI once saw a 404 in that window)."""
    from app.lecture.assets import PREFIX
    from app.lecture.relay import Relay

    class FakeRedis:
        def __init__(self, data: dict[str, bytes]) -> None:
            self.data = data

        async def get(self, key: str) -> bytes | None:
            await asyncio.sleep(0.01)  # a real round trip: followers could ask meanwhile
            return self.data.get(key)

    async def go():
        relay = Relay("redis://127.0.0.1:1/0", channel="t")
        try:
            hub = Hall()
            name_a, name_b = "case.aaaaaaaaaaaa.bin.gz", "case.bbbbbbbbbbbb.bin.gz"
            slab, panel = "slab.cccccccccccc.json", "panel.dddddddddddd.jpg"
            relay._redis = FakeRedis({relay.asset_prefix + name_a: b"\x1f\x8bA",
                                      relay.asset_prefix + name_b: b"\x1f\x8bB",
                                      relay.asset_prefix + slab: b'{"planes": []}',
                                      relay.asset_prefix + panel: b"\xff\xd8\xff"})
            seen: list[tuple[str, bool]] = []

            def watch(data, msg=None, real=relay.hall.forward):
                for key in ("bundle", "slab", "panel"):
                    url = (msg or {}).get("s", {}).get(key)
                    if url:
                        seen.append((url, relay.assets.file(url[len(PREFIX):]) is not None))
                return real(data, msg)

            relay.hall.forward = watch
            hub.update({"bundle": PREFIX + name_a, "time": 0.0})
            relay._redis.data[relay.snapshot_key] = hub.snapshot()
            await relay._catch_up()  # a relay that starts late: the file, then the snapshot
            caught = relay.assets.file(name_a) is not None and relay.hall.state["bundle"]
            event = hub.update({"bundle": PREFIX + name_b})
            await relay._on_message(event)
            await relay._on_message(hub.update({"slab": PREFIX + slab}))  # a slab: the same
            await relay._on_message(hub.update({"panel": PREFIX + panel}))  # its MR panel too
            return caught, seen
        finally:
            relay.close()

    caught, seen = run(go)
    assert caught == PREFIX + "case.aaaaaaaaaaaa.bin.gz"
    assert seen == [(PREFIX + "case.bbbbbbbbbbbb.bin.gz", True),
                    (PREFIX + "slab.cccccccccccc.json", True),
                    (PREFIX + "panel.dddddddddddd.jpg", True)]


# -- the hub on a real viewer app (no server started) -------------------------------------------
@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    from trame.app import get_server

    from app.lecture.hub import LectureHub
    from app.web.app import ViewerApp

    server = get_server("lecture-hub-tests", client_type="vue3")
    app = ViewerApp(server, DEFAULT_SCENE, export_dir=tmp_path_factory.mktemp("exports"))
    hub = LectureHub(app, key="k3y")
    server.state.ready()
    hub.mark("scenario")
    hub.mark("labels")
    yield app, hub
    hub.close()
    app.engine.close()


@pytest.fixture
def hub(lecture):
    app, hub = lecture
    hub.sent = []

    real = hub.hall.update

    def update(fields):
        data = real(fields)
        if data is not None:
            hub.sent.append(decode(data))
        return data

    hub.hall.update = update
    app.timeline.pause()
    app.state.flush()
    hub.sent.clear()
    yield hub
    hub.hall.update = real


def test_the_snapshot_holds_everything_a_late_follower_needs(lecture):
    app, hub = lecture
    snap = decode(hub.hall.snapshot())
    s = snap["s"]
    assert s["scenario"] == "bilateral_plexopathy"
    assert s["time"] == pytest.approx(app.state[Timeline.TIME])
    assert s["playing"] is False and s["speed"] == 1.0
    assert s["camera"] == {"preset": "anterior"}
    assert s["hidden"] == list(app.state[Structure.HIDDEN] or [])
    assert s["labels"] is False and isinstance(s["stage"], int)
    assert len(hub.hall.snapshot()) < 1024


def one_round(hub, *steps) -> None:
    """Run ``steps`` as one round of handlers: the hub's marks collect and it emits once after
    them (as ``call_soon`` does under the server's event loop; these tests run without one)."""
    hub._scheduled = True
    try:
        for step in steps:
            step()
    finally:
        hub.emit()


def test_seek_camera_visibility_and_labels_become_one_event_each(lecture, hub):
    app, _ = lecture
    s = app.state
    one_round(hub, lambda: app.timeline.goto_stage(2), s.flush)
    one_round(hub, lambda: app.camera.goto("posterior"), s.flush)
    one_round(hub, lambda: app.structure.toggle("sacrum"), s.flush)
    one_round(hub, lambda: s.update({View.LABELS: True}), s.flush)

    def moved():
        app.camera.moved({"position": [10.0, -500.0, 40.0], "focalPoint": [0.0, 0.0, -40.0],
                          "viewUp": [0.0, 0.0, 1.0], "viewAngle": 30.0})
        hub.mark("camera")  # what the wrapped cam_moved trigger does after moving

    one_round(hub, moved, s.flush)
    got = [m["s"] for m in hub.sent]
    assert got[0]["time"] == pytest.approx(s[Timeline.STAGES][2]["time"])
    assert got[0]["stage"] == 2 and "playing" not in got[0]  # only what changed
    assert got[1] == {"camera": {"preset": "posterior"}}
    # hidden, and the looks it makes: the only drawable not as the scene file has it
    sacrum = app.engine.default_look("sacrum")
    assert got[2] == {"hidden": ["sacrum"], "looks": {"sacrum": [
        0, round(sacrum.opacity, 3), hex_color(sacrum.color)]}}
    assert got[3] == {"labels": True}
    assert got[4]["camera"]["position"] == [10.0, -500.0, 40.0]
    assert len(got) == 5
    app.structure.toggle("sacrum")
    s[View.LABELS] = False
    app.camera.goto("anterior")
    s.flush()


def test_isolate_opacity_and_colour_reach_followers_as_looks(lecture, hub):
    """What the presenter's page shows of each structure, as far as it differs from the scene
    file; back to nothing after a reset (the snapshot carries it too)."""
    app, _ = lecture
    s = app.state
    one_round(hub, lambda: app.structure.isolate("sacrum"), s.flush)
    # in one line, not as every other drawable faded (1.9 KB)
    assert hub.sent[-1]["s"] == {"isolated": {"id": "sacrum", "faint": FAINT}}
    one_round(hub, lambda: app.structure.isolate(None), s.flush)
    assert hub.sent[-1]["s"] == {"isolated": None}  # only what changed
    one_round(hub, lambda: s.update({Structure.OPACITY: {"bladder": 0.2},
                                     Structure.COLOR: {"prostate": "#00ff00"}}), s.flush)
    looks = hub.sent[-1]["s"]["looks"]
    assert looks["bladder"][:2] == [1, 0.2] and looks["prostate"][2] == "#00ff00"
    assert set(looks) == {"bladder", "prostate"}
    assert decode(hub.hall.snapshot())["s"]["looks"] == looks
    assert len(json.dumps(hub.sent[-1]).encode()) < 1024
    one_round(hub, lambda: s.update({Structure.OPACITY: {}, Structure.COLOR: {}}), s.flush)
    assert hub.sent[-1]["s"] == {"looks": {}}
    assert decode(hub.hall.snapshot())["s"]["isolated"] is None


def test_a_slab_is_one_small_event_naming_its_file(lecture, hub):
    """The presenter's slab (its planes and caps, tens of KB) travels as a file beside the
    bundle; the event only names it. Turning the slab off says so; old slab files go."""
    from app.lecture.assets import PREFIX, SLABS_KEPT

    app, _ = lecture
    s = app.state
    one_round(hub, lambda: app.slab.preset("fig3_s1"), s.flush)
    url = hub.sent[-1]["s"]["slab"]
    assert url.startswith(PREFIX + "slab.") and url.endswith(".json")
    assert len(json.dumps(hub.sent[-1]).encode()) < 1024
    path = hub.assets.file(url[len(PREFIX):])
    message = json.loads(path.read_bytes())
    assert message == json.loads(json.dumps(s[Slab.MESSAGE]))
    assert message["planes"] and message["caps"] and path.stat().st_size > 4096
    assert decode(hub.hall.snapshot())["s"]["slab"] == url  # a late follower gets it too
    one_round(hub, lambda: s.update({Slab.ON: False}), s.flush)
    assert hub.sent[-1]["s"] == {"slab": None, "panel": None}  # the MR panel goes with it
    names = []
    for k in range(SLABS_KEPT + 3):  # a slab dragged along: one file per position shown
        s[Slab.MESSAGE] = {"planes": [[0, 0, k, 0, 0, 1], [0, 0, k + 6, 0, 0, -1]]}
        names.append(hub.slab_field()[len(PREFIX):])
    assert [n for n in names if hub.assets.file(n)] == names[-SLABS_KEPT:]
    assert hub.assets.file(url[len(PREFIX):]) is None
    s[Slab.MESSAGE] = None
    s.flush()


def test_the_mr_panel_is_a_picture_file_an_event_names(lecture, hub):
    """With a slab, the presenter's page shows the schematic MR panel (a JPEG the server draws
    for the date) and the finding of the date: followers get the picture as a file beside the
    bundle and the finding as three short texts, in one small event; old pictures go."""
    import base64

    from app.lecture.assets import PANELS_KEPT, PREFIX

    app, _ = lecture
    s = app.state
    one_round(hub, lambda: app.slab.preset("fig2_notch"), s.flush)
    sent = [e["s"] for e in hub.sent if "panel" in e["s"]]
    url = sent[-1]["panel"]
    assert url.startswith(PREFIX + "panel.") and url.endswith(".jpg")
    assert all(len(json.dumps(e).encode()) < 1024 for e in hub.sent)
    path = hub.assets.file(url[len(PREFIX):])
    assert "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode() \
        == s[Slab.PANEL]
    assert path.read_bytes()[:3] == b"\xff\xd8\xff" and path.stat().st_size > 4096
    assert decode(hub.hall.snapshot())["s"]["panel"] == url  # a late follower gets it too
    card = {"id": "mri_2012", "title": "MRI, June 2012", "text": "Thick left S1.",
            "figure": "Fig. 2A", "slab": "axial:S1"}
    one_round(hub, lambda: s.update({Slab.FINDING: card}), s.flush)
    assert hub.sent[-1]["s"] == {"finding": {"title": "MRI, June 2012",
                                             "text": "Thick left S1.", "figure": "Fig. 2A"}}
    names = []
    for k in range(PANELS_KEPT + 3):  # playback: one picture per month shown
        picture = base64.b64encode(b"\xff\xd8" + bytes([k])).decode()
        s[Slab.PANEL] = "data:image/jpeg;base64," + picture
        names.append(hub.panel_field()[len(PREFIX):])
    assert [n for n in names if hub.assets.file(n)] == names[-PANELS_KEPT:]
    assert hub.assets.file(url[len(PREFIX):]) is None
    s[Slab.PANEL] = "data:image/jpeg;base64,not base64!"
    assert hub.panel_field() is None  # (never from the server: nothing rather than a bad file)
    one_round(hub, lambda: s.update({Slab.ON: False}), s.flush)
    assert hub.sent[-1]["s"]["panel"] is None
    s[Slab.FINDING] = None
    s.flush()


def test_playback_sends_one_anchor_not_frames(lecture, hub):
    app, _ = lecture
    sp = app.engine.spread
    app.timeline.seek(sp.time_of_date("2011-06-01"))
    app.state.flush()
    hub.sent.clear()

    async def play():
        app.timeline.toggle()
        app.state.flush()
        await asyncio.sleep(0.8)  # about 16 playback ticks
        played = app.state[Timeline.TIME]
        app.timeline.pause()
        app.state.flush()
        await asyncio.sleep(0.05)
        return played

    played = asyncio.run(play())
    assert played > sp.time_of_date("2011-06-01") + 0.3  # it did play
    kinds = [m["s"].get("playing") for m in hub.sent]
    assert kinds == [True, False], hub.sent  # play, pause: nothing per frame
    start = hub.sent[0]["s"]
    # the anchor time is where it was paused (unchanged, so not sent again); the wall clock
    # instant is new, in server milliseconds
    assert start.get("anchorTime", sp.time_of_date("2011-06-01")) == pytest.approx(
        sp.time_of_date("2011-06-01"))
    assert abs(start["anchorWall"] - time.time() * 1000) < 5000


def test_only_the_presenters_page_may_write(lecture):
    app, hub = lecture
    guard = app.guard
    presenter = SimpleNamespace(cookies={hub.cookie_name: hub.cookie_value})
    stranger = SimpleNamespace(cookies={hub.cookie_name: "0" * 64})
    hub.connected(presenter, "p1")
    hub.connected(stranger, "s1")
    hub.connected(SimpleNamespace(cookies={}), "s2")
    change = [{"key": Timeline.TIME, "value": 10.0}]
    ok, refused = guard.screen_changes("p1", change)
    assert ok == change and not refused
    for page in ("s1", "s2", None):
        ok, refused = guard.screen_changes(page, change)
        assert not ok and "presenter" in refused[0][1]
        assert "presenter" in guard.screen_trigger(page, Trigger.TL_TOGGLE, [], {})
        assert guard.screen_trigger(page, Trigger.CAM_CURRENT, [], {}) is None
    assert guard.screen_trigger("p1", Trigger.TL_TOGGLE, [], {}) is None
    guard.forget("p1")
    assert guard.screen_changes("p1", change)[0] == []
