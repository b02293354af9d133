"""Signals sent to a real `mattetrack track` subprocess: SIGTERM and Ctrl-C (SIGINT) at start-up
and mid-run end with one line and exit 143 / 130, leaving only whole output files and no
temporary file or spill folder; after a kill -9 the next run removes what the killed one left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mattetrack.shapes.source import open_mattes

N_FRAMES, W, H = 40, 640, 360


@pytest.fixture(scope="module")
def plate(png_plate) -> Path:
    return png_plate(N_FRAMES, W, H, seed=2)


def _start(plate: Path, out: Path, tmp: Path) -> subprocess.Popen:
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "mattetrack", "track", str(plate / "p.####.png"), "-o",
         str(out / "m.####.exr"), "--mask", f"1001:{plate / 'mask.png'}", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _left(out: Path, tmp: Path) -> list[str]:
    """Temporary files beside the outputs and spill folders: what must never stay."""
    names = [p.name for p in out.iterdir()] if out.is_dir() else []
    return [n for n in names if ".tmp-" in n] + [p.name for p in tmp.iterdir()]


def _wait_for_output(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (out.is_dir() and any(out.glob("m.*.exr"))):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no output file appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", ["start-up", "mid-run"])
def test_a_signal_ends_the_run_with_one_line_and_nothing_left(plate, tmp_path, sig, status,
                                                               moment):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    proc = _start(plate, out, tmp)
    if moment == "start-up":
        time.sleep(0.25)  # importing numpy, OpenCV, OpenImageIO; the engine not loaded yet
    else:
        _wait_for_output(out, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert stdout == "" and stderr.count("\n") == 1, stderr
    assert stderr.startswith("mattetrack: ") and "Traceback" not in stderr
    assert _left(out, tmp) == []
    written = open_mattes(str(out / "m.####.exr")).frames if out.is_dir() and any(
        out.glob("m.*.exr")) else {}
    if moment == "mid-run":
        assert 0 < len(written) < N_FRAMES
    for f, path in written.items():  # every file there is whole
        assert open_mattes(path).read(f)["object"].shape == (H, W)


def test_after_a_kill_the_next_run_removes_what_it_left(plate, tmp_path):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    proc = _start(plate, out, tmp)
    _wait_for_output(out, proc)
    proc.kill()
    proc.communicate(timeout=30)
    # A killed run's spill (and perhaps a temporary file) stays behind...
    host_spills = [p for p in tmp.iterdir() if p.name.startswith("mattetrack-spill-")]
    assert host_spills, "expected the killed run's spill folder"
    # ...and another process's, alive, or a folder not ours must survive the clean-up.
    alive = tmp / f"mattetrack-spill-{os.uname().nodename}-{os.getpid()}-keep"
    alive.mkdir()
    foreign = tmp / "mattetrack-spill-abc123"
    foreign.mkdir()
    proc = _start(plate, out, tmp)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert sorted(p.name for p in tmp.iterdir()) == sorted([alive.name, foreign.name])
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]
    assert len(open_mattes(str(out / "m.####.exr")).frames) == N_FRAMES
