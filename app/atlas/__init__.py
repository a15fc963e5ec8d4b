"""Real anatomy atlases: import their meshes, find landmarks on their bones, fit our nerves.

``importer`` reads a folder (BodyParts3D STL/OBJ by FMA ID, Human Reference Atlas glTF by mesh
name) into LPS millimetres; ``landmarks`` finds landmarks on the bones; ``tps`` is the
thin-plate-spline warp; ``fit`` carries the model's nerves onto the atlas and corrects them
against the real bones; ``writer`` writes the scenes; ``cli`` is ``pelvic-spread atlas import``.
``surface`` is the one module here that talks to VTK.
"""
