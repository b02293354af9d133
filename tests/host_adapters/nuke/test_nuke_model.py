"""The MatteTrack node's pure logic (host_adapters/nuke/mattetrack_nuke/model.py): coordinates,
the prompts knob, file patterns and layer names checked against the core's own, and the
adapter compiled and run by a Python 3.9 (Nuke 14's) where one is installed."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from mattetrack_nuke import model

from mattetrack.framepattern import FramePattern

REPO = Path(__file__).resolve().parents[3]
ADAPTER = REPO / "host_adapters" / "nuke"


def test_coordinates_flip_y_about_the_format_height():
    assert model.nuke_to_service(10.5, 170.5, 180) == (10.5, 9.5)
    # The centre of the top-left pixel, and the bottom edge.
    assert model.nuke_to_service(0.5, 179.5, 180) == (0.5, 0.5)
    assert model.nuke_to_service(320, 0, 180) == (320.0, 180.0)
    for x, y in [(0.25, 3.75), (319.5, 0.5), (160.125, 90.0)]:
        assert model.service_to_nuke(*model.nuke_to_service(x, y, 180), 180) == (x, y)


def test_prompts_knob_round_trip_and_service_view():
    p = model.Prompts()
    assert p.add_object("hero blob") == "hero blob"
    assert p.add_object("") == "object1" and p.add_object(None) == "object2"
    with pytest.raises(ValueError, match="already"):
        p.add_object(" hero blob ")  # names are stripped, as the service strips them
    with pytest.raises(ValueError, match="control"):
        p.add_object("a\tb")
    p.add_point("hero blob", 1003, 100.5, 80.5, True)
    p.add_point("hero blob", 1003, 10, 170, False)
    p.add_point("hero blob", 1005, 1, 2, True)
    p.add_point("object1", 1001, 5, 6, False)
    assert p.clear_frame("hero blob", 1005) == 1 and p.clear_frame("hero blob", 1005) == 0
    assert p.frames("hero blob") == [1003] and p.count() == 3
    back = model.Prompts.from_json(p.to_json())
    assert back.objects == p.objects and back.names() == ["hero blob", "object1", "object2"]
    # Top-left pixels for the service; objects without a point are left out.
    assert p.for_service(180) == {
        "hero blob": {"1003": {"points": [[100.5, 99.5]], "negative": [[10.0, 10.0]]}},
        "object1": {"1001": {"points": [], "negative": [[5.0, 174.0]]}}}
    p.remove_object("object1")
    assert p.names() == ["hero blob", "object2"]
    assert model.Prompts.from_json("").objects == {}
    with pytest.raises(ValueError, match="damaged"):
        model.Prompts.from_json('{"objects": [{"name": "a"}]}')


def test_strokes_in_the_prompts_knob_and_the_service_view():
    p = model.Prompts()
    name = p.add_object("blob")
    # A paint stroke repeats its point while the pen rests: repeats dropped.
    p.add_stroke(name, 1002, [(10, 170), (10, 170), (20, 160.5), (30, 150)], True, 12)
    p.add_stroke(name, 1002, [(5, 5), (6, 7)], False)  # default width
    p.add_point(name, 1002, 40, 40, True)
    assert p.strokes(name, 1002) == [
        {"stroke": [[10.0, 170.0], [20.0, 160.5], [30.0, 150.0]], "positive": True,
         "width": 12.0},
        {"stroke": [[5.0, 5.0], [6.0, 7.0]], "positive": False,
         "width": model.DEFAULT_STROKE_WIDTH}]
    assert p.points(name, 1002) == [[40.0, 40.0, True]] and p.count() == 3
    back = model.Prompts.from_json(p.to_json())
    assert back.objects == p.objects
    assert p.for_service(180) == {"blob": {"1002": {
        "points": [[40.0, 140.0]], "negative": [],
        "strokes": [[[[10.0, 10.0], [20.0, 19.5], [30.0, 30.0]], True, 12.0],
                    [[[5.0, 175.0], [6.0, 173.0]], False, 8.0]]}}}
    assert json.loads(json.dumps(p.for_service(180))) == p.for_service(180)  # sync's memory
    with pytest.raises(ValueError, match="two distinct"):
        p.add_stroke(name, 1002, [(1, 1), (1, 1)])
    with pytest.raises(ValueError, match="positive"):
        p.add_stroke(name, 1002, [(1, 1), (2, 2)], True, 0)
    assert p.clear_frame(name, 1002) == 3


@pytest.mark.parametrize(("read_file", "service"), [
    ("/shots/a/plate.####.exr", "/shots/a/plate.####.exr"),
    ("/shots/a/plate.%04d.exr", "/shots/a/plate.%04d.exr"),
    ("/shots/a/plate.%04d.exr 1001-1100", "/shots/a/plate.%04d.exr"),
    ("C:\\shots\\a\\plate.#####.dpx", "C:/shots/a/plate.#####.dpx"),
    ("  /shots/a/clip.mov ", "/shots/a/clip.mov"),
])
def test_read_file_to_service_pattern(read_file, service):
    got = model.service_pattern(read_file)
    assert got == service
    pattern = FramePattern.parse(got)
    if pattern is not None:  # the service reads it as the same frames
        assert model.frame_path(got, 1001) == pattern.path(1001)
        assert model.frame_path(got, 7) == pattern.path(7)


@pytest.mark.parametrize(("read_file", "error"), [
    ("", "no file"), ("/s/plate.%V.####.exr", "stereo"), ("/s/p.####.%04d.exr", "more than one"),
])
def test_read_files_the_service_cannot_read(read_file, error):
    with pytest.raises(ValueError, match=error):
        model.service_pattern(read_file)


def test_output_and_shapes_beside_the_plate():
    assert model.default_output("/shots/a/plate.####.exr") == \
        "/shots/a/mattetrack/plate_matte.####.exr"
    assert model.default_output("/shots/a/sh010_bg_v002.%04d.exr") == \
        "/shots/a/mattetrack/sh010_bg_v002_matte.####.exr"
    assert model.default_output("/shots/a/%04d.exr") == "/shots/a/mattetrack/plate_matte.####.exr"
    out = "/shots/a/mattetrack/plate_matte.####.exr"
    assert model.shapes_path(out, "/shots/a/plate.####.exr") == \
        "/shots/a/mattetrack/plate_shapes.nk"
    assert model.plan_path("/x/plate_shapes.nk") == "/x/plate_shapes.roto.json"
    assert model.frame_path(out, 1001) == "/shots/a/mattetrack/plate_matte.1001.exr"
    assert model.frame_path("/m/%d.exr", 5) == "/m/5.exr"


def test_progress_text():
    assert model.progress({"state": "running", "done": 0, "total": 8, "frame": None}) == \
        (0, "starting (0/8)")
    assert model.progress({"state": "running", "done": 3, "total": 8, "frame": 1003}) == \
        (37, "frame 1003 (3/8)")
    assert model.progress({"state": "done", "done": 8, "total": 8}) == (100, "done (8/8 frames)")
    assert model.progress({"state": "failed", "done": 1, "total": 0, "error": "disk full"}) == \
        (0, "failed: disk full")


def _python39() -> str | None:
    """A working Python 3.9 (a pyenv shim may name one that is not selected: try it)."""
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))
    candidates.append(shutil.which("python3.9"))
    for python in filter(None, candidates):
        done = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == "(3, 9)":
            return python
    return None


def test_the_adapter_runs_on_python_3_9():
    """Nuke 14 has Python 3.9: the adapter, its entry files and the client compile there and
    the pure logic runs."""
    python = _python39()
    if python is None:
        pytest.skip("no Python 3.9 here")
    files = [str(p) for p in ADAPTER.rglob("*.py")]
    files.append(str(REPO / "host_adapters" / "client" / "mattetrack_client.py"))
    compile_all = "import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, 'exec')"
    subprocess.run([python, "-c", compile_all, *files], check=True)
    code = ("from mattetrack_nuke import model, node, sync, paths, roto\n"
            "p = model.Prompts(); p.add_point(p.add_object('a b'), 1, 2, 3)\n"
            "assert model.Prompts.from_json(p.to_json()).objects == p.objects\n"
            "assert model.node_name('a b') == 'a_b'\n")
    subprocess.run([python, "-c", code], check=True, cwd=str(ADAPTER),
                   env={**os.environ, "PYTHONPATH": str(REPO / "host_adapters" / "client")})


def test_suggestions_text_round_trip_and_next_frame():
    suggested = {"hero blob": [37, 21, 44], "cat": [12]}
    text = model.suggestions_text(suggested)
    assert text == "hero blob: 37 21 44; cat: 12"
    assert model.parse_suggestions(text) == suggested
    assert model.parse_suggestions("") == {} and model.suggestions_text({"x": []}) == ""
    assert model.next_suggested(suggested, "hero blob", 21) == 37
    assert model.next_suggested(suggested, "hero blob", 50) == 21  # wraps around
    assert model.next_suggested(suggested, "unknown", 13) == 21  # any object's
    assert model.next_suggested({}, "cat", 1) is None
