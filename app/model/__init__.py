"""Model layer: scene graph, scene files, meshes. numpy only (meshio/VTK only for file I/O)."""
