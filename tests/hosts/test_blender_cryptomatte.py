"""MatteTrack's EXR outputs picked through real Blender's own Cryptomatte node (bpy 5.0.1, in its
own venv; `bpy_cryptomatte.py`): each object's pick, rendered at the display window's size,
gives back its matte channel as OpenImageIO reads it on the display window.

Facts found with these files (docs/CONVENTIONS.md, "Blender"): Blender reads a file with only
the rank layers the objects need (one layer for one or two objects); it reads an EXR's data
window as the whole image, offset ignored, and its compositor centres the image in the render,
so a data window other than the display window lands right only where it happens to be centred
(`--window display` writes the mattes on the display window for Blender).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
from bpy_harness import bpy_python

from mattetrack import cli
from mattetrack.shapes.source import open_mattes
from mattetrack.synthetic import render_shot

PICK = Path(__file__).with_name("bpy_cryptomatte.py")
W, H, FIRST = 320, 180, 1001
NAMES = ["dog", "cat", "ball", "tree", "car"]


def _plate(write_oiio, folder: Path, origin=(0, 0), size=(W, H)) -> Path:
    """Two frames of a synthetic shot as half EXRs (written with `write_oiio`, the
    `image_writer` fixture): data window `size` at `origin`, display window W x H at 0, 0."""
    folder.mkdir(parents=True)
    (x, y), (w, h) = origin, size
    for i, (rgb, _) in enumerate(render_shot(2, W, H, seed=2, motion_blur_samples=1)):
        data = np.zeros((h, w, 3), np.float32)  # overscan past the display window: black
        xs, ys = slice(max(x, 0), min(x + w, W)), slice(max(y, 0), min(y + h, H))
        data[ys.start - y:ys.stop - y, xs.start - x:xs.stop - x] = rgb[ys, xs]
        write_oiio(folder / f"plate.{FIRST + i}.exr", data, "half",
                   origin=origin, display=(0, 0, W, H), attrs={"compression": "zip"})
    return folder / "plate.####.exr"


def _masks(folder: Path, n: int) -> list[str]:
    """n soft discs (8-bit PNG masks) that overlap their neighbours: --mask prompts."""
    ys, xs = np.mgrid[:H, :W]
    args = []
    for i in range(n):
        cx, cy = 60 + 50 * i, 70 + 15 * (i % 3)
        disc = np.clip((34.0 - np.hypot(xs - cx, ys - cy)) / 6.0, 0.0, 1.0)
        path = folder / f"mask{i}.png"
        cv2.imwrite(str(path), (disc * 255 + 0.5).astype(np.uint8))
        args += ["--object", NAMES[i], "--mask", f"{FIRST}:{path}"]
    return args


def _display_channel(path: Path, name: str) -> np.ndarray:
    """(H, W) float32 matte of object `name` on the display window, as `shapes` reads it (with
    OpenImageIO, from whichever part holds it)."""
    return open_mattes(str(path), [name]).read(FIRST)[name]


def _picks(jobs: list[dict], tmp: Path) -> list[dict]:
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([bpy_python(), str(PICK), str(tmp / "jobs.json")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _render(path: str) -> np.ndarray:
    import OpenImageIO as oiio

    return oiio.ImageBuf(path).get_pixels(oiio.FLOAT)[:, :, 0]


CASES = {
    # kind: (objects, plate data window origin and size, track's options)
    "one object": (1, (0, 0), (W, H), []),
    "five objects (three rank layers)": (5, (0, 0), (W, H), []),
    "data window centred in the display window": (2, (40, 20), (240, 140), []),
    "data window off centre, --window display": (2, (10, 30), (250, 150), ["--window",
                                                                             "display"]),
    "data window past the display window, --window display": (2, (-16, 8), (352, 200),
                                                              ["--window", "display"]),
    "merged into a single-part scanline plate": (2, (0, 0), (W, H), ["--merge"]),
    "merged into an off-centre plate, --window display": (2, (10, 30), (250, 150),
                                                          ["--merge", "--window", "display"]),
}


def _track(write_oiio, tmp_path: Path, n: int, origin, size, extra: list[str]) -> Path:
    """The first frame's output of `track` with n objects' masks, a Cryptomatte and `extra`."""
    plate = _plate(write_oiio, tmp_path / "plate", origin, size)
    out = tmp_path / "out" / "m.####.exr"
    assert cli.main(["track", str(plate), *_masks(tmp_path, n), "--cryptomatte", "--range",
                     f"{FIRST}-{FIRST}", "-o", str(out), "-q", *extra]) == 0
    return tmp_path / "out" / f"m.{FIRST}.exr"


def test_blender_ignores_a_data_windows_offset(image_writer, tmp_path):
    """Why `--window display`: the same mattes on an off-centre data window (the plate's, the
    default) come back from Blender shifted to where the centred image would be."""
    written = _track(image_writer, tmp_path, 1, (10, 30), (250, 150), [])
    pick = _picks([{"path": str(written), "layer": "MatteTrack", "name": "dog",
                    "size": [W, H], "out": str(tmp_path / "pick.exr")}], tmp_path)[0]
    ours, theirs = _display_channel(written, "dog"), _render(pick["out"])
    assert ours.max() > 0.99 and theirs.max() > 0.99
    ys, xs = np.nonzero(ours >= 0.5)
    ty, tx = np.nonzero(theirs >= 0.5)
    # Centred: x from (320 - 250) / 2 = 35 instead of 10, y from (180 - 150) / 2 = 15, not 30.
    assert (round(tx.mean() - xs.mean()), round(ty.mean() - ys.mean())) == (25, -15)


@pytest.mark.parametrize("case", list(CASES))
def test_blender_picks_each_object_back(image_writer, case, tmp_path):
    n, origin, size, extra = CASES[case]
    written = _track(image_writer, tmp_path, n, origin, size, extra)
    jobs = [{"path": str(written), "layer": "MatteTrack", "name": name, "size": [W, H],
             "out": str(tmp_path / f"pick_{name}.exr")} for name in NAMES[:n]]
    picks = _picks(jobs, tmp_path)
    assert len(picks) == n
    for name, pick in zip(NAMES[:n], picks, strict=True):
        assert "MatteTrack" in pick["layers"]
        ours = _display_channel(written, name)
        theirs = _render(pick["out"])
        assert ours.max() > 0.99, name  # the object is there
        inter = ((ours >= 0.5) & (theirs >= 0.5)).sum()
        union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
        assert inter / union >= 0.99, (case, name, inter / union)
        # Soft edges too: the node gives each id's own coverage (half matte vs float32 ids).
        assert np.abs(ours - theirs).max() < 2e-3, (case, name)


def _multipart_plate(write_multipart, folder: Path) -> Path:
    """Two frames of a two-part plate: part `beauty` (R, G, B, scanline) and part `depth` (Z)."""
    folder.mkdir(parents=True)
    for i, (rgb, _) in enumerate(render_shot(2, W, H, seed=2, motion_blur_samples=1)):
        write_multipart(folder / f"plate.{FIRST + i}.exr", [
            ("beauty", ["R", "G", "B"], rgb.astype(np.float32), "half"),
            ("depth", ["Z"], np.full((H, W, 1), 3.0, np.float32), "float")])
    return folder / "plate.####.exr"


@pytest.mark.parametrize("named", [False, True], ids=["as Nuke reads it", "--blender-cryptomatte"])
def test_blender_finds_the_cryptomatte_of_a_merged_multipart_plate(multipart_writer, named,
                                                                   tmp_path):
    """Blender names a named part's layers `<part>.<layer>` and matches a Cryptomatte's type
    against them: in a merged multi-part plate ours (type `MatteTrack`, in part `beauty`) is
    offered but picks nothing; `--blender-cryptomatte` also types it `beauty.MatteTrack`, which
    Blender picks back exactly."""
    plate = _multipart_plate(multipart_writer, tmp_path / "plate")
    out = tmp_path / "out" / "m.####.exr"
    assert cli.main(["track", str(plate), *_masks(tmp_path, 2), "--cryptomatte", "--merge",
                     "--range", f"{FIRST}-{FIRST}", "-o", str(out), "-q"]
                    + (["--blender-cryptomatte"] if named else [])) == 0
    written = tmp_path / "out" / f"m.{FIRST}.exr"
    layer = "beauty.MatteTrack" if named else "MatteTrack"
    picks = _picks([{"path": str(written), "layer": layer, "name": name, "size": [W, H],
                     "out": str(tmp_path / f"pick_{name}.exr")} for name in NAMES[:2]],
                   tmp_path)
    for name, pick in zip(NAMES[:2], picks, strict=True):
        ours, theirs = _display_channel(written, name), _render(pick["out"])
        assert ours.max() > 0.99
        if not named:
            assert theirs.max() == 0.0, name
            continue
        assert "'beauty.MatteTrack'" in pick["layers"] and "'MatteTrack'" in pick["layers"]
        union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
        assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99, name
        assert np.abs(ours - theirs).max() < 2e-3, name
    # The cost, and why it is an option: the added entry has no channels of its own name, and
    # cryptomatte-api refuses a file with such an entry (the plain merge it decodes).
    import cryptomatte_api

    if named:
        with pytest.raises(ValueError, match="empty channel list"):
            cryptomatte_api.Cryptomatte.load(str(written))
    else:
        decoded = cryptomatte_api.Cryptomatte.load(str(written))
        mask = np.asarray(decoded[0].mask(NAMES[0])).reshape(H, W)
        np.testing.assert_allclose(mask, _display_channel(written, NAMES[0]), atol=2e-3)


def _kind_plate(write_oiio, folder: Path, kind: str) -> Path:
    """Two frames of the synthetic shot as a tiled, a mip-mapped (tiled, every level) or a B44A
    (lossy) single-part plate: kinds whose merged copy holds the mattes in a part of their own."""
    folder.mkdir(parents=True)
    for i, (rgb, _) in enumerate(render_shot(2, W, H, seed=2, motion_blur_samples=1)):
        path = folder / f"plate.{FIRST + i}.exr"
        if kind == "tiled":
            write_oiio(path, rgb, "half", tile=(64, 64), attrs={"compression": "zip"})
        elif kind == "B44A":
            write_oiio(path, rgb, "half", attrs={"compression": "b44a"})
        elif kind == "B44A stereo":  # multi-view: a part per view
            specs = []
            for view in ("left", "right"):
                spec = oiio.ImageSpec(W, H, 3, "half")
                spec.attribute("name", f"rgb_{view}")
                spec.attribute("view", view)
                spec.attribute("compression", "b44a")
                specs.append(spec)
            out = oiio.ImageOutput.create(str(path))
            assert out.open(str(path), tuple(specs)), out.geterror()
            for j, spec in enumerate(specs):
                if j:
                    assert out.open(str(path), spec, "AppendSubimage"), out.geterror()
                out.write_image(np.ascontiguousarray(rgb, np.float32))
            out.close()
        else:  # mip-mapped
            src = oiio.ImageBuf(oiio.ImageSpec(W, H, 3, "float"))
            src.set_pixels(oiio.ROI(), np.ascontiguousarray(rgb, np.float32))
            config = oiio.ImageSpec()
            config.attribute("maketx:filtername", "box")
            config.tile_width = config.tile_height = 64
            config.attribute("compression", "zip")
            assert oiio.ImageBufAlgo.make_texture(oiio.MakeTxTexture, src, str(path), config), \
                oiio.geterror()
    return folder / "plate.####.exr"


@pytest.mark.parametrize("kind", ["tiled", "mip-mapped", "B44A", "B44A stereo"])
def test_blender_picks_back_a_merged_plate_whose_mattes_have_a_part_of_their_own(
        image_writer, kind, tmp_path):
    """Tiled, mip-mapped and lossy plates (a multi-view one too) keep their parts untouched and
    get the mattes and the Cryptomatte in a part of their own: with `--blender-cryptomatte`
    Blender picks each object back exactly; without it (as Nuke reads it) it finds the layer
    but picks nothing."""
    plate = _kind_plate(image_writer, tmp_path / "plate", kind)
    got = {}
    for named in (False, True):
        out = tmp_path / f"out{int(named)}" / "m.####.exr"
        assert cli.main(["track", str(plate), *_masks(tmp_path, 2), "--cryptomatte", "--merge",
                         "--range", f"{FIRST}-{FIRST}", "-o", str(out), "-q"]
                        + (["--blender-cryptomatte"] if named else [])) == 0
        written = out.parent / f"m.{FIRST}.exr"
        inp = oiio.ImageInput.open(str(written))
        parts = []
        while inp.seek_subimage(len(parts), 0):
            parts.append(inp.spec().getattribute("name"))
        inp.close()
        # the plate's parts, untouched, and the mattes' (in the view tracked)
        assert len(parts) == (3 if kind == "B44A stereo" else 2), parts
        layer = f"{parts[-1]}.MatteTrack" if named else "MatteTrack"
        jobs = [{"path": str(written), "layer": layer, "name": name, "size": [W, H],
                 "out": str(tmp_path / f"p{int(named)}{name}.exr")} for name in NAMES[:2]]
        got[named] = (written, _picks(jobs, tmp_path))
    for name, pick in zip(NAMES[:2], got[False][1], strict=True):
        assert _render(pick["out"]).max() == 0.0, name
    written, picks = got[True]
    for name, pick in zip(NAMES[:2], picks, strict=True):
        ours, theirs = _display_channel(written, name), _render(pick["out"])
        assert ours.max() > 0.99
        union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
        assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99, (kind, name)
        assert np.abs(ours - theirs).max() < 2e-3, (kind, name)


@pytest.mark.parametrize("window", ["data", "display"])
def test_blender_shows_a_merged_off_centre_plate_where_openimageio_does(image_writer, window,
                                                                         tmp_path):
    """`--merge --window display` moves the plate onto its display window: Blender's render of
    the merged file's own pixels is the plate as OpenImageIO reads it on the display window. As
    Nuke reads it (the default) Blender shows it centred instead."""
    written = _track(image_writer, tmp_path, 1, (10, 30), (250, 150),
                     ["--merge", "--window", window])
    (shown,) = _picks([{"path": str(written), "socket": "Combined", "size": [W, H],
                        "out": str(tmp_path / "shown.exr")}], tmp_path)
    buf = oiio.ImageBuf(str(written))
    theirs = oiio.ImageBuf(shown["out"]).get_pixels(oiio.FLOAT)[:, :, :3]
    ours = buf.get_pixels(oiio.FLOAT, oiio.ROI(0, W, 0, H, 0, 1, 0, 3))
    if window == "display":
        assert np.abs(theirs - ours).max() < 2e-3
    else:
        assert np.abs(theirs - ours).max() > 0.1
        # centred: x from (320 - 250) / 2 = 35, y from 15, where OpenImageIO has 10 and 30
        np.testing.assert_allclose(theirs[15:165, 35:285], ours[30:180, 10:260], atol=2e-3)


@pytest.mark.parametrize(("sample", "part"), [("singlepart", "rgba"),
                                              ("multipart", "rgba_right")])
def test_blender_picks_back_the_beachball_plate_merged_on_its_display_window(
        shared_data, tmp_path, sample, part):
    """The real stereo sample (a named single part, data window 911x876 at (654, 245) of
    2048x1556; or ten parts over two views): `--merge --window display --blender-cryptomatte`
    and Blender picks the ball back where OpenImageIO has it."""
    plate = shared_data / "exr-samples" / "Beachball" / f"{sample}.####.exr"
    out = tmp_path / "out" / "m.####.exr"
    assert cli.main(["track", str(plate), "--point", "1100,700", "--cryptomatte", "--merge",
                     "--window", "display", "--blender-cryptomatte", "--range", "1-1", "-o",
                     str(out), "-q"]) == 0
    written = tmp_path / "out" / "m.0001.exr"
    (pick,) = _picks([{"path": str(written), "layer": f"{part}.MatteTrack", "name": "object",
                       "size": [2048, 1556], "out": str(tmp_path / "pick.exr")}], tmp_path)
    ours = open_mattes(str(written), ["object"]).read(1)["object"]
    theirs = _render(pick["out"])
    assert ours.max() > 0.99
    union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
    assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99
    assert np.abs(ours - theirs).max() < 2e-3


def test_blender_picks_back_sidecars_of_a_plate_whose_data_window_moves(image_writer, tmp_path):
    """A plate whose data window moves from frame to frame (a camera-tracked crop): with
    `--window display` every frame's sidecar lands where OpenImageIO puts it, each object
    picked back exactly on each frame."""
    folder = tmp_path / "plate"
    folder.mkdir()
    boxes = [((10, 30), (250, 150)), ((60, 4), (240, 160))]
    for i, (rgb, _) in enumerate(render_shot(2, W, H, seed=2, motion_blur_samples=1)):
        (x, y), (w, h) = boxes[i]
        image_writer(folder / f"plate.{FIRST + i}.exr", rgb[y:y + h, x:x + w], "half",
                     origin=(x, y), display=(0, 0, W, H), attrs={"compression": "zip"})
    out = tmp_path / "out" / "m.####.exr"
    assert cli.main(["track", str(folder / "plate.####.exr"), *_masks(tmp_path, 2),
                     "--cryptomatte", "--window", "display", "-o", str(out), "-q"]) == 0
    for i in range(2):
        written = tmp_path / "out" / f"m.{FIRST + i}.exr"
        jobs = [{"path": str(written), "layer": "MatteTrack", "name": name, "size": [W, H],
                 "out": str(tmp_path / f"pick{i}_{name}.exr")} for name in NAMES[:2]]
        for name, pick in zip(NAMES[:2], _picks(jobs, tmp_path), strict=True):
            ours = open_mattes(str(written), [name]).read(FIRST + i)[name]
            theirs = _render(pick["out"])
            assert ours.max() > 0.99, (i, name)
            union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
            assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99, (i, name)
            assert np.abs(ours - theirs).max() < 2e-3, (i, name)


@pytest.mark.parametrize("sample", ["DisplayWindow/t01.exr", "DisplayWindow/t02.exr",
                                    "DisplayWindow/t03.exr", "DisplayWindow/t04.exr",
                                    "ScanLines/Carrots.exr", "ScanLines/Desk.exr"])
def test_blender_reads_merged_copies_of_the_sample_plates(shared_data, tmp_path, sample):
    """Real plates (PIZ and ZIP; display windows offset, smaller and larger than the data
    window) merged for Blender (`--merge --window display`): the object picked back through
    Blender's node, and the plate's pixels where OpenImageIO puts them on the display window."""
    plate = shared_data / "exr-samples" / sample
    inp = oiio.ImageInput.open(str(plate))
    spec = inp.spec()
    inp.close()
    w, h = spec.full_width, spec.full_height
    point = f"{spec.full_x + w // 2},{spec.full_y + h // 2}"  # display-window pixels
    out = tmp_path / "out" / "m.exr"
    assert cli.main(["track", str(plate), "--point", f"{w // 2},{h // 2}", "--cryptomatte",
                     "--merge", "--window", "display", "-o", str(out), "-q"]) == 0, point
    (written,) = (tmp_path / "out").glob("*.exr")
    # Blender loads an EXR in the colour space its chromaticities name (Carrots: ACES2065-1)
    # and then converts every pass, ids included: load the Cryptomatte Non-Color, as data is.
    jobs = [{"path": str(written), "layer": "MatteTrack", "name": "object", "size": [w, h],
             "out": str(tmp_path / "as_loaded.exr")},
            {"path": str(written), "layer": "MatteTrack", "name": "object", "size": [w, h],
             "out": str(tmp_path / "pick.exr"), "colorspace": "Non-Color"},
            {"path": str(written), "socket": "Combined", "size": [w, h],
             "out": str(tmp_path / "shown.exr"), "colorspace": "Non-Color"}]
    as_loaded, pick, shown = _picks(jobs, tmp_path)
    frame = next(iter(open_mattes(str(written)).frames))
    ours, theirs = open_mattes(str(written), ["object"]).read(frame)["object"], \
        _render(pick["out"])
    assert ours.max() > 0.99
    rec709 = as_loaded["colorspace"] in ("Linear Rec.709", "Linear")
    assert (_render(as_loaded["out"]).max() > 0.99) == rec709, as_loaded["colorspace"]
    union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
    assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99
    assert np.abs(ours - theirs).max() < 2e-3
    buf = oiio.ImageBuf(str(written))
    plate_rgb = buf.get_pixels(oiio.FLOAT, oiio.ROI(spec.full_x, spec.full_x + w, spec.full_y,
                                                    spec.full_y + h, 0, 1, 0, 3))
    rendered = oiio.ImageBuf(shown["out"]).get_pixels(oiio.FLOAT)[:, :, :3]
    assert np.abs(rendered - plate_rgb).max() < 2e-3 * max(1.0, float(np.abs(plate_rgb).max()))


def test_blender_picks_back_a_merged_plate_with_nan_and_inf_pixels(image_writer, tmp_path):
    """A plate with NaN and infinite pixels (as OpenEXR's BrightRingsNanInf): they stay in the
    plate's channels, bit for bit; the Cryptomatte beside them is picked back exactly."""
    folder = tmp_path / "plate"
    folder.mkdir()
    for i, (rgb, _) in enumerate(render_shot(2, W, H, seed=2, motion_blur_samples=1)):
        rgb = rgb.astype(np.float32)
        rgb[5:9, 5:40] = np.nan
        rgb[150:154, 250:300] = np.inf
        rgb[160:164, 250:300] = -np.inf
        image_writer(folder / f"plate.{FIRST + i}.exr", rgb, "half", attrs={"compression": "zip"})
    out = tmp_path / "out" / "m.####.exr"
    assert cli.main(["track", str(folder / "plate.####.exr"), *_masks(tmp_path, 2),
                     "--cryptomatte", "--merge", "--range", f"{FIRST}-{FIRST}", "-o", str(out),
                     "-q"]) == 0
    written = tmp_path / "out" / f"m.{FIRST}.exr"
    plate = oiio.ImageBuf(str(folder / f"plate.{FIRST}.exr")).get_pixels(oiio.HALF)
    kept = oiio.ImageBuf(str(written)).get_pixels(oiio.HALF)[:, :, :3]
    np.testing.assert_array_equal(kept.view(np.uint16), plate.view(np.uint16))
    jobs = [{"path": str(written), "layer": "MatteTrack", "name": name, "size": [W, H],
             "out": str(tmp_path / f"pick_{name}.exr")} for name in NAMES[:2]]
    for name, pick in zip(NAMES[:2], _picks(jobs, tmp_path), strict=True):
        ours, theirs = _display_channel(written, name), _render(pick["out"])
        assert ours.max() > 0.99
        union = ((ours >= 0.5) | (theirs >= 0.5)).sum()
        assert ((ours >= 0.5) & (theirs >= 0.5)).sum() / union >= 0.99, name
        assert np.abs(ours - theirs).max() < 2e-3, name
