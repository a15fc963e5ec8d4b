"""``pelvic-spread atlas import DIR -o SCENE.yaml``: a thin shell over the atlas library."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from app.errors import Problem, SceneError, UserError


def run_atlas(args: argparse.Namespace) -> int:
    if getattr(args, "atlas_verb", None) != "import":
        print("usage: pelvic-spread atlas import DIR -o SCENE.yaml [--format ...] [--units ...] "
              "[--decimate F] [--landmarks FILE]", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"{out}: expected an output scene path ending in .yaml")
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if args.decimate is not None and not 0.01 <= args.decimate <= 1.0:
        raise UserError(f"--decimate: expected a fraction of triangles to keep, 0.01 to 1, "
                        f"got {args.decimate}")
    given = read_landmarks(Path(args.landmarks)) if args.landmarks else None
    result = import_scene(Path(args.dir), out, fmt=args.format, units=args.units,
                          decimate=args.decimate, landmarks=given)
    print("\n".join(result))
    return 0


def import_scene(folder: Path, out: Path, fmt: str = "auto", units: str = "auto",
                 decimate: float | None = None,
                 landmarks: dict[str, np.ndarray] | None = None) -> list[str]:
    """Import, fit and write; returns the report lines. What the CLI verb does, for tests."""
    from app.atlas.fit import FitError, fit
    from app.atlas.importer import import_atlas
    from app.atlas.writer import write_scenes
    from app.case import DEFAULT_SCENE, load_scene

    t0 = time.perf_counter()
    atlas = import_atlas(folder, fmt, units)
    source = load_scene(DEFAULT_SCENE)
    report = [f"atlas: {atlas.folder} ({len(atlas.parts)} meshes)"]
    report += [f"  {n}" for n in atlas.notes]
    try:
        fitted = fit(atlas, source, landmarks)
    except FitError as exc:
        if landmarks:
            raise UserError(f"{folder}: {exc}") from None
        fitted = None
        report.append(f"not fitted: {exc}; the scene shows the atlas meshes only")
    if fitted is not None:
        report += fit_report(fitted)
    written = write_scenes(atlas, source, fitted, out, decimate=decimate,
                           report=[line.strip() for line in report])
    try:
        load_scene(out)
    except SceneError as exc:  # a bug here, not the user's input: say so plainly
        raise UserError("the written scene does not load (a bug in the importer):\n"
                        + "\n".join(str(p) for p in exc.problems)) from None
    report.append(f"wrote {written.anatomy}" + (f" and {written.case}" if written.case else "")
                  + (f" (+ {len(written.model_meshes)} model meshes in "
                     f"{written.model_meshes[0].parent})" if written.model_meshes else ""))
    report.append(f"done in {time.perf_counter() - t0:.1f} s")
    return report


def fit_report(fitted) -> list[str]:
    det = fitted.detection
    lines = [f"fit: thin-plate spline on {len(fitted.pairs)} landmark pairs"]
    if det is not None:
        lines.append(f"  landmarks found on the bones: {len(det.points)}"
                     + (f"; not found: {', '.join(sorted(det.missing))}" if det.missing else ""))
    carried = sorted(k for k, v in fitted.origin.items() if v.startswith("carried")
                     and k in fitted.landmarks)
    if carried:
        lines.append(f"  carried by the warp: {', '.join(carried)}")
    pushed = {k: v for k, v in fitted.pushed.items() if v}
    if pushed:
        lines.append("  centreline points pushed out of bone: " + ", ".join(
            f"{k} {v}" for k, v in sorted(pushed.items())))
    if fitted.foramen_error:
        worst = max(fitted.foramen_error.values())
        lines.append(f"  S1-S4 rami through their foramen centres (largest miss {worst:.1f} mm)")
    lines += [f"  note: {n}" for n in fitted.notes]
    return lines


def read_landmarks(path: Path) -> dict[str, np.ndarray]:
    """A landmark file: ``name: [x, y, z]`` lines (atlas LPS mm), optionally under
    ``landmarks:``. Errors are ``FILE:LINE: message``."""
    from app.model.yamlio import Field, Invalid, Problems, load_yaml, root_field

    data = load_yaml(path)
    problems = Problems()
    root = root_field(data, path, problems)
    if not root.is_map():
        raise SceneError([Problem(path, 1, "expected a mapping of landmark name: [x, y, z]")])
    if root.keys() == ["landmarks"]:
        root = root.get("landmarks")
    out: dict[str, np.ndarray] = {}
    try:
        for name, f in root.expect_map("a mapping of landmark name: [x, y, z]").items():
            try:
                out[name] = np.asarray(Field.as_vec3(f), float)
            except Invalid:
                pass
    except Invalid:
        pass
    problems.raise_if_any()
    if not out:
        raise SceneError([Problem(path, 1, "no landmarks in the file")])
    return out
