"""Run by a Python with bpy (not by pytest): opens `.blend` files written by `write_blend`, reads
each Mask back on given frames and renders it through Blender's compositor Mask node.

    python bpy_check.py job.json
job.json: [{"blend": path, "frames": [...], "out": folder, "scale": s}, ...]. Writes, per job,
`out/read.json` ({"scene": {...}, "mask": {...}, "frames": {frame: read_mask(...)}}) and
`out/<frame>.exr`: the Mask node's output (float32, in R) at the scene's size times `scale`
(default 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bpy

# The core's Mask builder, on PYTHONPATH (test_mask_bpy.py puts its folder there).
from blender_mask import read_mask


def _compositor(scene: bpy.types.Scene, mask: bpy.types.Mask) -> None:
    """Scene output = the Mask node (scene size, no feather, no motion blur)."""
    tree = bpy.data.node_groups.new("MatteTrackCheck", "CompositorNodeTree")
    node = tree.nodes.new("CompositorNodeMask")
    node.mask = mask
    node.inputs["Feather"].default_value = False
    node.inputs["Motion Blur"].default_value = False
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(node.outputs["Mask"], out.inputs[0])
    scene.compositing_node_group = tree
    scene.render.use_compositing = True
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"


def run(job: dict) -> None:
    bpy.ops.wm.open_mainfile(filepath=job["blend"])
    scene = bpy.context.scene
    (mask,) = bpy.data.masks
    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "scene": {"size": [scene.render.resolution_x, scene.render.resolution_y],
                  "percentage": scene.render.resolution_percentage,
                  "range": [scene.frame_start, scene.frame_end]},
        "mask": {"name": mask.name, "range": [mask.frame_start, mask.frame_end],
                 "handle_types": sorted({p.handle_type for la in mask.layers
                                         for s in la.splines for p in s.points}),
                 "cyclic": all(s.use_cyclic for la in mask.layers for s in la.splines),
                 "blend": [la.blend for la in mask.layers]},
        "frames": {},
    }
    _compositor(scene, mask)
    scale = job.get("scale", 1)
    scene.render.resolution_x *= scale
    scene.render.resolution_y *= scale
    for frame in job["frames"]:
        result["frames"][str(frame)] = read_mask(mask, frame)
        scene.render.filepath = str(out / f"{frame}.exr")
        bpy.ops.render.render(write_still=True)
    (out / "read.json").write_text(json.dumps(result))


if __name__ == "__main__":
    for job in json.loads(Path(sys.argv[-1]).read_text()):
        run(job)
