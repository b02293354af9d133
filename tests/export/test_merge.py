"""Merged plate copies (`merge_matte_exr`, `mattetrack track --merge`).

Every part, mip level and channel of the plate is read back with OpenImageIO in the channel's own
pixel type and compared bit for bit; headers are compared with PyPI `OpenEXR`, a second reader.
Plates are the OpenEXR sample images in ../shared/data/exr-samples plus plates written here with
OpenImageIO for what the samples lack (tiled, mip-mapped, DWA, NaN and inf).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import MatteTrackError
from mattetrack.export.cryptomatte import Cryptomatte
from mattetrack.export.exr import merge_matte_exr
from mattetrack.geometry import Box2i

oiio = pytest.importorskip("OpenImageIO")
OpenEXR = pytest.importorskip("OpenEXR", reason="PyPI OpenEXR (dev extra)")
cryptomatte_api = pytest.importorskip("cryptomatte_api", reason="PyPI cryptomatte-api (dev extra)")

SAMPLES = ["Beachball/multipart.0001.exr", "Beachball/singlepart.0001.exr",
           "DisplayWindow/t03.exr", "ScanLines/Desk.exr"]


def pixels(path: Path) -> dict[tuple[int, int, str], tuple[tuple, bytes]]:
    """{(part, mip level, channel): (window and format, raw bytes)} of every pixel in the file."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    out = {}
    part = 0
    while inp.seek_subimage(part, 0):
        level = 0
        while inp.seek_subimage(part, level):
            spec = inp.spec()
            for c, name in enumerate(spec.channelnames):
                fmt = spec.channelformat(c)
                data = inp.read_image(part, level, c, c + 1, fmt)
                assert data is not None, inp.geterror()
                where = (spec.x, spec.y, spec.width, spec.height, spec.tile_width, str(fmt))
                out[(part, level, name)] = (where, np.asarray(data).tobytes())
            level += 1
        part += 1
    inp.close()
    return out


def headers(path: Path) -> list[dict[str, str]]:
    """Every part's header attributes, as text, read with PyPI OpenEXR."""
    with OpenEXR.File(str(path), separate_channels=True) as f:
        return [{k: repr(v) for k, v in p.header.items()} for p in f.parts]


def windows(path: Path, part: int = 0) -> tuple[Box2i, Box2i, str]:
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec(part, 0)
    inp.close()
    data = Box2i.from_size(spec.width, spec.height, spec.x, spec.y)
    display = Box2i.from_size(spec.full_width, spec.full_height, spec.full_x, spec.full_y)
    return data, display, spec.get_string_attribute("view")


def mattes_over(display: Box2i) -> dict[str, np.ndarray]:
    ys, xs = np.mgrid[: display.height, : display.width]
    a = np.clip(1 - np.hypot(xs - display.width / 3, ys - display.height / 2) / 60, 0, 1)
    b = (xs > display.width // 2).astype(np.float32) * 0.5
    return {"dog.A": a.astype(np.float32), "car.A": b}


def merge(plate: Path, out: Path, part: int = 0) -> dict[str, np.ndarray]:
    data, display, view = windows(plate, part)
    mattes = mattes_over(display)
    merge_matte_exr(plate, out, mattes, display, data, half=False, view=view, part=part,
                    cryptomatte=Cryptomatte(["dog", "car"]))
    return mattes


def assert_plate_kept(plate: Path, out: Path) -> None:
    """Every original pixel bit and attribute is in `out`; only channels, the Cryptomatte's
    attributes and (for a plate that became multi-part) part name, type and chunk count added."""
    before, after = pixels(plate), pixels(out)
    missing = [key for key, value in before.items() if after.get(key) != value]
    assert not missing, f"changed or lost: {missing[:5]}"
    multi = len(headers(out)) > 1
    for old, new in zip(headers(plate), headers(out), strict=False):
        for name, value in old.items():
            if name == "channels":
                continue  # compared through the pixels; the new channels may join this part
            assert new.get(name) == value, name
        added = set(new) - set(old) - {"channels"}
        allowed = {"name", "type", "chunkCount"} if multi else set()
        assert all(a.startswith("cryptomatte/") or a in allowed for a in added), added


def added_channels(out: Path) -> dict[str, np.ndarray]:
    """The matte channels found anywhere in `out`, over their part's data window."""
    found = {}
    inp = oiio.ImageInput.open(str(out))
    part = 0
    while inp.seek_subimage(part, 0):
        spec = inp.spec()
        for c, name in enumerate(spec.channelnames):
            if name in ("dog.A", "car.A"):
                found[name] = inp.read_image(part, 0, c, c + 1, oiio.FLOAT)[:, :, 0]
        part += 1
    inp.close()
    return found


@pytest.mark.parametrize("sample", SAMPLES)
def test_merge_keeps_every_bit_of_the_sample_plates(shared_data: Path, tmp_path: Path, sample):
    plate = shared_data / "exr-samples" / sample
    digest = hashlib.sha256(plate.read_bytes()).hexdigest()
    out = tmp_path / "merged.exr"
    mattes = merge(plate, out)
    assert_plate_kept(plate, out)
    assert hashlib.sha256(plate.read_bytes()).hexdigest() == digest  # the plate is only read
    # Lossless scanline plates take the channels into their own part: still as many parts.
    assert len(headers(out)) == len(headers(plate))
    data, display, _ = windows(plate)
    inside = data.intersect(display)
    got = added_channels(out)
    for name, matte in mattes.items():
        plane = got[name]
        sub = plane[inside.ymin - data.ymin : inside.ymax - data.ymin + 1,
                    inside.xmin - data.xmin : inside.xmax - data.xmin + 1]
        want = matte[inside.ymin - display.ymin : inside.ymax - display.ymin + 1,
                     inside.xmin - display.xmin : inside.xmax - display.xmin + 1]
        np.testing.assert_array_equal(sub, want)
    # The Cryptomatte is found and decodes to the mattes, in the part a reader opens first.
    found = cryptomatte_api.Cryptomatte.load(str(out))
    assert len(found) == 1
    decoded = np.asarray(found[0].mask("dog")).reshape(data.height, data.width)
    np.testing.assert_array_equal(decoded, got["dog.A"])


def test_tiled_mipmapped_lossy_plate_is_copied_chunk_for_chunk(tmp_path: Path):
    # DWAA is lossy: re-encoding would change bits, so the plate's part is copied as it is and
    # the mattes get a part of their own.
    rng = np.random.default_rng(1)
    buf = oiio.ImageBuf(rng.random((90, 150, 4)).astype(np.float32))
    config = oiio.ImageSpec()
    config.attribute("compression", "dwaa")
    config.attribute("tile_width", 32)
    config.attribute("tile_height", 32)
    plate = tmp_path / "tex.exr"
    assert oiio.ImageBufAlgo.make_texture(oiio.MakeTxTexture, buf, str(plate), config)
    assert len({key[1] for key in pixels(plate)}) > 3  # really mip-mapped
    out = tmp_path / "merged.exr"
    mattes = merge(plate, out)
    assert_plate_kept(plate, out)
    parts = headers(out)
    assert len(parts) == 2 and "mattetrack" in parts[1]["name"]
    assert "TILED" in parts[0]["type"].upper() and "DWAA" in parts[0]["compression"]
    np.testing.assert_array_equal(added_channels(out)["dog.A"], mattes["dog.A"])


def test_nan_inf_and_float_channels_survive_bit_for_bit(tmp_path: Path, image_writer):
    px = np.random.default_rng(2).random((40, 60, 4)).astype(np.float32)
    bits = px.view(np.uint32)
    bits[0, 0, 0] = 0x7FC00123  # a NaN with a payload
    bits[0, 1, 1] = 0xFFA00001  # a negative signalling-style NaN
    px[0, 2, 2], px[0, 3, 3] = np.inf, -np.inf
    plate = image_writer(tmp_path / "p.exr", px, "float", origin=(-5, 7),
                         display=(0, 0, 64, 48), attrs={"compression": "piz", "owner": "plate"})
    out = tmp_path / "merged.exr"
    merge(plate, out)
    assert_plate_kept(plate, out)
    inp = oiio.ImageInput.open(str(out))
    back = inp.read_image(0, 0, 0, 4, oiio.FLOAT).view(np.uint32)
    inp.close()
    assert back[0, 0, 0] == 0x7FC00123 and back[0, 1, 1] == 0xFFA00001


def test_multiview_lossy_plate_gets_a_part_in_the_same_view(tmp_path: Path):
    specs = []
    for view in ("left", "right"):
        spec = oiio.ImageSpec(48, 32, 3, "half")
        spec.attribute("name", f"rgb_{view}")
        spec.attribute("view", view)
        spec.attribute("compression", "b44")
        specs.append(spec)
    plate = tmp_path / "stereo.exr"
    writer = oiio.ImageOutput.create(str(plate))
    assert writer.open(str(plate), tuple(specs)), writer.geterror()
    for i, spec in enumerate(specs):
        if i:
            assert writer.open(str(plate), spec, "AppendSubimage")
        assert writer.write_image(np.full((32, 48, 3), 0.25 * (i + 1), np.float32))
    writer.close()
    out = tmp_path / "merged.exr"
    merge(plate, out, part=1)
    assert_plate_kept(plate, out)
    parts = headers(out)
    assert len(parts) == 3 and parts[2]["view"] == repr("right")


def test_damaged_plate_is_an_error_and_leaves_nothing(shared_data: Path, tmp_path: Path):
    whole = shared_data / "exr-samples" / "ScanLines" / "Carrots.exr"
    plate = tmp_path / "cut.exr"
    plate.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    data, display, _ = windows(whole)
    out = tmp_path / "out" / "merged.exr"
    out.parent.mkdir()
    out.write_bytes(b"earlier result")
    with pytest.raises(MatteTrackError) as err:
        merge_matte_exr(plate, out, mattes_over(display), display, data)
    message = str(err.value)
    assert str(plate) in message and "\n" not in message
    assert out.read_bytes() == b"earlier result"
    assert [p.name for p in out.parent.iterdir()] == ["merged.exr"]  # no temporary left


def test_merging_onto_the_plate_itself_is_refused(shared_data: Path, tmp_path: Path):
    plate = tmp_path / "p.exr"
    shutil.copy(shared_data / "exr-samples" / "ScanLines" / "Carrots.exr", plate)
    before = plate.read_bytes()
    data, display, _ = windows(plate)
    with pytest.raises(MatteTrackError, match="overwrite the plate"):
        merge_matte_exr(plate, plate, mattes_over(display), display, data)
    assert plate.read_bytes() == before


def test_every_damaged_sample_is_refused_by_merge(shared_data: Path, tmp_path: Path):
    """Each fuzzer-made file as a plate: a one-line error naming it, no output, no crash.

    Run in a child interpreter so that a crash in OpenEXR fails this test instead of the run.
    """
    import subprocess
    import sys
    import textwrap

    damaged = sorted(p for p in (shared_data / "exr-samples" / "Damaged").iterdir() if p.is_file())
    driver = textwrap.dedent(
        """
        import sys
        import numpy as np
        from mattetrack.errors import MatteTrackError
        from mattetrack.export.cryptomatte import Cryptomatte
        from mattetrack.export.exr import merge_matte_exr
        from mattetrack.geometry import Box2i
        box = Box2i.from_size(64, 48)
        mattes = {"dog.A": np.full((48, 64), 0.5, np.float32)}
        for path in sys.argv[2:]:
            try:
                merge_matte_exr(path, sys.argv[1], mattes, box, box,
                                cryptomatte=Cryptomatte(["dog"]))
                print(repr((path, "merged")), flush=True)
            except MatteTrackError as err:
                print(repr((path, str(err))), flush=True)
        """
    )
    out = tmp_path / "merged.exr"
    proc = subprocess.run([sys.executable, "-c", driver, str(out), *map(str, damaged)],
                          capture_output=True, text=True, timeout=600)
    results = [eval(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, f"crashed after {len(results)} files: {proc.stderr[-2000:]}"
    assert len(results) == len(damaged)
    for path, message in results:
        assert message != "merged", path
        assert path in message and "\n" not in message, message
    assert not any(tmp_path.iterdir())  # no output and no temporary file left


def test_bottom_to_top_plate_keeps_its_line_order(tmp_path: Path):
    # A DECREASING_Y plate (written bottom to top) with the mattes joining its part: the
    # scanlines must go out in that order. OIIO cannot write this, so PyPI OpenEXR does.
    rng = np.random.default_rng(3)
    grey = rng.random((600, 90)).astype(np.float16)  # more rows than one write block (256)
    header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage,
              "lineOrder": OpenEXR.DECREASING_Y}
    plate = tmp_path / "bottom_up.exr"
    OpenEXR.File(header, {"R": grey, "G": grey[::-1].copy(), "B": grey[:, ::-1].copy()}).write(
        str(plate))
    out = tmp_path / "merged.exr"
    mattes = merge(plate, out)
    assert_plate_kept(plate, out)
    assert "DECREASING_Y" in headers(out)[0]["lineOrder"]
    np.testing.assert_array_equal(added_channels(out)["car.A"], mattes["car.A"])


def test_subsampled_luminance_chroma_plate_is_kept(tmp_path: Path):
    # Y / RY / BY with chroma sampled every second pixel and line: the part is rewritten with
    # the mattes, each channel at its own sampling. OpenImageIO cannot read subsampled channels,
    # so PyPI OpenEXR writes and reads this one.
    rng = np.random.default_rng(4)
    luma = rng.random((600, 200)).astype(np.float16)
    plate = tmp_path / "yc.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"Y": OpenEXR.Channel(luma),
                          "RY": OpenEXR.Channel(luma[::-1].copy(), 2, 2),
                          "BY": OpenEXR.Channel(luma[:, ::-1].copy(), 2, 2)}).write(str(plate))
    box = Box2i.from_size(200, 600)
    matte = np.linspace(0, 1, 600 * 200, dtype=np.float32).reshape(600, 200)
    out = tmp_path / "merged.exr"
    merge_matte_exr(plate, out, {"dog.A": matte}, box, box, half=False)
    with OpenEXR.File(str(plate), separate_channels=True) as f:
        before = {k: (c.pixels.copy(), c.xSampling, c.ySampling) for k, c in f.channels().items()}
    with OpenEXR.File(str(out), separate_channels=True) as f:
        after = {k: (c.pixels.copy(), c.xSampling, c.ySampling) for k, c in f.channels().items()}
        assert len(f.parts) == 1
    assert set(after) == set(before) | {"dog.A"}
    for name, (px, xs, ys) in before.items():
        assert after[name][1:] == (xs, ys)
        np.testing.assert_array_equal(after[name][0].view(np.uint16), px.view(np.uint16))
    np.testing.assert_array_equal(after["dog.A"][0], matte)


# -- on_display: plate parts moved onto their display window (the Blender path) ----------------
def display_pixels(path: Path, part: int = 0) -> np.ndarray:
    """(display h, w, channels) float32 of a part as OpenImageIO puts it on the display window
    (zero outside the data window)."""
    buf = oiio.ImageBuf(str(path), part, 0)
    spec = buf.spec()
    roi = oiio.ROI(spec.full_x, spec.full_x + spec.full_width, spec.full_y,
                   spec.full_y + spec.full_height, 0, 1, 0, spec.nchannels)
    return buf.get_pixels(oiio.FLOAT, roi)


def merge_on_display(plate: Path, out: Path, part: int = 0,
                     blender: bool = False) -> dict[str, np.ndarray]:
    _, display, view = windows(plate, part)
    mattes = mattes_over(display)
    merge_matte_exr(plate, out, mattes, display, display, half=False, view=view, part=part,
                    cryptomatte=Cryptomatte(["dog", "car"]), on_display=True,
                    part_named_cryptomatte=blender)
    return mattes


def assert_on_display(plate: Path, out: Path, part: int = 0) -> None:
    """Part `part` of `out` is on its display window, scanline, and holds the plate's channels
    exactly where OpenImageIO put them (bit for bit, NaNs too)."""
    data, display, _ = windows(out, part)
    assert data == display
    before, after = display_pixels(plate, part), display_pixels(out, part)
    names = oiio.ImageInput.open(str(plate)).spec(part, 0).channelnames
    out_names = list(oiio.ImageInput.open(str(out)).spec(part, 0).channelnames)
    got = after[:, :, [out_names.index(n) for n in names]]
    np.testing.assert_array_equal(got.view(np.uint32), before.view(np.uint32))


@pytest.mark.parametrize(("origin", "size"), [((40, 20), (150, 60)), ((-16, -8), (200, 110))],
                         ids=["inside", "overscan"])
def test_on_display_moves_an_offset_plate_onto_its_display_window(tmp_path: Path, image_writer,
                                                                  origin, size):
    """An off-centre data window (and one past the display window: cropped) becomes the display
    window: the plate's pixels where every reader puts them, zero around, the mattes in its part
    and the Cryptomatte decoding to them."""
    rng = np.random.default_rng(3)
    plate = tmp_path / "plate.exr"
    image_writer(plate, rng.random((size[1], size[0], 3)).astype(np.float32), "half",
                 origin=origin, display=(0, 0, 160, 90), attrs={"compression": "zip"})
    out = tmp_path / "merged.exr"
    mattes = merge_on_display(plate, out)
    assert_on_display(plate, out)
    assert len(headers(out)) == 1  # the mattes joined the plate's part
    got = added_channels(out)
    np.testing.assert_array_equal(got["dog.A"], mattes["dog.A"])
    found = cryptomatte_api.Cryptomatte.load(str(out))
    np.testing.assert_array_equal(np.asarray(found[0].mask("dog")).reshape(90, 160),
                                  got["dog.A"])
    # Without on_display the plate keeps its windows (the default, Nuke's).
    kept = tmp_path / "kept.exr"
    merge(plate, kept)
    assert windows(kept)[0] == windows(plate)[0]


def test_on_display_rewrites_a_lossy_offset_part_and_copies_the_rest(tmp_path: Path):
    """In a two-part plate, a B44A part off its display window becomes a ZIP scanline part on
    it, its decoded values kept; the part already on its display window is copied untouched."""
    rng = np.random.default_rng(4)
    plate = tmp_path / "plate.exr"
    specs = []
    for name, channels, origin, size, comp in (
            ("beauty", ("R", "G", "B"), (0, 0), (160, 90), "zip"),
            ("lossy", ("lossy.R", "lossy.G", "lossy.B"), (30, 25), (100, 50), "b44a")):
        spec = oiio.ImageSpec(size[0], size[1], 3, "half")
        spec.x, spec.y = origin
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 160, 90
        spec.channelnames = channels
        spec.attribute("name", name)
        spec.attribute("compression", comp)
        specs.append(spec)
    writer = oiio.ImageOutput.create(str(plate))
    assert writer.open(str(plate), tuple(specs)), writer.geterror()
    for i, spec in enumerate(specs):
        if i:
            assert writer.open(str(plate), spec, "AppendSubimage"), writer.geterror()
        writer.write_image(rng.random((spec.height, spec.width, 3)).astype(np.float32))
    writer.close()
    out = tmp_path / "merged.exr"
    merge_on_display(plate, out)
    before, after = pixels(plate), pixels(out)
    assert all(after[k] == v for k, v in before.items() if k[0] == 0)  # untouched
    assert_on_display(plate, out, 1)
    parts = headers(out)
    assert "B44A" in headers(plate)[1]["compression"].upper()
    assert "ZIP" in parts[1]["compression"].upper()


def test_on_display_rewrites_a_tiled_offset_plate_as_scanlines(tmp_path: Path, image_writer):
    rng = np.random.default_rng(5)
    plate = tmp_path / "tiled.exr"
    image_writer(plate, rng.random((64, 96, 3)).astype(np.float32), "half", origin=(40, 12),
                 display=(0, 0, 160, 90), tile=(32, 32), attrs={"compression": "zip"})
    assert next(iter(pixels(plate).values()))[0][4] == 32  # really tiled
    out = tmp_path / "merged.exr"
    merge_on_display(plate, out)
    assert_on_display(plate, out)
    assert next(iter(pixels(out).values()))[0][4] == 0  # scanlines
    assert len(headers(out)) == 1  # so the mattes joined it


def test_on_display_moves_the_beachball_plate(shared_data: Path, tmp_path: Path):
    """The real stereo sample: every part of Beachball's single-part file, data window 911x876
    at (654, 245) of 2048x1556, on its display window with each channel where OpenImageIO puts
    it; the mattes join it."""
    plate = shared_data / "exr-samples" / "Beachball" / "singlepart.0001.exr"
    out = tmp_path / "merged.exr"
    mattes = merge_on_display(plate, out, blender=True)
    assert_on_display(plate, out)
    np.testing.assert_array_equal(added_channels(out)["dog.A"], mattes["dog.A"])
    assert any("rgba.MatteTrack" in v for v in headers(out)[0].values())
