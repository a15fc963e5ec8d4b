"""Rebuild assets/anatomy/solids.npz from the procedural anatomy, optionally rendering previews.

.venv/bin/python tools/build_anatomy.py            # rebuild the asset file
.venv/bin/python tools/build_anatomy.py --preview out/anatomy   # and write preview PNGs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import anatomy  # noqa: E402

COLOURS = {
    "skeleton": "#e9e0cc",
    "disc": "#a9c4d8",
    "prostate": "#c0605a",
    "seminal_vesicle": "#d9a07a",
    "bladder": "#e8d27a",
    "rectum": "#b9786e",
    "muscle": "#c0504d",
    "dural_sac": "#9cc7e8",
    "nerve": "#f4d35e",
}


def _colour(name: str) -> tuple[str, float]:
    if name in anatomy.BONES:
        return COLOURS["skeleton"], 1.0
    if name.startswith("disc"):
        return COLOURS["disc"], 1.0
    if name.startswith("seminal"):
        return COLOURS["seminal_vesicle"], 1.0
    if name in ("prostate", "rectum"):
        return COLOURS[name], 1.0
    if name == "bladder":
        return COLOURS["bladder"], 0.6
    if name in anatomy.MUSCLES:
        return COLOURS["muscle"], 0.5
    if name == "dural_sac":
        return COLOURS["dural_sac"], 0.45
    return COLOURS["nerve"], 1.0


def preview(out: Path, names: list[str] | None = None) -> None:
    import pyvista as pv

    pv.global_theme.multi_samples = 0
    out.mkdir(parents=True, exist_ok=True)
    views = {
        "anterior": ((0, -620, -40), (0, 0, -40)),
        "posterior": ((0, 620, -40), (0, 0, -40)),
        "left": ((620, 20, -40), (0, 20, -40)),
        "superior": ((0, 30, 560), (0, 30, -40)),
        "oblique": ((420, -420, 120), (0, 20, -50)),
    }
    for view, (pos, foc) in views.items():
        pl = pv.Plotter(off_screen=True, window_size=(1000, 800))
        pl.set_background("white")
        for n in names or anatomy.names():
            m = anatomy.mesh(n)
            faces = np.hstack([np.full((m.n_cells, 1), 3), m.faces]).ravel()
            c, o = _colour(n)
            pl.add_mesh(
                pv.PolyData(m.points, faces), color=c, opacity=o, smooth_shading=True, specular=0.2
            )
        pl.camera.position = pos
        pl.camera.focal_point = foc
        pl.camera.up = (0, 0, 1) if view != "superior" else (0, -1, 0)
        pl.camera.view_angle = 30
        pl.screenshot(str(out / f"{view}.png"))
        pl.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preview", type=Path, help="folder for preview PNGs")
    ap.add_argument("--no-build", action="store_true", help="only render previews")
    args = ap.parse_args()
    if not args.no_build:
        t = time.time()
        arrays = anatomy.build_all()
        anatomy.ASSET_PATH.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(anatomy.ASSET_PATH, **arrays)
        n = sum(len(v) for k, v in arrays.items() if k.endswith(".faces"))
        size = anatomy.ASSET_PATH.stat().st_size / 1e6
        print(
            f"wrote {anatomy.ASSET_PATH} ({n} solid triangles, {size:.1f} MB)"
            f" in {time.time() - t:.0f} s"
        )
    if args.preview:
        preview(args.preview)


if __name__ == "__main__":
    main()
