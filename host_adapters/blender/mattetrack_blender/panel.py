"""The sidebar panel (N panel, tab "MatteTrack") in the Movie Clip and Image editors."""

from __future__ import annotations

import bpy

from . import operators


class MATTETRACK_UL_objects(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname,
                  index=0, flt_flag=0) -> None:
        row = layout.row()
        row.label(text=item.name, icon="OBJECT_DATA")
        row.label(text=item.keyframes or "no points")
        row.prop(item, "in_front", text="", icon="HIDE_OFF" if item.in_front else "HIDE_ON",
                 emboss=False)


def _draw(layout: bpy.types.UILayout, context: bpy.types.Context) -> None:
    props = context.scene.mattetrack
    col = layout.column()
    col.operator("mattetrack.connect", icon="LINKED")
    if not props.session:
        col.label(text="Open a clip or image sequence, then Connect")
        return
    col.label(text=f"{props.session}: {props.width} x {props.height}, "
                   f"{props.first_frame}-{props.last_frame}")
    col.label(text=f"Frame {operators.current_file_frame(context.scene)} of the plate")
    row = col.row()
    row.template_list("MATTETRACK_UL_objects", "", props, "objects", props, "active_object",
                      rows=3)
    col.operator("mattetrack.add_object", icon="ADD")
    col.separator()
    col.prop(props, "point_mode", expand=True)
    col.prop(props, "stroke_width")
    col.operator("mattetrack.click_points", icon="RESTRICT_SELECT_OFF")
    row = col.row(align=True)
    row.operator("mattetrack.clear_points", icon="X")
    row.operator("mattetrack.refresh_preview", icon="FILE_REFRESH")
    col.prop(props, "show_preview")
    col.separator()
    col.prop(props, "output")
    row = col.row(align=True)
    row.operator("mattetrack.propagate", icon="PLAY")
    row.operator("mattetrack.cancel", icon="CANCEL")
    col.operator("mattetrack.send_to_farm", icon="NETWORK_DRIVE")
    col.operator("mattetrack.clean_plate", icon="IMAGE_BACKGROUND")
    col.operator("mattetrack.clean_plate_on_farm", icon="NETWORK_DRIVE")
    if props.state != "idle":
        col.progress(factor=props.progress / 100.0, text=f"{props.state} {props.progress:.0f} %")
    if props.message:
        col.label(text=props.message, icon="INFO")
    col.separator()
    col.operator("mattetrack.import_mattes", icon="IMPORT")
    col.prop(props, "background")
    col.prop(props, "background_color")
    col.operator("mattetrack.build_compositor", icon="NODE_COMPOSITING")


class MATTETRACK_PT_clip(bpy.types.Panel):
    bl_label = "MatteTrack"
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "MatteTrack"

    def draw(self, context: bpy.types.Context) -> None:
        _draw(self.layout, context)


class MATTETRACK_PT_image(bpy.types.Panel):
    bl_label = "MatteTrack"
    bl_space_type = "IMAGE_EDITOR"
    bl_region_type = "UI"
    bl_category = "MatteTrack"

    def draw(self, context: bpy.types.Context) -> None:
        _draw(self.layout, context)


_CLASSES = (MATTETRACK_UL_objects, MATTETRACK_PT_clip, MATTETRACK_PT_image)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
