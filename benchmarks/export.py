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
Each figure is the best of ``--repeat`` runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.export.pipeline import ExportOptions, Progress, export_clip  # noqa: E402
from app.model.loader import load_scene, resolve_scene_path  # noqa: E402
from app.render.still import FrameRenderer, parse_size  # noqa: E402


def moments(scene, frames: int) -> list[float | None]:
    sp = scene.spread
    if sp is None:
        return [None] * frames
    return list(np.linspace(sp.start_time, sp.duration, frames))


# -- (a) ---------------------------------------------------------------------------------
def bench_export(scene, size, frames: int, fps: float) -> tuple[float, float]:
    """(frames per second from first frame to finished file, setup seconds)."""
    marks: dict[str, float] = {}

    def progress(p: Progress) -> None:
        now = time.perf_counter()
        if p.phase == "rendering" and p.done == 0:
            marks["first"] = now
        if p.phase == "done":
            marks["done"] = now

    opts = ExportOptions(size=size, fps=fps, duration=frames / fps, captions=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = export_clip(scene, Path(tmp) / "bench.mp4", opts, progress=progress)
    assert result.frames == frames, result
    return frames / (marks["done"] - marks["first"]), marks["first"] - t0


# -- (b) and the anti-aliasing costs -------------------------------------------------------
def bench_renderer(scene, size, frames: int) -> dict[str, float]:
    """Frames per second of render + read back, one fixed moment, by anti-aliasing mode."""
    r = FrameRenderer(scene, size, "anterior", spread=True)
    try:
        t = moments(scene, 3)[1]
        r.image(t)  # build, first render
        pl, ren, win = r.plotter, r.plotter.renderer, r.plotter.render_window

        def loop() -> float:
            pl.render()
            np.asarray(pl.screenshot(return_img=True))
            start = time.perf_counter()
            for _ in range(frames):
                pl.render()
                np.asarray(pl.screenshot(return_img=True))[:, :, :3]
            return frames / (time.perf_counter() - start)

        out = {"fxaa": loop()}
        fxaa, samples = ren.GetUseFXAA(), win.GetMultiSamples()
        try:
            ren.SetUseFXAA(False)
            out["none"] = loop()
            win.SetMultiSamples(8)
            out["msaa8"] = loop()
        finally:
            ren.SetUseFXAA(fxaa)
            win.SetMultiSamples(samples)
        return out
    finally:
        r.close()


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
    ap.add_argument("--naive-frames", type=int, default=30, help="frames for (c)")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs of each")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    scene = load_scene(resolve_scene_path(args.scene))
    print(f"scene {scene.path.name}, {size[0]}x{size[1]}, {args.frames} frames "
          f"(naive: {args.naive_frames}), best of {args.repeat}", flush=True)

    a_runs, setups, b_runs, c_runs = [], [], [], []
    for _ in range(args.repeat):
        fps_a, setup = bench_export(scene, size, args.frames, args.fps)
        a_runs.append(fps_a)
        setups.append(setup)
        b_runs.append(bench_renderer(scene, size, args.frames))
        c_runs.append(bench_naive(scene, size, args.naive_frames, args.fps))
        print(f"  run: a {fps_a:.2f}  b {b_runs[-1]['fxaa']:.2f}  c {c_runs[-1]:.2f} fps",
              flush=True)
    a, c = max(a_runs), max(c_runs)
    b = {k: max(run[k] for run in b_runs) for k in b_runs[0]}
    print(f"(a) project export (MP4, captions):   {a:6.2f} frames/s  "
          f"(+ {min(setups):.1f} s to build the scene once)")
    print(f"(b) renderer limit (render+readback): {b['fxaa']:6.2f} frames/s")
    print(f"(c) naive pyvista loop (MSAA, open_movie, tubes rebuilt): {c:6.2f} frames/s")
    print(f"a/b = {a / b['fxaa']:.2f}  (target >= 0.85)")
    print(f"a/c = {a / c:.1f}  (target >= 10)")
    print("anti-aliasing, render+readback per frame:")
    for key, label in (("none", "none"), ("fxaa", "VTK FXAA (project)"), ("msaa8", "8x MSAA")):
        print(f"  {label:20s} {1000 / b[key]:7.1f} ms  ({b[key]:5.2f} frames/s, "
              f"x{b['none'] / b[key]:.2f} the cost of none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
