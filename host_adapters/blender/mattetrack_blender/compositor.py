"""Mattes into Blender: the EXR sequence as an Image, and a Blender 5.0 compositor node group for
background replacement (plate, Set Alpha with the object's matte, Alpha Over a background,
Group Output).

Verified with bpy 5.0.1: node types `CompositorNodeMovieClip`, `CompositorNodeImage`,
`CompositorNodeSetAlpha` (inputs Image, Alpha, Type = 'Apply Mask'), `CompositorNodeAlphaOver`
(inputs Background, Foreground, Factor, Type, Straight Alpha), `CompositorNodeRGB` (output
Color), `NodeGroupOutput`; a matte EXR with channel `blob.A` gives the Image node an output
named `blob`.
"""

from __future__ import annotations

import bpy

from . import logic

TREE = "MatteTrack"
MATTES = "MatteTrack Mattes"
BACKGROUND = "MatteTrack Background"


def image_at(name: str, path: str) -> bpy.types.Image:
    """The Image datablock `name`, loaded from `path` (an existing one is pointed at it and
    reloaded, so nodes and editors showing it follow)."""
    image = bpy.data.images.get(name)
    if image is None:
        image = bpy.data.images.load(path, check_existing=False)
        image.name = name
    else:
        image.filepath = path
        image.reload()
    return image


def load_sequence(name: str, first_file: str, non_color: bool = False) -> bpy.types.Image:
    """An Image datablock `name` reading the sequence whose first file is `first_file`."""
    image = image_at(name, first_file)
    image.source = "SEQUENCE"
    if non_color:
        image.colorspace_settings.name = "Non-Color"
    image.reload()
    return image


def set_image_user(target: object, first_file: int, count: int, scene_first: int) -> None:
    """Frame settings of an Image node or an ImageUser (both have frame_start, frame_offset,
    frame_duration)."""
    for key, value in logic.image_user_for(first_file, count, scene_first).items():
        setattr(target, key, value)


def _image_node(tree: bpy.types.NodeTree, image: bpy.types.Image, first_file: int, count: int,
                scene_first: int, label: str, location: tuple[int, int]) -> bpy.types.Node:
    node = tree.nodes.new("CompositorNodeImage")
    node.image = image
    node.label = label
    node.location = location
    if image.source == "SEQUENCE":
        set_image_user(node, first_file, count, scene_first)
    return node


def build_compositor(scene: bpy.types.Scene, plate: bpy.types.ID, mattes: bpy.types.Image,
                     object_name: str, first_file: int, count: int, delta: int,
                     background: bpy.types.Image | None = None,
                     color: tuple[float, float, float, float] = (0.1, 0.6, 0.1, 1.0)
                     ) -> bpy.types.NodeTree:
    """The node group `MatteTrack` (replaced if there) as the scene's compositor: `plate` (a
    MovieClip or an Image sequence) with `object_name`'s matte as alpha, over `background` (an
    Image) or a colour. `delta`: file frame = scene frame + delta."""
    old = bpy.data.node_groups.get(TREE)
    if old is not None:
        bpy.data.node_groups.remove(old)
    tree = bpy.data.node_groups.new(TREE, "CompositorNodeTree")
    scene_first = logic.scene_frame(first_file, delta)
    if isinstance(plate, bpy.types.MovieClip):
        source = tree.nodes.new("CompositorNodeMovieClip")
        source.clip = plate
        source.location = (-600, 200)
    else:
        source = _image_node(tree, plate, first_file, count, scene_first, "Plate", (-600, 200))
    matte = _image_node(tree, mattes, first_file, count, scene_first, "Matte", (-600, -100))
    names = [s.name for s in matte.outputs if s.enabled]
    socket = logic.matte_socket(names, object_name)
    if socket is None:
        raise ValueError(f"MatteTrack: no pass {object_name!r} in {mattes.filepath} "
                         f"(it has {', '.join(names)})")
    set_alpha = tree.nodes.new("CompositorNodeSetAlpha")
    set_alpha.location = (-300, 100)
    set_alpha.inputs["Type"].default_value = "Apply Mask"  # premultiplied: RGB times the matte
    tree.links.new(source.outputs["Image"], set_alpha.inputs["Image"])
    tree.links.new(matte.outputs[socket], set_alpha.inputs["Alpha"])
    if background is not None:
        back = _image_node(tree, background, first_file, count, scene_first, "Background",
                           (-300, 350))
        back_out = back.outputs["Image"]
    else:
        back = tree.nodes.new("CompositorNodeRGB")
        back.label = "Background"
        back.location = (-300, 350)
        back.outputs["Color"].default_value = color
        back_out = back.outputs["Color"]
    over = tree.nodes.new("CompositorNodeAlphaOver")
    over.location = (0, 200)
    tree.links.new(back_out, over.inputs["Background"])
    tree.links.new(set_alpha.outputs["Image"], over.inputs["Foreground"])
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    out = tree.nodes.new("NodeGroupOutput")
    out.location = (250, 200)
    tree.links.new(over.outputs["Image"], out.inputs[0])
    scene.compositing_node_group = tree
    scene.render.use_compositing = True
    return tree
