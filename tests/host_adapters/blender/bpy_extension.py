"""Run by a Python with bpy (not by pytest): installs the built MatteTrack extension the way
Blender does and drives it against a running service, headless.

    python bpy_extension.py job.json
job.json: {"mode": "install" | "flow" | "cancel" | "windowed", "zip": path, "url": ...,
"token_file": ..., "out": folder, ...}; writes out/result.json. `BLENDER_USER_EXTENSIONS` (set
by the test) keeps the install in a temporary folder. In background mode `bpy.app.timers`
never fire, so the propagation timer (`operators.poll_runs`) is called here in a loop, as
Blender would.
"""

from __future__ import annotations

import array
import importlib
import json
import sys
import time
from pathlib import Path

import bpy

MODULE = "bl_ext.user_default.mattetrack"


def install(job: dict) -> dict:
    got = bpy.ops.extensions.package_install_files(filepath=job["zip"], repo="user_default",
                                                   enable_on_install=True)
    assert got == {"FINISHED"}, got
    package = importlib.import_module(MODULE)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    if "url" in job:
        prefs.url, prefs.token_file = job["url"], job["token_file"]
    return {"installed": got == {"FINISHED"}, "package_file": package.__file__,
            "client_file": package.client_module().__file__,
            "operators": sorted(n for n in dir(bpy.ops.mattetrack)),
            "prefs_url": prefs.url, "scene_props": hasattr(bpy.context.scene, "mattetrack")}


def mode_install(job: dict) -> dict:
    result = install(job)
    # A checkout: the package imported from host_adapters/blender finds the client in
    # host_adapters/client (relative to its own real path).
    sys.path.insert(0, job["checkout"])
    dev = importlib.import_module("mattetrack_blender")
    result["dev_client_file"] = dev.client_module().__file__
    importlib.import_module(MODULE).unregister()
    result["unregistered"] = ("mattetrack" not in bpy.types.Scene.bl_rna.properties
                              and not hasattr(bpy.types, "MATTETRACK_OT_add_point"))
    return result


def _drive(ops, scene: bpy.types.Scene, limit: float = 120.0) -> list[float]:
    """Calls the timer function until it stops (returns None); the progress seen each time."""
    seen, t0 = [], time.monotonic()
    while True:
        again = ops.poll_runs()
        seen.append(scene.mattetrack.progress)
        if again is None:
            return seen
        assert time.monotonic() - t0 < limit, "propagation did not end"
        time.sleep(0.05)


def _render_frames(scene: bpy.types.Scene, frames: list[int], out: Path) -> dict[str, str]:
    """The compositor rendered on each scene frame to out/render.<frame>.exr (float32)."""
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    renders = {}
    for f in frames:
        scene.frame_set(f)
        scene.render.filepath = str(out / f"render.{f}.exr")
        bpy.ops.render.render(write_still=True)
        renders[str(f)] = scene.render.filepath
    return renders


def _pixels(image: bpy.types.Image, path: Path) -> None:
    data = array.array("f", [0.0]) * (image.size[0] * image.size[1] * image.channels)
    image.pixels.foreach_get(data)
    with open(path, "wb") as f:
        data.tofile(f)


def mode_flow(job: dict) -> dict:
    install(job)
    ops = sys.modules[MODULE + ".operators"]
    scene = bpy.context.scene
    props = scene.mattetrack
    out = Path(job["out"])
    clip = bpy.data.movieclips.load(job["first_plate_file"])
    clip.frame_start = 1  # Blender's default: scene frame 1 shows the clip's first file
    result = {"clip": [clip.filepath, clip.frame_start, clip.frame_offset, clip.source]}
    assert bpy.ops.mattetrack.connect(clip=clip.name) == {"FINISHED"}, props.message
    result["connect"] = {"session": props.session, "plate": props.plate,
                         "size": [props.width, props.height],
                         "frames": [props.first_frame, props.last_frame],
                         "delta": ops.frame_delta(props),
                         "scene_range": [scene.frame_start, scene.frame_end],
                         "resolution": [scene.render.resolution_x, scene.render.resolution_y]}
    assert bpy.ops.mattetrack.add_object(name="blob") == {"FINISHED"}, props.message
    scene.frame_set(job["click_scene_frame"])
    x, y = job["click_blender"]
    got = bpy.ops.mattetrack.add_point(x=x, y=y, positive=True)
    assert got == {"FINISHED"}, props.message
    obj = ops.active_object(props)
    result["object"] = {"name": obj.name, "oid": obj.oid, "keyframes": obj.keyframes}
    preview = bpy.data.images[ops.PREVIEW]
    result["preview"] = {"size": list(preview.size), "channels": preview.channels,
                         "frame": preview["mattetrack_frame"]}
    _pixels(preview, out / "preview.f32")

    props.output = job["output"]
    # Send to farm: the service writes the job bundle beside the mattes.
    assert bpy.ops.mattetrack.send_to_farm() == {"FINISHED"}, props.message
    # On a thread (the service reads every frame for the cuts); the timer reports the end.
    result["farm_at_once"] = props.message
    _drive(ops, scene)
    result["farm"] = props.message
    assert bpy.ops.mattetrack.propagate() == {"FINISHED"}, props.message
    result["timer_registered"] = bpy.app.timers.is_registered(ops.poll_runs)
    result["progress_seen"] = _drive(ops, scene)
    result["state"], result["progress"], result["message"] = (props.state, props.progress,
                                                              props.message)
    mattes = bpy.data.images[ops.compositor.MATTES]
    mask = bpy.data.masks["MatteTrack"]
    result["mattes"] = {"source": mattes.source, "filepath": mattes.filepath,
                        "colorspace": mattes.colorspace_settings.name}
    result["mask"] = {"layers": [la.name for la in mask.layers],
                      "range": [mask.frame_start, mask.frame_end]}
    # The frames to correct, as timeline markers on scene frames.
    result["markers"] = sorted([m.name, m.frame] for m in scene.timeline_markers)

    assert bpy.ops.mattetrack.build_compositor() == {"FINISHED"}, props.message
    tree = scene.compositing_node_group
    result["tree"] = {
        "name": tree.name,
        "nodes": sorted(n.bl_idname for n in tree.nodes),
        "links": sorted(f"{lk.from_node.bl_idname}.{lk.from_socket.name}->"
                        f"{lk.to_node.bl_idname}.{lk.to_socket.name}" for lk in tree.links),
        "matte_user": [[n.frame_start, n.frame_offset, n.frame_duration] for n in tree.nodes
                       if n.bl_idname == "CompositorNodeImage"],
    }
    result["renders"] = _render_frames(scene, job["render_scene_frames"], out)

    # Import Mattes on its own: the shapes are a service job that the timer follows; the
    # operator only starts it (it never waits for a fit on Blender's UI thread).
    bpy.data.masks.remove(bpy.data.masks["MatteTrack"])
    assert bpy.ops.mattetrack.import_mattes() == {"FINISHED"}, props.message
    result["import_at_once"] = {"state": props.state, "registered": bpy.app.timers.is_registered(
        ops.poll_runs), "mask": "MatteTrack" in bpy.data.masks}
    _drive(ops, scene)
    result["import_end"] = {"state": props.state, "message": props.message,
                            "layers": [la.name for la in bpy.data.masks["MatteTrack"].layers]}

    # Clean plate: removed by the service on a thread, loaded as an image by the timer.
    assert bpy.ops.mattetrack.clean_plate() == {"FINISHED"}, props.message
    result["clean_at_once"] = props.message
    _drive(ops, scene)
    clean = bpy.data.images.get(ops.CLEAN_IMAGE)
    result["clean"] = {"message": props.message,
                       "image": None if clean is None else [clean.source, clean.filepath,
                                                            list(clean["mattetrack_frames"])]}
    # The same removal as a farm job bundle beside the clean plate's files.
    assert bpy.ops.mattetrack.clean_plate_on_farm() == {"FINISHED"}, props.message
    result["clean_farm_at_once"] = props.message
    _drive(ops, scene)
    result["clean_farm"] = props.message
    # An object set In front goes to the service as the removal's foreground, the others
    # removed: here the only one, so none is left to remove.
    props.objects[0].in_front = True
    assert bpy.ops.mattetrack.clean_plate() == {"FINISHED"}, props.message
    _drive(ops, scene)
    result["clean_in_front"] = props.message
    props.objects[0].in_front = False
    return result


def mode_cancel(job: dict) -> dict:
    """An image sequence (no editor open) as the source; propagate and cancel at once."""
    install(job)
    ops = sys.modules[MODULE + ".operators"]
    scene = bpy.context.scene
    props = scene.mattetrack
    image = bpy.data.images.load(job["first_plate_file"], check_existing=False)
    image.source = "SEQUENCE"
    scene.frame_start = 1
    assert bpy.ops.mattetrack.connect(image=image.name) == {"FINISHED"}, props.message
    result = {"delta": ops.frame_delta(props), "plate": props.plate, "session": props.session}
    x, y = job["click_blender"]
    assert bpy.ops.mattetrack.add_point(x=x, y=y, frame=job["file_frame"],
                                        preview=False) == {"FINISHED"}, props.message
    # A positive stroke (Blender pixels, origin bottom-left) on the next file frame, as the
    # modal tool sends a drag; a malformed one is refused with a message.
    stroke = ops.logic.format_stroke(ops.logic.thin_path(job["stroke_blender"], 4.0))
    assert bpy.ops.mattetrack.add_stroke(points=stroke, positive=True, width=5.0,
                                         frame=job["file_frame"] + 1,
                                         preview=False) == {"FINISHED"}, props.message
    try:
        refused = bpy.ops.mattetrack.add_stroke(points="1,2,3", frame=job["file_frame"],
                                                preview=False)
    except RuntimeError as err:  # an operator's ERROR report raises when called from Python
        refused = str(err)
    result["refused_stroke"] = [str(refused), props.message]
    props.output = job["output"]
    assert bpy.ops.mattetrack.propagate() == {"FINISHED"}, props.message
    result["cancel"] = sorted(bpy.ops.mattetrack.cancel())
    result["progress_seen"] = _drive(ops, scene)
    result["state"], result["message"] = props.state, props.message
    return result


def mode_windowed(job: dict) -> dict:
    """A linear EXR plate whose data window is off the display window's centre, as an image
    sequence: a click in Blender's pixels, the preview, propagation, the import and the
    compositor's render."""
    install(job)
    ops = sys.modules[MODULE + ".operators"]
    scene = bpy.context.scene
    props = scene.mattetrack
    out = Path(job["out"])
    image = bpy.data.images.load(job["first_plate_file"], check_existing=False)
    image.source = "SEQUENCE"
    scene.frame_start = 1
    assert bpy.ops.mattetrack.connect(image=image.name) == {"FINISHED"}, props.message
    probe = bpy.data.images.load(job["first_plate_file"], check_existing=False)
    probe.pixels[0]  # loads it
    result = {"plate_image_size": list(probe.size), "size": [props.width, props.height],
              "delta": ops.frame_delta(props)}
    bpy.data.images.remove(probe)
    assert bpy.ops.mattetrack.add_object(name="blob") == {"FINISHED"}, props.message
    x, y = job["click_blender"]
    assert bpy.ops.mattetrack.add_point(x=x, y=y, frame=job["file_frame"]) == {"FINISHED"}, \
        props.message
    preview = bpy.data.images[ops.PREVIEW]
    result["preview"] = {"size": list(preview.size), "channels": preview.channels}
    _pixels(preview, out / "preview.f32")
    props.output = job["output"]
    assert bpy.ops.mattetrack.propagate() == {"FINISHED"}, props.message
    _drive(ops, scene)
    result["state"], result["message"] = props.state, props.message
    result["mattes_image"] = ops.compositor.MATTES in bpy.data.images
    assert bpy.ops.mattetrack.build_compositor() == {"FINISHED"}, props.message
    result["renders"] = _render_frames(scene, job["render_scene_frames"], out)
    return result


if __name__ == "__main__":
    job = json.loads(Path(sys.argv[-1]).read_text())
    got = {"install": mode_install, "flow": mode_flow, "cancel": mode_cancel,
           "windowed": mode_windowed}[job["mode"]](job)
    (Path(job["out"]) / "result.json").write_text(json.dumps(got, indent=1))
