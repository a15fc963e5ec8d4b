"""Per-frame cost of showing a spread state: update uniforms vs rebuild geometry.

    .venv/bin/python benchmarks/frame_update.py [SCENE] [--frames N] [--size WxH]

Measured in one run, on one offscreen plotter each, over the same times:

- **apply**: ``layer.apply(spread.state_at(t))`` on geometry built once (table ranges, matrices,
  visibility), then render;
- **rebuild**: what a naive renderer does: rebuild the involved part of every nerve tube
  (coloured by arrival time) and every arrow shaft, dash and head up to its front, then render.

Prints the median per-frame milliseconds with and without the render, and their ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyvista as pv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.anatomy.tube import tube as tube_mesh  # noqa: E402
from app.case import DEFAULT_SCENE, load_scene  # noqa: E402
from app.model.mesh import NervePath  # noqa: E402
from app.render import spread_layer as sl  # noqa: E402
from app.render.scene_view import SceneView, apply_camera, camera_for, to_polydata  # noqa: E402
from app.spread.routes import subpath  # noqa: E402


def plotter(size: tuple[int, int]) -> pv.Plotter:
    p = pv.Plotter(off_screen=True, window_size=list(size))
    p.set_background("white")
    return p


class Rebuilder:
    """The slow path: per frame, build the involved tubes and the arrows from scratch."""

    def __init__(self, view: SceneView, layer: sl.SpreadLayer):
        self.view = view
        self.spread = layer.spread
        self.layer = layer  # only for its per-route samples (built once, as a fair baseline)
        self.samples = {r.id: layer._route_samples(r) for r in self.spread.routes if r.arrow}
        self.nerves = self.view.scene.nerves()

    def frame(self, t: float) -> None:
        p = self.view.plotter
        state = self.spread.state_at(t)
        for node_id in self.spread.involved_nodes():
            u = np.linspace(0.0, 1.0, 257)
            arrival = self.spread.arrival_for_u(node_id, u)
            reached = u[arrival <= t]
            name = f"rebuilt_{node_id}"
            if len(reached) < 2:
                p.remove_actor(name)
                continue
            path = self.nerves[node_id]
            line = subpath(path.centreline, float(reached[0]), float(reached[-1]))
            mesh = to_polydata(tube_mesh(NervePath(line, path.radius * 1.06)))
            mesh.point_data["arrival"] = self.spread.arrival_for_u(
                node_id, reached[0] + np.asarray(mesh.point_data["u"]) * (reached[-1] - reached[0]))
            p.add_mesh(mesh, scalars="arrival", clim=[t - self.spread.lead_time, t],
                       cmap=["#8f5c9e", "#ff8c1f"], name=name, show_scalar_bar=False,
                       reset_camera=False, smooth_shading=True)
        for rs in state.routes:
            if rs.id not in self.samples:
                continue
            s, pts = self.samples[rs.id]
            keep = s <= rs.front_s
            name = f"rebuilt_arrow_{rs.id}"
            if keep.sum() < 2:
                p.remove_actor(name)
                p.remove_actor(name + "_head")
                continue
            shaft = pts[keep]
            if rs.style == "dashed":
                on = np.mod(s[keep], sl.DASH + sl.GAP) < sl.DASH
                idx = np.flatnonzero(on)
                runs = [r for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
                        if len(r) >= 2]
                lines = np.concatenate([np.concatenate([[len(r)], r]) for r in runs])
                poly = pv.PolyData(shaft, lines=lines)
            else:
                poly = pv.lines_from_points(shaft)
            colour = sl.ARROW_COLOURS[rs.style]
            p.add_mesh(poly.tube(radius=sl.SHAFT_RADIUS, n_sides=10, capping=True), color=colour,
                       name=name, reset_camera=False, smooth_shading=True)
            cone = pv.Cone(center=shaft[-1], direction=rs.direction, height=sl.HEAD_LENGTH,
                           radius=sl.HEAD_RADIUS, resolution=24)
            p.add_mesh(cone, color=colour, name=name + "_head", reset_camera=False)


def timed(fn, times) -> float:
    """Median milliseconds per call (robust to other load on a shared machine)."""
    out = []
    for t in times:
        start = time.perf_counter()
        fn(t)
        out.append(time.perf_counter() - start)
    return float(np.median(out)) * 1000.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=str(DEFAULT_SCENE))
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--size", default="640x360")
    args = ap.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    scene = load_scene(args.scene)
    spread = scene.spread
    times = np.linspace(0.0, spread.duration, args.frames)

    fast_plotter = plotter(size)  # type: ignore[arg-type]
    fast_view = SceneView(scene, fast_plotter)
    layer = sl.SpreadLayer(fast_view, spread)
    slow_plotter = plotter(size)  # type: ignore[arg-type]
    slow_view = SceneView(scene, slow_plotter)
    rebuild = Rebuilder(slow_view, layer)
    for p in (fast_plotter, slow_plotter):
        apply_camera(p, camera_for(scene, "anterior"))

    def fast_apply(t):
        layer.apply(spread.state_at(t))

    def fast_frame(t):
        fast_apply(t)
        fast_plotter.render_window.Render()

    def slow_frame(t):
        rebuild.frame(t)
        slow_plotter.render_window.Render()

    # warm up both (first render compiles shaders, builds textures)
    fast_frame(times[len(times) // 2])
    slow_frame(times[len(times) // 2])
    apply_ms = timed(fast_apply, times)
    fast_ms = timed(fast_frame, times)
    rebuild_ms = timed(rebuild.frame, times)
    slow_ms = timed(slow_frame, times)
    # the same picture again, nothing changed: what drawing alone costs on this machine (on
    # software OpenGL it dominates both paths, so the whole-frame ratio stays small there)
    still_ms = timed(lambda _t: fast_plotter.render_window.Render(), times)
    gl = fast_plotter.render_window.ReportCapabilities().splitlines()
    gl_renderer = next((line.split(":", 1)[1].strip() for line in gl
                        if "OpenGL renderer string" in line), "unknown")
    print(f"scene: {scene.name} ({len(spread.involved_nodes())} involved nodes, "
          f"{len(spread.routes)} routes), {args.frames} frames at {size[0]}x{size[1]}")
    print(f"  apply only (state_at + uniforms):      {apply_ms:8.2f} ms/frame")
    print(f"  rebuild only (tubes + arrows):         {rebuild_ms:8.2f} ms/frame")
    print(f"  apply + render:                        {fast_ms:8.2f} ms/frame")
    print(f"  rebuild + render:                      {slow_ms:8.2f} ms/frame")
    print(f"  render alone (nothing changed):        {still_ms:8.2f} ms/frame")
    print(f"  ratio, update only (rebuild / apply):  {rebuild_ms / apply_ms:8.1f}x")
    print(f"  ratio, whole frame with render:        {slow_ms / fast_ms:8.1f}x")
    print(f"  OpenGL renderer: {gl_renderer}")
    fast_plotter.close()
    slow_plotter.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
