"""The command line: one verb per task, each a thin shell over library functions.

Errors the user can fix print ``pelvic-spread: ...`` (or ``FILE:LINE: message`` lines for
scene files) and exit non-zero, never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.errors import SceneError, UserError
from app.render.slab_cli import add_slab_arguments

EXIT_USAGE = 2


def _scene(arg: str | None):
    from app.case import load_scene, resolve_scene_path

    return load_scene(resolve_scene_path(arg))


def _moment(scene, time: float | None, date: str | None) -> float | None:
    """Animation seconds for --time/--date (None when neither is given)."""
    if time is None and date is None:
        return None
    if scene.spread is None:
        raise UserError(f"{scene.path}: this scene has no spread timeline, so --time/--date "
                        "do not apply (try scenes/bilateral_plexopathy.yaml)")
    if date is not None:
        return scene.spread.time_of_date(date)
    return scene.spread.check_time(time)


# -- verbs ---------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from app.case import load_scene, resolve_scene_path

    failed = 0
    for name in args.scenes or [None]:
        path = resolve_scene_path(name)
        try:
            load_scene(path)
            print(f"{path}: ok")
        except SceneError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
    return EXIT_USAGE if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    from app.model.loader import node_summary

    scene = _scene(args.scene)
    summary = node_summary(scene)
    if args.json:
        print(json.dumps({"scene": str(scene.path), "name": scene.name, "nodes": summary,
                          "cameras": sorted(scene.cameras),
                          "landmarks": sorted(scene.landmarks)}, indent=1))
        return 0
    print(f"{scene.name}  ({scene.path})")
    for entry in summary:
        depth = scene.depth(entry["id"])
        facts = "" if entry["kind"] == "group" else (
            f"  {entry['kind']}, {entry['points']} points, {entry['cells']} cells")
        print(f"{'  ' * depth}{entry['id']}: {entry['name']} [{entry['side']}]{facts}")
    print(f"cameras: {', '.join(scene.cameras) or 'none'}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from app.render.still import check_png_target, parse_size, render_still

    size = parse_size(args.size)
    out = Path(args.output)
    check_png_target(out)
    scene = _scene(args.scene)
    t = _moment(scene, args.time, args.date)
    if args.slab is not None or args.panel is not None:
        from app.render.slab_cli import render_slab

        print(render_slab(args, scene, out, size, t))
        return 0
    render_still(scene, out, camera=args.camera, size=size, time=t, spread=t is not None,
                 captions=args.captions)
    print(out)
    return 0


def cmd_mesh(args: argparse.Namespace) -> int:
    import numpy as np

    from app.model.mesh import TriMesh
    from app.model.meshfile import MeshFileError, write_mesh

    scene_arg, node_id = (None, args.first) if args.node is None else (args.first, args.node)
    scene = _scene(scene_arg)
    if node_id not in scene.nodes:
        raise UserError(f"unknown node '{node_id}' in {scene.path} "
                        "(see 'pelvic-spread info' for the ids)")
    node = scene.nodes[node_id]
    out = Path(args.output)
    if not out.parent.exists():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if args.centreline:
        if node.path is None:
            raise UserError(f"node '{node_id}' has no centreline (it is a {node.kind})")
        if out.suffix.lower() not in (".vtp", ".vtk", ".obj", ".ply"):
            raise UserError(f"{out}: a centreline is a polyline; write .vtp, .obj or .ply")
        pts = node.path.centreline
        lines = np.column_stack([np.arange(len(pts) - 1), np.arange(1, len(pts))])
        mesh = TriMesh(pts, lines)
    else:
        if node.kind == "group":
            raise UserError(f"node '{node_id}' is a group and has no geometry of its own")
        mesh = scene.mesh(node_id)
    try:
        write_mesh(mesh, out)
    except MeshFileError as exc:
        raise UserError(f"{out}: {exc}") from None
    except OSError as exc:
        raise UserError(f"{out}: cannot write: {exc.strerror or exc}") from None
    print(out)
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    from app.spread.commands import state_json

    scene = _scene(args.scene)
    t = _moment(scene, args.time, args.date)
    if t is None:
        raise UserError("state: give --time SECONDS or --date YYYY-MM[-DD]")
    print(json.dumps(state_json(scene, time=t), indent=1 if not args.json else None))
    return 0


def _size(text: str) -> int:
    from app.export.jobs import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from app.web.server import serve

    if (args.presenter_key or args.relay) and not args.lecture:
        raise UserError("serve: --presenter-key and --relay go with --lecture")
    return serve(args.scene, host=args.host, port=args.port, open_browser=False,
                 lecture=args.lecture, presenter_key=args.presenter_key, relay=args.relay,
                 export_limit=args.export_limit)


def cmd_relay(args: argparse.Namespace) -> int:
    from app.lecture.relay import serve_relay

    return serve_relay(args.url, host=args.host, port=args.port)


def cmd_export(args: argparse.Namespace) -> int:
    from app.player.export import wants_player

    if args.output is None:  # `export case.html`, `export site/`, `export case.glb`: alone
        slide = args.scene is not None and args.scene.lower().endswith((".glb", ".usdz"))
        if args.scene is None or not (wants_player(args.scene) or slide):
            raise UserError("export: give the output with -o (.mp4, .webm, .gif, a folder for "
                            "PNGs), or a .html file or a folder ending in / for the player, or "
                            "a .glb or .usdz 3D model")
        args.output, args.scene = args.scene, None
    if wants_player(args.output, args.html):
        from app.player.cli import run_player_export

        return run_player_export(args)
    from app.export.cli import run_export

    return run_export(args)


def cmd_new_case(args: argparse.Namespace) -> int:
    from app.authoring import new_case

    path = new_case(args.name, Path(args.output) if args.output else None, args.from_scene)
    print(f"{path}: written; edit it, then check it with: pelvic-spread validate {path}")
    return 0


def cmd_atlas(args: argparse.Namespace) -> int:
    from app.atlas.cli import run_atlas

    return run_atlas(args)


# -- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pelvic-spread",
        description="Perineural tumour spread in the pelvis, in 3D: view, render, export.",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    scene_help = "scene file, or the name of a scene in scenes/ (default: the case)"

    s = sub.add_parser("serve", help="serve the scene in 3D in the browser")
    s.add_argument("scene", nargs="?", help=scene_help)
    s.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only; any other "
                        "lets every page that reaches it drive the shared view)")
    s.add_argument("--export-limit", type=_size, default=None, metavar="SIZE",
                   help="most the export folder may hold, e.g. 500M or 10G (default 2G); "
                        "browser exports are refused once it is full")
    s.add_argument("--lecture", action="store_true",
                   help="lecture mode: only the presenter's page drives; followers at /follow")
    s.add_argument("--presenter-key", default=None, metavar="KEY",
                   help="the presenter's key (default: a new random one each start)")
    s.add_argument("--relay", default=None, metavar="redis://HOST:PORT/N",
                   help="also publish the lecture to this Redis for `pelvic-spread relay`")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("relay", help="serve a lecture's followers from a Redis channel")
    s.add_argument("url", metavar="redis://HOST:PORT/N", help="the Redis the lecture uses")
    s.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 = any free)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.set_defaults(func=cmd_relay)

    s = sub.add_parser("validate", help="check scene files; exit 2 with FILE:LINE lines if not")
    s.add_argument("scenes", nargs="*", metavar="SCENE")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("info", help="print the scene tree")
    s.add_argument("scene", nargs="?", help=scene_help)
    s.add_argument("--json", action="store_true", help="machine-readable node list")
    s.set_defaults(func=cmd_info)

    def moment(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--time", type=float, help="animation seconds")
        g.add_argument("--date", help="calendar date YYYY-MM or YYYY-MM-DD")

    s = sub.add_parser("render", help="render an offscreen still (PNG)")
    s.add_argument("scene", nargs="?", help=scene_help)
    s.add_argument("-o", "--output", required=True, help="output .png")
    s.add_argument("--camera", default=None,
                   help="camera preset (default anterior; with --slab, the slab's own view)")
    s.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    moment(s)
    add_slab_arguments(s)
    s.add_argument("--captions", action=argparse.BooleanOptionalAction, default=True,
                   help="with a date or time: burn in the caption, legend and credit, as a "
                        "clip frame has them (default on)")
    s.set_defaults(func=cmd_render)

    s = sub.add_parser("mesh", help="write one node's geometry (scene mm)")
    s.add_argument("first", metavar="SCENE", help="scene (optional) then NODE_ID")
    s.add_argument("node", nargs="?", metavar="NODE_ID")
    s.add_argument("-o", "--output", required=True, help="output .vtp, .stl, .ply or .obj")
    s.add_argument("--centreline", action="store_true", help="write a nerve's centreline")
    s.set_defaults(func=cmd_mesh)

    s = sub.add_parser("state", help="the spread state at a moment")
    s.add_argument("scene", nargs="?", help=scene_help)
    moment(s)
    s.add_argument("--json", action="store_true", help="compact JSON on one line")
    s.set_defaults(func=cmd_state)

    s = sub.add_parser("export", help="export a clip (MP4, WebM, GIF or PNG frames)")
    s.add_argument("scene", nargs="?", help=scene_help)
    s.add_argument("-o", "--output",
                   help=".mp4 (H.264), .webm (VP9), .gif, or a folder for numbered PNGs; "
                        ".html: one offline page with the player; DIR/: a static site; "
                        ".glb (PowerPoint, web) or .usdz (Keynote): an animated 3D model")
    s.add_argument("--html", action="store_true",
                   help="write the player's static site into an existing folder")
    s.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    s.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    s.add_argument("--from", dest="start", metavar="T|DATE",
                   help="start: animation seconds or YYYY-MM[-DD] (default: the beginning)")
    s.add_argument("--to", dest="end", metavar="T|DATE", help="end (default: the end)")
    s.add_argument("--duration", type=float, metavar="SECONDS",
                   help="clip length: stretches the range (default: its own length)")
    s.add_argument("--camera", default=None,
                   help="preset name, or 'orbit' (default anterior; with --slab, the slab's view)")
    add_slab_arguments(s, clip=True)
    s.add_argument("--quality", type=int, default=None, help="0 (small) .. 10 (best)")
    s.add_argument("--captions", action=argparse.BooleanOptionalAction, default=True,
                   help="burn in date, stage, caption, PSA, legend and credit (default: on)")
    s.add_argument("--organs", action=argparse.BooleanOptionalAction, default=True,
                   help=".glb/.usdz 3D models: include the pelvic organs (default: on)")
    s.add_argument("--view", metavar="VIEW.json", default=None,
                   help="a saved view (the page's Save view): its camera, hidden structures, "
                        "opacities, colours and labels")
    s.add_argument("--progress-file", help=argparse.SUPPRESS)  # JSON progress for app.export.jobs
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("new-case", help="write a commented scene file for a case of your own")
    s.add_argument("name", help="the case's name, e.g. my_case (writes my_case.yaml)")
    s.add_argument("-o", "--output", default=None, help="where to write it (default NAME.yaml)")
    s.add_argument("--from", dest="from_scene", default=None, metavar="SCENE",
                   help="start from a copy of this scene's routes and timeline "
                        "(e.g. bilateral_plexopathy)")
    s.set_defaults(func=cmd_new_case)

    s = sub.add_parser("atlas", help="real anatomy atlases")
    asub = s.add_subparsers(dest="atlas_verb", metavar="ATLAS_VERB")
    a = asub.add_parser("import", help="write a scene using an atlas's meshes")
    a.add_argument("dir", metavar="DIR")
    a.add_argument("--format", choices=("bodyparts3d", "gltf", "auto"), default="auto")
    a.add_argument("--units", choices=("mm", "m", "auto"), default="auto")
    a.add_argument("--decimate", type=float, default=None, metavar="FRACTION")
    a.add_argument("--landmarks", default=None, help="landmark YAML file")
    a.add_argument("-o", "--output", required=True, help="scene file to write")
    s.set_defaults(func=cmd_atlas)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except SceneError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"pelvic-spread: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pelvic-spread: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so briefly
        if os.environ.get("PELVIC_SPREAD_DEBUG"):
            raise
        print(f"pelvic-spread: internal error: {type(exc).__name__}: {exc} "
              "(set PELVIC_SPREAD_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
