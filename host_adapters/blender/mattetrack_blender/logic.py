"""Pure functions of the Blender extension (standard library only, no bpy): the mappings between
Blender's conventions and the service's, kept here so that they are tested with numbers.

Conventions:
- Service: display-window pixels, origin top-left, x right, y down (ARCHITECTURE.md); frames are the
  numbers in the plate's file names.
- Blender pixels: origin bottom-left, y up. Editors' `region.view2d.region_to_view` gives
  normalised coordinates (0..1 over the image, origin bottom-left) in the Image editor and in the
  Movie Clip editor (whose main region sets its View2D to the normalised frame:
  `movieclip_main_area_set_view2d`, "normalize 0.0..1.0").
- Scene frame -> file frame: a Movie Clip reads file `first + scene - clip.frame_start +
  clip.frame_offset` (`get_sequence_filepath`, `first` = the number in the clip's path); an image
  user (Image editor, Image node) reads file `clamp(scene - frame_start + 1, 0, duration) +
  frame_offset` (`BKE_image_user_frame_get`). Inside the plate both are `file = scene + delta`.
"""

from __future__ import annotations

import os
import re

_DIGITS = re.compile(r"(\d+)(?!.*\d)")  # the last run of digits


def sequence_pattern(path: str) -> tuple[str, int | None, int]:
    """Blender's path of one frame of a sequence (`/a/plate.1001.exr`) as the service's frame
    pattern (`/a/plate.####.exr`), with that frame's number and its digit count. As Blender's
    `BLI_path_sequence_decode`, the number is the last run of digits in the file name (not in
    the folders). A name without digits (a movie, a single image) is returned as it is, with
    None and 0."""
    folder, name = os.path.split(path)
    match = _DIGITS.search(name)
    if match is None:
        return path, None, 0
    digits = len(match.group(1))
    pattern = name[: match.start()] + "#" * digits + name[match.end():]
    return os.path.join(folder, pattern), int(match.group(1)), digits


def frame_path(pattern: str, frame: int) -> str:
    """The file of `frame` in a `####` pattern (padded to the number of #)."""
    folder, name = os.path.split(pattern)
    match = re.search(r"#+", name)
    if match is None:
        return pattern
    number = f"{frame:0{len(match.group(0))}d}"
    return os.path.join(folder, name[: match.start()] + number + name[match.end():])


# -- frames -----------------------------------------------------------------------------------
def clip_delta(first_file: int, clip_frame_start: int, clip_frame_offset: int) -> int:
    """`delta` (file = scene + delta) of a Movie Clip whose path names file `first_file`."""
    return first_file - clip_frame_start + clip_frame_offset


def image_user_delta(frame_start: int, frame_offset: int) -> int:
    """`delta` (file = scene + delta) of an image user, inside its duration."""
    return frame_offset + 1 - frame_start


def image_user_file_frame(scene_frame: int, frame_start: int, frame_offset: int,
                          duration: int, cyclic: bool = False) -> int:
    """The file frame an image user shows on `scene_frame` (Blender's
    `BKE_image_user_frame_get`: held at the ends unless cyclic; 0 when duration is 0)."""
    if duration <= 0:
        return 0
    n = scene_frame - frame_start + 1
    if cyclic:
        n %= duration
        if n == 0:
            n = duration
    n = min(max(n, 0), duration)
    return n + frame_offset


def image_user_for(first_file: int, count: int, scene_first: int) -> dict[str, int]:
    """Image user settings (Image node, Image editor) that show files `first_file ..
    first_file + count - 1` on scene frames `scene_first ..`."""
    return {"frame_start": scene_first, "frame_offset": first_file - 1, "frame_duration": count}


# Timeline markers at the frames where a correction would help most (the session's report).
FIX_MARKER = "MT fix "


def file_frame(scene_frame: int, delta: int) -> int:
    return scene_frame + delta


def scene_frame(file_frame_: int, delta: int) -> int:
    return file_frame_ - delta


def shift_plan(plan: dict, delta: int) -> dict:
    """A Mask plan (keys on file frames) moved to scene frames (scene = file - delta)."""
    if delta == 0:
        return plan
    out = dict(plan, frame_start=plan["frame_start"] - delta,
               frame_end=plan["frame_end"] - delta, objects=[])
    for obj in plan["objects"]:
        layers = [dict(spec, frames=[f - delta for f in spec["frames"]],
                       hidden=[[f - delta, h] for f, h in spec["hidden"]])
                  for spec in obj["layers"]]
        out["objects"].append(dict(obj, layers=layers))
    return out


# -- coordinates ------------------------------------------------------------------------------
def view_to_pixels(u: float, v: float, width: int, height: int) -> tuple[float, float]:
    """Normalised editor coordinates (0..1, origin bottom-left) to Blender pixels (origin
    bottom-left)."""
    return u * width, v * height


def to_service_point(x: float, y_bottom: float, height: int,
                     origin: tuple[int, int] = (0, 0)) -> tuple[float, float]:
    """Blender pixels (origin bottom-left, y up) to the service's (origin top-left, y down).

    Blender shows an EXR's data window alone, whatever its offset (docs/CONVENTIONS.md,
    "Blender"), so its pixels are the data window's: `height` is the data window's height and
    `origin` its top-left corner in the service's pixels (the service's `plate_window`)."""
    return origin[0] + x, origin[1] + height - y_bottom


def to_blender_point(x: float, y_top: float, height: int,
                     origin: tuple[int, int] = (0, 0)) -> tuple[float, float]:
    """The service's pixels (origin top-left) to Blender's (origin bottom-left)."""
    return x - origin[0], height - (y_top - origin[1])


def inside(x: float, y: float, width: int, height: int) -> bool:
    return 0.0 <= x <= width and 0.0 <= y <= height


# -- strokes ----------------------------------------------------------------------------------
# A press-drag-release shorter than this (Blender pixels along the path) is a click, not a
# stroke: a hand's jitter on a click is a few pixels.
STROKE_MIN_LENGTH = 6.0


def path_length(points: list[tuple[float, float]]) -> float:
    """Length in pixels of the polyline through `points`."""
    return sum(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
               for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False))


def thin_path(points: list[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    """The drag's samples with those closer than `step` px to the last kept one dropped (mouse
    events come faster than the hand moves); the last sample is always kept."""
    points = [(float(x), float(y)) for x, y in points]
    if not points:
        return []
    out = [points[0]]
    for x, y in points[1:]:
        if ((x - out[-1][0]) ** 2 + (y - out[-1][1]) ** 2) ** 0.5 >= step:
            out.append((x, y))
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def format_stroke(points: list[tuple[float, float]]) -> str:
    """Points as the operator's `points` text: `x0,y0,x1,y1,...` (the CLI's --stroke syntax)."""
    return ",".join(f"{v:.2f}" for xy in points for v in xy)


def parse_stroke(text: str) -> list[tuple[float, float]]:
    """`x0,y0,x1,y1,...` -> [(x, y), ...]; ValueError naming what is wrong (an odd count, a
    value that is not a number, fewer than two points)."""
    parts = [t for t in text.replace(" ", "").split(",") if t]
    try:
        values = [float(t) for t in parts]
    except ValueError:
        raise ValueError(f"stroke {text!r}: the values must be numbers") from None
    if len(values) % 2:
        raise ValueError(f"stroke {text!r}: give x,y pairs (got {len(values)} values)")
    points = list(zip(values[0::2], values[1::2], strict=True))
    if len(points) < 2:
        raise ValueError(f"stroke {text!r}: a stroke needs at least two points")
    return points


# -- service results --------------------------------------------------------------------------
def default_output(plate_pattern: str) -> str:
    """Where mattes go when the user names no output: `mattetrack/mattes.####.exr` next to the
    plate (inside the service's roots, as the plate is)."""
    folder = os.path.dirname(plate_pattern)
    return os.path.join(folder, "mattetrack", "mattes.####.exr")


def clean_pattern(output_pattern: str, plate_pattern: str) -> str:
    """Where the clean plate goes: `<output dir>/clean/<plate file name>` (copies of the plate
    files), or `<stem>_clean.mov` there for a movie plate."""
    folder = os.path.join(os.path.dirname(output_pattern), "clean")
    name = os.path.basename(plate_pattern)
    if "#" not in name:
        name = os.path.splitext(name)[0] + "_clean.mov"
    return os.path.join(folder, name)


def shapes_plan_path(output_pattern: str) -> str:
    """The Mask plan written next to the mattes."""
    return os.path.join(os.path.dirname(output_pattern), "shapes.plan.json")


def matte_socket(names: list[str], object_name: str) -> str | None:
    """The Image node output that carries `<object>.A` of a matte EXR: Blender reads a two-part
    channel name `blob.A` as pass `blob` of the unnamed layer (bpy 5.0.1). The service prefixes
    `matte_` when the plate already has that layer."""
    for candidate in (object_name, "matte_" + object_name):
        if candidate in names:
            return candidate
    return None


def shapes_progress_text(status: dict) -> str:
    """The panel's line for a ShapesExport poll ({stage, done, total})."""
    what = "outlining frames" if status.get("stage") == "outlines" else "fitting shapes"
    return f"{what} {status.get('done', 0)}/{status.get('total') or 0}"


def progress_percent(status: dict) -> float:
    """0..100 from a Propagation or ShapesExport poll ({done, total})."""
    total = status.get("total") or 0
    return 100.0 * min(status.get("done", 0), total) / total if total else 0.0
