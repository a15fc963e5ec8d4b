"""The spread layer, offscreen: built once, uniforms per frame, pictures against references.

Reference pictures use the synthetic nerve network (test_spread_support), so they test the
spread drawing and not the anatomy, which has its own reference image.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REFERENCES
from imagecmp import compare
from test_spread_support import load_synthetic

SIZE = (480, 270)
CAMERA = {"position": (0.0, -430.0, -50.0), "focal_point": (0.0, 0.0, -50.0),
          "view_up": (0.0, 0.0, 1.0)}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return load_synthetic(tmp_path_factory.mktemp("render"))


def make_renderer(scene):
    from app.render.still import FrameRenderer

    r = FrameRenderer(scene, SIZE, camera="anterior")
    cam = r.plotter.camera
    cam.position, cam.focal_point, cam.up = CAMERA["position"], CAMERA["focal_point"], \
        CAMERA["view_up"]
    r.plotter.renderer.ResetCameraClippingRange()
    return r


@pytest.fixture(scope="module")
def renderer(scene):
    r = make_renderer(scene)
    yield r
    r.close()


@pytest.mark.parametrize("date", ["2012-03", "2014-04"])
def test_picture_matches_reference(scene, renderer, date):
    image = renderer.image(scene.spread.time_of_date(date))
    compare(image, REFERENCES / f"spread_{date}.png", max_mean=3.0, max_changed=0.02)


def test_nothing_is_rebuilt_per_frame(scene, renderer):
    layer = renderer.layer
    view = renderer.view
    renderers = list(renderer.plotter.render_window.GetRenderers())

    def snapshot():
        props = sum(ren.GetViewProps().GetNumberOfItems() for ren in renderers)
        data = {k: (id(p), p.GetPoints().GetMTime(),
                    p.GetPointData().GetArray("arrival").GetMTime())
                for k, p in list(view.polydata.items()) + [
                    (f"arrows:{s}", p) for s, p in layer.arrow_polydata.items()]
                if p.GetPointData().GetArray("arrival") is not None}
        mappers = {a.GetMapper().GetInput().GetAddressAsString("vtkDataObject")
                   for a in layer.animated_actors()}
        return props, data, mappers

    renderer.image(1.0)
    before = snapshot()
    for t in np.linspace(0, scene.spread.duration, 9):
        renderer.image(float(t))
    assert snapshot() == before


def test_uniforms_follow_time_and_are_plain_data(scene, renderer):
    layer = renderer.layer
    sp = scene.spread
    t = sp.time_of_date("2013-11")
    u = layer.uniforms(sp.state_at(t))
    json.dumps(u)  # plain numbers and strings only
    assert u["nerve_range"] == [t - sp.lead_time, t]
    assert u["label"].startswith("2013-11-01")
    layer.apply(sp.state_at(t))
    for lut in layer.nerve_luts.values():
        assert lut.GetRange() == pytest.approx((t - sp.lead_time, t))
    heads = u["heads"]
    assert heads["bridge_right_s1"]["visible"] is True
    assert heads["left_l4_root"]["visible"] is True
    early = layer.uniforms(sp.state_at(sp.time_of_date("2012-03")))
    assert early["heads"]["bridge_right_s1"]["visible"] is False
    assert early["masses"]["sacral_canal_mass"]["visible"] is False


def test_static_arrays_cover_involved_nerves_and_arrows(scene, renderer):
    arrays = renderer.layer.static_arrays()
    nerves = {k.split(":", 1)[1] for k in arrays if k.startswith("nerve:")}
    assert nerves == set(scene.spread.involved_nodes())
    assert {"arrows:solid", "arrows:dashed"} <= set(arrays)
    for entry in arrays.values():
        values = entry["values"]
        assert np.all(np.isfinite(values))
        assert values.min() >= 0
    from app.render.spread_layer import NEVER

    sac = arrays["nerve:dural_sac"]["values"]  # only its lower part is ever reached
    assert sac.max() == NEVER and sac.min() < scene.spread.duration


def test_seeking_gives_the_same_picture(scene, renderer):
    sp = scene.spread
    t = sp.time_of_date("2013-08")
    renderer.image(sp.duration)
    after_seek_back = renderer.image(t)
    fresh = make_renderer(scene)
    try:
        direct = fresh.image(t)
    finally:
        fresh.close()
    assert np.abs(after_seek_back.astype(int) - direct.astype(int)).mean() < 0.5


def test_uninvolved_nerves_keep_their_colour(scene, renderer):
    layer = renderer.layer
    view = renderer.view
    for node_id in ("ramus_s4_l", "pelvic_splanchnic_r"):
        assert node_id not in layer.nerve_actors
        assert not view.actors[node_id].GetMapper().GetScalarVisibility()
