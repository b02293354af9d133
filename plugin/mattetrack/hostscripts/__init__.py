"""Scripts that run inside a host's own Python (Blender's `bpy`), shipped with the package so an
installed wheel can hand them to the host. The core never imports them: it runs them as files
(`mattetrack.shapes.blender.write_blend`), and the Blender extension carries a copy."""
