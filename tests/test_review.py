"""Review (review.py, `mattetrack review`, `track --review`): contact sheets, overlay movies and
frames of mattes over their display-referred plate."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mattetrack.cli import main
from mattetrack.review import (
    ReviewOptions,
    ReviewSource,
    colour_of,
    confidence_colour,
    contact_sheet,
    overlay,
)
from mattetrack.shapes.source import open_mattes
from mattetrack.shot import Shot
from mattetrack.synthetic import click_point, render_shot

W, H, N = 160, 96, 12


@pytest.fixture(scope="module")
def shot_files(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """An 8-bit sRGB PNG plate p.0001-0012.png and its true coverage as m.####.png mattes."""
    folder = tmp_path_factory.mktemp("review")
    truths = []
    for i, (rgb, cov) in enumerate(render_shot(n_frames=N, width=W, height=H, seed=4)):
        srgb = np.clip(rgb, 0, 1) ** (1 / 2.2)  # any display-referred picture will do
        cv2.imwrite(str(folder / f"p.{i + 1:04d}.png"),
                    cv2.cvtColor(np.rint(srgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / f"m.{i + 1:04d}.png"), np.rint(cov * 255).astype(np.uint8))
        truths.append(cov >= 0.5)
    return folder, truths


def _source(folder: Path, report=None) -> ReviewSource:
    return ReviewSource.open(Shot.open(str(folder / "p.####.png")),
                             open_mattes(str(folder / "m.####.png")), report)


def test_overlay_tints_the_matte_and_draws_its_outline():
    rgb = np.full((40, 60, 3), 100, np.uint8)
    cov = np.zeros((40, 60), np.float32)
    cov[10:30, 20:40] = 1.0
    out = overlay(rgb, [cov], opacity=0.5)
    expect = np.rint(100 + (np.array(colour_of(0)) - 100) * 0.5)
    np.testing.assert_array_equal(out[20, 30], expect)  # inside: halfway to the colour
    np.testing.assert_array_equal(out[5, 5], [100, 100, 100])  # outside: the plate
    assert (out[10, 20:40] == colour_of(0)).all(axis=1).mean() > 0.8  # the outline


def test_contact_sheet_tiles_every_nth_frame_with_its_mattes_and_the_confidence(shot_files):
    folder, truths = shot_files
    report = {"frames": [1, N], "objects": [{
        "name": "object", "confidence": {str(f): (0.0 if f <= N // 2 else 1.0)
                                         for f in range(1, N + 1)},
        "suggested": [3]}]}
    options = ReviewOptions(every=4, columns=2, tile_width=W)  # tiles at the plate's size
    sheet = contact_sheet(_source(folder, report), options)
    tiles = list(range(1, N + 1))[::4]  # 1, 5, 9: two rows of two columns
    gap, legend = 4, 26
    assert sheet.shape[1] == 2 * W + 3 * gap
    for k, f in enumerate(tiles):
        r, c = divmod(k, 2)
        tile = sheet[legend + r * (H + gap):legend + r * (H + gap) + H,
                     gap + c * (W + gap):gap + c * (W + gap) + W].astype(int)
        x, y = click_point(truths[f - 1].astype(np.float32))
        # The object's interior-most pixel of that very frame is tinted with its colour.
        plate = cv2.cvtColor(cv2.imread(str(folder / f"p.{f:04d}.png")), cv2.COLOR_BGR2RGB)
        expect = plate[int(y), int(x)] + (np.array(colour_of(0)) - plate[int(y), int(x)]) * 0.45
        assert np.abs(tile[int(y), int(x)] - expect).max() <= 2, f
    # Under the tiles: red for the first half of the shot, green for the second.
    strip = sheet[-4 - 14 + 10, gap:-gap].astype(int)  # the strip's lower half, no ticks
    n = strip.shape[0]
    assert tuple(strip[n // 4]) == confidence_colour(0.0)
    assert tuple(strip[3 * n // 4]) == confidence_colour(1.0)
    tick = sheet[-4 - 14 + 2, gap + (2 * 2 + 1) * n // (2 * N)]  # frame 3, upper half
    assert tuple(tick) == (255, 255, 255)


def test_review_command_writes_a_sheet_a_movie_and_frames(shot_files, tmp_path, capsys):
    import av

    folder, truths = shot_files
    plate, mattes = str(folder / "p.####.png"), str(folder / "m.####.png")
    assert main(["review", plate, mattes, "-o", str(tmp_path / "s.png"), "-q"]) == 0
    assert cv2.imread(str(tmp_path / "s.png")) is not None

    assert main(["review", plate, mattes, "-o", str(tmp_path / "o.####.png"), "-q"]) == 0
    source = _source(folder)
    for f, img in source.overlays(source.frames, ReviewOptions().opacity):
        back = cv2.cvtColor(cv2.imread(str(tmp_path / f"o.{f:04d}.png")), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(back, img)

    assert main(["review", plate, mattes, "-o", str(tmp_path / "o.mp4"), "--fps", "25",
                 "-q"]) == 0
    with av.open(str(tmp_path / "o.mp4")) as movie:
        stream = movie.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 25
        # The matrix (BT.601) and primaries (BT.709 = sRGB) are said in the stream.
        assert (stream.codec_context.colorspace, stream.codec_context.color_primaries) == (5, 1)
        frames = [fr.to_ndarray(format="rgb24") for fr in movie.decode(stream)]
    assert len(frames) == N and frames[0].shape == (H, W, 3)
    overlays = source.overlays(source.frames, 0.45)
    for f, (img, expect) in enumerate(zip(frames, overlays, strict=True), 1):
        x, y = click_point(truths[f - 1].astype(np.float32))
        assert np.abs(img[int(y), int(x)].astype(int) - expect[1][int(y), int(x)]).max() < 12
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("case, needle", [
    ("jpg-output", "give a contact sheet (.png)"),
    ("over-a-matte", "would overwrite the input"),
    ("missing-folder", "does not exist"),
    ("bad-report", "--report"),
    ("other-size", "not their plate"),
])
def test_review_refuses_bad_input_in_one_line(shot_files, tmp_path, capsys, case, needle):
    folder, _ = shot_files
    plate, mattes = str(folder / "p.####.png"), str(folder / "m.####.png")
    out = str(tmp_path / "s.png")
    extra: list[str] = []
    if case == "jpg-output":
        out = str(tmp_path / "s.jpg")
    elif case == "over-a-matte":
        out = str(folder / "m.0003.png")
    elif case == "missing-folder":
        out = str(tmp_path / "no" / "s.png")
    elif case == "bad-report":
        (tmp_path / "r.json").write_text(json.dumps({"objects": [{"name": "x"}]}))
        extra = ["--report", str(tmp_path / "r.json")]
    else:
        small = tmp_path / "small.0001.png"
        cv2.imwrite(str(small), np.zeros((H // 2, W // 2), np.uint8))
        mattes = str(tmp_path / "small.####.png")
    before = (folder / "m.0003.png").read_bytes()
    assert main(["review", plate, mattes, "-o", out, *extra, "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert (folder / "m.0003.png").read_bytes() == before


@pytest.mark.parametrize("name, output", [("object", "t.####.png"), ("my dog", "t.####.png"),
                                          ("my dog", "t.####.exr")])
def test_track_review_shows_the_runs_own_confidence(shot_files, tmp_path, name, output):
    """Also when the mattes name the object otherwise (one grey PNG: `object`; an EXR layer:
    `my_dog`)."""
    folder, truths = shot_files
    x, y = click_point(truths[0].astype(np.float32))
    sheet = tmp_path / "s.png"
    assert main(["track", str(folder / "p.####.png"), "--object", name, "--point", f"{x},{y}",
                 "-q", "-o", str(tmp_path / output), "--review", str(sheet)]) == 0
    img = cv2.cvtColor(cv2.imread(str(sheet)), cv2.COLOR_BGR2RGB)
    strip = img[-4 - 14 + 10, 4:-4]
    # A confidence for every frame: no grey (unknown) band, and the keyframe's is 1 (green).
    assert not (strip == confidence_colour(None)).all(axis=1).any()
    assert tuple(strip[0]) == confidence_colour(1.0)
