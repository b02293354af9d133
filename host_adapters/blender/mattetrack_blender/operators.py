"""The add-on's operators: connect a clip or image to a service session, add objects and points
(clicks), the preview, propagation followed by a timer, the import of mattes and shapes, and
the compositor.

Network calls made on Blender's UI thread are single short requests (a click, a preview, a
cancel); a propagation is followed by `mattetrack_client.Propagation` on its own thread, and the
timer `poll_runs` only reads its snapshot (a lock and a dict copy). The shapes (after a
propagation, or from Import Mattes) are a service job followed the same way
(`mattetrack_client.ShapesExport`); the Mask is then built on the UI thread (bpy is not
thread-safe).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty

from . import client_module, compositor, logic

PREVIEW = "MatteTrack Preview"
PREVIEW_MAX_SIDE = 1024
TIMER_INTERVAL = 0.1
EDITORS = ("CLIP_EDITOR", "IMAGE_EDITOR")


# -- helpers ----------------------------------------------------------------------------------
def get_client(context: bpy.types.Context):
    """A client with the add-on's preferences (defaults when it is not enabled as an add-on)."""
    mc = client_module()
    addon = context.preferences.addons.get(__package__)
    prefs = addon.preferences if addon is not None else None
    url = prefs.url if prefs is not None else None
    token_file = bpy.path.abspath(prefs.token_file) if prefs and prefs.token_file else None
    return mc.Client(url or None, token_file=token_file)


def reports_errors(execute: Callable) -> Callable:
    """An operator's `execute`: a refusal (the adapters' one error type, `AdapterError`, of
    which the service's errors are one) becomes the panel's message and an error report, and
    the operator is cancelled."""

    @functools.wraps(execute)
    def wrapped(self: bpy.types.Operator, context: bpy.types.Context) -> set[str]:
        try:
            return execute(self, context)
        except client_module().AdapterError as err:
            return _fail(self, context.scene.mattetrack, str(err))

    return wrapped


def source_datablock(props: bpy.types.PropertyGroup) -> bpy.types.ID | None:
    if props.source_kind == "CLIP":
        return bpy.data.movieclips.get(props.source_name)
    return bpy.data.images.get(props.source_name)


def frame_delta(props: bpy.types.PropertyGroup) -> int:
    """file frame = scene frame + delta; a clip's is read from the clip, which may have moved."""
    clip = source_datablock(props) if props.source_kind == "CLIP" else None
    if clip is None:
        return props.frame_delta
    _, number, _ = logic.sequence_pattern(bpy.path.abspath(clip.filepath))
    first = number if number is not None else props.first_frame
    return logic.clip_delta(first, clip.frame_start, clip.frame_offset)


def current_file_frame(scene: bpy.types.Scene) -> int:
    props = scene.mattetrack
    if props.first_frame == props.last_frame:  # a one-frame shot: every scene frame shows it
        return props.first_frame
    return logic.file_frame(scene.frame_current, frame_delta(props))


def active_object(props: bpy.types.PropertyGroup):
    if not props.objects:
        return None
    return props.objects[min(max(props.active_object, 0), len(props.objects) - 1)]


def output_pattern(props: bpy.types.PropertyGroup) -> str:
    if props.output:
        return os.path.normpath(bpy.path.abspath(props.output))
    return logic.default_output(props.plate)


def redraw() -> None:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type in EDITORS or area.type == "PROPERTIES":
                area.tag_redraw()


def show_preview(context: bpy.types.Context, png: bytes, file_frame: int) -> bpy.types.Image:
    """The PNG into the image datablock `MatteTrack Preview` (loaded from a temporary file, or
    reloaded), shown in Image editors that show nothing, the preview or the plate."""
    props = context.scene.mattetrack
    path = os.path.join(tempfile.gettempdir(), f"mattetrack-preview-{props.session}.png")
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)  # never a half-written file under a loaded image
    image = compositor.image_at(PREVIEW, path)
    image["mattetrack_frame"] = file_frame
    if props.show_preview:
        wm = context.window_manager
        for window in wm.windows if wm else ():
            for area in window.screen.areas:
                if area.type != "IMAGE_EDITOR":
                    continue
                space = area.spaces.active
                if space.image is None or space.image.name in (PREVIEW, props.source_name):
                    space.image = image
    redraw()
    return image


# (session, file frame) -> the plate's data window there (x, y, width, height; service
# pixels): what Blender shows of an EXR frame. A short request, once per frame.
WINDOWS: dict[tuple[str, int], tuple[int, int, int, int]] = {}


def plate_window(context: bpy.types.Context, frame: int) -> tuple[int, int, int, int]:
    props = context.scene.mattetrack
    key = (props.session, frame)
    if key not in WINDOWS:
        WINDOWS[key] = tuple(get_client(context).plate_window(props.session, frame)["data"])
    return WINDOWS[key]


def fetch_preview(context: bpy.types.Context, frame: int) -> bytes:
    """The service's preview of `frame` as Blender shows the plate: its data window alone."""
    props = context.scene.mattetrack
    return get_client(context).preview(props.session, frame, max_side=PREVIEW_MAX_SIDE,
                                       window="data")


def _fail(op: bpy.types.Operator, props: bpy.types.PropertyGroup, message: str) -> set[str]:
    props.message = message
    op.report({"ERROR"}, message)
    return {"CANCELLED"}


def _context_source(context: bpy.types.Context) -> tuple[str, bpy.types.ID] | None:
    space = context.space_data
    if space is not None and space.type == "CLIP_EDITOR" and space.clip is not None:
        return "CLIP", space.clip
    if (space is not None and space.type == "IMAGE_EDITOR" and space.image is not None
            and space.image.name != PREVIEW and space.image.source in ("FILE", "SEQUENCE")):
        return "IMAGE", space.image
    return None


def _add_object(props: bpy.types.PropertyGroup, client, name: str | None):
    reply = client.add_object(props.session, name or None)
    item = props.objects.add()
    item.name, item.oid = reply["name"], reply["object"]
    props.active_object = len(props.objects) - 1
    return item


# -- session ----------------------------------------------------------------------------------
class MATTETRACK_OT_connect(bpy.types.Operator):
    """Open a service session on the editor's clip or image sequence"""

    bl_idname = "mattetrack.connect"
    bl_label = "Connect"
    bl_options = {"REGISTER"}

    clip: StringProperty(name="Movie Clip", description="Clip name (empty: the editor's)")
    image: StringProperty(name="Image", description="Image name (empty: the editor's)")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = context.scene
        props = scene.mattetrack
        if self.clip:
            found = ("CLIP", bpy.data.movieclips.get(self.clip))
        elif self.image:
            found = ("IMAGE", bpy.data.images.get(self.image))
        else:
            found = _context_source(context)
        if found is None or found[1] is None:
            return _fail(self, props, "MatteTrack: no movie clip or image to connect")
        kind, block = found
        path = os.path.normpath(bpy.path.abspath(block.filepath, library=block.library))
        sequence = kind == "CLIP" or block.source == "SEQUENCE"
        pattern, number, _ = logic.sequence_pattern(path) if sequence else (path, None, 0)
        client = get_client(context)
        reply = client.open_session(pattern)
        props.session, props.plate = reply["session"], pattern
        props.width, props.height = reply["width"], reply["height"]
        props.first_frame, props.last_frame = reply["frames"]
        props.source_kind, props.source_name = kind, block.name
        props.objects.clear()
        props.state, props.progress, props.job, props.message = "idle", 0.0, "", ""
        first = number if number is not None else props.first_frame
        if kind == "CLIP":
            props.frame_delta = logic.clip_delta(first, block.frame_start, block.frame_offset)
        else:
            space = context.space_data
            user = space.image_user if getattr(space, "image", None) == block else None
            if user is not None:  # what the editor shows, as Blender set it on opening
                props.frame_delta = logic.image_user_delta(user.frame_start, user.frame_offset)
            else:
                props.frame_delta = logic.image_user_delta(scene.frame_start, first - 1)
        delta = frame_delta(props)
        scene.render.resolution_x, scene.render.resolution_y = props.width, props.height
        scene.render.resolution_percentage = 100
        scene.frame_start = logic.scene_frame(props.first_frame, delta)
        scene.frame_end = logic.scene_frame(props.last_frame, delta)
        self.report({"INFO"}, f"MatteTrack: session {props.session} on {pattern}")
        return {"FINISHED"}


class MATTETRACK_OT_add_object(bpy.types.Operator):
    """Add an object to select in the session"""

    bl_idname = "mattetrack.add_object"
    bl_label = "Add Object"

    name: StringProperty(name="Name", default="object")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(context.scene.mattetrack.session)

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        props = context.scene.mattetrack
        _add_object(props, get_client(context), self.name)
        return {"FINISHED"}


# -- points -----------------------------------------------------------------------------------
class _PromptOnFrame:
    """What add_point and add_stroke share: the prompt's sign, its frame, whether to refresh
    the preview, and that a session must be open (Blender takes properties from mixins)."""

    positive: BoolProperty(name="Positive", default=True)
    frame: IntProperty(name="Frame", default=-1,
                       description="Plate frame as in the file names; -1: the one shown on the "
                       "scene's current frame")
    preview: BoolProperty(name="Preview", default=True)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(context.scene.mattetrack.session)


class MATTETRACK_OT_add_point(_PromptOnFrame, bpy.types.Operator):
    """Add a positive or negative point to the active object (Blender's pixels, origin
    bottom-left) and refresh the preview"""

    bl_idname = "mattetrack.add_point"
    bl_label = "Add Point"
    bl_options = {"REGISTER", "UNDO"}

    x: FloatProperty(name="X", description="Plate pixels from the left")
    y: FloatProperty(name="Y", description="Plate pixels from the bottom (Blender's convention)")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        props = context.scene.mattetrack
        frame = _prompt_frame(self, context)
        if frame is None:
            return {"CANCELLED"}
        wx, wy, _, wh = plate_window(context, frame)
        x, y = logic.to_service_point(self.x, self.y, wh, (wx, wy))
        if not logic.inside(x, y, props.width, props.height):
            return _fail(self, props, f"MatteTrack: ({self.x:.1f}, {self.y:.1f}) is outside the "
                         f"{props.width} x {props.height} plate")
        return _send_prompts(self, context, frame, **{"points" if self.positive else "negative":
                                                      [(x, y)]})


class MATTETRACK_OT_add_stroke(_PromptOnFrame, bpy.types.Operator):
    """Paint a stroke on the active object: a line of samples along `points` (Blender's
    pixels, origin bottom-left), positive (the object) or negative, and refresh the preview"""

    bl_idname = "mattetrack.add_stroke"
    bl_label = "Add Stroke"
    bl_options = {"REGISTER", "UNDO"}

    points: StringProperty(name="Points", description="x0,y0,x1,y1,... in plate pixels from "
                           "the bottom-left (the command line's --stroke syntax)")
    width: FloatProperty(name="Width", default=8.0, min=1.0, max=256.0,
                         description="Stroke width in plate pixels")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        props = context.scene.mattetrack
        try:
            points = logic.parse_stroke(self.points)
        except ValueError as err:
            return _fail(self, props, f"MatteTrack: {err}")
        frame = _prompt_frame(self, context)
        if frame is None:
            return {"CANCELLED"}
        wx, wy, _, wh = plate_window(context, frame)
        service = [logic.to_service_point(x, y, wh, (wx, wy)) for x, y in points]
        return _send_prompts(self, context, frame,
                             strokes=[(service, self.positive, self.width)])


def _prompt_frame(op: bpy.types.Operator, context: bpy.types.Context) -> int | None:
    """The operator's plate frame (the shown one unless given); None, reported, outside it."""
    props = context.scene.mattetrack
    frame = op.frame if op.frame >= 0 else current_file_frame(context.scene)
    if not props.first_frame <= frame <= props.last_frame:
        _fail(op, props, f"MatteTrack: frame {frame} is outside the plate "
              f"({props.first_frame}-{props.last_frame})")
        return None
    return frame


def _send_prompts(op: bpy.types.Operator, context: bpy.types.Context, frame: int,
                  **prompts) -> set[str]:
    """add_point / add_stroke: `prompts` (mattetrack_client's add_prompts keywords, service
    pixels) to the active object (made when there is none) on `frame`, then the preview when
    asked."""
    props = context.scene.mattetrack
    client = get_client(context)
    obj = active_object(props) or _add_object(props, client, "object")
    reply = client.add_prompts(props.session, obj.oid, frame, **prompts)
    obj.keyframes = ",".join(str(f) for f in reply["keyframes"])
    if op.preview:
        show_preview(context, fetch_preview(context, frame), frame)
    return {"FINISHED"}


class MATTETRACK_OT_click_points(bpy.types.Operator):
    """Click on the plate: left click adds a positive point, a left drag paints a positive
    stroke (Shift or Ctrl: negative); Esc or right click ends"""

    bl_idname = "mattetrack.click_points"
    bl_label = "Click Points"

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self._drag: list[tuple[float, float]] = []  # Blender pixels of the press being held
        self._negative = False
        context.window_manager.modal_handler_add(self)
        context.area.header_text_set("MatteTrack: click = positive point, drag = stroke, "
                                     "Shift/Ctrl = negative, Esc/right click = done")
        return {"RUNNING_MODAL"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return (bool(context.scene.mattetrack.session) and context.area is not None
                and context.area.type in EDITORS)

    def _finish(self, context: bpy.types.Context) -> set[str]:
        if context.area is not None:
            context.area.header_text_set(None)
        return {"FINISHED"}

    def _pixels(self, context: bpy.types.Context,
                event: bpy.types.Event) -> tuple[float, float] | None:
        """Blender pixels under the mouse, None off the editor's image region."""
        region = next((r for r in context.area.regions if r.type == "WINDOW"
                       and r.x <= event.mouse_x < r.x + r.width
                       and r.y <= event.mouse_y < r.y + r.height), None)
        if region is None:
            return None  # the header or the sidebar
        # Both editors' View2D is the normalised image (0..1, origin bottom-left): the plate's
        # data window, which is what Blender shows of an EXR.
        u, v = region.view2d.region_to_view(event.mouse_x - region.x, event.mouse_y - region.y)
        _, _, w, h = plate_window(context, current_file_frame(context.scene))
        return logic.view_to_pixels(u, v, w, h)

    @staticmethod
    def _on_plate(context: bpy.types.Context, xy: tuple[float, float]) -> bool:
        _, _, w, h = plate_window(context, current_file_frame(context.scene))
        return logic.inside(*xy, w, h)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type in {"ESC", "RIGHTMOUSE"} and event.value == "PRESS":
            return self._finish(context)
        props = context.scene.mattetrack
        if event.type == "MOUSEMOVE" and self._drag:
            xy = self._pixels(context, event)
            if xy is not None and self._on_plate(context, xy):
                self._drag.append(xy)
            return {"RUNNING_MODAL"}
        if event.type != "LEFTMOUSE":
            return {"PASS_THROUGH"}  # navigation (zoom, pan, frame changes) keeps working
        if event.value == "PRESS":
            xy = self._pixels(context, event)
            if xy is None:
                return {"PASS_THROUGH"}
            if self._on_plate(context, xy):
                self._drag = [xy]
                self._negative = event.shift or event.ctrl or props.point_mode == "NEGATIVE"
            return {"RUNNING_MODAL"}
        if event.value == "RELEASE" and self._drag:
            drag, self._drag = self._drag, []
            if logic.path_length(drag) < logic.STROKE_MIN_LENGTH:
                bpy.ops.mattetrack.add_point(x=drag[0][0], y=drag[0][1],
                                             positive=not self._negative)
            else:
                bpy.ops.mattetrack.add_stroke(
                    points=logic.format_stroke(logic.thin_path(drag, props.stroke_width / 2)),
                    positive=not self._negative, width=props.stroke_width)
            return {"RUNNING_MODAL"}
        return {"PASS_THROUGH"}


class MATTETRACK_OT_clear_points(bpy.types.Operator):
    """Remove the active object's points on the current frame"""

    bl_idname = "mattetrack.clear_points"
    bl_label = "Clear Points"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_object(context.scene.mattetrack) is not None

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        props = context.scene.mattetrack
        obj = active_object(props)
        frame = current_file_frame(context.scene)
        client = get_client(context)
        reply = client.clear_prompts(props.session, obj.oid, frame)
        obj.keyframes = ",".join(str(f) for f in reply["keyframes"])
        show_preview(context, fetch_preview(context, frame), frame)
        return {"FINISHED"}


class MATTETRACK_OT_refresh_preview(bpy.types.Operator):
    """Fetch the preview of the current frame"""

    bl_idname = "mattetrack.refresh_preview"
    bl_label = "Refresh Preview"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(context.scene.mattetrack.session)

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        frame = current_file_frame(context.scene)
        show_preview(context, fetch_preview(context, frame), frame)
        return {"FINISHED"}


# -- propagation ------------------------------------------------------------------------------
@dataclass
class Run:
    """A propagation of one scene, then its shapes export (a service job, followed by the
    timer); or the shapes export alone (Import Mattes)."""

    scene: str
    propagation: object  # mattetrack_client.Propagation, None for an import alone
    client: object
    session: str
    phase: str = "propagating"  # then "shapes"
    shapes: object = None  # mattetrack_client.ShapesExport while fitting, None without shapes
    plan_path: str = ""
    suggested: dict = field(default_factory=dict)  # {object: file frames to correct}


RUNS: dict[str, Run] = {}


def _start_shapes(run: Run, plan_path: str) -> None:
    """The shapes export as a service job (a short request); the timer follows it."""
    run.phase, run.plan_path = "shapes", plan_path
    run.shapes = client_module().ShapesExport(run.client, run.session, plan_path,
                                              fmt="blender-plan")


def import_results(scene: bpy.types.Scene, plan: dict | None) -> tuple:
    """The matte sequence as the Image `MatteTrack Mattes` and, with a plan, the Mask
    `MatteTrack` (replaced), keyed on scene frames. Returns (image, mask or None)."""
    from . import bundled

    mask_builder = bundled("mask")  # imports bpy's Keyframe enum at import: load late

    props = scene.mattetrack
    first = logic.frame_path(output_pattern(props), props.first_frame)
    image = compositor.load_sequence(compositor.MATTES, first, non_color=True)
    built = None
    if plan is not None:
        old = bpy.data.masks.get("MatteTrack")
        if old is not None:
            bpy.data.masks.remove(old)
        built = mask_builder.build_mask(logic.shift_plan(plan, frame_delta(props)))
    return image, built


def mark_suggestions(scene: bpy.types.Scene, suggested: dict, delta: int) -> list:
    """Timeline markers at the frames to correct (`MT fix <object>`, scene frames), replacing
    the last propagation's; returns the new markers."""
    markers = scene.timeline_markers
    for old in [m for m in markers if m.name.startswith(logic.FIX_MARKER)]:
        markers.remove(old)
    return [markers.new(logic.FIX_MARKER + name, frame=logic.scene_frame(f, delta))
            for name, frames in suggested.items() for f in frames]


def _step(scene: bpy.types.Scene, run: Run) -> bool:
    """Advance one run; False when it is over."""
    props = scene.mattetrack
    wm = bpy.context.window_manager
    if run.phase == "propagating":
        status = run.propagation.poll()
        props.progress = logic.progress_percent(status)
        if wm is not None:
            wm.progress_update(status["done"])
        if status["state"] == "running":
            return True
        if wm is not None:
            wm.progress_end()
        if status["state"] != "done":
            props.state, props.message = status["state"], status["error"] or ""
            return False
        props.state = "importing"
        run.suggested = status.get("suggested") or {}
        _start_shapes(run, logic.shapes_plan_path(output_pattern(props)))
        return True
    plan, error = None, ""
    if run.shapes is not None:
        status = run.shapes.poll()
        if status["state"] == "running":  # the bar stays the propagation's; the line says
            props.message = logic.shapes_progress_text(status)
            return True
        if status["state"] == "done":
            with open(run.plan_path, encoding="utf-8") as f:
                plan = json.load(f)
        else:
            error = f"shapes {status['state']}: {status['error'] or ''}".rstrip(": ")
    image, _ = import_results(scene, plan)
    if run.propagation is not None:
        mark_suggestions(scene, run.suggested, frame_delta(props))
    props.state = "done"
    props.message = error or f"mattes in {image.name}"
    return False


# Send to farm per scene: the service reads every frame for the shot's cuts before it answers
# (long for a 4K shot), so the request runs on a thread: {"thread", "reply" | "error"}.
FARMS: dict[str, dict] = {}


def _send_farm(send, sid: str, output: str, folder: str, result: dict) -> None:
    """send(sid, output, folder): the client's `send_to_farm` or `send_removal_to_farm`."""
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        result["reply"] = send(sid, output, folder)
    except Exception as err:
        result["error"] = str(err)


def _step_farms() -> None:
    for name, farm in list(FARMS.items()):
        if farm["thread"].is_alive():
            continue
        del FARMS[name]
        scene = bpy.data.scenes.get(name)
        if scene is not None:
            scene.mattetrack.message = farm["what"] + (
                client_module().farm_summary(farm["reply"]) if "reply" in farm
                else f"farm job failed: {farm.get('error', '')}")


def _start_farm(context: bpy.types.Context, send, output: str, what: str) -> None:
    """send(session, output, the bundle's folder) on a thread (FARMS, the timer reports its
    end); `what` heads the scene's message."""
    props = context.scene.mattetrack
    result: dict = {"what": what}
    result["thread"] = threading.Thread(
        target=_send_farm, name="mattetrack-farm", daemon=True,
        args=(send, props.session, output, client_module().farm_job_folder(output), result))
    FARMS[context.scene.name] = result
    result["thread"].start()
    props.message = f"writing the {what}farm job..."
    _start_timer()


CLEANS: dict[str, dict] = {}  # scene name -> a clean plate request (its thread and result)
CLEAN_IMAGE = "MatteTrack clean plate"


def in_front(props) -> list[str]:
    """The names of the objects set In front (the clean plate's foreground)."""
    return [o.name for o in props.objects if o.in_front]


def _remove(client, sid: str, output: str, result: dict, front: list[str]) -> None:
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        started = client.start_remove(sid, output, foreground=front)
        result["status"] = client.wait_job(started["job"])
    except Exception as err:
        result["error"] = str(err)


def _step_cleans() -> None:
    for name, clean in list(CLEANS.items()):
        if clean["thread"].is_alive():
            continue
        del CLEANS[name]
        scene = bpy.data.scenes.get(name)
        if scene is None:
            continue
        status = clean.get("status") or {}
        if status.get("state") != "done":
            why = clean.get("error") or status.get("error") or status.get("state", "")
            scene.mattetrack.message = f"clean plate failed: {why}"
            continue
        image = load_clean_plate(clean["output"], status["first"], status["last"])
        scene.mattetrack.message = (f"clean plate in image {image.name} (frames "
                                    f"{status['first']}-{status['last']})")


def load_clean_plate(pattern: str, first: int, last: int) -> bpy.types.Image:
    """The clean plate as the image `CLEAN_IMAGE` (a sequence, or the movie), replacing the
    one loaded before."""
    old = bpy.data.images.get(CLEAN_IMAGE)
    if old is not None:
        bpy.data.images.remove(old)
    movie = "#" not in os.path.basename(pattern)
    image = bpy.data.images.load(pattern if movie else logic.frame_path(pattern, first),
                                 check_existing=False)
    image.name = CLEAN_IMAGE
    image.source = "MOVIE" if movie else "SEQUENCE"
    image["mattetrack_frames"] = [first, last]
    return image


def _start_timer() -> None:
    if not bpy.app.timers.is_registered(poll_runs):
        bpy.app.timers.register(poll_runs, first_interval=TIMER_INTERVAL)


def poll_runs() -> float | None:
    """The timer (bpy.app.timers): follows every run and farm request; None (stop) when none
    is left."""
    _step_farms()
    _step_cleans()
    for name, run in list(RUNS.items()):
        scene = bpy.data.scenes.get(name)
        try:
            alive = scene is not None and _step(scene, run)
        except Exception as err:
            alive = False
            if scene is not None:
                scene.mattetrack.state, scene.mattetrack.message = "failed", str(err)
        if not alive:
            del RUNS[name]
    redraw()
    return TIMER_INTERVAL if RUNS or FARMS or CLEANS else None


class MATTETRACK_OT_propagate(bpy.types.Operator):
    """Propagate every object through the shot (mattes as EXR), then import them"""

    bl_idname = "mattetrack.propagate"
    bl_label = "Propagate"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        props = context.scene.mattetrack
        return bool(props.session) and context.scene.name not in RUNS

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = context.scene
        props = scene.mattetrack
        mc = client_module()
        client = get_client(context)
        propagation = mc.Propagation(client, props.session, output_pattern(props))
        RUNS[scene.name] = Run(scene.name, propagation, client, props.session)
        props.state, props.progress, props.job, props.message = "running", 0.0, \
            propagation.job, ""
        context.window_manager.progress_begin(0, propagation.poll()["total"])
        if not bpy.app.timers.is_registered(poll_runs):
            bpy.app.timers.register(poll_runs, first_interval=TIMER_INTERVAL)
        return {"FINISHED"}


class _FarmButton:
    """An operator writing a farm job bundle through the service (one at a time per scene):
    `send(context)` -> (the client's method, the output pattern, the message's head)."""

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(context.scene.mattetrack.session) and context.scene.name not in FARMS

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        _start_farm(context, *self.send(context))
        return {"FINISHED"}


class MATTETRACK_OT_send_to_farm(_FarmButton, bpy.types.Operator):
    """Write the session as a render-farm job bundle beside the mattes (Open Job Description;
    the farm writes what Propagate would)"""

    bl_idname = "mattetrack.send_to_farm"
    bl_label = "Send to farm"

    def send(self, context: bpy.types.Context) -> tuple:
        return (get_client(context).send_to_farm, output_pattern(context.scene.mattetrack), "")


class MATTETRACK_OT_clean_plate_on_farm(_FarmButton, bpy.types.Operator):
    """Write the removal of the propagated objects as a render-farm job bundle beside the clean
    plate's files in clean/ (Open Job Description; the farm writes what Clean plate would)"""

    bl_idname = "mattetrack.clean_plate_on_farm"
    bl_label = "Clean plate on farm"

    def send(self, context: bpy.types.Context) -> tuple:
        props = context.scene.mattetrack
        return (functools.partial(get_client(context).send_removal_to_farm,
                                  foreground=in_front(props)),
                logic.clean_pattern(output_pattern(props), props.plate), "clean plate ")


class MATTETRACK_OT_clean_plate(bpy.types.Operator):
    """Remove the propagated objects from the plate (each hole filled from the other frames)
    into clean/ beside the mattes, and load it as an image"""

    bl_idname = "mattetrack.clean_plate"
    bl_label = "Clean plate"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        props = context.scene.mattetrack
        return bool(props.session) and context.scene.name not in RUNS \
            and context.scene.name not in CLEANS

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        props = context.scene.mattetrack
        output = logic.clean_pattern(output_pattern(props), props.plate)
        result: dict = {"output": output}
        # The service reads the whole shot: on a thread, the timer loads the result.
        result["thread"] = threading.Thread(
            target=_remove, name="mattetrack-clean", daemon=True,
            args=(get_client(context), props.session, output, result, in_front(props)))
        CLEANS[context.scene.name] = result
        result["thread"].start()
        props.message = "removing the objects..."
        _start_timer()
        return {"FINISHED"}


class MATTETRACK_OT_cancel(bpy.types.Operator):
    """Stop the propagation after the frame in progress (written files stay whole), or the
    shapes export"""

    bl_idname = "mattetrack.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return RUNS.get(context.scene.name) is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        run = RUNS[context.scene.name]  # the timer sees the end state
        (run.propagation if run.phase == "propagating" else run.shapes).cancel()
        return {"FINISHED"}


# -- results ----------------------------------------------------------------------------------
class MATTETRACK_OT_import_mattes(bpy.types.Operator):
    """Import the propagated mattes (image sequence) and their roto shapes (Mask)"""

    bl_idname = "mattetrack.import_mattes"
    bl_label = "Import Mattes"

    shapes: BoolProperty(name="Shapes", default=True, description="Also build the Mask")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        props = context.scene.mattetrack
        return bool(props.session) and context.scene.name not in RUNS

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = context.scene
        props = scene.mattetrack
        if not self.shapes:
            import_results(scene, None)
            return {"FINISHED"}
        # Fitting takes a while: a service job the timer follows, never a wait here.
        run = Run(scene.name, None, get_client(context), props.session)
        _start_shapes(run, logic.shapes_plan_path(output_pattern(props)))
        RUNS[scene.name] = run
        props.state, props.progress, props.message = "importing", 0.0, "fitting shapes"
        if not bpy.app.timers.is_registered(poll_runs):
            bpy.app.timers.register(poll_runs, first_interval=TIMER_INTERVAL)
        return {"FINISHED"}


class MATTETRACK_OT_build_compositor(bpy.types.Operator):
    """Compositor nodes replacing the background behind the active object"""

    bl_idname = "mattetrack.build_compositor"
    bl_label = "Build Compositor"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        props = context.scene.mattetrack
        return active_object(props) is not None and compositor.MATTES in bpy.data.images

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = context.scene
        props = scene.mattetrack
        plate = source_datablock(props)
        if plate is None:
            return _fail(self, props, f"MatteTrack: {props.source_name!r} is gone")
        background = None
        if props.background:
            background = bpy.data.images.load(bpy.path.abspath(props.background),
                                              check_existing=True)
        try:
            compositor.build_compositor(
                scene, plate, bpy.data.images[compositor.MATTES], active_object(props).name,
                props.first_frame, props.last_frame - props.first_frame + 1, frame_delta(props),
                background, tuple(props.background_color))
        except ValueError as err:
            return _fail(self, props, str(err))
        return {"FINISHED"}


# -- preview in the Movie Clip editor (drawn; needs a GPU window, so not tested headless) ------
_DRAW_HANDLE = None


def _draw_clip_preview() -> None:
    context = bpy.context
    props = context.scene.mattetrack
    space, region = context.space_data, context.region
    image = bpy.data.images.get(PREVIEW)
    if (not props.show_preview or image is None or space.clip is None
            or space.clip.name != props.source_name
            or image.get("mattetrack_frame") != current_file_frame(context.scene)):
        return
    import gpu
    from gpu_extras.presets import draw_texture_2d

    x0, y0 = region.view2d.view_to_region(0.0, 0.0, clip=False)
    x1, y1 = region.view2d.view_to_region(1.0, 1.0, clip=False)
    gpu.state.blend_set("ALPHA")
    draw_texture_2d(gpu.texture.from_image(image), (x0, y0), x1 - x0, y1 - y0)
    gpu.state.blend_set("NONE")


_CLASSES = (MATTETRACK_OT_connect, MATTETRACK_OT_add_object, MATTETRACK_OT_add_point,
            MATTETRACK_OT_add_stroke, MATTETRACK_OT_click_points, MATTETRACK_OT_clear_points,
            MATTETRACK_OT_refresh_preview, MATTETRACK_OT_propagate,
            MATTETRACK_OT_send_to_farm, MATTETRACK_OT_cancel,
            MATTETRACK_OT_import_mattes, MATTETRACK_OT_build_compositor,
            MATTETRACK_OT_clean_plate, MATTETRACK_OT_clean_plate_on_farm)


def register() -> None:
    global _DRAW_HANDLE
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    if not bpy.app.background:
        _DRAW_HANDLE = bpy.types.SpaceClipEditor.draw_handler_add(
            _draw_clip_preview, (), "WINDOW", "POST_PIXEL")


def unregister() -> None:
    global _DRAW_HANDLE
    if _DRAW_HANDLE is not None:
        bpy.types.SpaceClipEditor.draw_handler_remove(_DRAW_HANDLE, "WINDOW")
        _DRAW_HANDLE = None
    if bpy.app.timers.is_registered(poll_runs):
        bpy.app.timers.unregister(poll_runs)
    RUNS.clear()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
