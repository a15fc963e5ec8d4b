"""The browser-side player: a static bundle of a case that plays with no server.

``bundle.build_bundle(scene)`` packs the geometry (once per drawable node, quantised), the
arrival-time scalars, the timeline, the clinical record, the cameras and the legend into one
binary; ``static/player.js`` (built from ``player/`` by esbuild, with its own WebGL 2 renderer)
draws it and computes every frame itself. ``export`` writes it as one offline HTML file or a
static site.
"""

from app.player.bundle import Bundle, build_bundle, read_bundle

__all__ = ["Bundle", "build_bundle", "read_bundle"]
