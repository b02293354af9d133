"""Run inside real bpy: pick objects through Blender's own Cryptomatte node, as an artist would.

    python-with-bpy bpy_cryptomatte.py JOBS.json

JOBS.json: [{"path": EXR, "layer": Cryptomatte type name, "name": object, "size": [w, h],
"out": EXR}]. For each job: the EXR loaded as an Image, a compositor node group with a
CryptomatteV2 node (source Image, that layer, matte id = the object's name) whose Matte output
is the group's output, rendered at `size` (the file's display window) and written to `out`
(float32 RGBA). Prints one JSON line per job: {"out", "layers": the layer names the node offers}.
A job with "socket" instead renders that output of an Image node on the file (the plate's own
pixels as Blender places them; {"out", "sockets"}).
"""

import json
import sys

import bpy


def _load(job: dict):
    """The file as an Image; with "colorspace" (e.g. Non-Color, how data passes are loaded)
    instead of the one Blender picks (an EXR's chromaticities can make it ACES2065-1)."""
    image = bpy.data.images.load(job["path"], check_existing=False)
    if job.get("colorspace"):
        image.colorspace_settings.name = job["colorspace"]
    return image


def show(job: dict) -> dict:
    """The image's own pixels as Blender places them: its Image node's `socket` output (the
    first with the name, for a multilayer file's layer) rendered at `size`."""
    scene = bpy.context.scene
    image = _load(job)
    tree = bpy.data.node_groups.new("show", "CompositorNodeTree")
    scene.compositing_node_group = tree
    node = tree.nodes.new("CompositorNodeImage")
    node.image = image
    sockets = [o.name for o in node.outputs]
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(node.outputs[job["socket"]], out.inputs[0])
    _render(scene, job)
    bpy.data.node_groups.remove(tree)
    bpy.data.images.remove(image)
    return {"out": job["out"], "sockets": sockets}


def _render(scene, job: dict) -> None:
    render = scene.render
    render.resolution_x, render.resolution_y = job["size"]
    render.resolution_percentage = 100
    render.engine = "BLENDER_WORKBENCH"
    render.image_settings.file_format = "OPEN_EXR"
    render.image_settings.color_depth = "32"
    render.filepath = job["out"]
    bpy.ops.render.render(write_still=True)


def pick(job: dict) -> dict:
    if "socket" in job:
        return show(job)
    scene = bpy.context.scene
    image = _load(job)
    colorspace = image.colorspace_settings.name
    tree = bpy.data.node_groups.new("pick", "CompositorNodeTree")
    scene.compositing_node_group = tree
    node = tree.nodes.new("CompositorNodeCryptomatteV2")
    node.source = "IMAGE"
    node.image = image
    try:  # the error lists the layers the node found in the image
        node.layer_name = "\x01"
    except TypeError as err:
        offered = str(err).split(" not found in ")[-1]
    node.layer_name = job["layer"]
    node.matte_id = job["name"]
    tree.interface.new_socket("Matte", in_out="OUTPUT", socket_type="NodeSocketColor")
    out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(node.outputs["Matte"], out.inputs[0])
    _render(scene, job)
    bpy.data.node_groups.remove(tree)
    bpy.data.images.remove(image)
    return {"out": job["out"], "layers": offered, "colorspace": colorspace}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        print(json.dumps(pick(job)), flush=True)
