"""The slab in the browser player: ``player.setSlab(slab_message)`` draws what ``render --slab``
draws (clipped surfaces, caps, mass discs, the faint context), within the project's tolerance.

The message is the one the page's server sends per move (``app.render.slab.slab_message``
without the panel); the player is the offline page's (``export case.html``) in frame mode.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.e2e import test_player as tp
from tests.e2e.test_player import OUTPUT, ROOT, SIZE, canvas_pixels, open_player
from tests.imagecmp import compare

# the player tests' fixtures: one exported case.html and one Chromium per module
scene, case_html, chromium = tp.scene, tp.case_html, tp.chromium

DATE = "2013-08"  # the mass fills the sacral canal: both faces of the S1 slab cut it


def _message(case, spec: str) -> dict:
    from app.model.slab import parse_slab
    from app.render.slab import CapMaker, slab_message

    slab = parse_slab(spec, case.landmarks)
    maker = CapMaker(case, [n.id for n in case.drawable()], case.spread)
    ghosts = [n.id for n in case.drawable() if "skeletal" in n.systems]
    return json.loads(json.dumps(slab_message(slab, maker.caps(slab), ghosts=ghosts)))


def _camera(case, spec: str) -> dict:
    from app.model.slab import parse_slab
    from app.render.slab import slab_camera

    c = slab_camera(case, parse_slab(spec, case.landmarks))
    return {"position": list(c.position), "focalPoint": list(c.focal_point),
            "viewUp": list(c.view_up), "viewAngle": c.view_angle}


@pytest.mark.parametrize("spec", ["axial:S1,thickness=6", "axial:S1,thickness=6,context=faint"])
def test_player_slab_matches_render(chromium, case_html, scene, tmp_path, spec):
    name = spec.replace(":", "_").replace(",", "_").replace("=", "")
    ref = tmp_path / f"render_{name}.png"
    r = subprocess.run([sys.executable, "-m", "app", "render", "--date", DATE, "--slab", spec,
                        "--size", f"{SIZE[0]}x{SIZE[1]}", "--no-captions", "-o", str(ref)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    message = _message(scene, spec)
    assert len(json.dumps(message)) < 60_000
    page = open_player(chromium, f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}&date={DATE}",
                       size=SIZE)
    try:
        whole = canvas_pixels(page)
        out = page.evaluate("([m, c]) => { const p = window.pelvic.player; "
                            "p.setCamera(c, {animate: false}); return p.setSlab(m); }",
                            [message, _camera(scene, spec)])
        assert out["clipped"] == len(page.evaluate("window.pelvic.player.header.actors"))
        assert out["caps"] == len(message["caps"]) > 10
        img = canvas_pixels(page)
        # off again: the whole scene from the same camera, no caps left behind
        page.evaluate("() => window.pelvic.player.setSlab(null)")
        off = canvas_pixels(page)
        page.evaluate("([m]) => window.pelvic.player.setSlab(m)", [message])
        again = canvas_pixels(page)
        assert page.errors == []
    finally:
        page.close()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(OUTPUT / f"player_slab_{name}.png")
    Image.fromarray(again).save(OUTPUT / f"player_slab_{name}_again.png")
    Image.open(ref).save(OUTPUT / f"render_slab_{name}.png")
    diff = np.abs(img.astype(np.int16) - np.asarray(Image.open(ref).convert("RGB"), np.int16))
    print(f"{spec}: mean abs diff {diff.mean():.2f}, "
          f"{(diff.max(axis=2) > 40).mean():.2%} pixels changed")
    assert np.abs(off.astype(int) - img.astype(int)).mean() > 3.0, "the slab shows"
    assert not np.array_equal(whole, img)
    same = np.abs(again.astype(int) - img.astype(int))
    print(f"  set again: mean {same.mean():.3f}, max {same.max()}")
    assert same.mean() < 0.5, "a second setSlab draws the same picture"
    compare(img, ref)


def test_moving_the_slab_again_and_again_holds_no_more_gpu_objects(chromium, case_html, scene):
    """Each slab move replaces the caps (new surfaces on the GPU): a lecture that moves the slab
    all hour must free the old ones. Alternating two slabs, the view holds the same buffers,
    vertex arrays and textures after the tenth move as after the second; the faint context and
    the mass discs, made on the first move, stay for the next."""
    thin, thick = (_message(scene, f"axial:S1,thickness={t},context=faint") for t in (6, 12))
    assert len(thin["caps"]) > 10 and len(thick["caps"]) > 10
    page = open_player(chromium, f"{case_html.as_uri()}?frame={SIZE[0]}x{SIZE[1]}&date={DATE}",
                       size=SIZE)
    try:
        counts = page.evaluate("""([a, b]) => {
            const p = window.pelvic.player, out = [p.gpuObjects()];
            for (let i = 0; i < 10; i++) { p.setSlab(i % 2 ? b : a); p.render();
                                           out.push(p.gpuObjects()); }
            p.setSlab(null); p.render(); out.push(p.gpuObjects());
            return out; }""", [thin, thick])
        assert page.errors == []
    finally:
        page.close()
    before, moves, after = counts[0], counts[1:-1], counts[-1]
    assert moves[1]["buffers"] > before["buffers"]  # caps, context and discs on the GPU
    assert moves[9] == moves[1] and moves[8] == moves[2], moves
    assert after["vaos"] < moves[9]["vaos"] and after["textures"] == before["textures"]
