"""The add-on's preferences (service URL, token file) and its per-scene state
(`scene.mattetrack`)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

DEFAULT_URL = "http://127.0.0.1:8765"


class MatteTrackPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    url: StringProperty(name="Service URL", default=DEFAULT_URL,
                        description="Where `mattetrack serve` listens")
    token_file: StringProperty(
        name="Token file", subtype="FILE_PATH", default="",
        description="The service's token file (empty: $MATTETRACK_CONFIG, else "
        "~/.config/mattetrack/token, as the service writes it)")

    def draw(self, context: bpy.types.Context) -> None:
        self.layout.prop(self, "url")
        self.layout.prop(self, "token_file")


class MatteTrackObject(bpy.types.PropertyGroup):
    """An object of the session (`name` is the service's, EXR-safe)."""

    oid: IntProperty(name="Object id")
    keyframes: StringProperty(name="Keyframes", description="Frames with prompts (file frames)")
    in_front: BoolProperty(
        name="In front", default=False,
        description="Clean plate: kept in front of the background, not removed; where another "
        "frame shows it, that frame is not taken as the background (remove --foreground)")


class MatteTrackScene(bpy.types.PropertyGroup):
    session: StringProperty(name="Session")
    plate: StringProperty(name="Plate", description="The service's frame pattern of the plate")
    width: IntProperty(name="Width")
    height: IntProperty(name="Height")
    first_frame: IntProperty(name="First file frame")
    last_frame: IntProperty(name="Last file frame")
    source_kind: EnumProperty(name="Source", items=[("CLIP", "Movie Clip", ""),
                                                    ("IMAGE", "Image", "")])
    source_name: StringProperty(name="Source datablock")
    frame_delta: IntProperty(
        name="Frame delta", description="File frame = scene frame + this (for an image; a "
        "clip's is read from the clip each time)")
    objects: CollectionProperty(type=MatteTrackObject)
    active_object: IntProperty(name="Active object", default=0)
    point_mode: EnumProperty(name="Points", items=[
        ("POSITIVE", "Positive", "Clicks add to the object (Shift/Ctrl-click: negative)"),
        ("NEGATIVE", "Negative", "Clicks take away from the object")], default="POSITIVE")
    stroke_width: FloatProperty(name="Stroke width", default=8.0, min=1.0, max=256.0,
                                description="Width of painted strokes, in plate pixels")
    output: StringProperty(
        name="Output", subtype="FILE_PATH", default="",
        description="Matte EXR pattern (mattes.####.exr); empty: mattetrack/mattes.####.exr "
        "next to the plate")
    background: StringProperty(name="Background image", subtype="FILE_PATH", default="",
                               description="Image for background replacement (empty: a colour)")
    background_color: FloatVectorProperty(name="Background colour", subtype="COLOR", size=4,
                                          min=0.0, max=1.0, default=(0.1, 0.6, 0.1, 1.0))
    show_preview: bpy.props.BoolProperty(name="Show preview", default=True)
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0.0, max=100.0)
    state: StringProperty(name="State", default="idle")
    job: StringProperty(name="Job")
    message: StringProperty(name="Message")


_CLASSES = (MatteTrackPreferences, MatteTrackObject, MatteTrackScene)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mattetrack = PointerProperty(type=MatteTrackScene)


def unregister() -> None:
    del bpy.types.Scene.mattetrack
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
