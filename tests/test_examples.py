"""The examples run as documented: the demo shot reaches its IoU target at a small size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600)


def test_demo_pipeline_meets_iou_target(tmp_path):
    demo = tmp_path / "demo"
    made = _run(
        str(EXAMPLES / "make_demo_shot.py"), str(demo), "--frames", "20", "--size", "320x180"
    )
    assert made.returncode == 0, made.stderr
    assert len(list(demo.glob("plate.*.exr"))) == 20
    clicks = (demo / "clicks.txt").read_text().split()
    assert clicks[0] == "--point" and clicks[1].startswith("1001:")
    track = _run(
        "-m",
        "mattetrack",
        "track",
        str(demo / "plate.####.exr"),
        *clicks,
        "-q",
        "-o",
        str(demo / "mattes" / "mattes.####.exr"),
    )
    assert track.returncode == 0, track.stderr
    score = _run(str(EXAMPLES / "score_demo.py"), str(demo))
    assert score.returncode == 0, score.stdout + score.stderr
    mean_iou = float(score.stdout.split("mean IoU ")[1].split()[0])
    assert mean_iou >= 0.9


def test_api_example(tmp_path):
    demo = tmp_path / "demo"
    assert (
        _run(
            str(EXAMPLES / "make_demo_shot.py"), str(demo), "--frames", "4", "--size", "160x90"
        ).returncode
        == 0
    )
    x, y = (demo / "clicks.txt").read_text().split()[1].split(":")[1].split(",")
    out = tmp_path / "api" / "m.####.exr"
    run = _run(str(EXAMPLES / "api_usage.py"), str(demo / "plate.####.exr"), x, y, str(out))
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [f"m.{1001 + i}.exr" for i in range(4)]
