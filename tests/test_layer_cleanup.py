"""A spread layer takes away what it added: scenario switches leave nothing behind in VTK.

The viewer's engine is driven directly (no browser, no trame): each switch drops one spread
layer and builds the next. What is counted: the render window's renderers and layers, every
renderer's props and the observers on the renderers, the window and the camera.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.case import DEFAULT_SCENE, SCENES_DIR
from app.render.scene_view import SceneView, make_plotter
from app.render.spread_layer import SpreadLayer

SWITCHES = 50
SCENARIOS = ("conus_route", "parallel_spread", "bilateral_plexopathy")


def observers(obj: Any) -> int:
    """Observers on a VTK object: tags are numbered from 1 per object, so probe them all."""
    probe = obj.AddObserver("UserEvent", lambda *_: None)
    obj.RemoveObserver(probe)
    return sum(obj.GetCommand(tag) is not None for tag in range(1, probe))


def inventory(plotter: Any) -> dict[str, Any]:
    """What the plotter's window holds: renderers (with their props and observers)."""
    window = plotter.render_window
    rens = window.GetRenderers()
    renderers = [rens.GetItemAsObject(i) for i in range(rens.GetNumberOfItems())]
    props = {}
    for k, ren in enumerate(renderers):
        items = ren.GetViewProps()
        props[k] = sorted(items.GetItemAsObject(i).GetAddressAsString("")
                          for i in range(items.GetNumberOfItems()))
    return {
        "renderers": [(r.GetAddressAsString(""), r.GetLayer()) for r in renderers],
        "layers": window.GetNumberOfLayers(),
        "props": props,
        "observers": {"window": observers(window), "camera": observers(plotter.camera),
                      **{f"renderer{k}": observers(r) for k, r in enumerate(renderers)}},
    }


@pytest.fixture(scope="module")
def engine():
    from app.web.engine import ViewerEngine

    eng = ViewerEngine(SCENES_DIR / "base_anatomy.yaml", size=(160, 100))
    yield eng
    eng.close()


def test_fifty_switches_leave_nothing_behind(engine):
    scene_only = inventory(engine.plotter)  # the anatomy, no spread layer
    engine.load(DEFAULT_SCENE)
    with_layer = inventory(engine.plotter)
    # the layer really adds something (else this test could not fail)
    assert len(with_layer["renderers"]) == len(scene_only["renderers"]) + 1
    assert with_layer["observers"]["renderer0"] > scene_only["observers"]["renderer0"]

    for i in range(SWITCHES):
        engine.load(SCENES_DIR / f"{SCENARIOS[i % len(SCENARIOS)]}.yaml")
        engine.set_time(engine.spread.duration * (i % 5) / 4)
        engine.plotter.render()
    engine.load(DEFAULT_SCENE)
    after = inventory(engine.plotter)
    assert after["observers"] == with_layer["observers"]
    assert after["layers"] == with_layer["layers"]
    assert len(after["renderers"]) == len(with_layer["renderers"])
    assert after["renderers"][0] == with_layer["renderers"][0]  # the scene's renderer stays
    assert after["props"][0] == with_layer["props"][0]  # the anatomy's actors, no more
    assert len(after["props"][len(after["props"]) - 1]) == len(
        with_layer["props"][len(with_layer["props"]) - 1])  # the new overlay: one layer's worth

    engine.load(SCENES_DIR / "base_anatomy.yaml")  # the anatomy alone again
    assert inventory(engine.plotter) == scene_only


def test_remove_restores_the_scene_view(case_scene):
    """Without the engine: the layer's own ``remove`` puts the view back as it found it."""
    plotter = make_plotter((96, 64))
    try:
        view = SceneView(case_scene, plotter)
        before = inventory(plotter)
        colours = {k: a.GetProperty().GetColor() for k, a in view.actors.items()}
        layer = SpreadLayer(view, case_scene.spread)
        layer.apply(case_scene.spread.state_at(case_scene.spread.duration))
        plotter.render()
        coloured = list(layer.nerve_actors)
        assert coloured and inventory(plotter) != before
        layer.remove()
        layer.remove()  # twice is harmless
        assert inventory(plotter) == before
        for node_id in coloured:
            assert not view.actors[node_id].GetMapper().GetScalarVisibility()
            assert "arrival" not in view.polydata[node_id].point_data
        assert {k: a.GetProperty().GetColor() for k, a in view.actors.items()} == colours
        plotter.render()  # still renders without the overlay
    finally:
        plotter.close()
