"""`mattetrack farm` bundles, checked and run by the real Open Job Description CLI (`openjd`,
as a farm running OpenJD would): `openjd check` passes, `openjd summary` shows the tasks the
split promises, and `openjd run ... --step Track --run-dependencies` writes what `mattetrack
track` with the same arguments writes; path mapping moves the plate, the outputs and the
bundle; a task killed with SIGKILL and run again computes only what it had not; `--submit`
runs the Deadline Cloud CLI's `deadline bundle submit` (here a stand-in that records it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import yaml
from openjd_harness import deadline_stand_in, run_moved
from service_harness import exr_files as _outputs

from mattetrack.synthetic import render_shot

W, H, N, FIRST = 192, 108, 24, 1001
BIN = Path(sys.executable).parent
MATTETRACK = str(BIN / "mattetrack")
OPENJD = str(BIN / "openjd")
# The tasks find `mattetrack` on PATH, as on a worker with MatteTrack installed.
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _write_exr(path: Path, rgb: np.ndarray) -> None:
    spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "half")
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    out.write_image(rgb.astype(np.float32))
    out.close()


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> tuple[Path, Path]:
    """(folder with plate.1001-1024.exr, scene-linear half; the object's mask on 1001)."""
    folder = tmp_path_factory.mktemp("plates")
    for i, (rgb, cov) in enumerate(render_shot(n_frames=N, width=W, height=H, seed=4,
                                               motion_blur_samples=1)):
        _write_exr(folder / f"plate.{FIRST + i}.exr", rgb)
        if i == 0:
            mask = folder.parent / f"{folder.name}_mask.png"
            oiio.ImageBuf(np.ascontiguousarray((cov >= 0.5)[:, :, None] * 255,
                                               dtype=np.uint8)).write(str(mask))
    return folder, mask


def _prompts(mask: Path) -> list[str]:
    """Two objects and three keyframes: a mask and a click on the subject, a box elsewhere."""
    return ["--object", "subject", "--mask", f"{FIRST}:{mask}", "--point", f"{FIRST + 9}:96,54",
            "--object", "corner", "--box", f"{FIRST + 16}:0,0,60,40"]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kw)
    assert proc.returncode == 0, f"{cmd[:3]} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def _farm(plate_dir: Path, extra: list[str], out: Path, job: Path) -> Path:
    _run([MATTETRACK, "farm", str(plate_dir / "plate.####.exr"), *extra, "-o",
          str(out / "m.####.exr"), "--job", str(job), "-q"])
    return job


def _task_count(job: Path) -> int:
    text = _run([OPENJD, "summary", str(job / "template.yaml")]).stdout
    return int(re.search(r"'Track' \((\d+) total Tasks\)", text).group(1))


def _assert_same(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert list(a) == list(b) and a
    for name in a:
        assert a[name][0] == b[name][0], name
        np.testing.assert_allclose(a[name][1], b[name][1], rtol=0, atol=atol, err_msg=name)


def test_bundles_pass_openjd_check_and_split_as_promised(plate, tmp_path):
    folder, mask = plate
    one = ["--mask", f"{FIRST}:{mask}"]
    cases = {
        "one span": (one, 1),
        "three keyframes": (_prompts(mask), 3),  # keyframes 1001, 1010, 1017: spans 9, 7, 8
        "chunks": ([*_prompts(mask), "--frames-per-task", "4"], 3 + 2 + 2),
        "memory of every keyframe": ([*_prompts(mask), "--engine", "sam2", "--model",
                                      "facebook/sam2.1-hiera-tiny", "--frames-per-task", "4"],
                                     1),
        "part of the shot": ([*one, "--frames", f"{FIRST + 4}-{FIRST + 11}",
                              "--frames-per-task", "3"], 3),
    }
    for name, (extra, expected) in cases.items():
        job = _farm(folder, extra, tmp_path / name / "out", tmp_path / name / "job")
        check = _run([OPENJD, "check", str(job / "template.yaml")])
        assert "passes validation" in check.stdout, name
        assert _task_count(job) == expected, name
        template = yaml.safe_load((job / "template.yaml").read_text())
        amounts = {a["name"]: a["min"] for a in template["steps"][0]["hostRequirements"]
                   ["amounts"]}
        assert amounts["amount.worker.memory"] >= 1024
        # A deep engine's tasks ask for a GPU; the classic engine's run on any CPU.
        assert ("amount.worker.gpu" in amounts) == ("--engine" in extra), name
        values = yaml.safe_load((job / "parameter_values.yaml").read_text())["parameterValues"]
        assert {v["name"]: v["value"] for v in values}["Input"] == str(folder / "plate.####.exr")
    # The sam2 job keeps its model id for the workers.
    template = yaml.safe_load((tmp_path / "memory of every keyframe" / "job" /
                               "template.yaml").read_text())
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["Model"]["default"] == "facebook/sam2.1-hiera-tiny"


def test_openjd_run_writes_what_track_writes(plate, tmp_path):
    """Cryptomatte, --merge and roto channels (fitted over the whole shot by the last step from
    the outlines every task saved) included: every file, channel and value."""
    folder, mask = plate
    extra = [*_prompts(mask), "--cryptomatte", "--merge", "--float", "--roto-channels",
             "--roto-feather", "1.5"]
    _run([MATTETRACK, "track", str(folder / "plate.####.exr"), *extra, "-o",
          str(tmp_path / "track" / "m.####.exr"), "--report", str(tmp_path / "track.json"),
          "-q"])
    job = _farm(folder, [*extra, "--frames-per-task", "5", "--report",
                         str(tmp_path / "farm.json")], tmp_path / "farm", tmp_path / "job")
    assert _task_count(job) == 2 + 2 + 2
    steps = yaml.safe_load((job / "template.yaml").read_text())["steps"]
    assert [s["name"] for s in steps] == ["Track", "Finish"]
    assert steps[1]["dependencies"] == [{"dependsOn": "Track"}]
    # The issue's command, nothing else: the parameters' defaults lead to this machine's paths.
    proc = _run([OPENJD, "run", str(job / "template.yaml"), "--step", "Finish",
                 "--run-dependencies"], cwd=tmp_path)
    assert proc.stdout.count("exited with code: 0") == 6 + 1 + 2  # tasks, finish, worker
    assert "openjd_progress: 100.0" in proc.stdout and "openjd_status: task 5" in proc.stdout
    assert "openjd_status: roto channels written into 24 file(s)" in proc.stdout
    # The step's environment: one worker per session, the engine loaded once for 6 tasks.
    assert proc.stdout.count("openjd_status: worker started") == 1
    assert proc.stdout.count("openjd_status: engine classic loaded") == 1
    assert "openjd_status: worker stopped" in proc.stdout
    assert "no worker answers" not in proc.stdout
    track = _outputs(tmp_path / "track")
    assert any(c.endswith("_roto.A") for c in track[f"m.{FIRST}.exr"][0])
    _assert_same(track, _outputs(tmp_path / "farm"))
    # The report: every frame's confidence and the suggestions, from all the tasks.
    report = json.loads((tmp_path / "farm.json").read_text())
    assert report == json.loads((tmp_path / "track.json").read_text())
    assert len(report["objects"][0]["confidence"]) == N and report["objects"][0]["suggested"]
    # Every frame's file written once: by the task whose frames hold it.
    stores = sorted((tmp_path / "farm" / ".mattetrack-farm").glob("*/task-*"))
    written = [json.loads((s / "outputs.json").read_text()) for s in stores]
    files = [f for doc in written for f in doc.get("files", doc)]
    assert len(files) == len(set(files)) == N


@pytest.fixture(scope="module")
def cut_plate(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(folder with plate.1001-1024.exr: two synthetic shots of 12 frames cut together, the cut
    before 1013; the first shot's object mask on 1001, the second's on 1020)."""
    folder = tmp_path_factory.mktemp("cut_plates")
    shots = (render_shot(n_frames=12, width=W, height=H, seed=4, motion_blur_samples=1)
             + render_shot(n_frames=12, width=W, height=H, seed=7, motion_blur_samples=1))
    masks = []
    for i, (rgb, cov) in enumerate(shots):
        _write_exr(folder / f"plate.{FIRST + i}.exr", rgb)
        if i in (0, 19):
            masks.append(folder.parent / f"{folder.name}_mask{i}.png")
            oiio.ImageBuf(np.ascontiguousarray((cov >= 0.5)[:, :, None] * 255,
                                               dtype=np.uint8)).write(str(masks[-1]))
    return folder, masks[0], masks[1]


def test_a_cut_splits_the_job_and_each_task_runs_its_own_segment(cut_plate, tmp_path):
    """The engine's tracks stop at cuts, so the job splits at the cut it finds as well as at the
    keyframes; each task is told the cuts around it and sweeps only its own segment, and the
    job still writes exactly what `track` writes (an object keyed on one side only is empty on
    the other, its confidence 0 in the report)."""
    folder, mask1, mask2 = cut_plate
    extra = ["--object", "first", "--mask", f"{FIRST}:{mask1}", "--object", "second",
             "--mask", f"{FIRST + 19}:{mask2}", "--cryptomatte", "--float"]
    _run([MATTETRACK, "track", str(folder / "plate.####.exr"), *extra, "-o",
          str(tmp_path / "track" / "m.####.exr"), "--report", str(tmp_path / "track.json"),
          "-q"])
    job = _farm(folder, [*extra, "--report", str(tmp_path / "farm.json")], tmp_path / "farm",
                tmp_path / "job")
    assert json.loads((job / "job.json").read_text())["cuts"] == [FIRST + 12]
    # Spans 1001-1012 (the first shot), 1013-1019 (before the second keyframe), 1020-1024.
    assert _task_count(job) == 3
    assert "passes validation" in _run([OPENJD, "check", str(job / "template.yaml")]).stdout
    proc = _run([OPENJD, "run", str(job / "template.yaml"), "--step", "Finish",
                 "--run-dependencies"], cwd=tmp_path)
    assert proc.stdout.count("exited with code: 0") == 3 + 1 + 2
    _assert_same(_outputs(tmp_path / "track"), _outputs(tmp_path / "farm"))
    report = json.loads((tmp_path / "farm.json").read_text())
    assert report == json.loads((tmp_path / "track.json").read_text())
    # No task tracked across the cut: 1001 -> 1012 (11 steps), 1020 -> 1013 (7) and
    # 1020 -> 1024 (4); without the cuts the first two tasks would also each track up to the
    # cut from the other side's keyframe.
    steps = [int(n) for n in re.findall(r"openjd_status: \d+ frame\(s\): .*; (\d+) track step",
                                        proc.stdout)]
    assert sorted(steps) == [4, 7, 11]
    # --no-cut-split: no search, the keyframes' spans only.
    job = _farm(folder, [*extra, "--no-cut-split"], tmp_path / "nosplit", tmp_path / "job2")
    assert json.loads((job / "job.json").read_text())["cuts"] == []
    assert _task_count(job) == 2


def test_tasks_run_side_by_side_on_two_workers(plate, tmp_path):
    """Two `openjd run` sessions at once (two farm workers) share a job's tasks: each task
    locks only its own frames, and together they write what `track` writes."""
    folder, mask = plate
    extra = [*_prompts(mask), "--float"]
    _run([MATTETRACK, "track", str(folder / "plate.####.exr"), *extra, "-o",
          str(tmp_path / "track" / "m.####.exr"), "-q"])
    job = _farm(folder, extra, tmp_path / "farm", tmp_path / "job")
    assert _task_count(job) == 3
    workers = [subprocess.Popen([OPENJD, "run", str(job / "template.yaml"), "--step", "Track",
                                 "--tasks", json.dumps([{"Task": t} for t in tasks])],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=ENV) for tasks in ([0, 2], [1])]
    logs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    assert all("another mattetrack run" not in log for log in logs)
    _assert_same(_outputs(tmp_path / "track"), _outputs(tmp_path / "farm"))
    assert not list((tmp_path / "farm").glob(".*mattetrack-lock"))


def test_a_dev_shot_through_openjd_gives_tracks_mattes(shared_data, tmp_path):
    shot = shared_data / "davis2016-dev"
    frames = shot / "JPEGImages" / "480p" / "blackswan"
    masks = shot / "Annotations" / "480p" / "blackswan"
    if not frames.is_dir():
        pytest.skip(f"DAVIS shot absent: {frames}")
    prompts = ["--mask", f"0:{masks / '00000.png'}", "--mask", f"20:{masks / '00020.png'}",
               "--point", "40:430,260"]
    plate = str(frames / "%05d.jpg")
    _run([MATTETRACK, "track", plate, *prompts, "-o", str(tmp_path / "track" / "%05d.exr"),
          "--float", "-q"])
    _run([MATTETRACK, "farm", plate, *prompts, "-o", str(tmp_path / "farm" / "%05d.exr"),
          "--float", "--job", str(tmp_path / "job"), "-q"])
    assert _task_count(tmp_path / "job") == 3
    _run([OPENJD, "run", str(tmp_path / "job" / "template.yaml"), "--step", "Track",
          "--run-dependencies"])
    _assert_same(_outputs(tmp_path / "track"), _outputs(tmp_path / "farm"))


def test_path_mapping_moves_the_plate_the_outputs_and_the_bundle(plate, tmp_path):
    """Made on a workstation under /studio-a; the worker sees the same storage under
    /studio-b (here: folders under tmp_path, the first removed before the run)."""
    folder, mask = plate
    a, b = tmp_path / "studio-a", tmp_path / "studio-b"
    shutil.copytree(folder, a / "plates")
    shutil.copyfile(mask, a / "mask.png")
    extra = ["--mask", f"{FIRST}:{a / 'mask.png'}", "--point", f"{FIRST + 12}:96,54"]
    _farm(a / "plates", extra, a / "out", a / "job")
    _run([MATTETRACK, "track", str(a / "plates" / "plate.####.exr"), *extra, "-o",
          str(tmp_path / "track" / "m.####.exr"), "-q"])
    shutil.move(a, b)
    run_moved(OPENJD, a, b, "Track", ENV)
    assert not a.exists()
    _assert_same(_outputs(tmp_path / "track"), _outputs(b / "out"))


def test_a_task_killed_midway_resumes(plate, tmp_path):
    folder, mask = plate
    extra = ["--mask", f"{FIRST}:{mask}", "--float"]
    job = _farm(folder, extra, tmp_path / "out", tmp_path / "job")
    # No worker session here: the task says so and loads its own engine.
    task = [MATTETRACK, "farm-run", str(job), "--task", "0", "--input",
            str(folder / "plate.####.exr"), "--output-dir", str(tmp_path / "out"),
            "--worker", str(tmp_path / "no-such.sock")]
    proc = subprocess.Popen(task, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "out").glob("m.*.exr"))) < 6 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((tmp_path / "out").glob("m.*.exr")))
    assert 6 <= done < N, "the task finished before it could be killed"
    again = _run(task).stdout
    assert "no worker answers" in again
    computed = int(re.search(r"openjd_status: \d+ frame\(s\): (\d+) computed", again).group(1))
    assert computed <= N - done  # only what the killed run had not finished
    assert not [p for p in (tmp_path / "out").iterdir() if ".tmp" in p.name]
    _run([MATTETRACK, "track", str(folder / "plate.####.exr"), *extra, "-o",
          str(tmp_path / "track" / "m.####.exr"), "-q"])
    # Results the killed run stored come back from the task's store (16-bit, < 1e-5 off).
    _assert_same(_outputs(tmp_path / "track"), _outputs(tmp_path / "out"), atol=2e-5)


def test_submit_runs_deadline_bundle_submit(plate, tmp_path):
    folder, mask = plate
    env, record = deadline_stand_in(tmp_path, ENV)
    proc = subprocess.run([MATTETRACK, "farm", str(folder / "plate.####.exr"), "--mask",
                           f"{FIRST}:{mask}", "-o", str(tmp_path / "out" / "m.####.exr"),
                           "--job", str(tmp_path / "job"), "--submit", "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(record.read_text()) == ["bundle", "submit", "--yes",
                                              str(tmp_path / "job")]
    # Without the Deadline CLI: the bundle is still written, and the error says how to submit.
    env["PATH"] = str(BIN)
    proc = subprocess.run([MATTETRACK, "farm", str(folder / "plate.####.exr"), "--mask",
                           f"{FIRST}:{mask}", "-o", str(tmp_path / "out2" / "m.####.exr"),
                           "--job", str(tmp_path / "job2"), "--submit", "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and (tmp_path / "job2" / "template.yaml").is_file()
    assert proc.stderr.count("\n") == 1 and "deadline bundle submit" in proc.stderr


@pytest.mark.parametrize("option", [["--review", "r.png"], ["--store", "s"], ["--view"]])
def test_options_a_farm_job_cannot_take_are_refused(plate, tmp_path, option):
    folder, mask = plate
    proc = subprocess.run([MATTETRACK, "farm", str(folder / "plate.####.exr"), "--mask",
                           f"{FIRST}:{mask}", *option, "-o", str(tmp_path / "m.####.exr"),
                           "--job", str(tmp_path / "job")],
                          capture_output=True, text=True, env=ENV)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert option[0] in proc.stderr and not (tmp_path / "job").exists()


def test_a_deep_engine_job_gives_tracks_mattes(plate, tmp_path):
    """The SAM 2 engine (a tiny random checkpoint, on the CPU): one task, the checkpoint folder
    a PATH parameter through the bundle's `model` link, and the same mattes as track."""
    pytest.importorskip("transformers", reason="the deep engines need transformers ([sam] extra)")
    from tiny_models import tiny_model

    folder, mask = plate
    model = tmp_path / "checkpoint"
    tiny_model("sam2", seed=0).save_pretrained(model)
    extra = [*_prompts(mask), "--engine", "sam2", "--model", str(model), "--device", "cpu",
             "--frames-per-task", "4"]
    env = {**ENV, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([MATTETRACK, "track", str(folder / "plate.####.exr"), *extra[:-2],
                           "-o", str(tmp_path / "track" / "m.####.exr"), "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    job = _farm(folder, extra, tmp_path / "farm", tmp_path / "job")
    assert _task_count(job) == 1
    params = {p["name"]: p for p in yaml.safe_load(
        (job / "template.yaml").read_text())["parameterDefinitions"]}
    assert params["Model"]["type"] == "PATH" and params["Model"]["default"] == "model"
    proc = subprocess.run([OPENJD, "run", str(job / "template.yaml"), "--step", "Track",
                           "--run-dependencies"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    _assert_same(_outputs(tmp_path / "track"), _outputs(tmp_path / "farm"))
