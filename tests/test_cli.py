"""`mattetrack track` end to end: real plates on disk in, EXR/PNG mattes out, errors as one line.

The plates are synthetic shots with known truth (mattetrack.synthetic) written as EXR and PNG
sequences, so quality is checked against the truth, through the same code path artists use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from mattetrack.cli import main
from mattetrack.evaluation import iou
from mattetrack.synthetic import click_point, render_shot

FIRST = 1001
W, H = 320, 180


def _write(path: Path, pixels: np.ndarray, channels: list[str], fmt: str = "half") -> None:
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(channels), fmt)
    spec.channelnames = tuple(channels)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    out.write_image(np.ascontiguousarray(pixels))
    out.close()


def _read(path: Path) -> tuple[oiio.ImageSpec, np.ndarray]:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, "float")
    inp.close()
    return spec, pixels


@pytest.fixture(scope="module")
def exr_shot(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A 16-frame scene-linear half EXR sequence plate.1001-1016.exr and its true coverage."""
    folder = tmp_path_factory.mktemp("plate")
    shot = render_shot(n_frames=16, width=W, height=H, seed=3)
    for i, (rgb, _) in enumerate(shot):
        _write(folder / f"plate.{FIRST + i:04d}.exr", rgb, ["R", "G", "B"])
    # An artist's mask of a patch of background, for a second object.
    mask = np.zeros((H, W, 1), np.float32)
    mask[10:40, 120:180] = 1.0
    _write(folder.parent / f"{folder.name}_patch.png", mask, ["Y"], "uint8")
    return folder, [cov for _, cov in shot]


def _patch(folder: Path) -> str:
    return str(folder.parent / f"{folder.name}_patch.png")


def _box(coverage: np.ndarray, margin: float = 0.15) -> str:
    """An artist's box around the object: its bounding box grown by `margin` of its size."""
    ys, xs = np.nonzero(coverage >= 0.5)
    mx, my = margin * (xs.max() - xs.min()), margin * (ys.max() - ys.min())
    x0, y0, x1, y1 = xs.min() - mx, ys.min() - my, xs.max() + 1 + mx, ys.max() + 1 + my
    return f"{x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_track_exr_sequence_two_objects(exr_shot, tmp_path, capsys):
    folder, truth = exr_shot
    before = _digest(folder)
    x, y = click_point(truth[0])
    x2, y2 = click_point(truth[-1])
    rc = main(
        [
            "track",
            str(folder / "plate.####.exr"),
            "--object",
            "hero ball",
            "--point",
            f"{x},{y}",
            "--box",
            _box(truth[0]),
            "--box",
            f"{FIRST + 15}:{_box(truth[15])}",
            "--point",
            f"{FIRST + 15}:{x2},{y2}",
            "--object",
            "corner",
            "--mask",
            f"{FIRST + 4}:{_patch(folder)}",
            "-o",
            str(tmp_path / "out" / "mattes.%04d.exr"),
        ]
    )
    assert rc == 0
    outputs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outputs] == [f"mattes.{FIRST + i:04d}.exr" for i in range(16)]
    ious, patch_areas = [], []
    for i, path in enumerate(outputs):
        spec, pixels = _read(path)
        # OpenEXR keeps channels sorted by name; each object is its own layer.
        assert sorted(spec.channelnames) == ["corner.A", "hero_ball.A"]
        assert spec.format == oiio.TypeDesc("half")
        assert (spec.full_width, spec.full_height) == (W, H)
        assert pixels.min() >= 0 and pixels.max() <= 1
        hero = pixels[..., spec.channelnames.index("hero_ball.A")]
        corner = pixels[..., spec.channelnames.index("corner.A")]
        ious.append(iou(hero, truth[i]))
        patch_areas.append(int((corner >= 0.5).sum()))
        if i == 4:
            np.testing.assert_array_equal(corner[10:40, 120:180], 1.0)  # the keyframe's own mask
    assert np.mean(ious) >= 0.85, np.round(ious, 2)
    # The background patch is followed through the whole shot; the pole crossing in front of it
    # hides up to half of it on a few frames.
    assert min(patch_areas) > 0.4 * 30 * 60 and np.median(patch_areas) > 0.9 * 30 * 60, patch_areas
    assert _digest(folder) == before  # the plate is never modified
    assert "wrote 16 frame(s) of 2 object(s)" in capsys.readouterr().err


def test_track_png_single_object_and_labels(exr_shot, tmp_path):
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    assert (
        main(
            [
                "track",
                str(folder),
                "--box",
                _box(truth[0]),
                "--negative",
                "2,2",
                "-q",
                "--range",
                f"{FIRST}-{FIRST + 5}",
                "-o",
                str(tmp_path / "a" / "%05d.png"),
            ]
        )
        == 0
    )
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [f"{FIRST + i:05d}.png" for i in range(6)]
    spec, grey = _read(tmp_path / "a" / f"{FIRST + 3:05d}.png")
    assert spec.format == oiio.TypeDesc("uint8") and spec.nchannels == 1
    assert iou(grey[..., 0], truth[3]) >= 0.8

    assert (
        main(
            [
                "track",
                str(folder / "plate.####.exr"),
                "-q",
                "--range",
                f"{FIRST}-{FIRST + 2}",
                "--point",
                f"{x},{y}",
                "--object",
                "patch",
                "--mask",
                f"{FIRST}:{_patch(folder)}",
                "-o",
                str(tmp_path / "b" / "l.####.png"),
            ]
        )
        == 0
    )
    from PIL import Image

    labels = Image.open(tmp_path / "b" / f"l.{FIRST + 1}.png")
    assert labels.mode == "P"
    values = set(np.unique(np.asarray(labels)).tolist())
    assert values <= {0, 1, 2} and {1, 2} <= values


def test_single_image_to_single_file(exr_shot, tmp_path):
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    out = tmp_path / "one.exr"
    assert (
        main(
            [
                "track",
                str(folder / f"plate.{FIRST}.exr"),
                "--box",
                _box(truth[0]),
                "--point",
                f"{x},{y}",
                "-q",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    spec, pixels = _read(out)
    assert spec.channelnames == ("object.A",)
    assert iou(pixels[..., 0], truth[0]) >= 0.85


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--point", "10;20"], "--point '10;20'"),
        (["--point", "500,20"], "outside the 320x180 frame"),
        (["--point", "7:10,20"], "frame 7 is not in the shot"),
        (["--box", "50,50,10,10"], "--box"),
        (["--mask", "1001:/nonexistent/mask.png"], "/nonexistent/mask.png"),
        (["--object", "a", "--point", "5,5", "--object", "b"], "'b': the object has no prompts"),
        ([], "no prompts"),
        (["--point", "5,5", "--range", "9-3"], "--range"),
        (["--point", "5,5", "--engine", "magic"], "--engine 'magic'"),
        (["--point", "5,5", "--colorspace", "not a colourspace"], "not a colourspace"),
        (["--stroke", "1,2,3"], "--stroke '1,2,3'"),
        (["--stroke", "5,5,400,5"], "stroke point 400,5 is outside the 320x180 frame"),
        (["--negative", "5,5"], "frame 1001 are all negative"),
        (["--point", "5,5", "--report", "r.txt"], "--report 'r.txt'"),
    ],
)
def test_bad_arguments_one_line_exit_2(exr_shot, tmp_path, capsys, args, needle):
    folder, _ = exr_shot
    out = tmp_path / "m.####.exr"
    rc = main(["track", str(folder / "plate.####.exr"), *args, "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("mattetrack: error: ")
    assert not any(tmp_path.iterdir())  # nothing written


def test_bad_output_and_input(exr_shot, tmp_path, capsys):
    folder, _ = exr_shot
    cases = [
        (
            [
                "track",
                str(folder / "plate.####.exr"),
                "--point",
                "5,5",
                "-o",
                str(tmp_path / "m.exr"),
            ],
            "give a pattern such as",
        ),
        (
            [
                "track",
                str(folder / "plate.####.exr"),
                "--point",
                "5,5",
                "-o",
                str(tmp_path / "m.jpg"),
            ],
            "must end in .exr or .png",
        ),
        (
            [
                "track",
                str(tmp_path / "missing.####.exr"),
                "--point",
                "5,5",
                "-o",
                str(tmp_path / "a.exr"),
            ],
            "missing",
        ),
        (
            [
                "track",
                str(folder / "plate.####.exr"),
                "--point",
                "5,5",
                "-o",
                str(folder / "plate.####.exr"),
            ],
            "overwrite",
        ),
    ]
    for argv, needle in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err


def test_argparse_errors_are_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mattetrack", "track", "--point", "1,1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "required" in proc.stderr


def test_damaged_frame_mid_sequence_keeps_earlier_results(exr_shot, tmp_path, capsys):
    folder, truth = exr_shot
    plate = tmp_path / "plate"
    plate.mkdir()
    for i in range(6):
        (plate / f"p.{i:04d}.exr").write_bytes((folder / f"plate.{FIRST + i:04d}.exr").read_bytes())
    good = (plate / "p.0003.exr").read_bytes()
    (plate / "p.0003.exr").write_bytes(good[: len(good) // 2])  # truncated
    out = tmp_path / "out"
    out.mkdir()
    (out / "m.0005.exr").write_bytes(b"an earlier result")
    x, y = click_point(truth[0])
    rc = main(
        [
            "track",
            str(plate / "p.####.exr"),
            "--point",
            f"{x},{y}",
            "-q",
            "-o",
            str(out / "m.####.exr"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "p.0003.exr" in err and err.count("\n") == 1
    assert (out / "m.0005.exr").read_bytes() == b"an earlier result"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_every_damaged_exr_is_a_one_line_error(shared_data, tmp_path):
    """Each fuzzer-made file in exr-samples/Damaged: exit 2, one line naming it, no crash."""
    damaged = sorted((shared_data / "exr-samples" / "Damaged").iterdir())
    assert len(damaged) > 50
    driver = textwrap.dedent(
        """
        import contextlib, io, sys
        from mattetrack.cli import main
        for path in sys.argv[2:]:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = main(["track", path, "--point", "1,1", "-q", "-o", sys.argv[1]])
            print(repr((path, rc, err.getvalue())), flush=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver, str(tmp_path / "m.exr"), *map(str, damaged)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    results = [eval(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, f"crashed after {len(results)} files: {proc.stderr[-2000:]}"
    assert len(results) == len(damaged)
    for path, rc, err in results:
        assert rc == 2, (path, rc, err)
        assert err.count("\n") == 1 and err.startswith("mattetrack: error: "), (path, err)
        assert os.path.basename(path) in err, (path, err)
    assert not any(tmp_path.iterdir())


def test_progress_bar_on_a_terminal_only(exr_shot, tmp_path):
    """A terminal gets a progress bar on stderr; a pipe (logs, farm jobs) gets only the summary."""
    import fcntl
    import pty
    import struct
    import termios

    folder, truth = exr_shot
    argv = [
        sys.executable,
        "-m",
        "mattetrack",
        "track",
        str(folder / "plate.####.exr"),
        "--box",
        _box(truth[0]),
        "--range",
        f"{FIRST}-{FIRST + 3}",
    ]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([*argv, "-o", str(tmp_path / "t.####.exr")], stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=120) == 0
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert "tracking:" in shown and "4/4" in shown

    piped = subprocess.run(
        [*argv, "-o", str(tmp_path / "p.####.exr")], capture_output=True, text=True
    )
    assert piped.returncode == 0
    assert "tracking:" not in piped.stderr and piped.stderr.startswith(
        "mattetrack: wrote 4 frame(s)"
    )


def test_mattes_keep_the_plates_moving_data_windows(shared_data, tmp_path):
    """Beachball frames have data windows that change size every frame: each matte file has its
    plate's data and display window, and coverage is zero outside the plate's data window."""
    plate = shared_data / "exr-samples" / "Beachball" / "singlepart.####.exr"
    out = tmp_path / "m.####.exr"
    assert main(["track", str(plate), "--box", "1:700,300,1300,800", "-q", "-o", str(out)]) == 0
    for frame in range(1, 5):
        src = oiio.ImageInput.open(str(plate).replace("####", f"{frame:04d}"))
        plate_spec = src.spec()
        src.close()
        spec, pixels = _read(Path(str(out).replace("####", f"{frame:04d}")))
        assert spec.channelnames == ("object.A",)
        for attr in ("x", "y", "width", "height", "full_x", "full_y", "full_width", "full_height"):
            assert getattr(spec, attr) == getattr(plate_spec, attr), (frame, attr)
        assert 0 < pixels.max() <= 1


def test_a_failed_write_mid_run_names_the_file_and_keeps_earlier_frames(
    exr_shot, tmp_path, capsys
):
    folder, truth = exr_shot
    out = tmp_path / "out"
    out.mkdir()
    (out / f"m.{FIRST + 4:04d}.png").mkdir()  # a folder in the way: that frame cannot be written
    x, y = click_point(truth[0])
    args = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "-q",
            "--write-queue", "2", "-o", str(out / "m.####.png")]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith(f"mattetrack: error: {out / f'm.{FIRST + 4:04d}.png'}")
    written = sorted(p.name for p in out.iterdir() if p.is_file())
    assert written == [f"m.{FIRST + i:04d}.png" for i in range(4)]  # the frames before it
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_timings_and_bounded_options(exr_shot, tmp_path, capsys):
    import json

    folder, truth = exr_shot
    x, y = click_point(truth[0])
    out = tmp_path / "t.####.png"
    args = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--timings",
            "--read-ahead", "3", "--write-queue", "1", "-o", str(out)]
    assert main(args) == 0
    line = next(s for s in capsys.readouterr().err.splitlines() if "timings" in s)
    timings = json.loads(line.split("timings ", 1)[1])
    assert timings["frames"] == 16 and timings["frames_read"] >= 16
    for stage in ("decode_s", "colour_s", "engine_s", "write_s", "flow_s", "confidence_s"):
        assert timings[stage] > 0
    assert timings["flow_s"] + timings["confidence_s"] < timings["engine_s"]  # inside it
    assert timings["ready_s"] > 0  # (this process started with pytest: not a start-up time)
    with pytest.raises(SystemExit) as exit_info:  # argparse: one line, status 2
        main(args[:-2] + ["--read-ahead", "-1", "-o", str(out)])
    assert exit_info.value.code == 2 and "--read-ahead" in capsys.readouterr().err


def test_merge_and_cryptomatte_from_the_command_line(exr_shot, tmp_path):
    """--merge writes plate copies with the mattes and a Cryptomatte that decodes to them."""
    cryptomatte_api = pytest.importorskip("cryptomatte_api", reason="PyPI cryptomatte-api")
    folder, truth = exr_shot
    before = _digest(folder)
    x, y = click_point(truth[0])
    out = tmp_path / "merged" / "plate.####.exr"
    args = ["track", str(folder / "plate.####.exr"), "--object", "ball", "--point", f"{x},{y}",
            "--object", "R", "--mask", f"{FIRST + 1}:{_patch(folder)}", "--range", "1001-1003",
            "--merge", "--cryptomatte", "-q", "-o", str(out)]
    assert main(args) == 0
    assert _digest(folder) == before
    for frame in (1001, 1002, 1003):
        plate_spec, plate_px = _read(folder / f"plate.{frame}.exr")
        spec, px = _read(tmp_path / "merged" / f"plate.{frame}.exr")
        names = list(spec.channelnames)
        # The plate's channels, bit for bit (half -> float is exact), then ours; object "R"
        # becomes layer R (channel R.A), which the plate's unnamed-layer R does not clash with.
        for c, name in enumerate(plate_spec.channelnames):
            np.testing.assert_array_equal(px[..., names.index(name)], plate_px[..., c])
        assert {"ball.A", "R.A", "MatteTrack00.R", "MatteTrack00.A"} <= set(names)
        assert "MatteTrack01.R" not in names  # two objects: one rank layer
        decoded = cryptomatte_api.Cryptomatte.load(str(tmp_path / "merged" / f"plate.{frame}.exr"))
        ball = np.asarray(decoded[0].mask("ball")).reshape(H, W)
        half_matte = px[..., names.index("ball.A")]
        np.testing.assert_allclose(ball, half_matte, atol=2.0**-11)  # matte channel is half
        assert iou(half_matte, truth[frame - FIRST]) >= 0.85


@pytest.mark.parametrize(
    ("flags", "output", "needle"),
    [
        (["--merge"], "m.####.png", "--merge: needs EXR output"),
        (["--cryptomatte"], "m.####.png", "--cryptomatte: needs EXR output"),
        (["--merge", "--blender-cryptomatte"], "m.####.exr",
         "--blender-cryptomatte: only with --merge and --cryptomatte"),
    ],
)
def test_merge_options_need_exr(exr_shot, tmp_path, capsys, flags, output, needle):
    folder, _ = exr_shot
    rc = main(["track", str(folder / "plate.####.exr"), "--point", "5,5", *flags,
               "-o", str(tmp_path / output)])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_merge_needs_exr_plates(tmp_path, capsys, sequence_writer):
    frames = {1: np.zeros((32, 48, 3), np.uint8), 2: np.zeros((32, 48, 3), np.uint8)}
    folder = sequence_writer("plate.{:04d}.png", frames, "uint8")
    rc = main(["track", str(folder / "plate.####.png"), "--point", "5,5", "--merge", "-o",
               str(tmp_path / "out" / "m.####.exr")])
    err = capsys.readouterr().err
    assert rc == 2 and "is not an EXR file" in err and err.count("\n") == 1


def test_shapes_from_tracked_mattes(exr_shot, tmp_path, capsys):
    """track -> EXR mattes (with a Cryptomatte) -> shapes JSON that rasterises back to them."""
    from mattetrack.shapes import ShapeDocument
    from mattetrack.shapes.raster import rasterise

    folder, truth = exr_shot
    x, y = click_point(truth[0])
    mattes = tmp_path / "m" / "m.####.exr"
    assert main(["track", str(folder / "plate.####.exr"), "--object", "ball", "--point",
                 f"{x},{y}", "--object", "patch", "--mask", f"{FIRST + 4}:{_patch(folder)}",
                 "--cryptomatte", "-q", "-o", str(mattes)]) == 0
    out = tmp_path / "shapes.json"
    assert main(["shapes", str(mattes), "-o", str(out)]) == 0
    assert "shape(s) of 2 object(s) over 16 frame(s)" in capsys.readouterr().err
    doc = ShapeDocument.load(out)
    assert [o.name for o in doc.objects] == ["ball", "patch"]  # no Cryptomatte rank layers
    ious = []
    for frame in range(FIRST, FIRST + 16):
        spec, px = _read(tmp_path / "m" / f"m.{frame}.exr")
        ball = px[..., list(spec.channelnames).index("ball.A")] >= 0.5
        ious.append(iou(rasterise(doc.objects[0], frame, W, H), ball))
    # Where the pole cuts the tracked ball in two for a frame, shapes that keep one point
    # count through the shot fit it less closely; over the shot they give the mattes back.
    assert np.mean(ious) > 0.96 and min(ious) > 0.92, ious
    # One object only, and a looser tolerance: fewer points.
    loose = tmp_path / "loose.json"
    assert main(["shapes", str(mattes), "--objects", "ball", "--tolerance", "3", "-q",
                 "-o", str(loose)]) == 0
    doc_loose = ShapeDocument.load(loose)
    assert [o.name for o in doc_loose.objects] == ["ball"]
    assert doc_loose.objects[0].shapes[0].point_count < doc.objects[0].shapes[0].point_count


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/nonexistent/m.####.exr", "-o", "{tmp}/s.json"], "/nonexistent"),
        (["{mattes}", "-o", "{tmp}/s.txt"], "must end in .json"),
        (["{mattes}", "-o", "{tmp}/no/s.json"], "does not exist"),
        (["{mattes}", "--objects", "car", "-o", "{tmp}/s.json"], "'car' is not a matte"),
        (["{mattes}", "--tolerance", "-1", "-o", "{tmp}/s.json"], "--tolerance"),
        (["{mattes}", "--min-area", "0", "-o", "{tmp}/s.json"], "--min-area"),
    ],
)
def test_shapes_bad_arguments_one_line_exit_2(exr_shot, tmp_path, capsys, args, needle):
    folder, truth = exr_shot
    mattes = tmp_path / "m" / "m.####.exr"
    x, y = click_point(truth[0])
    assert main(["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}",
                 "--range", "1001-1002", "-q", "-o", str(mattes)]) == 0
    capsys.readouterr()
    argv = [a.format(tmp=tmp_path, mattes=mattes) for a in args]
    try:
        rc = main(["shapes", *argv])
    except SystemExit as stop:  # argparse's own errors (same one-line form, status 2)
        rc = stop.code
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("s.*"))


def _tracked(exr_shot, tmp_path: Path, *extra: str) -> Path:
    """m/m.####.exr: frames 1001-1003 of the shot tracked from one click (`extra`: more args)."""
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    mattes = tmp_path / "m" / "m.####.exr"
    assert main(["track", str(folder / "plate.####.exr"), *extra, "--point", f"{x},{y}",
                 "--range", "1001-1003", "-q", "-o", str(mattes)]) == 0
    return mattes


def test_shapes_fusion_format(exr_shot, tmp_path):
    mattes = _tracked(exr_shot, tmp_path)
    out = tmp_path / "roto.setting"
    assert main(["shapes", str(mattes), "--format", "fusion", "-q", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("{\n\tTools = ordered() {") and "object_1 = PolylineMask {" in text
    assert all(f"[{f}] = {{ 0, Flags" in text for f in (1001, 1002, 1003))


def test_shapes_blender_plan_format(exr_shot, tmp_path):
    """--format blender-plan: the Mask plan the Blender extension builds, the core's own."""
    from mattetrack.shapes import shapes_from_mattes
    from mattetrack.shapes.blender import mask_plan
    from mattetrack.shapes.source import open_mattes

    mattes = _tracked(exr_shot, tmp_path)
    out = tmp_path / "plan.json"
    assert main(["shapes", str(mattes), "--format", "blender-plan", "-q", "-o", str(out)]) == 0
    plan = json.loads(out.read_text())
    seq = open_mattes(str(mattes))
    doc = shapes_from_mattes(iter(seq), {n: n for n in seq.objects}, seq.width, seq.height)
    assert plan == json.loads(json.dumps(mask_plan(doc)))
    assert (plan["frame_start"], plan["frame_end"]) == (1001, 1003) and plan["objects"]


def test_shapes_nuke_format(exr_shot, tmp_path):
    """--format nuke: a script nkparser reads, whose Read opens the mattes track wrote, and a
    roto plan beside it holding every object."""
    import nkparser

    mattes = _tracked(exr_shot, tmp_path, "--object", "ball")
    out = tmp_path / "roto.nk"
    assert main(["shapes", str(mattes), "--format", "nuke", "-q", "-o", str(out)]) == 0
    script = nkparser.Script.from_file(out)
    assert not script.errors()
    [read] = script.find_all(node_class="Read")
    pattern = read.get_string("file")
    assert pattern == mattes.resolve().as_posix() and (read.get("first"), read.get("last")) == (
        "1001", "1003")
    assert all(Path(pattern.replace("####", str(f))).is_file() for f in (1001, 1002, 1003))
    [roto] = script.find_all(node_class="Roto")
    plan = json.loads(Path(roto.get_string("mattetrack_plan")).read_text())
    assert Path(roto.get_string("mattetrack_plan")) == tmp_path.resolve() / "roto.roto.json"
    assert [o["name"] for o in plan["objects"]] == ["ball"] and plan["objects"][0]["shapes"]
    assert sorted(plan["objects"][0]["shapes"][0]["keys"]) == ["1001", "1002", "1003"]


def test_shapes_document_converts_without_refitting(exr_shot, tmp_path, capsys, monkeypatch):
    """`shapes roto.json --format F`: the saved shapes, unchanged, in another format (the
    mattes it names feed the Nuke Read and --exr); the fitter is never called."""
    import nkparser

    from mattetrack.shapes import ShapeDocument, temporal

    mattes = _tracked(exr_shot, tmp_path, "--object", "ball")
    saved = tmp_path / "roto.json"
    assert main(["shapes", str(mattes), "-q", "-o", str(saved)]) == 0
    doc = ShapeDocument.load(saved)
    assert doc.mattes == {f: str(tmp_path.resolve() / "m" / f"m.{f}.exr")
                          for f in (1001, 1002, 1003)} and doc.mattes_exr

    def refit(*args, **kwargs):
        raise AssertionError("converting refitted the shapes")

    monkeypatch.setattr(temporal, "fit_outlines", refit)
    nk = tmp_path / "roto.nk"
    assert main(["shapes", str(saved), "--format", "nuke", "-o", str(nk)]) == 0
    assert "converted to" in capsys.readouterr().err
    script = nkparser.Script.from_file(nk)
    [read] = script.find_all(node_class="Read")
    assert read.get_string("file") == mattes.resolve().as_posix()
    plan = json.loads((tmp_path / "roto.roto.json").read_text())
    assert plan["objects"][0]["shapes"][0]["keys"]["1002"]
    setting = tmp_path / "roto.setting"
    assert main(["shapes", str(saved), "--format", "fusion", "-q", "-o", str(setting)]) == 0
    assert "PolylineMask" in setting.read_text()
    again = tmp_path / "again.json"
    assert main(["shapes", str(saved), "-q", "-o", str(again)]) == 0
    assert json.loads(again.read_text()) == json.loads(saved.read_text())
    # Roto channels from the saved shapes: the mattes it names, with <object>_roto.A.
    roto = tmp_path / "r" / "r.####.exr"
    roto.parent.mkdir()
    assert main(["shapes", str(saved), "--exr", str(roto), "-q"]) == 0
    spec, _ = _read(tmp_path / "r" / "r.1002.exr")
    assert "ball_roto.A" in spec.channelnames
    # Refusals: a refit setting, -o onto itself, a document naming no mattes for the Nuke Read.
    for args, needle in ((["--tolerance", "2", "-o", str(again)], "--tolerance"),
                         (["--min-area", "9", "-o", str(again)], "--min-area"),
                         (["-o", str(saved)], "being converted")):
        assert main(["shapes", str(saved), *args]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({k: v for k, v in json.loads(saved.read_text()).items()
                                if k != "mattes"}))
    assert main(["shapes", str(bare), "--format", "nuke", "-o", str(tmp_path / "b.nk")]) == 2
    assert "does not name the mattes" in capsys.readouterr().err
    assert not (tmp_path / "b.nk").exists()


def test_shapes_min_area_drops_specks(tmp_path, capsys):
    """--min-area PX: pieces under it get no shape, holes under it are filled."""
    import OpenImageIO as oiio

    from mattetrack.shapes import ShapeDocument

    for f in range(1, 4):
        m = np.zeros((60, 80, 1), np.float32)
        m[10:40, 10:40] = 1
        m[24:27, 24:27] = 0  # a 9 px2 pinhole
        m[50:56, 60:66] = 1  # a 36 px2 speck
        out = oiio.ImageOutput.create(str(tmp_path / f"m.{f}.exr"))
        spec = oiio.ImageSpec(80, 60, 1, "half")
        spec.channelnames = ("o.A",)
        out.open(str(tmp_path / f"m.{f}.exr"), spec)
        out.write_image(m)
        out.close()
    counts = {}
    for area in ("4", "16", "64"):
        out = tmp_path / f"s{area}.json"
        assert main(["shapes", str(tmp_path / "m.#.exr"), "--min-area", area, "-q",
                     "-o", str(out)]) == 0
        shapes = ShapeDocument.load(out).objects[0].shapes
        counts[area] = (sum(not s.hole for s in shapes), sum(s.hole for s in shapes))
    assert counts == {"4": (2, 1), "16": (2, 0), "64": (1, 0)}


def test_a_run_as_a_process_reports_its_start_up_and_exits_cleanly(exr_shot, tmp_path):
    """The command as a process: --timings' ready_s (process start to the first frame decoded
    with the engine running) lies inside the run's wall time; the run leaves through the fast
    exit with status 0 and every file written."""
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    out = tmp_path / "p.####.png"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mattetrack", "track",
                           str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--timings",
                           "-q", "-o", str(out)], capture_output=True, text=True)
    wall = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    timings = _timings(proc.stderr)
    assert 0 < timings["ready_s"] < min(wall, timings["total_s"] + 5.0)
    assert len(list(tmp_path.glob("p.*.png"))) == timings["frames"] == 16


def _timings(err: str) -> dict:
    import json

    line = next(s for s in err.splitlines() if "timings" in s)
    return json.loads(line.split("timings ", 1)[1])


def test_store_reuses_results_and_a_correction_recomputes_only_what_it_changes(
        exr_shot, tmp_path, capsys):
    import json

    folder, truth = exr_shot
    x, y = click_point(truth[0])
    store, out = tmp_path / "store", tmp_path / "m.####.png"
    base = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--store",
            str(store), "--timings", "-q", "-o", str(out)]
    assert main([*base, "--report", str(tmp_path / "r.json")]) == 0
    first = _timings(capsys.readouterr().err)
    assert (first["computed"], first["reused"]) == (16, 0)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["frames"] == [1001, 1016]
    (obj,) = report["objects"]
    assert obj["name"] == "object" and set(obj["confidence"]) == {str(f) for f in
                                                                  range(1001, 1017)}
    assert obj["confidence"]["1001"] == 1.0
    assert all(0.0 <= c <= 1.0 for c in obj["confidence"].values())
    assert len(obj["suggested"]) <= 10 and 1001 not in obj["suggested"]
    mattes = {f: np.asarray(cv2.imread(str(out).replace("####", str(f)), 0)) for f in
              range(1001, 1017)}

    assert main(base) == 0  # the same command again: nothing to compute, the same files
    again = _timings(capsys.readouterr().err)
    assert (again["computed"], again["reused"], again["frames_computed"]) == (0, 16, 0)
    for f, m in mattes.items():
        np.testing.assert_array_equal(cv2.imread(str(out).replace("####", str(f)), 0), m)

    # A correction on 1010: the spans after the keyframe at 1001 change, 1001 itself not.
    cx, cy = click_point(truth[9])
    assert main([*base, "--point", f"1010:{cx},{cy}"]) == 0
    fixed = _timings(capsys.readouterr().err)
    assert (fixed["computed"], fixed["reused"]) == (15, 1)
    # 1001's forward track up to the correction was remembered, not tracked again...
    assert fixed["tracks_remembered"] >= 8, fixed
    # ... and every flow it needed (carrying the change back to 1001, tracking on from 1010)
    # the first run had computed.
    assert fixed["flows_computed"] == 0 and fixed["flows_remembered"] >= 14, fixed
    fixed_mattes = {f: cv2.imread(str(out).replace("####", str(f)), 0) for f in range(1001, 1017)}
    # ... and the mattes are those of the same round computed from scratch (a copy of the store
    # with only the matte the correction was made on: an input, not a result).
    fresh, fresh_out = tmp_path / "fresh", tmp_path / "f.####.png"
    shutil.copytree(store, fresh)
    shutil.rmtree(fresh / "tracks")
    shutil.rmtree(fresh / "selections")
    for result in fresh.glob("o*/[0-9-]*_*.cov"):
        result.unlink()
    assert main(["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--point",
                 f"1010:{cx},{cy}", "--store", str(fresh), "--timings", "-q", "-o",
                 str(fresh_out)]) == 0
    scratch = _timings(capsys.readouterr().err)
    assert (scratch["computed"], scratch["tracks_remembered"]) == (16, 0)
    # (Its flows are computed, each once: the forward sweep reads those the change was carried
    # back along.)
    assert scratch["flows_computed"] >= 14, scratch
    for f, m in fixed_mattes.items():
        np.testing.assert_array_equal(cv2.imread(str(fresh_out).replace("####", str(f)), 0), m)
    # ... and a second one on 1014 changes only 1011-1016 (1010's span before it stays).
    dx, dy = click_point(truth[13])
    assert main([*base, "--point", f"1010:{cx},{cy}", "--point", f"1014:{dx},{dy}"]) == 0
    second = _timings(capsys.readouterr().err)
    assert (second["computed"], second["reused"]) == (6, 10)


def test_store_memo_cap(exr_shot, tmp_path, capsys):
    """--store-memo-mb 0 remembers no track or flow (and costs no disk); a negative cap is
    refused."""
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    cx, cy = click_point(truth[9])
    base = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--store",
            str(tmp_path / "s"), "--store-memo-mb", "0", "--timings", "-q", "-o",
            str(tmp_path / "m.####.png")]
    assert main(base) == 0
    assert main([*base, "--point", f"1010:{cx},{cy}"]) == 0
    runs = [_timings(line) for line in capsys.readouterr().err.splitlines()
            if "timings" in line]
    assert [(r["tracks_remembered"], r["flows_remembered"]) for r in runs] == [(0, 0), (0, 0)]
    assert runs[1]["tracks_computed"] > 0 and not (tmp_path / "s" / "tracks").exists()
    with pytest.raises(SystemExit) as exit_info:
        main([*base[:-4], "--store-memo-mb", "-1", "-o", str(tmp_path / "n.####.png")])
    assert exit_info.value.code == 2 and "--store-memo-mb" in capsys.readouterr().err


def _identities(pattern: Path, frames=range(1001, 1017)) -> dict[int, tuple[int, int]]:
    """{frame: (inode, mtime_ns)} of an output sequence: a rewritten file (new file renamed into
    place) gets a new inode."""
    return {f: (st.st_ino, st.st_mtime_ns) for f in frames
            for st in [Path(str(pattern).replace("####", str(f))).stat()]}


def test_a_rerun_with_a_store_leaves_up_to_date_outputs_alone(exr_shot, tmp_path, capsys):
    """With --store, an output file that would come out the same (same results, plate and
    settings, untouched since this tool wrote it) is not written again; every other one is."""
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    cx, cy = click_point(truth[9])
    dx, dy = click_point(truth[13])
    store, out = tmp_path / "store", tmp_path / "m.####.png"
    base = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--point",
            f"1010:{cx},{cy}", "--store", str(store), "--timings", "-q", "-o", str(out)]
    assert main(base) == 0
    assert _timings(capsys.readouterr().err)["kept"] == 0
    written = _identities(out)

    assert main(base) == 0  # the same again: every file is left as it is
    assert _timings(capsys.readouterr().err)["kept"] == 16
    assert _identities(out) == written

    # A correction on 1014 changes 1011-1016; 1001-1010 are left alone.
    assert main([*base, "--point", f"1014:{dx},{dy}"]) == 0
    assert _timings(capsys.readouterr().err)["kept"] == 10
    now = _identities(out)
    assert [f for f in now if now[f] == written[f]] == list(range(1001, 1011))
    # Every file is what the same prompts give from scratch (a copy of the store with only the
    # mattes the corrections were made on).
    fresh, fresh_out = tmp_path / "fresh", tmp_path / "f.####.png"
    shutil.copytree(store, fresh)
    for path in [fresh / "tracks", fresh / "selections"]:
        shutil.rmtree(path)
    for result in [*fresh.glob("o*/[0-9-]*_*.cov"), fresh / "outputs.json"]:
        result.unlink()
    assert main(["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--point",
                 f"1010:{cx},{cy}", "--point", f"1014:{dx},{dy}", "--store", str(fresh),
                 "-q", "-o", str(fresh_out)]) == 0
    for f in range(1001, 1017):
        np.testing.assert_array_equal(cv2.imread(str(out).replace("####", str(f)), 0),
                                      cv2.imread(str(fresh_out).replace("####", str(f)), 0))

    # A file replaced by something else (even with the same bytes) or deleted is written again.
    full = [*base, "--point", f"1014:{dx},{dy}"]
    one = Path(str(out).replace("####", "1003"))
    shutil.copy(one, tmp_path / "copy.png")
    os.replace(tmp_path / "copy.png", one)
    Path(str(out).replace("####", "1005")).unlink()
    assert main(full) == 0
    assert _timings(capsys.readouterr().err)["kept"] == 14
    # A damaged manifest only costs rewrites.
    (store / "outputs.json").write_text("{not json")
    assert main(full) == 0
    assert _timings(capsys.readouterr().err)["kept"] == 0
    assert main(full) == 0
    assert _timings(capsys.readouterr().err)["kept"] == 16


def test_output_settings_and_roto_channels_decide_what_a_rerun_keeps(exr_shot, tmp_path,
                                                                      capsys):
    """Another setting of the same output (half -> float) writes every file again; roto channels
    (fitted over the whole shot) are always written."""
    folder, truth = exr_shot
    x, y = click_point(truth[0])
    base = ["track", str(folder / "plate.####.exr"), "--point", f"{x},{y}", "--range",
            "1001-1004", "--store", str(tmp_path / "s"), "--timings", "-q", "-o",
            str(tmp_path / "m.####.exr")]
    frames = range(1001, 1005)
    kept = []
    for extra in ([], [], ["--float"], ["--float"], ["--roto-channels"], ["--roto-channels"]):
        assert main([*base, *extra]) == 0
        kept.append(_timings(capsys.readouterr().err)["kept"])
    assert kept == [0, 4, 0, 4, 0, 0]
    for f in frames:
        spec = oiio.ImageInput.open(str(tmp_path / f"m.{f}.exr")).spec()
        assert "object_roto.A" in spec.channelnames, spec.channelnames


def test_a_killed_run_resumes_and_ends_with_the_same_mattes(exr_shot, tmp_path):
    import os
    import signal
    import time

    folder, truth = exr_shot
    x, y = click_point(truth[0])
    cmd = [sys.executable, "-m", "mattetrack", "track", str(folder / "plate.####.exr"),
           "--point", f"{x},{y}", "--point", f"1016:{x},{y}", "-q"]
    ref = tmp_path / "ref"
    ref.mkdir()
    subprocess.run([*cmd, "-o", str(ref / "m.####.png")], check=True)
    store, out = tmp_path / "store", tmp_path / "out"
    out.mkdir()
    args = [*cmd, "--store", str(store), "-o", str(out / "m.####.png"), "--timings"]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(store.glob("o*/*_p*.cov"))) >= 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    done = len(list(store.glob("o*/[0-9-]*_*.cov")))  # frames written before the kill
    rerun = subprocess.run(args, check=True, capture_output=True, text=True)
    timings = _timings(rerun.stderr)
    assert timings["computed"] == 16 - done and timings["reused"] == done
    for f in range(1001, 1017):
        a = cv2.imread(str(out / f"m.{f}.png"), 0) / 255.0
        b = cv2.imread(str(ref / f"m.{f}.png"), 0) / 255.0
        # The engine's mattes are the same bit for bit (it restarts its tracks from the
        # keyframes and reads the same flows); frames taken from the store went through its
        # 16-bit PNGs, which can move a pixel lying on the edge of an 8-bit code by one code.
        assert iou(a, b) >= 0.999 and np.abs(a - b).max() <= 1.0 / 255 + 1e-9, f
    assert not list(tmp_path.rglob(".*tmp*"))  # no half-written file anywhere


def test_strokes_from_the_command_line(exr_shot, tmp_path):
    folder, truth = exr_shot
    ys, xs = np.nonzero(truth[0] >= 0.5)
    cy = int(np.median(ys))
    row = xs[ys == cy]
    stroke = f"{row.min() + 4},{cy},{(row.min() + row.max()) // 2},{cy},{row.max() - 4},{cy}"
    out = tmp_path / "m.####.png"
    assert main(["track", str(folder / "plate.####.exr"), "--stroke", stroke,
                 "--stroke-width", "6", "--range", "1001-1003", "-q", "-o", str(out)]) == 0
    matte = cv2.imread(str(out).replace("####", "1001"), 0) / 255.0
    assert iou(matte, truth[0]) > 0.85
