"""MatteTrack for Blender (standard library + bpy only).

`mask`: roto shapes as an animated Mask datablock, built from the plan that the core writes
(`mattetrack.shapes.blender.mask_plan`); also runnable as a script that saves a `.blend`.
"""
