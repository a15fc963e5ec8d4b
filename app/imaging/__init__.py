"""Imaging correlation, pure numpy (no VTK): slabs, plane sections and the schematic MR panel.

A :class:`~app.model.slab.Slab` is an axial, coronal or sagittal band of the scene at a position
and thickness (``axial:S1``, ``axial:z=-40,thickness=6``); it lives in the model layer because
the scene file's imaging findings name slabs too. :mod:`app.imaging.section`
cuts closed surfaces with a plane into loops (what 3D caps and the panel both use), and
:mod:`app.imaging.panel` draws the section like an axial T1 post-contrast image at a moment of
the spread. ``app.render.slab`` puts the same slab into a VTK view.
"""

from app.model.slab import LEVELS, ORIENTATIONS, Slab, SlabError, parse_slab

__all__ = ["LEVELS", "ORIENTATIONS", "Slab", "SlabError", "parse_slab"]
