"""`mattetrack remove --job DIR`: object removal as an Open Job Description bundle, checked and
run by the real OpenJD CLI (`openjd`): `openjd check` passes, the tasks are the chunks asked
for, and `openjd run ... --step Finish --run-dependencies` writes what `mattetrack remove` with
the same arguments writes (the files, the report, the Nuke script), though each task fills its
chunk apart from the others and in any order."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
import yaml
from openjd_harness import deadline_stand_in, run_moved

W, H, N, FIRST = 96, 64, 12, 1001
BIN = Path(sys.executable).parent
MATTETRACK = str(BIN / "mattetrack")
OPENJD = str(BIN / "openjd")
# The tasks find `mattetrack` on PATH, as on a worker with MatteTrack installed.
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    """A still camera over a texture, the light rising frame to frame, and a disc drifting 1 px
    a frame: the rim of the hole each frame uncovers is seen on others, its middle no frame saw
    (invented, and carried on from frame to frame: what a task must lead in to). Half EXR
    plates plate.1001-1012.exr, EXR mattes m.####.exr of `disc`."""
    folder = tmp_path_factory.mktemp("removal_plates")
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.random((H, W, 3)).astype(np.float32), (0, 0), 2.0)
    texture = np.clip((texture - texture.mean()) / texture.std() * 0.2 + 0.5, 0.0, 1.0)
    for i in range(N):
        disc = np.zeros((H, W), np.float32)
        cv2.circle(disc, (40 + i, 32), 12, 1.0, -1)
        plate = texture * (0.5 + 0.08 * i) * (1 - disc[..., None]) + disc[..., None] * 0.9
        for name, pixels, channels in ((f"plate.{FIRST + i}.exr", plate, "RGB"),
                                       (f"m.{FIRST + i}.exr", disc[..., None], ["disc.A"])):
            spec = oiio.ImageSpec(W, H, pixels.shape[2], "half")
            spec.channelnames = list(channels)
            out = oiio.ImageOutput.create(str(folder / name))
            assert out.open(str(folder / name), spec), oiio.geterror()
            out.write_image(np.ascontiguousarray(pixels, np.float32))
            out.close()
    return folder


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kw)
    assert proc.returncode == 0, f"{cmd[:3]} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def _remove(shot: Path, out: Path, *extra: str) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    return [MATTETRACK, "remove", str(shot / "plate.####.exr"), str(shot / "m.####.exr"),
            "--object", "disc", "-o", str(out / "c.####.exr"), "--format", "nuke", "-q",
            *extra]


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: oiio.ImageBuf(str(p)).get_pixels(oiio.FLOAT)
            for p in sorted(folder.glob("c.*.exr"))}


def test_openjd_runs_the_chunks_apart_and_writes_what_remove_writes(shot, tmp_path):
    _run(_remove(shot, tmp_path / "here", "--report", str(tmp_path / "here.json")))
    job = tmp_path / "job"
    _run(_remove(shot, tmp_path / "farm", "--report", str(tmp_path / "farm.json"), "--job",
                 str(job), "--frames-per-task", "4"))
    assert not list((tmp_path / "farm").glob("c.*.exr"))  # a bundle, not the files
    assert "passes validation" in _run([OPENJD, "check", str(job / "template.yaml")]).stdout
    summary = _run([OPENJD, "summary", str(job / "template.yaml")]).stdout
    assert int(re.search(r"'Remove' \((\d+) total Tasks\)", summary).group(1)) == 3
    template = yaml.safe_load((job / "template.yaml").read_text())
    assert [s["name"] for s in template["steps"]] == ["Remove", "Finish"]
    frames = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"]
    assert frames == ["1001-1004", "1005-1008", "1009-1012"]
    amounts = template["steps"][0]["hostRequirements"]["amounts"]
    assert amounts[0]["min"] >= 2048  # the plate cache's 1 GiB and the rest
    values = {v["name"]: v["value"] for v in
              yaml.safe_load((job / "parameter_values.yaml").read_text())["parameterValues"]}
    assert values["Mattes"] == str(shot / "m.####.exr")
    assert values["OutputDir"] == str(tmp_path / "farm")

    # The last chunk first, alone, as a farm might: it leads in from the frames before it.
    _run([OPENJD, "run", str(job / "template.yaml"), "--step", "Remove", "--task-param",
          "Frames=1009-1012"], cwd=tmp_path)
    assert len(list((tmp_path / "farm").glob("c.*.exr"))) == 4
    proc = _run([OPENJD, "run", str(job / "template.yaml"), "--step", "Finish",
                 "--run-dependencies"], cwd=tmp_path)
    assert proc.stdout.count("exited with code: 0") == 3 + 1
    assert "openjd_progress: 100.0" in proc.stdout
    # The last step found every frame written (the chunk run first kept as it was).
    assert "openjd_status: 0 frame(s) written, 12 kept as they were" in proc.stdout

    here, farm = _pixels(tmp_path / "here"), _pixels(tmp_path / "farm")
    assert list(here) == list(farm) and len(here) == N
    for name in here:  # the invented middle to 1/255 (each chunk led in by 8 frames)
        assert np.abs(here[name] - farm[name]).max() < 4e-3, name
    report = json.loads((tmp_path / "farm.json").read_text())
    expected = json.loads((tmp_path / "here.json").read_text())
    assert report["objects"][0]["suggested"] == expected["objects"][0]["suggested"]
    shares = report["objects"][0]["confidence"]
    assert len(shares) == N and shares == pytest.approx(expected["objects"][0]["confidence"],
                                                        abs=1e-3)
    assert 0.0 < min(shares.values()) < 1.0  # some of each hole seen, some invented
    # The Nuke script's Read: the files written (here through the bundle's link to the output
    # folder, the parameter's default; on a farm the path the worker was given).
    read = re.search(r"\n file \"?([^\"\n]+)", (tmp_path / "farm" / "c.nk").read_text())
    assert os.path.realpath(read.group(1)) == str((tmp_path / "farm" / "c.####.exr").resolve())


def test_path_mapping_moves_the_plate_the_mattes_and_the_outputs(shot, tmp_path):
    """Made on a workstation under /studio-a; the worker sees the same storage under
    /studio-b (here: folders under tmp_path, the first moved away before the run)."""
    a, b = tmp_path / "studio-a", tmp_path / "studio-b"
    shutil.copytree(shot, a / "plates")
    _run(_remove(a / "plates", a / "out", "--job", str(a / "job"), "--frames-per-task", "6",
                 "--report", str(a / "out" / "paint.json")))
    _run(_remove(a / "plates", tmp_path / "here"))
    shutil.move(a, b)
    run_moved(OPENJD, a, b, "Finish", ENV)
    assert not a.exists()
    here, farm = _pixels(tmp_path / "here"), _pixels(b / "out")
    assert list(here) == list(farm) and len(here) == N
    assert max(np.abs(here[n] - farm[n]).max() for n in here) < 4e-3
    assert len(json.loads((b / "out" / "paint.json").read_text())["objects"][0]
               ["confidence"]) == N


def test_a_movie_plate_or_a_bad_chunk_size_is_refused_in_one_line(shot, tmp_path,
                                                                  movie_writer):
    movie = movie_writer(tmp_path / "plate.mov", [np.full((H, W, 3), 128, np.uint8)] * 4)
    for cmd, message in (
            ([MATTETRACK, "remove", str(movie), str(shot / "m.####.exr"), "--object", "disc",
              "-o", str(tmp_path / "c.mov"), "--job", str(tmp_path / "job")], "is a movie"),
            ([*_remove(shot, tmp_path / "out", "--job", str(tmp_path / "job")),
              "--frames-per-task", "-2"], "--frames-per-task"),
            (_remove(shot, tmp_path / "out", "--submit"), "--submit: a farm job's option")):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "job").exists()


def test_submit_hands_the_bundle_to_deadline(shot, tmp_path):
    """--submit runs `deadline bundle submit --yes DIR` (a stand-in here that records it)."""
    env, record = deadline_stand_in(tmp_path, ENV)
    proc = subprocess.run(_remove(shot, tmp_path / "out", "--job", str(tmp_path / "job"),
                                  "--submit"), capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(record.read_text()) == ["bundle", "submit", "--yes",
                                              str(tmp_path / "job")]


def test_the_foreground_goes_to_every_task_and_the_finish(shot, tmp_path):
    """`remove --foreground` on the farm: each task and the last step are given it (the files'
    resume keys hold it, so a step without it would fill every frame again, differently)."""
    from mattetrack.farm import write_removal_bundle
    from mattetrack.farm.removejob import removal_job

    job = removal_job(str(shot / "plate.####.exr"), str(shot / "m.####.exr"),
                      str(tmp_path / "c.####.exr"), ["disc"], list(range(FIRST, FIRST + N)),
                      (W, H), foreground=["actor", "dog"], per_task=6)
    template = yaml.safe_load((write_removal_bundle(job, tmp_path / "job")
                               / "template.yaml").read_text())
    for step in template["steps"]:
        args = step["script"]["actions"]["onRun"]["args"]
        assert args[args.index("--foreground") + 1] == "actor,dog", step["name"]
