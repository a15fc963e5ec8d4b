"""Server time and bytes per slab move: planes + caps + panel vs re-sending clipped geometry.

    .venv/bin/python benchmarks/slab.py [SCENE] [--moves N] [--panel 512] [--date 2014-04]

The slab steps 2 mm at a time through the pelvis (axial, 6 mm thick, from the sciatic notch up
past S1), as a drag would move it. Measured in one run, over the same positions:

- **ours**: what the viewer does per move: cut every surface at the slab's two faces, triangulate
  the caps (``CapMaker.caps``), draw the schematic MR panel and encode it (JPEG), and build the
  message the page receives (``slab_message``: two planes, the caps, the panel); the page clips
  its own surfaces with the planes, so no scene geometry travels;
- **naive**: clip every surface to the slab on the server with ``vtkClipClosedSurface`` (capped,
  as ours is) and serialise the clipped surfaces (float32 points and normals, int32 triangles,
  base64 in JSON, as a geometry update to the browser would be), no panel at all.

Prints the median and worst milliseconds and kilobytes per move, the split of our time
(cut and cap, panel, encoding), the limits the issue sets (100 ms, 60 KB) and the ratios.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.case import DEFAULT_SCENE, load_scene  # noqa: E402
from app.imaging.panel import MRPanel, panel_jpeg  # noqa: E402
from app.model.slab import parse_slab  # noqa: E402
from app.render.slab import CapMaker, slab_message  # noqa: E402

LIMIT_MS = 100.0
LIMIT_KB = 60.0


def naive_move(scene, node_ids, slab) -> int:
    """Clip each surface to the slab with capping and serialise it; returns the bytes."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import (
        vtkCellArray,
        vtkPlane,
        vtkPlaneCollection,
        vtkPolyData,
    )
    from vtkmodules.vtkFiltersCore import vtkPolyDataNormals
    from vtkmodules.vtkFiltersGeneral import vtkClipClosedSurface

    lo, hi = slab.bounds
    n = slab.normal
    planes = vtkPlaneCollection()
    for origin, normal in ((n * lo, n), (n * hi, -n)):
        p = vtkPlane()
        p.SetOrigin(*origin)
        p.SetNormal(*normal)
        planes.AddItem(p)
    parts = []
    for nid in node_ids:
        mesh = scene.mesh(nid)
        pts = mesh.points[:, slab.axis]
        if pts.max() < lo or pts.min() > hi:
            continue
        poly = _poly(mesh, vtkPoints, vtkCellArray, vtkPolyData, numpy_to_vtk,
                     numpy_to_vtkIdTypeArray)
        clip = vtkClipClosedSurface()
        clip.SetInputData(poly)
        clip.SetClippingPlanes(planes)
        clip.GenerateFacesOn()
        normals = vtkPolyDataNormals()
        normals.SetInputConnection(clip.GetOutputPort())
        normals.Update()
        out = normals.GetOutput()
        if out.GetNumberOfPoints() == 0:
            continue
        xyz = vtk_to_numpy(out.GetPoints().GetData()).astype(np.float32)
        nrm = vtk_to_numpy(out.GetPointData().GetNormals()).astype(np.float32)
        conn = vtk_to_numpy(out.GetPolys().GetConnectivityArray()).astype(np.int32)
        parts.append({"node": nid, "points": _b64(xyz), "normals": _b64(nrm),
                      "polys": _b64(conn)})
    return len(json.dumps({"slab": slab.spec(), "surfaces": parts}))


def _poly(mesh, vtkPoints, vtkCellArray, vtkPolyData, numpy_to_vtk, numpy_to_vtkIdTypeArray):
    pts = vtkPoints()
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(mesh.points, np.float32), deep=True))
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 3 * mesh.n_cells + 1, 3, dtype=np.int64),
                                          deep=True),
                  numpy_to_vtkIdTypeArray(mesh.faces.astype(np.int64).ravel(), deep=True))
    poly = vtkPolyData()
    poly.SetPoints(pts)
    poly.SetPolys(cells)
    return poly


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=str(DEFAULT_SCENE))
    ap.add_argument("--moves", type=int, default=24)
    ap.add_argument("--panel", type=int, default=512, help="panel size in pixels (square)")
    ap.add_argument("--date", default="2014-04")
    args = ap.parse_args()

    scene = load_scene(args.scene)
    node_ids = [n.id for n in scene.drawable()]
    spread = scene.spread
    state = spread.state_at(spread.time_of_date(args.date)) if spread is not None else None
    t0 = time.perf_counter()
    maker = CapMaker(scene, node_ids, spread)
    panel = MRPanel(scene, spread)
    built = time.perf_counter() - t0
    start = parse_slab("axial:sciatic_notch", scene.landmarks)
    slabs = [start.moved(2.0 * i) for i in range(args.moves)]
    # warm both paths once (imports, first allocations)
    maker.caps(slabs[0])
    panel.draw(slabs[0], state, (args.panel, args.panel))
    naive_move(scene, node_ids, slabs[0])

    ours_ms, ours_kb, cap_ms, panel_ms, enc_ms, n_caps = [], [], [], [], [], []
    naive_ms, naive_kb = [], []
    for slab in slabs:
        a = time.perf_counter()
        caps = maker.caps(slab)
        b = time.perf_counter()
        picture = panel.draw(slab, state, (args.panel, args.panel))
        c = time.perf_counter()
        msg = json.dumps(slab_message(slab, caps, panel_jpeg(picture)))
        d = time.perf_counter()
        ours_ms.append((d - a) * 1e3)
        cap_ms.append((b - a) * 1e3)
        panel_ms.append((c - b) * 1e3)
        enc_ms.append((d - c) * 1e3)
        ours_kb.append(len(msg) / 1024)
        n_caps.append(len(caps))
        a = time.perf_counter()
        size = naive_move(scene, node_ids, slab)
        naive_ms.append((time.perf_counter() - a) * 1e3)
        naive_kb.append(size / 1024)

    med = statistics.median
    print(f"scene {Path(args.scene).name}: {len(node_ids)} surfaces, "
          f"{sum(scene.mesh(n).n_cells for n in node_ids)} triangles; {args.moves} moves of 2 mm "
          f"from z {slabs[0].position:g} to {slabs[-1].position:g} mm, 6 mm slab, panel "
          f"{args.panel} px, state {args.date}; built once in {built * 1e3:.0f} ms")
    print(f"ours : {med(ours_ms):6.1f} ms median, {max(ours_ms):6.1f} worst "
          f"(cut+cap {med(cap_ms):.1f}, panel {med(panel_ms):.1f}, encode {med(enc_ms):.1f}); "
          f"{med(ours_kb):5.1f} KB median, {max(ours_kb):5.1f} worst; {med(n_caps):.0f} caps")
    print(f"naive: {med(naive_ms):6.1f} ms median, {max(naive_ms):6.1f} worst; "
          f"{med(naive_kb):6.1f} KB median, {max(naive_kb):6.1f} worst (no panel)")
    print(f"ratio naive/ours: time x{med(naive_ms) / med(ours_ms):.1f}, "
          f"bytes x{med(naive_kb) / med(ours_kb):.1f}")
    ok_ms = max(ours_ms) <= LIMIT_MS
    ok_kb = max(ours_kb) <= LIMIT_KB
    print(f"limits: {LIMIT_MS:g} ms per move {'met' if ok_ms else 'NOT met'} (worst "
          f"{max(ours_ms):.1f}), {LIMIT_KB:g} KB per move {'met' if ok_kb else 'NOT met'} "
          f"(worst {max(ours_kb):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
