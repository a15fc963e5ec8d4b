"""The player's bundle and the offline exports, without a browser (tests/e2e/test_player.py
has the browser side)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.case import load_scene
from app.errors import UserError
from app.model.loader import resolve_scene_path
from app.player.bundle import Bundle, _Arrays, build_bundle, read_bundle
from app.player.export import export_html, export_site, wants_player

ROOT = Path(__file__).resolve().parents[1]
MAX_HTML_BYTES = 6_000_000  # the case with the built-in anatomy, as one file


@pytest.fixture(scope="module")
def scene():
    return load_scene(resolve_scene_path(None))


@pytest.fixture(scope="module")
def bundle(scene):
    return build_bundle(scene, size=(960, 540))


def test_bundle_round_trips_and_holds_every_drawable(scene, bundle):
    back = read_bundle(bundle.to_bytes())
    assert back.header == bundle.header
    ids = {a["id"] for a in back.header["actors"] if a["kind"] == "node"}
    assert ids == {n.id for n in scene.drawable()}
    for a in back.header["actors"]:
        g = back.header["geoms"][a["geom"]]
        q = back.array(g["points"])
        tris = back.array(g["tris"])
        assert len(q) % 3 == 0 and len(tris) % 3 == 0 and len(tris) > 0
        assert tris.max() < len(q) // 3


def test_delta_coded_arrays_read_back_exactly_and_geometry_uses_them(bundle):
    rng = np.random.default_rng(7)
    arrays = _Arrays()
    cases = [  # jumps both ways, across the integer type's wrap
        (rng.integers(0, 65536, 300).astype(np.uint16), 3),
        (np.array([65535, 0, 1, 65534, 3, 3], np.uint16), 1),
        (rng.integers(-127, 128, 99).astype(np.int8), 3),
        (rng.integers(0, 2**32, 50, dtype=np.uint64).astype(np.uint32), 1),
    ]
    refs = [arrays.add(a, delta=k) for a, k in cases]
    back = Bundle({}, arrays.bytes())
    for (a, k), ref in zip(cases, refs, strict=True):
        assert ref["d"] == k
        assert back.array(ref).dtype == a.dtype
        assert np.array_equal(back.array(ref), a)
    with pytest.raises(ValueError, match="delta-code"):
        arrays.add(np.zeros(4, np.float32), delta=1)
    for g in bundle.header["geoms"]:
        assert g["points"]["d"] == 3 and g["tris"]["d"] == 1
        assert "normals" not in g or g["normals"]["d"] == 3


def test_quantised_positions_are_within_the_stated_error(scene, bundle):
    stated = bundle.header["quantisation"]["max_error_mm"]
    assert 0 < stated < 0.01  # uint16 in each surface's own box: micrometres
    for a in bundle.header["actors"]:
        if a["kind"] != "node":
            continue
        g = bundle.header["geoms"][a["geom"]]
        q = bundle.array(g["points"]).reshape(-1, 3).astype(np.float64)
        back = np.asarray(g["min"]) + q * np.asarray(g["step"])
        exact = np.asarray(scene.mesh(a["id"]).points, np.float64)
        if len(exact) == len(back):  # same vertices (no triangulation split)
            assert np.abs(back - exact).max() <= stated + 1e-9, a["id"]


def test_arrival_times_are_the_renderers(scene, bundle):
    """The browser colours nerves by the same arrival field ``SpreadLayer`` builds."""
    spread = scene.spread
    coloured = [a for a in bundle.header["actors"] if a["kind"] == "node" and "arrival" in a]
    assert {a["id"] for a in coloured} == set(spread.involved_nodes())
    for a in coloured[:5]:
        u = np.asarray(scene.mesh(a["id"]).point_data["u"])
        want = spread.arrival_for_u(a["id"], u)
        want = np.where(np.isfinite(want), want, 1e9)
        got = bundle.array(a["arrival"])
        assert np.allclose(got, want, rtol=1e-6, atol=1e-4), a["id"]


def test_timeline_record_legend_and_cameras_come_from_the_model(scene, bundle):
    h = bundle.header
    tl = h["timeline"]
    spread = scene.spread
    assert [s["id"] for s in tl["stages"]] == [s.id for s in spread.stages]
    for s, st in zip(tl["stages"], spread.stages, strict=True):
        assert s["time"] == pytest.approx(spread.keyframes.time_of_day(st.start_day))
    assert [(e["style"], e["text"]) for e in h["legend"]] == [
        (e.style, e.text) for e in spread.legend]
    values = tl["record"]["values"]
    assert [v["value"] for v in values] == [v.value for v in spread.record.values]
    assert all(v["text"] == spread.record.text(v["value"]) for v in values)
    assert [c["name"] for c in h["cameras"]] == list(scene.cameras)
    axial = next(c for c in h["cameras"] if c["name"] == "axial_s1")
    assert "l5" in axial["hide"]


def test_offline_html_is_one_file_under_the_size_limit(scene, tmp_path):
    out = tmp_path / "case.html"
    result = export_html(scene, out, size=(1280, 720))
    text = out.read_text(encoding="utf-8")
    assert result.bytes == out.stat().st_size <= MAX_HTML_BYTES
    # nothing that could reach out: no src/href to anything but the page itself or inline data
    # (the empty icon), a CSP that allows no fetch
    assert "default-src 'none'" in text
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", text)
    assert "http://" not in text.split("<script>")[0]
    m = re.search(r'<script id="ps-bundle" type="application/octet-stream">\s*(.*?)\s*</script>',
                  text, re.S)
    assert m, "the bundle is inline"
    raw = gzip.decompress(base64.b64decode("".join(m.group(1).split())))
    assert read_bundle(raw).header["name"] == scene.name
    assert [p.name for p in tmp_path.iterdir()] == ["case.html"]  # no temp left


def test_site_has_hashed_compressed_assets(scene, tmp_path):
    out = tmp_path / "site"
    result = export_site(scene, out)
    names = sorted(p.name for p in out.iterdir())
    assert "index.html" in names
    index = (out / "index.html").read_text()
    for pattern in (r"case\.[0-9a-f]{12}\.bin\.gz", r"player\.[0-9a-f]{12}\.js",
                    r"player\.[0-9a-f]{12}\.css"):
        name = next(n for n in names if re.fullmatch(pattern, n))
        assert name in index
        data = (out / name).read_bytes()
        assert name.split(".")[1] == hashlib.sha256(data).hexdigest()[:12]
    for n in names:
        if n.endswith((".js", ".css")):
            assert gzip.decompress((out / f"{n}.gz").read_bytes()) == (out / n).read_bytes()
    assert result.bytes == sum((out / n).stat().st_size for n in names)
    # the same case again: the same names (a cache keeps them), index.html rewritten
    export_site(scene, out)
    assert sorted(p.name for p in out.iterdir()) == names


def test_output_shapes():
    assert wants_player("case.html") and wants_player("site/")
    assert wants_player("existing", html_flag=True)
    assert not wants_player("frames") and not wants_player("clip.mp4")


def test_bad_targets_are_clear_errors(scene, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        export_html(scene, tmp_path / "missing" / "case.html")
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        export_html(scene, tmp_path / "dir.html")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        export_site(scene, tmp_path / "file")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_cli_writes_a_page_and_refuses_bad_input(tmp_path):
    out = tmp_path / "case.html"
    r = _cli("export", str(out), "--camera", "posterior", "--size", "800x600")
    assert r.returncode == 0, r.stderr
    assert out.exists() and "wrote" in r.stderr and "Traceback" not in r.stderr
    r = _cli("export", str(tmp_path / "nowhere" / "x.html"))
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = _cli("export", str(tmp_path / "y.html"), "--camera", "nope")
    assert r.returncode != 0 and "unknown camera 'nope'" in r.stderr
    assert not (tmp_path / "y.html").exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    r = _cli("export", "-o", str(plain), "--html")
    assert r.returncode == 0, r.stderr
    assert (plain / "index.html").exists()


MAX_ATLAS_HTML_BYTES = 15_000_000  # the case on an imported BodyParts3D atlas, as one file


def test_case_on_the_bodyparts3d_atlas_fits_one_file(tmp_path):
    """Real bones (read from ../shared/anatomy, skipped where absent) stay under 15 MB at the
    same quantisation (no decimation needed)."""
    from app.atlas.cli import import_scene
    from tests.conftest import require_anatomy

    root = require_anatomy("bodyparts3d")
    case = tmp_path / "bp3d.yaml"
    import_scene(root, case)
    atlas = load_scene(case)
    out = tmp_path / "atlas.html"
    result = export_html(atlas, out)
    print(f"atlas case: {result.bytes / 1e6:.2f} MB, bundle {result.bundle_bytes / 1e6:.2f} MB "
          f"({result.bundle_gz_bytes / 1e6:.2f} MB compressed), positions within "
          f"{result.max_error_mm:.4f} mm")
    assert out.stat().st_size <= MAX_ATLAS_HTML_BYTES
    assert result.max_error_mm < 0.01
    assert any(n.geometry is not None and n.geometry.file is not None
               for n in atlas.nodes.values()), "the atlas's own meshes are in"


def test_closed_outward_surfaces_are_marked_for_culling(bundle):
    """Back faces may be skipped only on a surface that encloses a volume and faces out."""
    from app.player.bundle import closed_outward

    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    tet = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])  # faces out
    assert closed_outward(pts, tet)
    assert not closed_outward(pts, tet[:, ::-1])  # faces in
    assert not closed_outward(pts, tet[:3])  # a hole
    assert not closed_outward(pts, np.vstack([tet, tet[:1]]))  # a face twice
    flip = tet.copy()
    flip[0] = flip[0, ::-1]
    assert not closed_outward(pts, flip)  # one face turned the wrong way
    h = bundle.header
    closed = {a["id"] for a in h["actors"] if h["geoms"][a["geom"]].get("closed")}
    assert {"sacrum", "hip_l", "hip_r", "prostate", "sciatic_l", "bladder"} <= closed
