"""`mattetrack composite` through the CLI: formats, colour spaces, windows, resume, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from mattetrack.cli import main

W, H, N = 64, 48, 3


def _matte(i: int) -> np.ndarray:
    """A soft disc moving right: (H, W) float32."""
    m = np.zeros((H, W), np.float32)
    cv2.circle(m, (20 + 4 * i, 24), 12, 1.0, -1)
    return cv2.GaussianBlur(m, (0, 0), 1.5)


def _read(path: Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    buf = oiio.ImageBuf(str(path))
    return buf.get_pixels(oiio.FLOAT), buf.spec()


@pytest.fixture
def srgb_shot(tmp_path: Path, image_writer) -> Path:
    """A 16-bit sRGB PNG plate (orange object on grey) and EXR mattes of `ball`."""
    for i in range(N):
        m = _matte(i)[:, :, None]
        rgb = m * np.float32([0.9, 0.5, 0.1]) + (1 - m) * np.float32([0.5, 0.5, 0.5])
        image_writer(tmp_path / f"plate.{i:04d}.png", rgb, "uint16")
        image_writer(tmp_path / f"m.{i:04d}.exr", _matte(i), "half", names=["ball.A"])
    return tmp_path


def _all_near(pixels: np.ndarray, value, atol: float) -> None:
    """Every row of (n, c) `pixels` within `atol` of `value`."""
    assert len(pixels)
    np.testing.assert_allclose(pixels, np.broadcast_to(np.float32(value), pixels.shape),
                               atol=atol)


def _run(*args: str) -> int:
    return main(["composite", *args, "-q"])


def test_png_composite_over_a_colour(srgb_shot: Path) -> None:
    out = srgb_shot / "c.####.png"
    assert _run(str(srgb_shot / "plate.####.png"), str(srgb_shot / "m.####.exr"),
                "--object", "ball", "--background", "#20c040", "-o", str(out)) == 0
    comp, spec = _read(srgb_shot / "c.0001.png")
    assert spec.format == oiio.UINT16 and spec.nchannels == 3
    m = _matte(1)
    # Where the matte is 0: the colour exactly (sRGB codes in, sRGB codes out).
    _all_near(comp[m < 1e-4], [0x20 / 255, 0xC0 / 255, 0x40 / 255], 2e-4)
    plate, _ = _read(srgb_shot / "plate.0001.png")
    np.testing.assert_allclose(comp[m > 0.9999], plate[m > 0.9999], atol=2e-4)
    # The soft edge: no grey of the old background mixed in, so the object's orange over the
    # green, in linear light: its blue channel lies between the object's and the green's.
    edge = (m > 0.3) & (m < 0.7)
    assert edge.sum() > 20
    assert (comp[edge][:, 2] < 0.35).all()  # grey (0.5) would have raised it


def test_linear_exr_keeps_its_windows_and_values(tmp_path: Path, image_writer) -> None:
    """A float EXR plate with overscan: the composite has the same data and display windows,
    stays linear (no sRGB encoding) and keeps values above 1."""
    display = (0, 0, W, H)
    for i in range(N):
        m = _matte(i)
        rgb = np.zeros((H + 8, W + 8, 3), np.float32)
        rgb[...] = [0.18, 0.18, 0.18]
        rgb[4:-4, 4:-4] += m[:, :, None] * (np.float32([4.0, 1.0, 0.2]) - 0.18)
        image_writer(tmp_path / f"plate.{i:04d}.exr", rgb, "half", origin=(-4, -4),
                     display=display)
        image_writer(tmp_path / f"m.{i:04d}.exr", m, "half", names=["ball.A"])
    out = tmp_path / "c.####.exr"
    assert _run(str(tmp_path / "plate.####.exr"), str(tmp_path / "m.####.exr"),
                "--object", "ball", "--background", "#000000", "-o", str(out)) == 0
    comp, spec = _read(tmp_path / "c.0002.exr")
    assert (spec.x, spec.y, spec.width, spec.height) == (-4, -4, W + 8, H + 8)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == display
    m = _matte(2)
    inside = comp[4:-4, 4:-4][m > 0.9999]
    _all_near(inside, [4.0, 1.0, 0.2], 8e-3)
    assert np.abs(comp[4:-4, 4:-4][m < 1e-4]).max() < 1e-4  # black, linear
    assert np.abs(comp[:4]).max() < 1e-4  # overscan: outside the mattes, the background


def test_foreground_only_prores_4444_and_png(srgb_shot: Path) -> None:
    movie = srgb_shot / "ball.mov"
    args = [str(srgb_shot / "plate.####.png"), str(srgb_shot / "m.####.exr"), "--object",
            "ball", "--foreground-only"]
    assert _run(*args, "-o", str(movie)) == 0
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores" and stream.codec_context.profile == "4444"
        frames = [f.to_ndarray(format="rgba64le").astype(np.float32) / 65535
                  for f in container.decode(stream)]
    assert len(frames) == N
    m = _matte(1)
    np.testing.assert_allclose(frames[1][..., 3], m, atol=4e-3)  # 10-bit alpha
    # premultiplied: the colour is 0 where the matte is, and the object's where it is solid
    assert frames[1][m < 1e-3][:, :3].max() < 0.01
    _all_near(frames[1][m > 0.9999][:, :3], [0.9, 0.5, 0.1], 0.01)
    # PNG: straight alpha, as the format has it
    assert _run(*args, "-o", str(srgb_shot / "f.####.png")) == 0
    rgba, spec = _read(srgb_shot / "f.0001.png")
    assert spec.nchannels == 4 and spec.alpha_channel == 3
    np.testing.assert_allclose(rgba[..., 3], m.astype(np.float16), atol=2e-5)  # half mattes
    # The file's own values (OpenImageIO premultiplies on reading): the orange, unpremultiplied.
    raw = cv2.imread(str(srgb_shot / "f.0001.png"), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]
    half = (m > 0.45) & (m < 0.55)
    assert raw.dtype == np.uint16 and half.sum() > 8
    np.testing.assert_allclose(raw[half][:, 0] / 65535, 0.9, atol=0.05)


def test_background_movie_by_position_last_frame_held(srgb_shot: Path) -> None:
    movie = srgb_shot / "bg.mov"
    with av.open(str(movie), "w") as container:  # 2 frames: red, then blue
        stream = container.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv444p10le"
        for colour in ((255, 0, 0), (0, 0, 255)):
            img = np.zeros((H, W, 3), np.uint8)
            img[...] = colour
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert _run(str(srgb_shot / "plate.####.png"), str(srgb_shot / "m.####.exr"), "--object",
                "ball", "--background", str(movie), "-o", str(srgb_shot / "c.####.tif")) == 0
    corners = [_read(srgb_shot / f"c.{i:04d}.tif")[0][0, 0] for i in range(N)]
    np.testing.assert_allclose(corners, [[1, 0, 0], [0, 0, 1], [0, 0, 1]], atol=0.01)


def test_a_rerun_resumes_and_redoes_only_what_changed(srgb_shot: Path, capsys,
                                                      image_writer) -> None:
    args = ["composite", str(srgb_shot / "plate.####.png"), str(srgb_shot / "m.####.exr"),
            "--object", "ball", "--background", "#ffffff", "-o", str(srgb_shot / "c.####.exr")]
    assert main(args) == 0
    before = {i: os.stat(srgb_shot / f"c.{i:04d}.exr").st_mtime_ns for i in range(N)}
    capsys.readouterr()
    assert main(args) == 0
    assert "composited 0 frame(s)" in capsys.readouterr().err
    image_writer(srgb_shot / "m.0001.exr", _matte(2), "half", names=["ball.A"])  # a correction
    assert main(args) == 0
    assert "composited 1 frame(s)" in capsys.readouterr().err
    after = {i: os.stat(srgb_shot / f"c.{i:04d}.exr").st_mtime_ns for i in range(N)}
    assert [after[i] == before[i] for i in range(N)] == [True, False, True]
    assert json.loads((srgb_shot / ".mattetrack-composite.json").read_text())


@pytest.mark.parametrize("change, message", [
    ({"--object": "cat"}, "--object 'cat' is not a matte"),
    ({"--background": "nowhere/bg.####.exr"}, "--background 'nowhere/bg.####.exr'"),
    ({"-o": "c.####.jpg"}, "the composite must end in"),
    ({"-o": "plate.####.png"}, "would overwrite the plate"),
])
def test_bad_input_is_one_line_exit_2(srgb_shot: Path, capsys, change, message) -> None:
    options = {"--object": "ball", "--background": "#000000", "-o": "c.####.png"}
    options.update(change)
    os.chdir(srgb_shot)
    plate = {p: p.read_bytes() for p in srgb_shot.glob("plate.*.png")}
    argv = ["composite", "plate.####.png", "m.####.exr"]
    for key, value in options.items():
        argv += [key, value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert {p: p.read_bytes() for p in srgb_shot.glob("plate.*.png")} == plate
