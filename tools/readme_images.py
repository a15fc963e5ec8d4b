"""Regenerate the README's pictures: the anatomy still and the strip of five dated moments.

    .venv/bin/python tools/readme_images.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from app.case import DEFAULT_SCENE, SCENES_DIR, load_scene
from app.render.still import FrameRenderer, render_still

OUT = Path(__file__).resolve().parents[1] / "assets" / "readme"
DATES = ("2011-06", "2012-03", "2013-08", "2013-11", "2014-04")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    render_still(load_scene(SCENES_DIR / "base_anatomy.yaml"), OUT / "anterior.png",
                 size=(1280, 720))
    scene = load_scene(DEFAULT_SCENE)
    w, h = 640, 360
    renderer = FrameRenderer(scene, (w, h), "anterior")
    try:
        tiles = [renderer.image(scene.spread.time_of_date(d)) for d in DATES]
    finally:
        renderer.close()
    strip = np.full((2 * h, 3 * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, 3)
        x = col * w + (w // 2 if row == 1 else 0)  # the second row is centred
        strip[row * h:(row + 1) * h, x:x + w] = tile
    Image.fromarray(strip).save(OUT / "spread_strip.png")
    print(OUT / "anterior.png", OUT / "spread_strip.png")


if __name__ == "__main__":
    main()
