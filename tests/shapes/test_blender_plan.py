"""The Blender mask plan (shapes/blender.py) on small synthetic documents, and how `write_blend`
finds and runs Blender (with stand-in executables; the real bpy runs are in
tests/host_adapters/blender)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.shapes import blender
from mattetrack.shapes.blender import ENV_BLENDER, mask_plan, write_blend
from mattetrack.shapes.document import Shape, ShapeDocument, ShapeObject

W, H = 200, 100


def square(x: float, y: float, r: float) -> np.ndarray:
    """A square of half-size r around (x, y) with straight (zero-length) handles, clockwise."""
    pts = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    return np.array([[px, py, px, py, px, py] for px, py in pts], float)


def doc_of(*shapes: Shape, name: str = "hero") -> ShapeDocument:
    return ShapeDocument(W, H, [ShapeObject(name, list(shapes))])


def layers(plan: dict, obj: int = 0) -> list[dict]:
    return plan["objects"][obj]["layers"]


def test_points_are_normalised_bottom_left_and_aspect_corrected():
    rows = np.array([[0, 0, -10, 0, 10, -20],  # top-left corner; handle up on screen
                     [W, H, W, H, W, H],  # bottom-right corner
                     [W / 2, H / 2, W / 2, H / 2, W / 2, H / 2]], float)
    plan = mask_plan(doc_of(Shape({7: rows})))
    pts = np.array(layers(plan)[0]["points"][0])
    # A wide frame fills x in [0, 1]; y is centred, spanning H / W: [0.25, 0.75] here.
    np.testing.assert_allclose(pts[:, :2], [[0, 0.75], [1, 0.25], [0.5, 0.5]])
    # Handles stay absolute; 10 px is 0.05 across and up alike (aspect kept), y flipped.
    np.testing.assert_allclose(pts[0, 2:], [-0.05, 0.75, 0.05, 0.85])
    tall = ShapeDocument(H, W, [ShapeObject("t", [Shape({0: np.array([[0, 0] * 3, [H, W] * 3],
                                                                          float)})])])
    pts = np.array(layers(mask_plan(tall))[0]["points"][0])
    np.testing.assert_allclose(pts[:, :2], [[0.25, 1], [0.75, 0]])  # portrait: x is centred
    assert (plan["width"], plan["height"]) == (W, H)


def test_frame_range_keys_and_visibility():
    everywhere = Shape({f: square(50 + f, 50, 20) for f in range(3, 11)})
    gap = Shape({f: square(150, 50, 10) for f in (5, 6, 9)})
    plan = mask_plan(doc_of(everywhere, gap))
    assert (plan["frame_start"], plan["frame_end"]) == (3, 10)
    first, second = layers(plan)
    assert first["frames"] == list(range(3, 11)) and first["hidden"] == []
    assert [p[0][0] for p in first["points"]] == pytest.approx([(30 + f) / W for f in range(3, 11)])
    # Stepped hide_render keys: hidden from the first frame, shown on 5-6 and 9, hidden after.
    assert second["frames"] == [5, 6, 9]
    assert second["hidden"] == [[3, True], [5, False], [7, True], [9, False], [10, True]]
    # Shown from the first frame and gone before the last: keyed shown on the first frame, so
    # Blender's constant extrapolation does not hide it before its hide key.
    early = Shape({f: square(20, 20, 5) for f in (3, 4)})
    assert layers(mask_plan(doc_of(everywhere, early)))[1]["hidden"] == [[3, False], [5, True]]
    json.dumps(plan)  # plain JSON


def test_holes_subtract_after_their_shape_and_only_while_it_is_there():
    ring = Shape({f: square(60, 50, 40) for f in range(0, 6)})
    hole = Shape({f: square(60, 50, 10) for f in range(2, 8)}, hole=True)  # outlives the ring
    island = Shape({f: square(60, 50, 4) for f in range(0, 6)})  # sits inside the hole
    stray = Shape({0: square(5, 5, 2)}, hole=True)
    plan = mask_plan(doc_of(stray, island, ring, hole))
    got = layers(plan)
    # The stray hole (before any shape) cuts nothing and is dropped; the ring and its hole come
    # before the smaller island, so the hole's SUBTRACT layer does not cut the island.
    assert [la["name"] for la in got] == ["hero.1", "hero.1.hole1", "hero.2"]
    assert [la["blend"] for la in got] == ["MERGE_ADD", "SUBTRACT", "MERGE_ADD"]
    assert [la["hole"] for la in got] == [False, True, False]
    assert got[0]["points"][0][0][:2] == pytest.approx([20 / W, 0.75 - 10 / W])
    assert got[1]["frames"] == list(range(2, 8))  # all its keys are kept ...
    assert got[1]["hidden"] == [[0, True], [2, False], [6, True]]  # ... but it acts on 2-5 only


def test_layer_names_are_unique_and_fit_blender():
    long = "x" * 80
    doc = ShapeDocument(W, H, [ShapeObject(long, [Shape({0: square(50, 50, 10)}),
                                                  Shape({0: square(150, 50, 5)})]),
                               ShapeObject("é" * 40, [Shape({0: square(50, 50, 10)})]),
                               ShapeObject("a", [Shape({0: square(50, 50, 10)})]),
                               ShapeObject("a", [Shape({0: square(50, 50, 10)})])])
    names = [la["name"] for o in mask_plan(doc)["objects"] for la in o["layers"]]
    assert len(set(names)) == len(names) == 5
    assert all(len(n.encode()) <= 63 for n in names)
    assert names[3:] == ["a.1", "a.1.2"]
    assert names[2] == "é" * 31  # cut on a character boundary


def fake(tmp_path: Path, name: str, body: str) -> Path:
    """An executable shell script `name` that records its arguments and then runs `body`."""
    exe = tmp_path / "bin" / name
    exe.parent.mkdir(exist_ok=True)
    exe.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/args.txt"\n'
                   'for a; do last="$a"; done\n' + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_write_blend_without_blender_says_how_to_set_one(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(ENV_BLENDER, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no blender on it
    with pytest.raises(InputError, match=ENV_BLENDER) as err:
        write_blend(doc_of(Shape({0: square(50, 50, 10)})), tmp_path / "out.blend")
    assert "\n" not in str(err.value)
    monkeypatch.setenv(ENV_BLENDER, str(tmp_path / "nowhere" / "blender"))
    with pytest.raises(InputError, match=f"not found.*{ENV_BLENDER}"):
        write_blend(doc_of(Shape({0: square(50, 50, 10)})), tmp_path / "out.blend")
    assert not (tmp_path / "out.blend").exists()


def test_write_blend_runs_a_blender_binary_or_a_python_and_renames_into_place(tmp_path: Path,
                                                                              monkeypatch):
    monkeypatch.delenv(ENV_BLENDER, raising=False)
    doc = doc_of(Shape({0: square(50, 50, 10)}))
    out = tmp_path / "shot.blend"
    # A Blender binary (found on PATH): background, factory settings, the builder script, and
    # a non-zero exit status on a Python error; the plan and the output after `--`.
    fake(tmp_path, "blender", 'cp "$(dirname "$0")/../args.txt" "$last"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    write_blend(doc, out)
    args = out.read_text().splitlines()
    assert args[:6] == ["-b", "--factory-startup", "--python-exit-code", "1", "--python",
                        str(blender.BUILDER)]
    assert args[6] == "--" and args[7].endswith("plan.json") and args[8].endswith(".blend")
    assert Path(args[8]).parent == tmp_path and args[8] != str(out)  # a temporary name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["args.txt", "bin", "shot.blend"]
    # A Python that can import bpy (named python...), given as the argument: script, plan, out.
    py = fake(tmp_path, "python3.11", 'cp "$2" "$last"')
    write_blend(doc, out, blender=str(py))
    assert json.loads(out.read_text()) == json.loads(json.dumps(mask_plan(doc)))
    assert (tmp_path / "args.txt").read_text().splitlines()[0] == str(blender.BUILDER)


def test_a_failing_blender_leaves_the_old_file_and_reports_its_last_error_line(tmp_path: Path,
                                                                              monkeypatch):
    out = tmp_path / "shot.blend"
    out.write_text("old")
    fail = fake(tmp_path, "blender", 'echo "Traceback ..." >&2; echo "" >&2; '
                'echo "ValueError: not a plan" >&2; echo partial > "$last"; exit 1')
    monkeypatch.setenv(ENV_BLENDER, str(fail))
    with pytest.raises(InputError, match=r"shot\.blend.*ValueError: not a plan$"):
        write_blend(doc_of(Shape({0: square(50, 50, 10)})), out)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["args.txt", "bin", "shot.blend"]
    # Exit status 0 without an output file is a failure too.
    silent = fake(tmp_path, "blender", "exit 0")
    with pytest.raises(InputError, match="exit status 0"):
        write_blend(doc_of(Shape({0: square(50, 50, 10)})), out, blender=str(silent))


def test_write_blend_needs_the_builder_script(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(blender, "BUILDER", tmp_path / "missing" / "mask.py")
    exe = fake(tmp_path, "blender", "exit 0")
    with pytest.raises(InputError, match="builder script is missing"):
        write_blend(doc_of(Shape({0: square(50, 50, 10)})), tmp_path / "o.blend", str(exe))
