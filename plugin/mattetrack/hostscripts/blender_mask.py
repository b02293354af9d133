"""Roto shapes as an animated Blender Mask, built from the core's plan (standard library + bpy).

The plan (`mattetrack.shapes.blender.mask_plan`) is already in Blender's mask space and says
which layer holds which shape, its blend mode, its keys and when it is hidden; this module
only writes it into Blender. One layer per shape with one cyclic spline whose points have FREE
handles; the points' `co`, `handle_left` and `handle_right` are animated with linear F-curves
(Blender's mask rasterisation evaluates them; bpy 5.0.1), and `hide_render` with stepped keys.

As a script it builds the plan into a fresh file and saves it:
    blender -b --factory-startup --python mask.py -- plan.json out.blend
    python mask.py plan.json out.blend          (a Python that can import bpy)
"""

from __future__ import annotations

import json
import sys

import bpy

PLAN_FORMAT = "mattetrack-blender-mask"
_POINT_PROPS = ("co", "handle_left", "handle_right")
_INTERPOLATION = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items


def _fcurve(mask: bpy.types.Mask, path: str, index: int, group: str) -> bpy.types.FCurve:
    action = mask.animation_data.action
    if hasattr(action, "fcurve_ensure_for_datablock"):  # Blender 4.4+ (slotted actions)
        return action.fcurve_ensure_for_datablock(mask, path, index=index, group_name=group)
    return (action.fcurves.find(path, index=index)  # older Blender: unverified here
            or action.fcurves.new(path, index=index, action_group=group))


def _key(fcurve: bpy.types.FCurve, frames: list[int], values: list[float],
         interpolation: str) -> None:
    """Keys (frame, value) on `fcurve`, all with one interpolation."""
    points = fcurve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", [v for pair in zip(frames, values, strict=True) for v in pair])
    points.foreach_set("interpolation", [_INTERPOLATION[interpolation].value] * len(frames))
    fcurve.update()


def _set_points(spline: bpy.types.MaskSpline, rows: list[list[float]]) -> None:
    for point, row in zip(spline.points, rows, strict=True):
        point.co, point.handle_left, point.handle_right = row[0:2], row[2:4], row[4:6]


def _add_layer(mask: bpy.types.Mask, spec: dict) -> None:
    layer = mask.layers.new(name=spec["name"])
    layer.blend = spec["blend"]
    spline = layer.splines.new()  # a new spline already has one point
    spline.use_cyclic = True
    frames, keyed = spec["frames"], spec["points"]
    spline.points.add(count=len(keyed[0]) - 1)
    for point in spline.points:
        point.handle_type = "FREE"
    _set_points(spline, keyed[0])
    base = layer.path_from_id()  # layers["name"], with the name Blender actually gave it
    if len(frames) > 1:
        for k in range(len(spline.points)):
            for p, prop in enumerate(_POINT_PROPS):
                for axis in range(2):
                    curve = _fcurve(mask, f"{base}.splines[0].points[{k}].{prop}", axis,
                                    layer.name)
                    _key(curve, frames, [rows[k][2 * p + axis] for rows in keyed], "LINEAR")
    if spec["hidden"]:
        layer.hide_render = spec["hidden"][0][1]
        curve = _fcurve(mask, f"{base}.hide_render", 0, layer.name)
        _key(curve, [f for f, _ in spec["hidden"]], [float(h) for _, h in spec["hidden"]],
             "CONSTANT")


def build_mask(plan: dict, name: str = "MatteTrack") -> bpy.types.Mask:
    """A new Mask datablock holding the plan's layers (bottom of the stack first)."""
    if plan.get("format") != PLAN_FORMAT:
        raise ValueError(f"not a {PLAN_FORMAT} plan")
    mask = bpy.data.masks.new(name=name)
    mask.frame_start, mask.frame_end = plan["frame_start"], plan["frame_end"]
    mask.animation_data_create()
    mask.animation_data.action = bpy.data.actions.new(name=f"{mask.name}Action")
    for obj in plan["objects"]:
        for spec in obj["layers"]:
            _add_layer(mask, spec)
    return mask


def read_mask(mask: bpy.types.Mask, frame: int) -> list[dict]:
    """The mask as Blender evaluates it on `frame` (the scene is moved there): per layer
    {"name", "hide_render", "splines": [[[co x, y, handle_left x, y, handle_right x, y], ...]]},
    in Blender's mask space."""
    bpy.context.scene.frame_set(frame)
    evaluated = mask.evaluated_get(bpy.context.evaluated_depsgraph_get())
    layers = []
    for layer in evaluated.layers:
        splines = []
        for spline in layer.splines:
            n = len(spline.points)
            flat = {}
            for prop in _POINT_PROPS:
                flat[prop] = [0.0] * (2 * n)
                spline.points.foreach_get(prop, flat[prop])
            splines.append([[v for prop in _POINT_PROPS for v in flat[prop][2 * i:2 * i + 2]]
                            for i in range(n)])
        layers.append({"name": layer.name, "hide_render": layer.hide_render,
                       "splines": splines})
    return layers


def main(argv: list[str]) -> None:
    """`plan.json out.blend` (after `--` under the blender binary): build into a fresh file
    whose scene matches the plate (size, frame range) and save it."""
    args = argv[argv.index("--") + 1:] if "--" in argv else argv[1:]
    if len(args) != 2:
        raise SystemExit("usage: mask.py plan.json out.blend")
    with open(args[0], encoding="utf-8") as f:
        plan = json.load(f)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = plan["width"], plan["height"]
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.frame_start, scene.frame_end = plan["frame_start"], plan["frame_end"]
    scene.frame_current = plan["frame_start"]
    build_mask(plan)
    bpy.ops.wm.save_as_mainfile(filepath=args[1], check_existing=False)


if __name__ == "__main__":
    main(sys.argv)
