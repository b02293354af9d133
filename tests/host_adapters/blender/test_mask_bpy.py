"""The Blender Mask with real bpy 5.0.1 (in its own venv, run in a subprocess): shapes fitted to
mattes are saved with `write_blend`, read back with the adapter's `read_mask` (Blender's own
evaluation of the animation) and rendered through the compositor's Mask node (`bpy_check.py`).

Blender's mask rasteriser always anti-aliases with a one-pixel feather outside each outline
(compositor: `BKE_maskrasterize_handle_init(..., do_mask_aa=true, ...)`), so its 0.5 level sits
up to a pixel outside the spline. Against the mattes the render is measured as a user gets it,
at the plate's size and the 0.5 level; against the core's own raster (the coordinate check) it
is rendered at 4 x 4 the size and averaged back to the plate's pixels, which shrinks that
outset to a quarter pixel.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bpy_harness import bpy_python

from mattetrack.shapes import ShapeParams, shapes_from_mattes
from mattetrack.shapes.blender import BUILDER, ENV_BLENDER, mask_plan, write_blend
from mattetrack.shapes.document import Shape, ShapeDocument, ShapeObject
from mattetrack.shapes.hosts import to_blender
from mattetrack.shapes.raster import rasterise

REPO = Path(__file__).resolve().parents[3]
CHECK = Path(__file__).with_name("bpy_check.py")
FINE = 4  # supersampling of the render compared with the core's raster


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def read_exr(path: Path) -> np.ndarray:
    import OpenImageIO as oiio

    pixels = oiio.ImageInput.open(str(path)).read_image("float")
    assert pixels is not None, oiio.geterror()
    return pixels[:, :, 0]


def in_blender(docs: dict[str, ShapeDocument], tmp: Path, blender: str | None = None
               ) -> dict[str, dict]:
    """Each document through `write_blend` (with `blender`, default: the bpy Python) and
    bpy_check.py: {name: {"read": bpy_check's JSON, "plain": {frame: render at the plate's
    size}, "fine": {frame: the 4 x 4 render averaged to the plate's pixels}}}."""
    exe = bpy_python()
    jobs = []
    for name, doc in docs.items():
        write_blend(doc, tmp / f"{name}.blend", blender=blender or exe)
        for scale in (1, FINE):
            jobs.append({"blend": str(tmp / f"{name}.blend"), "frames": doc.frames(),
                         "out": str(tmp / f"{name}-{scale}"), "scale": scale})
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "PYTHONPATH": str(BUILDER.parent)}  # bpy_check imports the builder
    done = subprocess.run([exe, str(CHECK), str(tmp / "jobs.json")], capture_output=True,
                          text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = {}
    for name, doc in docs.items():
        h, w = doc.height, doc.width
        fine = {f: read_exr(tmp / f"{name}-{FINE}" / f"{f}.exr")
                .reshape(h, FINE, w, FINE).mean(axis=(1, 3)) for f in doc.frames()}
        out[name] = {"read": json.loads((tmp / f"{name}-1" / "read.json").read_text()),
                     "plain": {f: read_exr(tmp / f"{name}-1" / f"{f}.exr")
                               for f in doc.frames()},
                     "fine": fine}
    return out


def layer_shapes(doc: ShapeDocument, plan: dict) -> list[tuple[Shape, Shape]]:
    """For each planned layer (stack order), the document's shape it holds (found by its frames
    and first points) and that shape's outer shape (itself unless it is a hole)."""
    shapes, outer = [], None
    for obj in doc.objects:
        for shape in obj.shapes:
            outer = shape if not shape.hole else outer
            shapes.append((shape, outer))
    found = []
    for spec in (la for o in plan["objects"] for la in o["layers"]):
        first = np.array(spec["points"][0])
        (match,) = [(s, o) for s, o in shapes if s.hole == spec["hole"]
                    and sorted(s.frames) == spec["frames"] and s.point_count == len(first)
                    and np.allclose(to_blender(s.frames[spec["frames"][0]], doc.width,
                                               doc.height), first, atol=1e-9)]
        found.append(match)
    return found


def assert_read_back(doc: ShapeDocument, got: dict) -> None:
    """The saved file holds the plate's scene and, on every frame, each layer's points as
    planned (1e-5) and hide_render exactly where its shape (for a hole: it or its outer
    shape) is absent."""
    plan = mask_plan(doc)
    frames = doc.frames()
    span = [frames[0], frames[-1]]
    assert got["scene"] == {"size": [doc.width, doc.height], "percentage": 100, "range": span}
    assert got["mask"]["name"] == "MatteTrack" and got["mask"]["range"] == span
    assert got["mask"]["handle_types"] == ["FREE"] and got["mask"]["cyclic"]
    planned = [la for o in plan["objects"] for la in o["layers"]]
    assert got["mask"]["blend"] == [la["blend"] for la in planned]
    owners = layer_shapes(doc, plan)
    for f in frames:
        layers = got["frames"][str(f)]
        assert [la["name"] for la in layers] == [la["name"] for la in planned]
        for spec, layer, (shape, outer) in zip(planned, layers, owners, strict=True):
            (spline,) = layer["splines"]
            if f in shape.frames:
                np.testing.assert_allclose(spline, spec["points"][spec["frames"].index(f)],
                                           atol=1e-5)
            assert layer["hide_render"] == (f not in shape.frames or f not in outer.frames), \
                (f, spec["name"])


def assert_renders(doc: ShapeDocument, mattes: dict[int, dict[str, np.ndarray]],
                   renders: dict, matte_iou: float, core_iou: float) -> list[tuple]:
    """Blender's render of a one-object document against its mattes (plate size, 0.5 level)
    and against the core's raster of the same shapes (4 x 4 render); returns (object, frame,
    IoU matte, IoU core)."""
    (obj,) = doc.objects
    measured = []
    for f, by_name in mattes.items():
        plain, fine = renders["plain"][f] >= 0.5, renders["fine"][f] >= 0.5
        measured.append((obj.name, f, iou(plain, by_name[obj.name] >= 0.5),
                         iou(fine, rasterise(obj, f, doc.width, doc.height))))
    print("\n".join(f"{n} frame {f}: IoU matte {a:.4f} core {b:.4f}" for n, f, a, b in measured))
    assert min(m[2] for m in measured) >= matte_iou, measured
    assert min(m[3] for m in measured) >= core_iou, measured
    return measured


# Synthetic: a wide and a portrait plate, a moving ring whose hole appears on frame 1, a
# piece that appears on frame 2, a dot inside the ring's hole from frame 3, and a square with
# a gap (absent on frames 2 and 3).
def ring_matte(w: int, h: int, f: int) -> np.ndarray:
    s = 4
    ys, xs = np.mgrid[: h * s, : w * s]
    x, y = (xs + 0.5) / s, (ys + 0.5) / s
    d = np.hypot(x - w * 0.3 - 3 * f, y - h * 0.35)
    fine = (d < 0.25 * min(w, h)) & ((d > 0.1 * min(w, h)) | (f == 0))
    fine |= (d < 0.04 * min(w, h)) & (f >= 3)
    if f >= 2:
        fine |= (np.abs(x - w * 0.75) < 0.08 * w) & (np.abs(y - h * 0.7) < 0.12 * h)
    return fine.reshape(h, s, w, s).mean(axis=(1, 3)).astype(np.float32)


def gap_square(w: int, h: int) -> Shape:
    x0, y0, x1, y1 = 0.1 * w + 0.3, 0.75 * h + 0.6, 0.3 * w + 0.7, 0.95 * h + 0.2
    rows = np.array([[x, y, x, y, x, y] for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))])
    return Shape({f: rows + [2 * f, 0] * 3 for f in (0, 1, 4, 5)})


def test_synthetic_mask_reads_back_and_renders_as_the_shapes(tmp_path: Path):
    docs, mattes = {}, {}
    for name, (w, h) in {"wide": (480, 240), "tall": (240, 400)}.items():
        frames = {f: ring_matte(w, h, f) for f in range(6)}
        doc = shapes_from_mattes(((f, {1: m}) for f, m in frames.items()), {1: "ring"}, w, h)
        shapes = doc.objects[0].shapes
        shapes.insert(0, shapes.pop())  # the dot first: its layer must still go above the hole
        doc.objects.append(ShapeObject("box", [gap_square(w, h)]))
        docs[name] = doc
        box = {f: rasterise(doc.objects[1], f, w, h) for f in frames}
        mattes[name] = {f: {"ring": m, "box": box[f].astype(np.float32)}
                        for f, m in frames.items()}
    ring = docs["wide"].objects[0].shapes
    # the dot (frames 3-5), the ring, its hole (from frame 1), the late piece (from frame 2)
    assert [(s.hole, min(s.frames)) for s in ring] == [(False, 3), (False, 0), (True, 1),
                                                       (False, 2)]
    got = in_blender(docs, tmp_path)
    for name, doc in docs.items():
        assert_read_back(doc, got[name]["read"])
        h, w = doc.height, doc.width
        # One Mask holds both objects: compare the union, and each object where it is alone.
        both = {f: {"all": np.maximum(m["ring"], m["box"])} for f, m in mattes[name].items()}
        union = ShapeDocument(w, h, [ShapeObject("all", [s for o in doc.objects
                                                         for s in o.shapes])])
        assert_renders(union, both, got[name], matte_iou=0.95, core_iou=0.98)
        for f in (2, 3):  # the box is hidden: nothing in its place
            region = np.zeros((h, w), bool)
            region[int(0.72 * h):, : int(0.4 * w)] = True
            assert not (got[name]["plain"][f] > 0)[region].any()
        for f in (1, 4):  # shown, with its corners where the pixels say (no y flip)
            plain = got[name]["plain"][f] >= 0.5
            ys, xs = np.nonzero(plain[int(0.72 * h):, : int(0.4 * w)])
            assert abs(ys.min() + int(0.72 * h) - 0.75 * h) <= 1.5
            assert abs(xs.min() - (0.1 * w + 2 * f)) <= 1.5


def davis(root: Path, shot: str, frames: range) -> tuple[ShapeDocument, dict]:
    from PIL import Image

    files = sorted((root / shot).glob("*.png"))
    mattes = {f: (np.asarray(Image.open(files[f]).convert("L")) > 127).astype(np.float32)
              for f in frames}
    h, w = mattes[frames[0]].shape
    # Every hole and speck kept (no flicker rule): many shapes that come and go, keyed on and off.
    params = ShapeParams(min_area=16, min_frames=1)
    doc = shapes_from_mattes(((f, {1: m}) for f, m in mattes.items()), {1: shot}, w, h, params)
    return doc, {f: {shot: m} for f, m in mattes.items()}


@pytest.mark.slow
def test_davis_shapes_in_blender_match_the_mattes(shared_data: Path, tmp_path: Path):
    root = shared_data / "davis2016-dev" / "Annotations" / "480p"
    shots = {"blackswan": range(0, 8), "motocross-jump": range(0, 8)}
    fitted = {shot: davis(root, shot, frames) for shot, frames in shots.items()}
    holes = sum(s.hole for s in fitted["motocross-jump"][0].objects[0].shapes)
    assert holes >= 10  # holes that come and go: their layers are keyed on and off
    got = in_blender({shot: doc for shot, (doc, _) in fitted.items()}, tmp_path)
    for shot, (doc, mattes) in fitted.items():
        assert_read_back(doc, got[shot]["read"])
        assert_renders(doc, mattes, got[shot], matte_iou=0.95, core_iou=0.98)


def test_the_blender_binary_command_line_builds_the_same_file(tmp_path: Path, monkeypatch):
    """A stand-in `blender` that takes Blender's command line (`-b --factory-startup
    --python-exit-code 1 --python SCRIPT -- plan out`) and runs SCRIPT in the bpy Python with
    the same argv, so the builder's argument handling after `--` runs in real bpy."""
    exe = bpy_python()
    stand_in = tmp_path / "bin" / "blender"
    stand_in.parent.mkdir()
    stand_in.write_text(f"#!{sys.executable}\n"
                        "import os, sys\n"
                        "a = sys.argv[1:]\n"
                        "assert a[:4] == ['-b', '--factory-startup', '--python-exit-code', '1']\n"
                        "script = a[a.index('--python') + 1]\n"
                        f"os.execv({exe!r}, [{exe!r}, script, *a])\n")
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(ENV_BLENDER, str(stand_in))
    w, h = 64, 48
    doc = shapes_from_mattes(((f, {1: ring_matte(w, h, f)}) for f in range(3)), {1: "r"}, w, h)
    got = in_blender({"r": doc}, tmp_path, blender=None)["r"]  # written by the stand-in
    assert_read_back(doc, got["read"])


def test_cli_format_blender(tmp_path: Path, monkeypatch, capsys):
    """`mattetrack shapes --format blender`: a .blend through the bpy Python, or (no Blender
    anywhere) a one-line error, exit 2, and nothing written."""
    import OpenImageIO as oiio

    from mattetrack.cli import main

    for f in range(1, 4):
        m = np.zeros((48, 64, 1), np.float32)
        m[10:30, 8 + 4 * f : 40 + 4 * f] = 1
        spec = oiio.ImageSpec(64, 48, 1, "half")
        spec.channelnames = ("box.A",)
        out = oiio.ImageOutput.create("exr")
        assert out.open(str(tmp_path / f"m.{f:04d}.exr"), spec)
        out.write_image(m)
        out.close()
    blend = tmp_path / "roto.blend"
    monkeypatch.delenv(ENV_BLENDER, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no blender on PATH
    assert main(["shapes", str(tmp_path / "m.####.exr"), "--format", "blender", "-q",
                 "-o", str(blend)]) == 2
    err = capsys.readouterr().err
    assert ENV_BLENDER in err and err.count("\n") == 1 and not blend.exists()
    monkeypatch.setenv(ENV_BLENDER, bpy_python())
    assert main(["shapes", str(tmp_path / "m.####.exr"), "--format", "blender", "-q",
                 "-o", str(blend)]) == 0
    # A .blend, plain or zstd-compressed (Blender 5 compresses by default).
    assert blend.read_bytes()[:7] == b"BLENDER" or blend.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    assert not list(tmp_path.glob(".*tmp*"))
