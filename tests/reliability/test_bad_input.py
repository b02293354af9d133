"""Bad input ends in one line naming the file or argument and exit status 2, checked before any
work; frames of any size, however tiny, are tracked rather than crashing the optical flow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mattetrack import cli


def _run(*args: str, tmp: Path) -> tuple[int, str]:
    """A real `mattetrack` process (native libraries print to the process's stderr)."""
    proc = subprocess.run([sys.executable, "-m", "mattetrack", *args], capture_output=True,
                          text=True, cwd=tmp, timeout=120)
    assert proc.stdout == ""
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (8, 8), (4000, 12), (12, 4000), (16384, 16)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_tiny_and_thin_frames_are_tracked(tmp_path, size):
    w, h = size
    rng = np.random.default_rng(0)
    for f in (1, 2, 3):
        cv2.imwrite(str(tmp_path / f"p.{f}.png"), rng.integers(0, 255, (h, w, 3), np.uint8))
    assert cli.main(["track", str(tmp_path / "p.#.png"), "-o", str(tmp_path / "o.#.png"),
                     "--point", "1:0.5,0.5", "-q"]) == 0
    for f in (1, 2, 3):
        matte = cv2.imread(str(tmp_path / f"o.{f}.png"), cv2.IMREAD_UNCHANGED)
        assert matte.shape == (h, w)
    first = cv2.imread(str(tmp_path / "o.1.png"), cv2.IMREAD_UNCHANGED)
    assert first[0, 0] > 127  # the clicked pixel is the object


def test_files_that_are_not_files_are_named_for_what_they_are(tmp_path):
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nothing.png")
    for name, says in (("fifo.png", "a FIFO, not an image or movie file"),
                       ("zero.png", "a character device, not an image or movie file"),
                       ("gone.png", "a link to nothing"),
                       ("missing.png", "no such file or folder")):
        status, err = _run("track", name, "-o", "m.png", "--point", "0:1,1", tmp=tmp_path)
        assert status == 2 and err == f"mattetrack: error: {name}: {says}\n", err


def test_a_damaged_movie_is_one_line_without_ffmpeg_chatter(tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"not a movie at all" * 100)
    status, err = _run("track", "bad.mp4", "-o", "m.#.png", "--point", "0:1,1", tmp=tmp_path)
    assert status == 2 and err == ("mattetrack: error: bad.mp4: cannot open as a movie (Invalid "
                                   "data found when processing input)\n"), err


def test_an_object_name_too_long_for_exr_is_refused_first(tmp_path, capsys):
    for f in (1, 2):
        cv2.imwrite(str(tmp_path / f"p.{f}.png"), np.zeros((20, 30, 3), np.uint8))
    name = "é" * 101  # 202 bytes
    assert cli.main(["track", str(tmp_path / "p.#.png"), "-o", str(tmp_path / "o.#.exr"),
                     "--object", name, "--point", "1:5,5", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--object" in err and "202 bytes, at most 200" in err
    assert not list(tmp_path.glob("o.*"))  # refused before any work
    assert cli.main(["track", str(tmp_path / "p.#.png"), "-o", str(tmp_path / "o.#.exr"),
                     "--object", "é" * 100, "--point", "1:5,5", "-q"]) == 0


@pytest.mark.parametrize("args, says", [
    (["--port", "70000"], "--port: expected a port from 0 to 65535, got '70000'"),
    (["--port", "-1"], "--port: expected a whole number >= 0"),
    (["--host", "999.1.1.1", "--port", "0"], "--host 999.1.1.1 --port 0: cannot listen"),
])
def test_serve_refuses_bad_addresses_in_one_line(tmp_path, args, says):
    env_dir = tmp_path / "cfg"
    proc = subprocess.run([sys.executable, "-m", "mattetrack", "serve", "--root", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MATTETRACK_CONFIG": str(env_dir)})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr


def test_a_damaged_png_is_one_line_without_libpng_chatter(tmp_path):
    good = cv2.imencode(".png", np.full((40, 60, 3), 128, np.uint8))[1].tobytes()
    (tmp_path / "p.1.png").write_bytes(good[: len(good) // 2])  # truncated
    (tmp_path / "p.2.png").write_bytes(good)
    status, err = _run("track", "p.#.png", "-o", "m.#.png", "--point", "2:5,5", tmp=tmp_path)
    assert status == 2 and err.count("\n") == 1 and err.startswith("mattetrack: error: p.1.png")
    assert "libpng error" not in err, err


def test_more_objects_than_png_holds_are_refused_before_tracking(tmp_path, capsys):
    for f in (1, 2):
        cv2.imwrite(str(tmp_path / f"p.{f}.png"), np.zeros((40, 60, 3), np.uint8))
    prompts = []
    for i in range(256):
        prompts += ["--object", f"o{i}", "--point", f"1:{i % 60 + 0.5},{i // 60 + 0.5}"]
    assert cli.main(["track", str(tmp_path / "p.#.png"), "-o", str(tmp_path / "o.#.png"),
                     "-q", *prompts]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at most 255 objects, there are 256; use EXR" in err
    assert not list(tmp_path.glob("o.*"))
