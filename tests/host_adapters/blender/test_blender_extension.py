"""The Blender extension (host_adapters/blender) with real bpy 5.0.1 against a real service.

The extension zip is built by build_extension.py, checked by Blender's own validator
(`blender_ext.py validate`, what `blender --command extension validate` runs) and installed
with `bpy.ops.extensions.package_install_files`, as Edit > Preferences > Install from Disk
does. bpy runs in its own venv (bpy_extension.py in a subprocess); the service runs in this
process (`server` fixture), so the test reads what the extension sent from the service's own
state. The pure mappings (logic.py, no bpy) are tested here directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
import zipfile
from pathlib import Path

import build_extension
import cv2
import mattetrack_client as mc
import numpy as np
import OpenImageIO as oiio
import pytest
from bpy_harness import bpy_python
from mattetrack_blender import logic
from service_harness import FIRST, N_FRAMES, H, W

from mattetrack.synthetic import click_point

REPO = Path(__file__).resolve().parents[3]
ADAPTER = REPO / "host_adapters" / "blender"
DRIVER = Path(__file__).with_name("bpy_extension.py")

BACKGROUND = (0.1, 0.6, 0.1)  # the extension's default background colour


def blender_ext(exe: str) -> Path:
    """Blender's extension command line (`blender --command extension ...`) inside bpy."""
    found = subprocess.run([exe, "-c", "import bpy; print(bpy.utils.system_resource('SCRIPTS'))"],
                           capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    return Path(found) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def run_bpy(job: dict, tmp: Path) -> dict:
    exe = bpy_python()
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    job = {"out": str(out), "checkout": str(ADAPTER), **job}
    (tmp / "job.json").write_text(json.dumps(job))
    env = {**os.environ, "BLENDER_USER_EXTENSIONS": str(tmp / "extensions"),
           "HOME": str(tmp / "home")}  # nothing of the user's Blender is read or written
    done = subprocess.run([exe, str(DRIVER), str(tmp / "job.json")], capture_output=True,
                          text=True, check=False, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads((out / "result.json").read_text())


def read_exr(path: str | Path) -> tuple[np.ndarray, tuple[str, ...]]:
    image = oiio.ImageInput.open(str(path))
    assert image is not None, oiio.geterror()
    names = image.spec().channelnames
    pixels = image.read_image("float")
    image.close()
    return pixels, names


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    return build_extension.build(tmp_path_factory.mktemp("ext"))


@pytest.fixture
def token_file(server, tmp_path: Path) -> str:
    path = tmp_path / "token"
    path.write_text(server[1])
    return str(path)


# -- pure mappings ----------------------------------------------------------------------------
def test_sequence_paths_to_the_service_pattern():
    assert logic.sequence_pattern("/s/plate/plate.1001.exr") == ("/s/plate/plate.####.exr",
                                                                 1001, 4)
    assert logic.sequence_pattern("/s/v2/sh010_v003.00087.dpx") == ("/s/v2/sh010_v003.#####.dpx",
                                                                    87, 5)
    assert logic.sequence_pattern("/s/v2/0001.png") == ("/s/v2/####.png", 1, 4)
    assert logic.sequence_pattern("/s/v2/movie.mov") == ("/s/v2/movie.mov", None, 0)
    assert logic.frame_path("/s/m/m.####.exr", 1003) == "/s/m/m.1003.exr"
    assert logic.frame_path("/s/m/m.#####.exr", 7) == "/s/m/m.00007.exr"
    assert logic.default_output("/s/plate/plate.####.exr") == "/s/plate/mattetrack/mattes.####.exr"
    assert logic.shapes_plan_path("/s/m/m.####.exr") == "/s/m/shapes.plan.json"
    assert mc.farm_job_folder("/s/m/m.####.exr") == "/s/m/farm_job"
    reply = {"tasks": 3, "frames": 90, "job_dir": "/s/m/farm_job", "run": "openjd run x",
             "submitted": False}
    assert mc.farm_summary(reply).endswith("in /s/m/farm_job; run it with openjd run x")
    assert mc.farm_summary({**reply, "submit_error": "no deadline"}).endswith(
        "not submitted: no deadline")


def test_scene_frames_and_file_frames():
    # A clip on files 1001.. that starts on scene frame 1 (Blender's default): delta 1000.
    delta = logic.clip_delta(1001, clip_frame_start=1, clip_frame_offset=0)
    assert delta == 1000
    assert logic.file_frame(1, delta) == 1001 and logic.scene_frame(1008, delta) == 8
    # The clip moved to start on scene frame 1001, and its offset skips 2 files.
    assert logic.clip_delta(1001, 1001, 0) == 0 and logic.clip_delta(1001, 1001, 2) == 2
    # Image users: what Blender sets on opening 1001.. (start 1, offset 1000) and ours.
    assert logic.image_user_delta(frame_start=1, frame_offset=1000) == 1000
    user = logic.image_user_for(first_file=1001, count=8, scene_first=1)
    assert user == {"frame_start": 1, "frame_offset": 1000, "frame_duration": 8}
    shown = [logic.image_user_file_frame(s, user["frame_start"], user["frame_offset"],
                                         user["frame_duration"]) for s in range(-1, 12)]
    # Held at the ends (Blender's BKE_image_user_frame_get), the plate in between.
    assert shown == [1000, 1000, *range(1001, 1009), 1008, 1008, 1008]
    cyclic = [logic.image_user_file_frame(s, 1, 1000, 8, cyclic=True) for s in (8, 9, 0)]
    assert cyclic == [1008, 1001, 1008]
    assert logic.image_user_file_frame(5, 1, 1000, 0) == 0


def test_pixel_conventions():
    # Normalised editor coordinates -> Blender pixels (origin bottom-left) -> service pixels
    # (origin top-left), and back.
    assert logic.view_to_pixels(0.25, 0.75, 320, 180) == (80.0, 135.0)
    assert logic.to_service_point(80.0, 135.0, 180) == (80.0, 45.0)
    assert logic.to_blender_point(80.0, 45.0, 180) == (80.0, 135.0)
    assert logic.to_service_point(10.5, 0.0, 180) == (10.5, 180.0)  # bottom edge
    assert logic.inside(320.0, 0.0, 320, 180) and not logic.inside(-0.1, 5, 320, 180)


def test_drag_to_stroke():
    drag = [(0.0, 0.0), (0.5, 0.0), (1.0, 0.2), (3.0, 0.0), (3.5, 0.0), (7.0, 0.0), (7.2, 0.0)]
    assert logic.path_length([(0, 0), (3, 4), (3, 10)]) == 11.0
    assert logic.thin_path(drag, 3.0) == [(0.0, 0.0), (3.0, 0.0), (7.0, 0.0), (7.2, 0.0)]
    assert logic.thin_path([(1.0, 1.0)], 3.0) == [(1.0, 1.0)] and logic.thin_path([], 1) == []
    text = logic.format_stroke([(1.0, 2.5), (3.25, 4.0)])
    assert text == "1.00,2.50,3.25,4.00"
    assert logic.parse_stroke(text) == [(1.0, 2.5), (3.25, 4.0)]
    assert logic.parse_stroke(" 1, 2,3 ,4 ") == [(1.0, 2.0), (3.0, 4.0)]
    for bad, why in (("1,2,3", "x,y pairs"), ("1,2", "two points"), ("1,a,3,4", "numbers")):
        with pytest.raises(ValueError, match=why):
            logic.parse_stroke(bad)
    # A short press-drag is a click.
    assert logic.path_length([(0, 0), (2, 2)]) < logic.STROKE_MIN_LENGTH


def test_plan_shift_and_matte_socket():
    plan = {"format": "mattetrack-blender-mask", "frame_start": 1001, "frame_end": 1003,
            "objects": [{"name": "a", "layers": [
                {"name": "a.1", "frames": [1001, 1003], "hidden": [[1001, False], [1002, True]],
                 "points": []}]}]}
    moved = logic.shift_plan(plan, 1000)
    assert (moved["frame_start"], moved["frame_end"]) == (1, 3)
    assert moved["objects"][0]["layers"][0]["frames"] == [1, 3]
    assert moved["objects"][0]["layers"][0]["hidden"] == [[1, False], [2, True]]
    assert plan["frame_start"] == 1001 and logic.shift_plan(plan, 0) is plan
    assert logic.matte_socket(["blob", "other"], "blob") == "blob"
    assert logic.matte_socket(["matte_blob"], "blob") == "matte_blob"
    assert logic.matte_socket(["Image", "Alpha"], "blob") is None
    assert logic.progress_percent({"done": 3, "total": 8}) == 37.5
    assert logic.progress_percent({"done": 0, "total": 0}) == 0.0


# -- the zip ----------------------------------------------------------------------------------
def test_zip_layout_manifest_and_install(extension_zip: Path, tmp_path: Path):
    """The zip holds the package at its root as Blender's own `extension build` lays it out,
    plus the client; Blender's validator accepts it; Blender installs and enables it; in a
    checkout the package finds the client in host_adapters/client."""
    exe = bpy_python()
    with zipfile.ZipFile(extension_zip) as zf:
        names = sorted(zf.namelist())
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
    assert extension_zip.name == f"mattetrack_blender-{manifest['version']}.zip"
    assert {k: manifest[k] for k in ("schema_version", "id", "type", "blender_version_min",
                                     "license")} == {
        "schema_version": "1.0.0", "id": "mattetrack", "type": "add-on",
        "blender_version_min": "4.2.0", "license": ["SPDX:GPL-3.0-or-later"]}
    assert manifest["permissions"] == {"network": "Talks to the local MatteTrack service",
                                       "files": "Reads mattes and writes shapes"}
    assert manifest["name"] and manifest["maintainer"]
    assert manifest["tagline"][-1].isalnum()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    ext = blender_ext(exe)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    subprocess.run([exe, str(ext), "build", "--source-dir", str(ADAPTER / "mattetrack_blender"),
                    "--output-dir", str(theirs)], check=True, capture_output=True)
    (built,) = theirs.glob("*.zip")
    with zipfile.ZipFile(built) as zf:
        assert sorted([*zf.namelist(), *build_extension.BUNDLED]) == names
    check = subprocess.run([exe, str(ext), "validate", str(extension_zip)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0 and "Success" in check.stdout, check.stdout + check.stderr

    got = run_bpy({"mode": "install", "zip": str(extension_zip)}, tmp_path)
    assert got["installed"] and got["scene_props"]
    installed = tmp_path / "extensions" / "user_default" / "mattetrack"
    assert Path(got["package_file"]) == installed / "__init__.py"
    assert Path(got["client_file"]) == installed / "mattetrack_client.py"  # the shipped copy
    assert Path(got["dev_client_file"]) == REPO / "host_adapters" / "client" / \
        "mattetrack_client.py"
    assert {"connect", "add_object", "add_point", "add_stroke", "click_points", "propagate",
            "send_to_farm", "clean_plate", "clean_plate_on_farm",
            "cancel", "import_mattes", "build_compositor"} <= set(got["operators"])
    assert got["prefs_url"] == "http://127.0.0.1:8765"
    assert got["unregistered"]


# -- against the service ----------------------------------------------------------------------
def test_click_preview_propagate_import_and_composite(server, service_root, extension_zip,
                                                      token_file, tmp_path: Path):
    """A Movie Clip on the plate starting on scene frame 1 (files 1001..): a click at the
    blob's centre in Blender's pixels reaches the service top-left on file frame 1001; the
    preview datablock is the service's overlay; propagation driven by the timer ends at 100 %
    with 8 EXRs; mattes and Mask are imported on scene frames; the compositor renders the plate
    inside the blob and the background colour outside it."""
    url, _ = server
    root, truth = service_root
    x, y_top = click_point(truth[0])
    out_dir = root / "blender_flow"
    renders_at = [1, 4]  # scene frames: files 1001 and 1004
    got = run_bpy({"mode": "flow", "zip": str(extension_zip), "url": url,
                   "token_file": token_file,
                   "first_plate_file": str(root / "plate" / f"plate.{FIRST}.exr"),
                   "click_scene_frame": 1, "click_blender": [x, H - y_top],
                   "output": str(out_dir / "m.####.exr"), "render_scene_frames": renders_at},
                  tmp_path)
    connect = got["connect"]
    assert connect["plate"] == str(root / "plate" / "plate.####.exr")
    assert connect["size"] == [W, H] and connect["resolution"] == [W, H]
    assert connect["frames"] == [FIRST, FIRST + N_FRAMES - 1]
    assert connect["delta"] == FIRST - 1 and connect["scene_range"] == [1, N_FRAMES]

    # The click, as the service holds it: top-left pixels on the file frame.
    sid = connect["session"]
    client = mc.Client(url, server[1])
    (described,) = client.session(sid)["objects"]
    assert described["keyframes"] == [FIRST] and got["object"]["keyframes"] == str(FIRST)
    assert described["name"] == got["object"]["name"] == "blob"
    (prompts,) = described["prompts"]  # as the service reports them
    assert prompts["frame"] == FIRST and not prompts["negative"]
    ((px, py),) = prompts["points"]
    assert abs(px - x) <= 1e-3 and abs(py - y_top) <= 1e-3

    # The preview datablock: the service's PNG (plate aspect), the overlay where the blob is.
    assert got["preview"]["size"] == [W, H] and got["preview"]["frame"] == FIRST
    pixels = np.fromfile(tmp_path / "out" / "preview.f32", np.float32).reshape(H, W, 4)
    pixels = pixels[::-1, :, :3]  # Blender's rows go bottom-up
    png = client.preview(sid, FIRST, max_side=1024)
    theirs = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1] / 255.0
    assert np.abs(pixels - theirs).max() < 1.5 / 255
    plain_sid = client.open_session(connect["plate"])["session"]  # no object: no overlay
    plain = cv2.imdecode(np.frombuffer(client.preview(plain_sid, FIRST, max_side=1024),
                                       np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1] / 255.0
    client.close_session(plain_sid)
    tinted = np.abs(pixels - plain).max(axis=2) > 0.05
    blob = truth[0] >= 0.5
    assert (tinted & blob).sum() / (tinted | blob).sum() > 0.8

    # Send to farm: a bundle beside the mattes, its tasks' split and how to run it.
    assert got["farm_at_once"] == "writing the farm job..."
    assert got["farm"].startswith(f"farm job: 1 task(s) over {N_FRAMES} frame(s)"), got["farm"]
    job = json.loads((out_dir / "farm_job" / "job.json").read_text())
    assert job["objects"] == ["blob"] and job["tasks"] == [[FIRST, FIRST + N_FRAMES - 1]]

    # Propagation followed by the timer; mattes and shapes imported on scene frames.
    assert got["timer_registered"]
    assert got["state"] == "done" and got["progress"] == 100.0, got["message"]
    seen = got["progress_seen"]
    assert seen == sorted(seen) and seen[-1] == 100.0
    files = sorted(out_dir.glob("m.*.exr"))
    assert [f.name for f in files] == [f"m.{f}.exr" for f in range(FIRST, FIRST + N_FRAMES)]
    assert got["mattes"]["source"] == "SEQUENCE"
    assert Path(got["mattes"]["filepath"]) == out_dir / f"m.{FIRST}.exr"
    plan = json.loads((out_dir / "shapes.plan.json").read_text())
    planned = [la["name"] for o in plan["objects"] for la in o["layers"]]
    assert got["mask"]["layers"] == planned and planned
    assert got["mask"]["range"] == [plan["frame_start"] - FIRST + 1, plan["frame_end"] - FIRST + 1]
    # Import Mattes alone: started, then followed by the timer; the same Mask again.
    assert got["import_at_once"] == {"state": "importing", "registered": True, "mask": False}
    assert got["import_end"]["state"] == "done", got["import_end"]
    assert got["import_end"]["layers"] == planned
    # Clean plate: the service's removal, then the image the timer loads (a sequence).
    assert got["clean_at_once"] == "removing the objects..."
    clean_dir = out_dir / "clean"
    assert len(list(clean_dir.glob("plate.*.exr"))) == N_FRAMES, got["clean"]
    assert got["clean"]["image"] == ["SEQUENCE", str(clean_dir / f"plate.{FIRST}.exr"),
                                     [FIRST, FIRST + N_FRAMES - 1]], got["clean"]
    assert got["clean"]["message"].startswith("clean plate in image"), got["clean"]
    # Clean plate on farm: the removal's job bundle beside the clean plate's files.
    assert got["clean_farm_at_once"] == "writing the clean plate farm job..."
    assert got["clean_farm"].startswith(
        f"clean plate farm job: 1 task(s) over {N_FRAMES} frame(s)"), got["clean_farm"]
    assert got["clean_in_front"].startswith(
        "clean plate failed: objects: none left to remove"), got["clean_in_front"]
    template = (clean_dir / "farm_job" / "template.yaml").read_text()
    assert "name: Remove" in template and f"{FIRST}-{FIRST + N_FRAMES - 1}" in template
    # The frames to correct are timeline markers, on scene frames.
    report = client.report(sid)
    wanted = sorted(["MT fix " + o["name"], f - FIRST + 1] for o in report["objects"]
                    for f in o["suggested"])
    assert got["markers"] == wanted

    # The compositor: plate (Movie Clip) with the matte as alpha over a colour.
    tree = got["tree"]
    assert tree["name"] == "MatteTrack"
    assert tree["nodes"] == sorted(["CompositorNodeMovieClip", "CompositorNodeImage",
                                    "CompositorNodeSetAlpha", "CompositorNodeRGB",
                                    "CompositorNodeAlphaOver", "NodeGroupOutput"])
    assert "CompositorNodeImage.blob->CompositorNodeSetAlpha.Alpha" in tree["links"]
    assert tree["matte_user"] == [[1, FIRST - 1, N_FRAMES]]
    for scene_frame in renders_at:
        file_frame = scene_frame + FIRST - 1
        render, _ = read_exr(got["renders"][str(scene_frame)])
        matte, names = read_exr(out_dir / f"m.{file_frame}.exr")
        assert names == ("blob.A",)
        plate, _ = read_exr(root / "plate" / f"plate.{file_frame}.exr")
        inside, outside = matte[:, :, 0] >= 0.999, matte[:, :, 0] <= 0.001
        assert inside.sum() > 500 and outside.sum() > 20000
        assert np.abs(render[inside][:, :3] - plate[inside][:, :3]).max() < 2e-3
        assert np.abs(render[outside][:, :3] - BACKGROUND).max() < 2e-3
        # The matte of this very file was used (the blob moves between frames).
        blob = truth[file_frame - FIRST] >= 0.5
        assert (inside & blob).sum() / (inside | blob).sum() > 0.8
    client.close_session(sid)


def test_image_sequence_source_and_cancel(server, service_root, extension_zip, token_file,
                                          tmp_path: Path):
    """An Image datablock (source SEQUENCE) as the source; a point on an explicit file frame;
    propagation cancelled at once: it ends cancelled (or done, if it was quicker), the timer
    stops, and every file written is whole."""
    url, _ = server
    root, truth = service_root
    x, y_top = click_point(truth[2])
    out_dir = root / "blender_cancel"
    got = run_bpy({"mode": "cancel", "zip": str(extension_zip), "url": url,
                   "token_file": token_file,
                   "first_plate_file": str(root / "plate" / f"plate.{FIRST}.exr"),
                   "click_blender": [x, H - y_top], "file_frame": FIRST + 2,
                   # a drag: samples 1 px apart, thinned to the stroke's points
                   "stroke_blender": [[10.0 + i, 20.0] for i in range(13)],
                   "output": str(out_dir / "m.####.exr")}, tmp_path)
    assert got["plate"] == str(root / "plate" / "plate.####.exr") and got["delta"] == FIRST - 1
    # The stroke as the service holds it: top-left pixels, on its file frame.
    client = mc.Client(url, server[1])
    (described,) = client.session(got["session"])["objects"]
    (prompts,) = [p for p in described["prompts"] if p["frame"] == FIRST + 3]
    (stroke,) = prompts["strokes"]
    assert stroke["positive"] is True and stroke["width"] == 5.0
    np.testing.assert_allclose(stroke["points"], [[10, H - 20], [14, H - 20], [18, H - 20],
                                                  [22, H - 20]], atol=1e-3)
    assert "x,y pairs" in got["refused_stroke"][1], got["refused_stroke"]
    assert got["cancel"] == ["FINISHED"]
    assert got["state"] in ("cancelled", "done"), got["message"]
    for path in out_dir.glob("m.*.exr"):
        pixels, names = read_exr(path)
        # no add_object: the first point made an object named "object"
        assert pixels.shape == (H, W, 1) and names == ("object.A",)
    if got["state"] == "done":
        assert len(list(out_dir.glob("m.*.exr"))) == N_FRAMES
    mc.Client(url, server[1]).close_session(got["session"])


def _windowed_plate(root: Path, box: tuple[int, int, int, int]) -> Path:
    """root/windowed/plate.1001-1008.exr: the plate's frames stored on data window `box` (x, y,
    width, height from the display window's corner) inside its 320x180 display window."""
    folder = root / "windowed"
    folder.mkdir(exist_ok=True)
    x, y, w, h = box
    for f in range(FIRST, FIRST + N_FRAMES):
        pixels, _ = read_exr(root / "plate" / f"plate.{f}.exr")
        spec = oiio.ImageSpec(w, h, 3, "half")
        spec.x, spec.y = x, y
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, W, H
        path = str(folder / f"plate.{f}.exr")
        out = oiio.ImageOutput.create(path)
        assert out.open(path, spec), oiio.geterror()
        out.write_image(np.ascontiguousarray(pixels[y:y + h, x:x + w]))
        out.close()
    return folder


def test_a_plate_with_an_offset_data_window(server, service_root, extension_zip, token_file,
                                            tmp_path: Path):
    """A linear EXR plate whose data window (250x150 at (40, 12) in 320x180) is off the display
    window's centre. Blender shows the data window alone: the click lands on the plate pixel
    under it, the preview is the data window's, and the imported mattes (on the plate's data
    window, the default) sit on the plate in the compositor's render."""
    url, _ = server
    root, truth = service_root
    box = (40, 12, 250, 150)
    folder = _windowed_plate(root, box)
    x, y_top = click_point(truth[0])
    assert box[0] < x < box[0] + box[2] and box[1] < y_top < box[1] + box[3]
    out_dir = root / "blender_windowed"
    got = run_bpy({"mode": "windowed", "zip": str(extension_zip), "url": url,
                   "token_file": token_file, "first_plate_file": str(folder / f"plate.{FIRST}.exr"),
                   # Blender's pixels: the data window's, origin bottom-left
                   "click_blender": [x - box[0], box[3] - (y_top - box[1])],
                   "file_frame": FIRST, "output": str(out_dir / "m.####.exr"),
                   "render_scene_frames": [1, 5]}, tmp_path)
    # Blender loads the data window as the image (the fact behind all of this).
    assert got["plate_image_size"] == [box[2], box[3]] and got["size"] == [W, H]
    client = mc.Client(url, server[1])
    sessions = [s for s in client.sessions() if s["plate"] == str(folder / "plate.####.exr")]
    (described,) = client.session(sessions[-1]["session"])["objects"]
    ((px, py),) = described["prompts"][0]["points"]
    assert abs(px - x) <= 1e-3 and abs(py - y_top) <= 1e-3  # the plate pixel clicked
    assert client.plate_window(sessions[-1]["session"], FIRST) == {
        "frame": FIRST, "display": [W, H], "data": list(box)}

    # The preview: the data window's pixels, the overlay on the blob there.
    assert got["preview"]["size"] == [box[2], box[3]]
    pixels = np.fromfile(tmp_path / "out" / "preview.f32", np.float32).reshape(box[3], box[2], 4)
    plain_sid = client.open_session(str(folder / "plate.####.exr"))["session"]
    png = client.preview(plain_sid, FIRST, max_side=1024, window="data")
    client.close_session(plain_sid)
    plain = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1] / 255.0
    tinted = np.abs(pixels[::-1, :, :3] - plain).max(axis=2) > 0.05
    blob = truth[0][box[1]:box[1] + box[3], box[0]:box[0] + box[2]] >= 0.5
    assert (tinted & blob).sum() / (tinted | blob).sum() > 0.8

    # Mattes on the plate's data window, as Blender loads the plate.
    assert got["state"] == "done", got["message"]
    assert got["mattes_image"]
    for scene_frame in (1, 5):
        file_frame = scene_frame + FIRST - 1
        render, _ = read_exr(got["renders"][str(scene_frame)])
        matte_in = oiio.ImageInput.open(str(out_dir / f"m.{file_frame}.exr"))
        spec = matte_in.spec()
        assert (spec.x, spec.y, spec.width, spec.height) == box  # the plate's data window
        matte = matte_in.read_image("float")[:, :, 0]
        matte_in.close()
        plate = read_exr(folder / f"plate.{file_frame}.exr")[0][:, :, :3]
        inside, outside = matte >= 0.999, matte <= 0.001
        assert inside.sum() > 300 and outside.sum() > 10000

        # Blender centres the data window in the frame: plate and mattes together.
        sx, sy = (W - box[2]) // 2, (H - box[3]) // 2
        seen = render[sy:sy + box[3], sx:sx + box[2], :3]
        assert np.abs(seen[inside] - plate[inside]).max() < 2e-3
        assert np.abs(seen[outside] - BACKGROUND).max() < 2e-3
