"""`mattetrack cuts` (cutlist.py): a plate's shots found and written as an OpenTimelineIO
timeline, a CMX 3600 EDL and JSON, read back with OpenTimelineIO itself."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import opentimelineio as otio
import pytest

from mattetrack.cli import main
from mattetrack.cutlist import shot_ranges
from mattetrack.synthetic import render_shot

W, H, FIRST, LENGTH = 320, 180, 1001, 12


def two_shots() -> list[np.ndarray]:
    """Two synthetic shots of LENGTH frames each, different scenes: one hard cut."""
    frames = []
    for seed in (3, 7):
        frames += [np.clip(rgb, 0, 1) for rgb, _ in render_shot(LENGTH, W, H, seed=seed,
                                                                 motion_blur_samples=1)]
    return frames


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plate")
    for i, rgb in enumerate(two_shots()):
        cv2.imwrite(str(folder / f"plate.{FIRST + i:04d}.png"),
                    (rgb[:, :, ::-1] * 255 + 0.5).astype(np.uint8))
    return folder / "plate.####.png"


def test_shot_ranges():
    assert shot_ranges(list(range(10, 20)), [13, 17]) == [(10, 12), (13, 16), (17, 19)]
    assert shot_ranges([5, 6, 7], []) == [(5, 7)]


def test_a_sequences_cut_in_every_format(sequence: Path, tmp_path: Path, capsys):
    cut = FIRST + LENGTH
    for name in ("cuts.json", "cuts.otio", "cuts.edl"):
        assert main(["cuts", str(sequence), "-q", "-o", str(tmp_path / name)]) == 0
    listed = json.loads((tmp_path / "cuts.json").read_text())
    assert listed["cuts"] == [cut] and listed["fps"] == 24.0
    assert listed["shots"] == [[FIRST, cut - 1], [cut, FIRST + 2 * LENGTH - 1]]
    timeline = otio.adapters.read_from_file(str(tmp_path / "cuts.otio"))
    clips = list(timeline.find_clips())
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] \
        == [(FIRST, LENGTH), (cut, LENGTH)]
    ref = clips[0].media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    assert ref.abstract_target_url("####") == sequence.parent.as_uri() + "/plate.####.png"
    assert ref.target_url_for_image_number(0) == (sequence.parent / f"plate.{FIRST}.png").as_uri()
    edl = otio.adapters.read_from_file(str(tmp_path / "cuts.edl"), rate=24)
    events = list(edl.find_clips())
    assert [c.source_range.duration.value for c in events] == [LENGTH, LENGTH]
    # source in: frame 1001 at 24 frames/s is 00:00:41:17
    assert otio.opentime.to_timecode(events[0].source_range.start_time, 24) == "00:00:41:17"
    assert otio.opentime.to_timecode(events[1].source_range.start_time, 24) == "00:00:42:05"


def test_one_shot_is_one_clip(sequence: Path, tmp_path: Path):
    out = tmp_path / "one.json"
    assert main(["cuts", str(sequence), "--range", f"{FIRST}-{FIRST + 5}", "-q",
                 "-o", str(out)]) == 0
    assert json.loads(out.read_text())["shots"] == [[FIRST, FIRST + 5]]


def test_a_movie_by_index_and_by_timecode(tmp_path: Path):
    movie = tmp_path / "reel.mov"
    with av.open(str(movie), "w") as out:
        stream = out.add_stream("prores_ks", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv422p10le"
        stream.metadata["timecode"] = "10:00:00:00"
        for i, rgb in enumerate(two_shots()):
            frame = av.VideoFrame.from_ndarray((rgb * 65535).astype(np.uint16), format="rgb48le")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    by_index, by_tc = tmp_path / "index.otio", tmp_path / "tc.json"
    assert main(["cuts", str(movie), "-q", "-o", str(by_index)]) == 0
    assert main(["cuts", str(movie), "--frame-numbers", "timecode", "-q",
                 "-o", str(by_tc)]) == 0
    clips = list(otio.adapters.read_from_file(str(by_index)).find_clips())
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] \
        == [(0, LENGTH), (LENGTH, LENGTH)]
    assert clips[0].source_range.start_time.rate == 25
    assert clips[0].media_reference.target_url == movie.as_uri()
    start = 10 * 3600 * 25
    assert json.loads(by_tc.read_text())["cuts"] == [start + LENGTH]


@pytest.mark.parametrize(("output", "needle"), [("cuts.txt", "must end in .otio, .edl, .json"),
                                                ("no/cuts.otio", "does not exist")])
def test_bad_outputs_are_one_line_and_write_nothing(sequence: Path, tmp_path: Path, capsys,
                                                    output, needle):
    assert main(["cuts", str(sequence), "-o", str(tmp_path / output)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err
    assert not list(tmp_path.rglob("cuts.*"))


def test_a_flash_is_no_cut_and_a_fade_through_black_is_one():
    """A frame of flash (or two) that comes back to the shot is no boundary; a fade out to black
    and in again is one boundary, where the picture returns."""
    from mattetrack.cutlist import boundaries

    shots = two_shots()
    a, b = shots[:LENGTH], shots[LENGTH:]
    flashed = [f.copy() for f in a]
    flashed[5] = np.clip(flashed[5] * 3.0, 0, 1)
    flashed[6] = np.clip(flashed[6] * 3.0, 0, 1)
    assert boundaries(enumerate(flashed)) == []
    fade = [f * (1 - (k + 1) / 6) for k, f in enumerate(a[-6:])]  # the last is black
    fade_in = [f * ((k + 1) / 6) for k, f in enumerate(b[:6])]
    programme = [*a[:-6], *fade, *fade_in, *b[6:]]
    found = boundaries(enumerate(programme))
    assert len(found) == 1 and LENGTH - 1 <= found[0] <= LENGTH + 1, found
    assert boundaries(enumerate([*a, *b])) == [LENGTH]  # the hard cut, on its frame
