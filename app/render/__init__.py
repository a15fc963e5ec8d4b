"""Render layer: the only place that builds VTK/pyvista objects from the model."""
