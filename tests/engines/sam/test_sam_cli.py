"""`mattetrack track --engine sam2|edgetam|sam3 --model DIR`: a tiny checkpoint folder, a real
EXR plate sequence streamed from disk, EXR mattes out; a missing model is a one-line error."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import OpenImageIO as oiio
import pytest

from mattetrack.cli import main
from mattetrack.synthetic import render_shot

FIRST, W, H = 1001, 128, 72


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plate")
    for i, (rgb, _) in enumerate(render_shot(n_frames=6, width=W, height=H, seed=4)):
        spec = oiio.ImageSpec(W, H, 3, "half")
        out = oiio.ImageOutput.create(str(folder / f"plate.{FIRST + i:04d}.exr"))
        assert out.open(str(folder / f"plate.{FIRST + i:04d}.exr"), spec)
        out.write_image(np.ascontiguousarray(rgb))
        out.close()
    return folder / "plate.####.exr"


@pytest.mark.parametrize("family", ["sam2", "sam3"])
def test_track_with_a_deep_engine_writes_mattes(tiny_checkpoints, plate, tmp_path, family):
    out = tmp_path / "m.####.exr"
    argv = ["track", str(plate), "--engine", family, "--model", str(tiny_checkpoints[family]),
            "--device", "cpu", "--point", "1003:64,36", "--object", "sky", "--box",
            "1001:0,0,128,20", "-o", str(out), "-q"]
    assert main(argv) == 0
    for f in range(FIRST, FIRST + 6):
        inp = oiio.ImageInput.open(str(tmp_path / f"m.{f:04d}.exr"))
        spec = inp.spec()
        assert (spec.width, spec.height) == (W, H)
        assert list(spec.channelnames) == ["object.A", "sky.A"]
        pixels = inp.read_image(0, 0, 0, 2, "float")
        inp.close()
        assert np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0


def test_missing_model_is_one_line_exit_2(plate, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    for model, needle in [(str(tmp_path / "nope"), "no such folder"),
                          ("facebook/sam2.1-hiera-tiny", "not in the local cache")]:
        proc = subprocess.run(
            [sys.executable, "-m", "mattetrack", "track", str(plate), "--engine", "sam2",
             "--model", model, "--point", "5,5", "-o", str(tmp_path / "x.####.exr")],
            capture_output=True, text=True, env=env,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
        assert "hf download" in proc.stderr
    assert not list(tmp_path.glob("x.*.exr"))
