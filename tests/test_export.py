"""Clip export: plans, captions, every output format, atomic output, interruption, browser jobs.

Clips are tiny (160x90 to 320x180, about ten frames). Format and failure tests use a small
mesh-only scene written here, so they do not wait on the procedural anatomy; the tests about
moments and captions use the case scene. Streams are checked with the ffmpeg imageio-ffmpeg
ships (``read_frames`` metadata, ``count_frames_and_secs``).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from app.errors import UserError
from app.export.jobs import ExportJobs, normalise_options, safe_name
from app.export.plan import ClipPlan, make_plan, orbit_preset
from app.model.scene import CameraPreset
from app.render import captions as cap
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mesh_scene(tmp_path_factory) -> Path:
    """A small scene of mesh files (no timeline): a sphere, a ring and two 'nerves'."""
    import pyvista as pv

    d = tmp_path_factory.mktemp("mesh_scene")
    pv.Sphere(radius=40, theta_resolution=24, phi_resolution=16).triangulate().save(d / "a.ply")
    pv.ParametricTorus(ringradius=70, crosssectionradius=14, u_res=48,
                       v_res=16).triangulate().save(d / "b.ply")
    nodes = []
    for i, x in enumerate((-25.0, 25.0)):
        pts = np.c_[np.full(12, x), np.full(12, -20.0), np.linspace(70, -80, 12)]
        pv.Spline(pts, 40).tube(radius=4, n_sides=12).triangulate().save(d / f"n{i}.ply")
        nodes.append(f"  - id: nerve{i}\n    kind: nerve\n    color: [0.95, 0.8, 0.2]\n"
                     f"    geometry: {{file: n{i}.ply}}\n    radius: 4\n"
                     f"    centreline: {pts.tolist()}")
    text = "\n".join([
        "format: pelvic-spread/1", "name: export test", "nodes:",
        "  - {id: ball, kind: mesh, color: [0.8, 0.5, 0.4], geometry: {file: a.ply}}",
        "  - {id: ring, kind: mesh, color: [0.9, 0.9, 0.8], geometry: {file: b.ply}}",
        *nodes,
        "cameras:",
        "  anterior: {position: [0, -420, 0], focal_point: [0, 0, 0], view_up: [0, 0, 1]}",
    ])
    (d / "scene.yaml").write_text(text + "\n")
    return d / "scene.yaml"


@pytest.fixture(scope="session")
def case_spread(case_scene):
    return case_scene.spread


def probe(path: Path) -> dict:
    """Stream facts from imageio-ffmpeg's ffmpeg: codec, pixel format, size, fps, frames."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {"codec": meta["codec"].rstrip(","), "pix_fmt": meta["pix_fmt"].split("(")[0],
            "size": tuple(meta["size"]), "fps": meta["fps"], "frames": frames}


def decode(path: Path, index: int) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    try:
        for i, raw in enumerate(reader):
            if i == index:
                return np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()
    finally:
        reader.close()
    raise IndexError(index)


def _blocks(a: np.ndarray) -> np.ndarray:
    """Means of 2x2 pixel blocks (the resolution yuv420p keeps colour at)."""
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def export(*args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("export", *args, **kw)


# -- the plan (pure) -------------------------------------------------------------------------
def test_plan_stretches_the_range_over_the_clip(case_spread):
    plan = make_plan(case_spread, fps=10, start="2011-06", end="2014-04", duration=4)
    assert plan.n_frames == 40
    assert plan.time_at(0) == pytest.approx(case_spread.time_of_date("2011-06"))
    assert plan.time_at(39) == pytest.approx(case_spread.time_of_date("2014-04"))
    steps = np.diff([plan.time_at(i) for i in range(40)])
    assert np.allclose(steps, steps[0]) and steps[0] > 0
    whole = make_plan(case_spread, fps=30)  # no --duration: the animation's own pace
    assert whole.duration == pytest.approx(case_spread.duration - case_spread.start_time,
                                           abs=1 / 30)
    assert make_plan(case_spread, fps=5, start="12", end="24.5s").time_at(0) == 12.0


def test_plan_is_seekable_and_refuses_bad_ranges(case_spread, mesh_scene):
    plan = make_plan(case_spread, fps=24, duration=3)
    assert [plan.time_at(i) for i in (17, 3, 17)][0] == plan.time_at(17)
    with pytest.raises(IndexError):
        plan.time_at(plan.n_frames)
    for kw, words in [({"start": "2014-04", "end": "2011-06"}, "backwards"),
                      ({"start": "1999-01"}, "outside the timeline"),
                      ({"end": "9999"}, "outside the timeline"),
                      ({"start": "soon"}, "--from soon"),
                      ({"fps": 0}, "--fps"), ({"duration": -1}, "--duration"),
                      ({"start": "2012-03", "end": "2012-03"}, "same moment")]:
        with pytest.raises(UserError, match=words):
            make_plan(case_spread, **kw)
    with pytest.raises(UserError, match="no spread timeline"):
        make_plan(None, start="2012-03")
    still = make_plan(None, fps=10)
    assert still.time_at(0) is None and still.n_frames == 50


def test_orbit_turns_about_view_up_at_constant_distance():
    base = CameraPreset("anterior", (0.0, -400.0, 10.0), (0.0, 0.0, 10.0), (0.0, 0.0, 1.0))
    plan = ClipPlan(fps=30, n_frames=900, t_start=None, t_end=None, orbit=True)
    assert plan.orbit_deg(0) == 0.0
    assert plan.orbit_deg(450) == pytest.approx(180.0)  # a full turn over a 30 s clip
    quick = ClipPlan(fps=30, n_frames=60, t_start=None, t_end=None, orbit=True)
    assert quick.orbit_deg(59) < 59 / 30 * 24.5  # short clips turn slowly, not faster
    turned = orbit_preset(base, 90.0)
    assert np.allclose(turned.position, (400.0, 0.0, 10.0), atol=1e-9)
    assert turned.focal_point == base.focal_point and turned.view_up == base.view_up


# -- captions (PIL, no renderer) ---------------------------------------------------------------
LEGEND = (cap.LegendEntry("solid", "ipsilateral perineural spread", (199, 10, 20)),
          cap.LegendEntry("dashed", "dural bridge", (13, 84, 217)))


def _state(date="2013-11-20", title="The right side", psa=2.8):
    from app.spread import format_psa

    stage = SimpleNamespace(title=title, source="Fig. 5, Video 1 (dashed arrows)",
                            caption="The right foot weakens. " * 12)
    return SimpleNamespace(date=date, stage=stage, psa=psa, psa_text=format_psa(psa))


def test_caption_text_from_a_state():
    text = cap.caption_text(_state())
    assert text.date == "November 2013" and text.title == "The right side"
    assert text.psa == "PSA 2.8 ng/ml" and text.source.startswith("Fig. 5")
    assert cap.caption_text(_state(psa=None)).psa == ""
    assert cap.caption_text(None) == cap.CaptionText()
    credit = ('Case from "A title", J Neurosurg 122, April 2015 (doi 10.3171/2014.12.JNS141339)'
              ", Figure 5. Captions are ours.")
    assert cap.first_sentence(credit).endswith("Figure 5.")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_captions_and_legend_are_drawn_where_expected(size):
    w, h = size
    frame = np.full((h, w, 3), 90, np.uint8)
    overlay = cap.CaptionOverlay(size, credit="Case from a paper (doi 10.1/x). More.",
                                 legend=LEGEND)
    overlay.draw(frame, _state())
    changed = np.abs(frame.astype(int) - 90).max(axis=2) > 0
    assert changed[: h // 3, : w // 3].mean() > 0.5  # caption panel, top left
    assert changed[-h // 6:, : w // 5].mean() > 0.3  # legend and credit, bottom left
    assert not changed[h // 3: 2 * h // 3, w // 2:].any()  # the middle stays the picture
    # legible: the caption text is at least 16 px high at 720p, scaled up at 1080p
    assert cap.load_font(overlay.px(17)).size >= 16 * min(w / 1280, h / 720)
    # text is drawn once per stage and once per month, then reused
    nov = overlay.patches(cap.caption_text(_state()))
    apr = overlay.patches(cap.caption_text(_state(date="2014-04-02")))
    assert nov[-2] is apr[-2] and nov[-1] is not apr[-1]  # one panel, two dates
    assert overlay.patches(cap.caption_text(_state(date="2014-04-20")))[-1] is apr[-1]
    assert len(overlay._cache) == 3


def test_caption_layout_matches_its_reference():
    """The burned-in panel, legend and credit at 1280x720 on a plain picture (no anatomy)."""
    from tests.conftest import REFERENCES
    from tests.imagecmp import compare

    frame = np.full((720, 1280, 3), 200, np.uint8)
    overlay = cap.CaptionOverlay((1280, 720), credit=(
        'Case and mechanism from "Bilateral lumbosacral plexopathy in prostate cancer", '
        "J Neurosurg 122, April 2015 (doi 10.3171/2014.12.JNS141339), Figure 5 and Video 1. "
        "Captions are our own summary."), legend=LEGEND)
    overlay.draw(frame, _state())
    compare(frame, REFERENCES / "export_captions_1280x720.png", max_mean=1.0)


def test_captions_fall_back_to_pillows_font(monkeypatch):
    assert cap.font_path() is not None, "DejaVu Sans should be found on this machine"
    monkeypatch.setattr(cap, "font_path", lambda bold=False: None)
    cap.load_font.cache_clear()
    try:
        frame = np.zeros((180, 320, 3), np.uint8)
        cap.CaptionOverlay((320, 180)).draw(frame, _state())
        assert frame.any()
    finally:
        cap.load_font.cache_clear()


# -- formats ---------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix, codec, pix_fmt", [(".mp4", "h264", "yuv420p"),
                                                    (".webm", "vp9", "yuv420p"),
                                                    (".gif", "gif", "bgra")])
def test_each_video_format(mesh_scene, tmp_path, suffix, codec, pix_fmt):
    out = tmp_path / f"clip{suffix}"
    r = export(str(mesh_scene), "-o", str(out), "--size", "320x180", "--fps", "10",
               "--duration", "1.2", "--camera", "orbit")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    facts = probe(out)
    assert facts == {"codec": codec, "pix_fmt": pix_fmt, "size": (320, 180), "fps": 10.0,
                     "frames": 12}
    assert leftovers(tmp_path) == [out.name]
    if suffix == ".mp4":  # +faststart: the index (moov) comes before the media data (mdat)
        head = out.read_bytes()
        assert head.find(b"moov") < head.find(b"mdat")


def test_png_folder_is_the_render_picture_exactly(mesh_scene, tmp_path):
    out = tmp_path / "frames"
    r = export(str(mesh_scene), "-o", str(out), "--size", "160x90", "--fps", "5",
               "--duration", "1", "--no-captions")
    assert r.returncode == 0, r.stderr
    names = leftovers(out)
    assert names == [f"frame_{i:05d}.png" for i in range(5)]
    still = tmp_path / "still.png"
    r = run_cli("render", str(mesh_scene), "-o", str(still), "--size", "160x90")
    assert r.returncode == 0, r.stderr
    frame = np.asarray(Image.open(out / names[3]).convert("RGB"))
    assert np.array_equal(frame, np.asarray(Image.open(still).convert("RGB")))
    # a second export replaces an earlier export's frames, and nothing else
    r = export(str(mesh_scene), "-o", str(out), "--size", "160x90", "--fps", "5",
               "--duration", "0.4")
    assert r.returncode == 0, r.stderr
    assert leftovers(out) == [f"frame_{i:05d}.png" for i in range(2)]
    assert leftovers(tmp_path) == ["frames", "still.png"]


def test_frames_show_the_moment_render_shows(case_scene, tmp_path):
    """Decode frame i of an MP4 and compare it with ``render --time t_i``."""
    out = tmp_path / "case.mp4"
    r = export("-o", str(out), "--size", "320x180", "--fps", "4", "--from", "2012-03",
               "--to", "2014-04", "--duration", "2.5", "--no-captions", timeout=900)
    assert r.returncode == 0, r.stderr
    plan = make_plan(case_scene.spread, fps=4, start="2012-03", end="2014-04", duration=2.5)
    assert probe(out)["frames"] == plan.n_frames == 10
    for i in (0, 6, 9):
        still = tmp_path / f"t{i}.png"
        r = run_cli("render", "-o", str(still), "--size", "320x180", "--time",
                    repr(plan.time_at(i)), "--no-captions", timeout=900)
        assert r.returncode == 0, r.stderr
        ref = np.asarray(Image.open(still).convert("RGB")).astype(int)
        got = decode(out, i).astype(int)
        body = (slice(None), slice(None))  # no text on either: the whole picture
        # yuv420p keeps luma at full resolution and colour at half: compare luma per pixel
        # and colour per 2x2 block (thin red and blue arrows bleed into their neighbours).
        luma = np.abs((got[body] - ref[body]) @ np.array([0.299, 0.587, 0.114]))
        assert luma.mean() < 2.0 and (luma > 32).mean() < 0.002, (i, luma.mean())
        blocks = np.abs(_blocks(got[body]) - _blocks(ref[body])).max(axis=2)
        assert (blocks > 48).mean() < 0.005, (i, (blocks > 48).mean())
    # and the moments differ: the spread moves between frame 0 and frame 9
    assert np.abs(decode(out, 0).astype(int) - decode(out, 9)).mean() > 0.5


def test_case_export_burns_in_captions(case_scene, tmp_path):
    out = tmp_path / "frames"
    r = export("-o", str(out), "--size", "640x360", "--fps", "1", "--from", "2013-11",
               "--to", "2014-04", "--duration", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    plain = tmp_path / "plain"
    r = export("-o", str(plain), "--size", "640x360", "--fps", "1", "--from", "2013-11",
               "--to", "2014-04", "--duration", "2", "--no-captions", timeout=900)
    assert r.returncode == 0, r.stderr
    a = np.asarray(Image.open(out / "frame_00000.png").convert("RGB")).astype(int)
    b = np.asarray(Image.open(plain / "frame_00000.png").convert("RGB")).astype(int)
    changed = np.abs(a - b).max(axis=2) > 0
    # on the white background a white panel changes little: count the text's pixels too
    text = (a.sum(axis=2) < 450) & changed
    assert changed[:100, :240].mean() > 0.2 and text[:100, :240].mean() > 0.03  # caption
    assert changed[280:, :180].mean() > 0.1 and text[280:, :180].mean() > 0.02  # legend
    assert not changed[140:260, 300:520].any()  # the middle of the picture is untouched


def test_memory_stays_flat_however_long_the_clip(mesh_scene, tmp_path):
    """Frames stream through a small queue: the peak during rendering is a few frames."""
    import tracemalloc

    from app.case import load_scene
    from app.export import ExportOptions, export_clip

    scene = load_scene(mesh_scene)
    frame_bytes = 160 * 90 * 3
    peaks = {}
    for frames in (5, 20, 400):  # the first one pays for lazy imports
        def progress(p, frames=frames):
            if p.phase == "rendering" and p.done == 1:
                tracemalloc.reset_peak()  # scene building is behind us
            if p.phase == "finishing":
                peaks[frames] = tracemalloc.get_traced_memory()[1]

        tracemalloc.start()
        try:
            export_clip(scene, tmp_path / f"c{frames}.mp4",
                        ExportOptions(size=(160, 90), fps=100, duration=frames / 100),
                        progress=progress)
        finally:
            tracemalloc.stop()
    assert peaks[400] < 24 * frame_bytes, peaks  # not 400 frames' worth
    # Flat: a few frames of slack for caches, far from the 380 extra frames (16 MB) it would be.
    assert peaks[400] < peaks[20] + 12 * frame_bytes, peaks


# -- failures: nothing is left behind --------------------------------------------------------
@pytest.mark.parametrize("name", ["clip.mp4", "frames", "clip.gif"])
def test_interrupted_export_leaves_nothing(mesh_scene, tmp_path, name):
    out = tmp_path / name
    progress = tmp_path / "progress.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "export", str(mesh_scene), "-o", str(out), "--size",
         "160x90", "--fps", "30", "--duration", "120", f"--progress-file={progress}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # as from a terminal: a shell's background job (a CI runner's, say) ignores SIGINT, and
        # its children inherit that, so Ctrl-C's signal would never reach the export
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if json.loads(progress.read_text()).get("done", 0) >= 5:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert leftovers(tmp_path) == ["progress.json"]
    assert json.loads(progress.read_text())["state"] == "cancelled"


def test_unwritable_targets_are_refused_before_rendering(mesh_scene, tmp_path):
    (tmp_path / "a_file").write_text("x")
    cases = [(tmp_path / "missing" / "clip.mp4", "does not exist"),
             (tmp_path / "a_file" / "clip.mp4", "is not a folder"),
             (tmp_path / "clip.avi", "unknown output type"),
             (tmp_path, "is not empty")]
    if os.geteuid() == 0:
        cases.append((Path("/sys/clip.mp4"), "cannot write there: Permission denied"))
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((locked / "clip.mp4", "cannot write there: Permission denied"))
    for target, words in cases:
        r = export(str(mesh_scene), "-o", str(target), "--size", "160x90", "--duration", "1")
        assert r.returncode in (1, 2), (target, r.stderr)
        assert words in r.stderr, (target, r.stderr)
        assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a_file"] + (["locked"] if os.geteuid() != 0 else []))


def test_bad_options_say_what_to_do(mesh_scene, tmp_path):
    out = str(tmp_path / "clip.mp4")
    for args, words in [(["--size", "321x180"], "even width and height; try 322x180"),
                        (["--quality", "11"], "--quality"),
                        (["--camera", "nowhere"], "unknown camera 'nowhere'"),
                        (["--from", "2012-03"], "no spread timeline"),
                        (["--fps", "0"], "--fps")]:
        r = export(str(mesh_scene), "-o", out, "--duration", "1", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert words in r.stderr, (args, r.stderr)
    assert leftovers(tmp_path) == []


def test_a_failing_write_is_reported_and_cleaned_up(mesh_scene, tmp_path):
    """A file size limit makes the encoder's writes fail, as a full disk would."""
    def limit():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    for name in ("clip.mp4", "frames"):
        r = subprocess.run([sys.executable, "-m", "app", "export", str(mesh_scene), "-o",
                            str(tmp_path / name), "--size", "320x180", "--fps", "10",
                            "--duration", "2", "--camera", "orbit"], cwd=ROOT,
                           capture_output=True, text=True, preexec_fn=limit, timeout=300)
        assert r.returncode == 1, r.stderr
        assert ("ffmpeg" in r.stderr) if name.endswith(".mp4") else ("too large" in r.stderr)
        assert "Traceback" not in r.stderr
        assert leftovers(tmp_path) == []


def test_a_full_disk_is_reported_and_cleaned_up(mesh_scene, tmp_path):
    """A real ENOSPC on a tiny tmpfs, where this machine lets us mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root in a permissive container)")
    try:
        with open(disk / "filler", "wb") as fh:  # leave about 2 kB free
            fh.write(b"\0" * (48 * 1024 - 2048))
        r = export(str(mesh_scene), "-o", str(disk / "clip.mp4"), "--size", "320x180",
                   "--fps", "10", "--duration", "2", "--camera", "orbit")
        assert r.returncode == 1, r.stderr
        assert "No space left on device" in r.stderr
        assert leftovers(disk) == ["filler"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# -- browser jobs ----------------------------------------------------------------------------
def test_browser_names_cannot_escape_the_output_folder():
    assert safe_name("../../etc/passwd", "mp4") == "passwd.mp4"
    assert safe_name("..\\..\\boot.ini", "gif") == "boot.ini.gif"
    assert safe_name("/abs/path/clip.mp4", "mp4") == "clip.mp4"
    assert safe_name("..", "webm") == "clip.webm"
    assert safe_name("", "mp4") == "clip.mp4"
    assert safe_name(".hidden", "mp4") == "hidden.mp4"
    assert safe_name("left then right: 2012/2014", "mp4") == "2014.mp4"
    assert safe_name("Spread über S1 <b>", "mp4") == "Spread-ber-S1-b.mp4"
    assert safe_name("clip.webm", "mp4") == "clip.mp4"
    assert safe_name("frames", "png") == "frames"
    assert len(safe_name("x" * 500, "mp4")) <= 84


def test_browser_options_are_checked():
    ok = normalise_options({"size": [1280, 720], "fps": 25, "start": "2011-06", "end": 30,
                            "format": "webm", "captions": False})
    assert ok["size"] == "1280x720" and ok["end"] == "30" and ok["captions"] is False
    for bad, words in [({"format": "avi"}, "format"), ({"size": "big"}, "size"),
                       ({"size": "9000x9000"}, "out of range"),
                       ({"start": "--output=/etc/x"}, "start"), ({"fps": "fast"}, "fps"),
                       ({"captions": "yes"}, "captions"), ({"colour": 1}, "unknown"),
                       ({"camera": "../x"}, "camera"), ({"quality": 12}, "quality")]:
        with pytest.raises(UserError, match=words):
            normalise_options(bad)


def test_jobs_run_report_progress_and_cancel(mesh_scene, tmp_path):
    jobs = ExportJobs(tmp_path / "out", max_running=1)
    try:
        done = jobs.start(mesh_scene, {"size": "160x90", "fps": 10, "duration": 1.5,
                                       "format": "mp4", "name": "../../escape.mp4"})
        long = jobs.start(mesh_scene, {"size": "160x90", "fps": 30, "duration": 120,
                                       "format": "gif"})
        assert jobs.status(long)["state"] == "queued"  # one at a time on a small machine
        seen = []
        final = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            final = jobs.status(done)
            seen.append(final["progress"])
            if final["state"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        assert final["state"] == "done" and final["done"] and final["error"] is None, final
        assert final["filename"] == "escape.mp4" and final["progress"] == 1.0
        assert seen == sorted(seen)
        assert jobs.path(done) == (tmp_path / "out" / "escape.mp4")
        assert probe(jobs.path(done))["frames"] == 15
        while jobs.status(long)["progress"] < 0.01 and time.monotonic() < deadline:
            time.sleep(0.05)
        running = jobs.status(long)
        assert running["state"] == "running" and running["eta_s"] is not None
        assert jobs.cancel(long)
        status = jobs.status(long)
        assert status["state"] == "cancelled" and not status["done"]
        assert jobs.path(long) is None
        assert leftovers(tmp_path / "out") == [".jobs", "escape.mp4"]
        assert not (tmp_path / "escape.mp4").exists()
    finally:
        jobs.close()


def test_job_errors_reach_the_page(mesh_scene, tmp_path):
    jobs = ExportJobs(tmp_path / "out")
    try:
        job = jobs.start(mesh_scene, {"size": "160x90", "start": "2012-03", "format": "mp4"})
        status = jobs.wait(job, timeout=120)
        assert status["state"] == "error"
        assert "no spread timeline" in status["error"]
        with pytest.raises(UserError, match="format"):
            jobs.start(mesh_scene, {"format": "exe"})
        with pytest.raises(KeyError):
            jobs.status("nope")
    finally:
        jobs.close()
