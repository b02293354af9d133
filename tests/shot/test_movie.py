"""Movies through PyAV (shot/movie.py), on movies the tests make with PyAV: ProRes 422 HQ
10-bit, DNxHR HQ, H.264 4:2:0; with and without timecode. Pixel values against the frames they
were made from, exact frames after seeking, 10-bit precision kept, variable rate refused."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mattetrack.cli import main
from mattetrack.errors import InputError
from mattetrack.shot import Shot
from mattetrack.shot.movie import MovieReader, colour_space_candidates, timecode_frames

N = 24


def source(i: int, w: int, h: int) -> np.ndarray:
    """Frame i as (h, w, 3) uint16 RGB: red says which frame, green a fine ramp across, blue
    flat (smooth, so 4:2:0 and 4:2:2 chroma keep it)."""
    img = np.empty((h, w, 3), np.uint16)
    img[..., 0] = 2000 + i * 2500
    img[..., 1] = (np.arange(w)[None, :] * (40000 // w) + 12000).astype(np.uint16)
    img[..., 2] = 30000
    return img


def make(path: Path, codec: str, pix: str, w: int, h: int, options: dict | None = None,
         timecode: str | None = None, pts: list[int] | None = None,
         tags: tuple[int, int] | None = None) -> Path:
    """A movie of `source` frames; tags: (primaries, transfer) FFmpeg numbers to label it."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, pix
        stream.options = options or {}
        if timecode:
            stream.metadata["timecode"] = timecode
        stream.codec_context.colorspace, stream.codec_context.color_range = 1, 1  # BT.709 video
        if tags:
            stream.codec_context.color_primaries, stream.codec_context.color_trc = tags
        for i in range(len(pts) if pts else N):
            frame = av.VideoFrame.from_ndarray(source(i, w, h), format="rgb48le")
            frame = frame.reformat(format=pix, dst_colorspace="ITU709", dst_color_range=1)
            frame.pts, frame.time_base = (pts[i] if pts else i), Fraction(1, 24)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


MOVIES = {
    # name: (codec, pixel format, size, encoder options, timecode, (bits, tolerance of 1.0))
    "prores_422hq_10bit.mov": ("prores_ks", "yuv422p10le", (96, 64), {"profile": "3"},
                               "01:00:10:05", (16, 0.012)),
    # 8-bit YUV: two roundings of 1/255 and the codec's own
    "dnxhr_hq.mov": ("dnxhd", "yuv422p", (256, 144), {"profile": "dnxhr_hq"}, None, (8, 0.03)),
    "h264_420.mp4": ("libx264", "yuv420p", (96, 64), {"crf": "1"}, "00:59:59:23", (8, 0.03)),
}


@pytest.fixture(scope="module", params=list(MOVIES))
def movie(request, tmp_path_factory) -> tuple[Path, tuple]:
    codec, pix, (w, h), options, timecode, expect = MOVIES[request.param]
    path = tmp_path_factory.mktemp("movies") / request.param
    return make(path, codec, pix, w, h, options, timecode), MOVIES[request.param]


def test_every_frame_has_its_source_values(movie):
    path, (_, _, (w, h), _, _, (bits, tolerance)) = movie
    reader = MovieReader(str(path))
    assert (reader.width, reader.height, reader.frame_count, reader.fps) == (w, h, N, 24.0)
    top = 65535.0 if bits == 16 else 255.0
    assert reader.max_value == top
    for i in range(N):
        got = reader.read(i).astype(np.float64) / top
        want = source(i, w, h).astype(np.float64) / 65535
        inner = (slice(2, h - 2), slice(2, w - 2))  # chroma filters at the borders
        assert np.abs(got[inner] - want[inner]).max() < tolerance, (path.name, i)
    assert reader.seeks == 0  # in order: never a seek
    reader.close()


def test_frames_are_exact_after_seeking(movie):
    path, (_, _, (w, h), _, _, (bits, _)) = movie
    reader = MovieReader(str(path))
    top = 65535.0 if bits == 16 else 255.0
    order = list(range(N))
    random.Random(5).shuffle(order)
    for i in order:
        red = float(reader.read(i)[h // 2, w // 2, 0]) / top * 65535
        # Which source frame this is: reds are 2500 apart.
        assert round((red - 2000) / 2500) == i, (path.name, i, red)
    assert reader.seeks > 0
    reader.close()


def test_ten_bit_sources_keep_more_than_eight_bits(tmp_path):
    """ProRes 10-bit comes out at 16 bits: a ramp of 10-bit steps keeps its steps, which 8-bit
    output would merge four by four."""
    w, h = 512, 16
    movie = tmp_path / "ramp.mov"
    with av.open(str(movie), "w") as out:
        stream = out.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p10le"
        ramp = np.zeros((h, w, 3), np.uint16)
        ramp[...] = (np.arange(w) * 64 + 16384)[None, :, None]  # one 10-bit step per pixel
        frame = av.VideoFrame.from_ndarray(ramp, format="rgb48le").reformat(
            format="yuv444p10le", dst_colorspace="ITU709", dst_color_range=1)
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    reader = MovieReader(str(movie))
    row = reader.read(0)[h // 2, :, 1]
    reader.close()
    assert row.dtype == np.uint16
    assert len(np.unique(row)) > 400  # 8 bits would leave at most 128 levels over this ramp


def test_timecode_numbers_the_frames(movie):
    path, (_, _, (w, h), _, timecode, (bits, _)) = movie
    if timecode is None:
        with pytest.raises(InputError, match="no timecode"):
            Shot.open(str(path), frame_numbers="timecode")
        return
    first = timecode_frames(timecode, Fraction(24))
    with Shot.open(str(path), frame_numbers="timecode") as shot:
        assert shot.frames == list(range(first, first + N))
        red = shot.image(first + 7)[h // 2, w // 2, 0]  # sRGB-decoded, but monotonic in red
        redder = shot.image(first + 8)[h // 2, w // 2, 0]
        assert redder > red
    with Shot.open(str(path), frame_numbers="timecode", frame_range=(first + 20, first + 99)) \
            as shot:
        assert shot.frames == [first + 20, first + 21, first + 22, first + 23]


def test_timecode_arithmetic():
    assert timecode_frames("01:00:00:00", Fraction(24)) == 86400
    assert timecode_frames("01:00:10:05", Fraction(24)) == 86645
    assert timecode_frames("00:00:01:00", Fraction(25)) == 25
    # Drop-frame at 29.97: frame numbers 0 and 1 skipped each minute but every tenth.
    assert timecode_frames("00:01:00;02", Fraction(30000, 1001)) == 1800
    assert timecode_frames("00:10:00;00", Fraction(30000, 1001)) == 17982
    with pytest.raises(ValueError):
        timecode_frames("ten past one", Fraction(24))


def test_variable_frame_rate_is_refused_in_one_line(tmp_path, capsys):
    path = make(tmp_path / "vfr.mp4", "libx264", "yuv420p", 96, 64, {"crf": "18"},
                pts=[0, 1, 2, 4, 5, 8, 9, 10, 11, 12, 14, 15])
    with pytest.raises(InputError, match="variable frame rate"):
        MovieReader(str(path))
    rc = main(["track", str(path), "--point", "0:10,10", "-o", str(tmp_path / "m.#.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "vfr.mp4: variable frame rate" in err and err.count("\n") == 1
    assert not list(tmp_path.glob("m.*"))


def test_track_numbers_a_movie_by_its_timecode(tmp_path):
    path = make(tmp_path / "tc.mov", "prores_ks", "yuv422p10le", 96, 64, {"profile": "3"},
                "01:00:00:00")
    assert main(["track", str(path), "--frame-numbers", "timecode", "--point",
                 "86400:40,30", "--range", "86400-86403", "-q",
                 "-o", str(tmp_path / "m.#.png")]) == 0
    assert sorted(p.name for p in tmp_path.glob("m.*.png")) == [
        f"m.{f}.png" for f in range(86400, 86404)]


def test_colour_tags_name_the_colour_space():
    assert colour_space_candidates(1, 1)[1] == "Gamma 2.4 Encoded Rec.709"  # BT.709 video
    assert colour_space_candidates(2, 1)[1] == "Gamma 2.4 Encoded Rec.709"  # transfer only
    assert colour_space_candidates(1, 13)[1] == "sRGB Encoded Rec.709 (sRGB)"
    assert colour_space_candidates(9, 16)[1] == "Rec.2100-PQ - Display"
    assert colour_space_candidates(9, 18)[1] == "Rec.2100-HLG - Display"
    assert colour_space_candidates(12, 8)[1] == "Linear P3-D65"
    assert colour_space_candidates(2, 2) == ()  # untagged: the sRGB default stays


def test_a_bt709_movie_is_read_as_gamma_2_4_rec709_by_default(tmp_path):
    """A stream tagged BT.709 (primaries and transfer) is read as Gamma 2.4 Rec.709: the
    engines' sRGB image is that curve decoded and sRGB-encoded; untagged, or with --colorspace,
    it is what it is told."""
    tagged = make(tmp_path / "tagged.mov", "prores_ks", "yuv422p10le", 96, 64, {"profile": "3"},
                  tags=(1, 1))
    plain = make(tmp_path / "plain.mov", "prores_ks", "yuv422p10le", 96, 64, {"profile": "3"})
    with Shot.open(str(tagged)) as shot, Shot.open(str(plain)) as untagged, \
            Shot.open(str(tagged), colorspace="srgb_tx") as told:
        assert shot.colorspace == "Gamma 2.4 Encoded Rec.709"
        assert "sRGB" in untagged.colorspace and "sRGB" in told.colorspace
        encoded = untagged.image(5)[32, 48]  # the stored values, passed through
        np.testing.assert_allclose(told.image(5)[32, 48], encoded, atol=1e-6)
        linear = encoded.astype(np.float64) ** 2.4
        srgb = np.where(linear <= 0.0031308, 12.92 * linear,
                        1.055 * linear ** (1 / 2.4) - 0.055)
        np.testing.assert_allclose(shot.image(5)[32, 48], srgb, atol=2e-3)
