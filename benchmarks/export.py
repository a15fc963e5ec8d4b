"""Clip export speed, in one run on one scene, size and render settings.

    .venv/bin/python benchmarks/export.py [SCENE] [--size 1280x720] [--frames 90]

(a) the project's export: ``export_clip`` to an MP4, frames per second from the first frame
    to the finished file (scene building reported apart);
(b) the renderer's limit: the same FrameRenderer (same scene, size and settings) rendering and
    reading back one moment over and over: no animation, no captions, no encoding;
(c) what a user would otherwise write: a pyvista loop with the default theme (8x MSAA) that
    rebuilds the grown nerve tubes every frame and writes through ``Plotter.open_movie``.
Targets at 1280x720 on the 2-core reference machine: a/b >= 0.85, a/c >= 10.
Then the anti-aliasing cost: (b) with VTK's FXAA (the project's choice), with none, with 8x MSAA.
Each figure is the median of ``--repeat`` runs; a/b compares each export with (b) measured
just before and after it, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.case import load_scene, resolve_scene_path  # noqa: E402
from app.export.pipeline import ExportOptions, Progress, export_clip  # noqa: E402
from app.render.still import FrameRenderer, parse_size  # noqa: E402


def moments(scene, frames: int) -> list[float | None]:
    sp = scene.spread
    if sp is None:
        return [None] * frames
    return list(np.linspace(sp.start_time, sp.duration, frames))


# -- (a) ---------------------------------------------------------------------------------
def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def bench_export(scene, size, frames: int, fps: float) -> dict[str, float]:
    """Frames per second from the first frame to the finished file; setup seconds; CPU
    seconds per frame of this process (renderer, writer thread) and of ffmpeg."""
    marks: dict[str, tuple[float, float, float]] = {}

    def progress(p: Progress) -> None:
        now = (time.perf_counter(), cpu_s(), cpu_s(resource.RUSAGE_CHILDREN))
        if p.phase == "rendering" and p.done == 0:
            marks["first"] = now
        if p.phase == "done":
            marks["done"] = now

    opts = ExportOptions(size=size, fps=fps, duration=frames / fps, captions=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = export_clip(scene, Path(tmp) / "bench.mp4", opts, progress=progress)
    assert result.frames == frames, result
    (w0, s0, c0), (w1, s1, c1) = marks["first"], marks["done"]
    return {"fps": frames / (w1 - w0), "setup_s": w0 - t0, "cpu_self": (s1 - s0) / frames,
            "cpu_ffmpeg": (c1 - c0) / frames}


# -- (b) and the anti-aliasing costs -------------------------------------------------------
class RendererLimit:
    """One FrameRenderer of the scene at one moment, kept for the whole benchmark, so that
    (b) can be measured right before and right after each export (the machine may be shared:
    comparing neighbours in time keeps the ratio honest)."""

    def __init__(self, scene, size):
        self.r = FrameRenderer(scene, size, "anterior", spread=True, captions=False)
        self.r.image(moments(scene, 3)[1])  # build, first render
        self.pl = self.r.plotter
        self.cpu_per_frame: list[float] = []

    def fps(self, frames: int) -> float:
        """Render + read back ``frames`` times; nothing changes between frames."""
        pl = self.pl
        start, cpu = time.perf_counter(), cpu_s()
        for _ in range(frames):
            pl.render()
            np.asarray(pl.screenshot(return_img=True))[:, :, :3]
        self.cpu_per_frame.append((cpu_s() - cpu) / frames)
        return frames / (time.perf_counter() - start)

    def anti_aliasing(self, frames: int, rounds: int = 3) -> dict[str, float]:
        """Frames per second with VTK's FXAA (the project's), none, and 8x MSAA, measured in
        alternation; the renderer's own settings are restored afterwards."""
        ren, win = self.pl.renderer, self.pl.render_window
        fxaa, samples = ren.GetUseFXAA(), win.GetMultiSamples()
        modes = {"fxaa": (True, 0), "none": (False, 0), "msaa8": (False, 8)}
        spent = dict.fromkeys(modes, 0.0)
        try:
            for _ in range(rounds):
                for key, (use_fxaa, ms) in modes.items():
                    ren.SetUseFXAA(use_fxaa)
                    win.SetMultiSamples(ms)
                    self.fps(1)  # let the window re-create its buffers
                    spent[key] += frames / self.fps(frames)
        finally:
            ren.SetUseFXAA(fxaa)
            win.SetMultiSamples(samples)
        return {k: rounds * frames / v for k, v in spent.items()}

    def close(self) -> None:
        self.r.close()


# -- (c) ---------------------------------------------------------------------------------
def _grown(points: np.ndarray, fraction: float) -> np.ndarray | None:
    """The first ``fraction`` of a polyline by arc length (None when too short to draw)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    end = fraction * s[-1]
    if end < 1e-3:
        return None
    keep = points[s < end]
    tip = np.array([np.interp(end, s, points[:, k]) for k in range(3)])
    out = np.vstack([keep, tip])
    return out if len(out) >= 2 else None


def bench_naive(scene, size, frames: int, fps: float) -> float:
    """A pyvista loop with the default theme, tubes rebuilt per frame, open_movie."""
    import pyvista as pv

    from app.render.scene_view import camera_for, to_polydata

    pl = pv.Plotter(off_screen=True, window_size=list(size))  # default theme: 8x MSAA
    try:
        pl.set_background("white")
        for node in scene.drawable():
            pl.add_mesh(to_polydata(scene.mesh(node.id)), color=node.color,
                        opacity=node.opacity, smooth_shading=True)
        preset = camera_for(scene, "anterior")
        pl.camera.position, pl.camera.focal_point = preset.position, preset.focal_point
        pl.camera.up, pl.camera.view_angle = preset.view_up, preset.view_angle
        nerves = scene.nerves()
        with tempfile.TemporaryDirectory() as tmp:
            pl.open_movie(str(Path(tmp) / "naive.mp4"), framerate=int(round(fps)))
            times = moments(scene, frames)
            start = time.perf_counter()
            for i, t in enumerate(times):
                state = scene.spread.state_at(t) if t is not None else None
                for nid, path in nerves.items():
                    f = state.involvement(nid) if state is not None else i / max(frames - 1, 1)
                    pts = _grown(path.centreline, f)
                    if pts is None:
                        pl.remove_actor(f"grown_{nid}")
                        continue
                    tube = pv.Spline(pts, max(8, 4 * len(pts))).tube(
                        radius=path.radius * 1.2, n_sides=20)
                    pl.add_mesh(tube, color=(0.85, 0.1, 0.15), name=f"grown_{nid}",
                                smooth_shading=True)
                pl.add_text(state.date if state is not None else "", name="date")
                pl.write_frame()
            elapsed = time.perf_counter() - start
            pl.mwriter.close()
        return frames / elapsed
    finally:
        pl.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scene", nargs="?", help="scene (default: the case)")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=90, help="frames for (a) and (b)")
    ap.add_argument("--naive-frames", type=int, default=12, help="frames for (c), run once")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (median)")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    scene = load_scene(resolve_scene_path(args.scene))
    print(f"scene {scene.path.name}, {size[0]}x{size[1]}, {args.frames} frames "
          f"(naive: {args.naive_frames}), median of {args.repeat}", flush=True)

    limit = RendererLimit(scene, size)
    try:
        a_runs, b_runs, ratios, setups, c_runs = [], [], [], [], []
        cpu_a: list[float] = []
        cpu_ffmpeg: list[float] = []
        for _ in range(args.repeat):
            b_before = limit.fps(args.frames // 2)
            run = bench_export(scene, size, args.frames, args.fps)
            fps_a, setup = run["fps"], run["setup_s"]
            cpu_a.append(run["cpu_self"] + run["cpu_ffmpeg"])
            cpu_ffmpeg.append(run["cpu_ffmpeg"])
            b_after = limit.fps(args.frames // 2)
            b_here = (b_before + b_after) / 2
            a_runs.append(fps_a)
            b_runs.append(b_here)
            setups.append(setup)
            ratios.append(fps_a / b_here)
            print(f"  run: a {fps_a:.2f}  b {b_before:.2f}/{b_after:.2f}  a/b {ratios[-1]:.2f}",
                  flush=True)
        try:
            import imageio  # noqa: F401  (Plotter.open_movie writes through it)
        except ImportError:
            raise SystemExit("(c) needs imageio for Plotter.open_movie: "
                             ".venv/bin/python -m pip install imageio") from None
        b_before = limit.fps(args.frames // 4)
        c_runs.append(bench_naive(scene, size, args.naive_frames, args.fps))
        b_after = limit.fps(args.frames // 4)
        print(f"  naive: c {c_runs[-1]:.2f}  b {b_before:.2f}/{b_after:.2f} frames/s", flush=True)
        cpu_b = float(np.median(limit.cpu_per_frame))
        aa = limit.anti_aliasing(max(4, args.frames // 6))
    finally:
        limit.close()
    a, b, c = float(np.median(a_runs)), float(np.median(b_runs)), float(np.median(c_runs))
    print(f"(a) project export (MP4, captions):   {a:6.2f} frames/s  "
          f"(+ {min(setups):.1f} s to build the scene once)")
    print(f"(b) renderer limit (render+readback): {b:6.2f} frames/s")
    print(f"(c) naive pyvista loop (default theme: 8x MSAA; tubes rebuilt; open_movie): "
          f"{c:6.2f} frames/s")
    print(f"a/b = {float(np.median(ratios)):.2f}  (median of runs, each against (b) measured "
          "just before and after it; target >= 0.85)")
    print(f"a/c = {a / c:.1f}  (target >= 10)")
    ca, cf = float(np.median(cpu_a)), float(np.median(cpu_ffmpeg))
    print(f"CPU time per frame (less sensitive to other load than wall time): "
          f"(a) {1000 * ca:.0f} ms, of which ffmpeg {1000 * cf:.0f} ms; (b) {1000 * cpu_b:.0f} ms;"
          f" (b)/(a) = {cpu_b / ca:.2f}")
    print("anti-aliasing, render+readback per frame (measured in alternation):")
    for key, label in (("none", "none"), ("fxaa", "VTK FXAA (project)"), ("msaa8", "8x MSAA")):
        print(f"  {label:20s} {1000 / aa[key]:7.1f} ms  ({aa[key]:5.2f} frames/s, "
              f"x{aa['none'] / aa[key]:.2f} the time of none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
