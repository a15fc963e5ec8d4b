"""Atlas import speed, and what an imported scene costs at start-up, in one run.

    .venv/bin/python benchmarks/atlas.py [ATLAS_DIR] [--size 1280x720] [--repeat 2]

(a) import: reading and recognising the atlas files (``import_atlas``), the first time (the
    mesh reader caches files, so repeats only show the recognising);
(b) fit: landmarks on the model's and the atlas's bones, the thin-plate spline, corrections
    against the real bones (``fit``), then writing the scene files;
(c) first frame of the imported case scene against the procedural default case, each in a
    fresh process (load the scene, build the renderer and the spread layer, render one moment
    and read it back), and their ratio.
ATLAS_DIR defaults to ../shared/anatomy/bodyparts3d. Each figure is the best of ``--repeat``
runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.atlas.fit import fit  # noqa: E402
from app.atlas.importer import import_atlas  # noqa: E402
from app.atlas.writer import write_scenes  # noqa: E402
from app.case import DEFAULT_SCENE, load_scene  # noqa: E402

FIRST_FRAME = """
import json, sys, time
t0 = time.perf_counter()
from app.case import load_scene
from app.render.still import FrameRenderer
scene = load_scene(sys.argv[1])
t1 = time.perf_counter()
r = FrameRenderer(scene, (int(sys.argv[2]), int(sys.argv[3])), "anterior", spread=True)
r.image(scene.spread.time_of_date("2014-04") if scene.spread else None)
t2 = time.perf_counter()
r.close()
print(json.dumps({"load": t1 - t0, "render": t2 - t1, "total": t2 - t0}))
"""


def first_frame(scene: Path, size: tuple[int, int]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(scene), str(size[0]),
                          str(size[1])], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atlas", nargs="?", default=str(ROOT.parent / "shared" / "anatomy" /
                                                    "bodyparts3d"))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    folder = Path(args.atlas)
    if not folder.is_dir():
        print(f"atlas folder {folder} not found", file=sys.stderr)
        return 2
    source = load_scene(DEFAULT_SCENE)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "atlas.yaml"
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            atlas = import_atlas(folder)
            t1 = time.perf_counter()
            fitted = fit(atlas, source)
            t2 = time.perf_counter()
            write_scenes(atlas, source, fitted, out)
            t3 = time.perf_counter()
            best.setdefault("cold import", t1 - t0)  # later runs find the files in memory
            for key, value in (("import", t1 - t0), ("fit", t2 - t1), ("write", t3 - t2)):
                best[key] = min(best.get(key, value), value)
        frames = {"atlas": [], "procedural": []}
        for _ in range(args.repeat):
            frames["atlas"].append(first_frame(out, size))
            frames["procedural"].append(first_frame(DEFAULT_SCENE, size))
    atlas_ff = min(frames["atlas"], key=lambda f: f["total"])
    proc_ff = min(frames["procedural"], key=lambda f: f["total"])
    print(f"atlas {folder} ({len(atlas.parts)} meshes, "
          f"{sum(p.mesh.n_cells for p in atlas.parts)} triangles), best of {args.repeat}")
    print(f"(a) import:              {best['cold import']:6.2f} s   (files read from disk; "
          f"{best['import']:.2f} s when already in memory)")
    print(f"(b) fit:                 {best['fit']:6.2f} s   (+ write {best['write']:.2f} s)")
    print(f"    import + fit:        {best['cold import'] + best['fit']:6.2f} s")
    print(f"(c) first frame {size[0]}x{size[1]}, fresh process (load + build and render):")
    print(f"    imported case scene: {atlas_ff['total']:6.2f} s  ({atlas_ff['load']:.2f} + "
          f"{atlas_ff['render']:.2f})")
    print(f"    procedural default:  {proc_ff['total']:6.2f} s  ({proc_ff['load']:.2f} + "
          f"{proc_ff['render']:.2f})")
    print(f"    ratio atlas/default: {atlas_ff['total'] / proc_ff['total']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
