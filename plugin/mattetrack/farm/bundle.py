"""An Open Job Description job bundle for a tracking job, in Deadline Cloud's bundle layout.

DIR/template.yaml           jobtemplate-2023-09: job parameters (the plate, the output folder,
                            the bundle itself, the command; PATH-typed, so a farm's path
                            mapping rules move them) and the `Track` step, a task per span or
                            chunk (`farm.plan`), each `mattetrack farm-run DIR --task N ...`;
                            with roto channels then `Finish` (`mattetrack farm-finish DIR`),
                            which needs every task's frames
DIR/parameter_values.yaml   the parameters' values as made here (`deadline bundle submit` reads it)
DIR/job.json                what the tasks share: the track options (prompts included), the
                            output's file pattern and each task's first and last frame
DIR/masks/                  the mask prompts' files, copied (read relative to the bundle)
DIR/plate, DIR/output       links to the plate's and the output's folders (DIR/model: the
                            checkpoint's), through which the parameters' defaults go

`openjd run DIR/template.yaml --step LAST --run-dependencies` (`FarmJob.last_step`) runs the
whole job locally: the parameters' defaults lead to this machine's paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from mattetrack.atomicfile import atomic_write_bytes

SPEC = "jobtemplate-2023-09"
STEP = "Track"  # a task per span or chunk
FINISH = "Finish"  # after them, what needs the whole shot (the roto channels)
JOB_FILE = "job.json"
# Where each task keeps its results (a result store per task: a task run again resumes from
# it, and no two tasks share one), under the output folder so that path mapping moves it too.
STORES = ".mattetrack-farm"


@dataclass
class FarmJob:
    """What a bundle holds.

    input: the plate (file, pattern or folder), absolute; output_dir / output_name: where the
    mattes go (the pattern's folder, absolute, and its file name); options: `track`'s options
    for every task, prompts included, mask files relative to the bundle; tasks: (first, last)
    frame of each; model: the deep engines' --model (folder or id) or None; gpu: the engine runs
    on a GPU (the tasks ask for one); memory_mib: what a task needs at least.
    """

    name: str
    input: str
    output_dir: str
    output_name: str
    options: list[str]
    tasks: list[tuple[int, int]]
    model: str | None = None
    model_is_folder: bool = False
    gpu: bool = False
    memory_mib: int = 4096
    masks: dict[str, str] = field(default_factory=dict)  # bundle-relative name -> source file
    # bundle-relative name -> (H, W) coverage, written as a 16-bit PNG (a service's masks)
    mask_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)  # names, in the session's order
    size: tuple[int, int] = (0, 0)  # the shot's (width, height)
    roto_feather: float | None = None  # --roto-channels' feather, None without them
    frames: list[list[int]] = field(default_factory=list)  # each task's frames (the shot's)
    keyframes: list[list[int]] = field(default_factory=list)  # each object's (its report)
    report: str | None = None  # --report's file, absolute
    cuts: list[int] = field(default_factory=list)  # frames opening a cut segment (the tasks')

    @property
    def finishes(self) -> bool:
        """Whether the job has a last step for what needs the whole shot."""
        return self.roto_feather is not None or self.report is not None

    @property
    def last_step(self) -> str:
        return FINISH if self.finishes else STEP

    def job_id(self) -> str:
        """A digest of what the tasks compute: a rerun of the same job finds its stores, a
        different job in the same output folder does not."""
        text = json.dumps([self.input, self.output_name, self.options, self.tasks, self.model,
                           self.roto_feather, self.report is not None, self.cuts])
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def linked(job_dir: Path, name: str, target: str, folder: bool) -> str:
    """A PATH parameter's default. OpenJD joins a default to the template's folder and refuses
    one outside it, so the bundle holds a link `name` to the folder (`folder`) or to the folder
    holding `target`, and the default goes through it; the absolute values are in
    parameter_values.yaml, which a farm submission uses. Where no link can be made (Windows
    without the right to), the absolute path: `openjd run` then needs -p for it."""
    where = target if folder else os.path.dirname(target)
    link = job_dir / name
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(where, target_is_directory=True)
    except OSError:
        return target
    return name if folder else f"{name}/{os.path.basename(target)}"


def path_parameter(job_dir: Path, name: str, link: str, target: str, out: bool,
                   description: str, folder: bool | None = None) -> dict:
    """A PATH parameter whose default goes through the bundle's link `link` to `target`
    (`linked`); `folder`: whether it is one (default: whether it is one here)."""
    folder = os.path.isdir(target) if folder is None else folder
    param = {"name": name, "type": "PATH"}
    if folder or out:
        param["objectType"] = "DIRECTORY" if folder else "FILE"
    return {**param, "dataFlow": "OUT" if out else "IN",
            "default": linked(job_dir, link, target, folder), "description": description}


# The command the tasks run on the workers.
MATTETRACK_PARAMETER = {"name": "Mattetrack", "type": "STRING", "default": "mattetrack",
                        "description": "the mattetrack command on the workers"}


def _parameters(job: FarmJob, job_dir: Path) -> list[dict]:
    params = [
        path_parameter(job_dir, "Input", "plate", job.input, False,
                       "the plate: a frame pattern, a folder, an image or a movie"),
        path_parameter(job_dir, "OutputDir", "output", job.output_dir, True,
                       f"where {job.output_name} is written", folder=True),
        {"name": "JobDir", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "IN",
         "default": ".", "description": "this bundle (job.json, mask prompts)"},
        MATTETRACK_PARAMETER,
    ]
    if job.report is not None:
        params.append(path_parameter(job_dir, "Report", "report", job.report, True,
                                     "where the job's report (confidence, suggestions) goes",
                                     folder=False))
    if job.model is not None:
        kind = {"type": "PATH", "dataFlow": "IN"} if job.model_is_folder else {"type": "STRING"}
        default = (linked(job_dir, "model", job.model, True) if job.model_is_folder
                   else job.model)
        params.append({"name": "Model", **kind, "default": default,
                       "description": "the deep engine's checkpoint (folder or model id)"})
    return params


def template(job: FarmJob, job_dir: Path) -> dict:
    """The job template (a dict, as YAML writes it)."""
    socket = "{{Session.WorkingDirectory}}/mattetrack-worker.sock"
    args = ["farm-run", "{{Param.JobDir}}", "--task", "{{Task.Param.Task}}", "--input",
            "{{Param.Input}}", "--output-dir", "{{Param.OutputDir}}", "--worker", socket]
    if job.model is not None:
        args += ["--model", "{{Param.Model}}"]
    amounts = [{"name": "amount.worker.memory", "min": int(job.memory_mib)}]
    if job.gpu:
        amounts.append({"name": "amount.worker.gpu", "min": 1})
    steps = [{
        "name": STEP,
        "description": f"{len(job.tasks)} task(s): the spans between keyframes and cuts "
                       "(in chunks)",
        "parameterSpace": {"taskParameterDefinitions": [
            {"name": "Task", "type": "INT", "range": f"0-{len(job.tasks) - 1}"}]},
        "hostRequirements": {"amounts": amounts},
        # The engine loaded once per worker session, for every task the session runs.
        "stepEnvironments": [{
            "name": "MatteTrackWorker",
            "description": "the engine, loaded once for the session's tasks",
            "script": {"actions": {
                "onEnter": {"command": "{{Param.Mattetrack}}",
                            "args": ["farm-worker", "start", "--socket", socket]},
                "onExit": {"command": "{{Param.Mattetrack}}",
                           "args": ["farm-worker", "stop", "--socket", socket]}}},
        }],
        "script": {"actions": {"onRun": {"command": "{{Param.Mattetrack}}", "args": args}}},
    }]
    if job.finishes:
        finish = ["farm-finish", "{{Param.JobDir}}", "--output-dir", "{{Param.OutputDir}}"]
        if job.report is not None:
            finish += ["--report", "{{Param.Report}}"]
        steps.append({
            "name": FINISH,
            "description": "what needs the whole shot: the roto shapes added to every written "
                           "file, the report",
            "dependencies": [{"dependsOn": STEP}],
            "hostRequirements": {"amounts": [amounts[0]]},
            "script": {"actions": {"onRun": {"command": "{{Param.Mattetrack}}",
                                             "args": finish}}},
        })
    return {"specificationVersion": SPEC, "name": job.name,
            "parameterDefinitions": _parameters(job, job_dir), "steps": steps}


def write_bundle(job: FarmJob, job_dir: str | os.PathLike[str]) -> Path:
    """Write the bundle into `job_dir` (created; files replaced atomically). Returns its path."""
    root = Path(job_dir).absolute()
    root.mkdir(parents=True, exist_ok=True)
    if job.masks or job.mask_arrays:
        (root / "masks").mkdir(exist_ok=True)
        for name, source in job.masks.items():
            shutil.copyfile(source, root / name)
        for name, coverage in job.mask_arrays.items():
            codes = np.rint(np.clip(coverage, 0.0, 1.0) * 65535).astype(np.uint16)
            ok, data = cv2.imencode(".png", codes)
            if not ok:
                raise OSError(f"{root / name}: cannot encode the mask")
            atomic_write_bytes(root / name, data.tobytes())
    Path(job.output_dir).mkdir(parents=True, exist_ok=True)
    shared = {"version": 1, "job_id": job.job_id(), "output_name": job.output_name,
              "options": job.options, "tasks": [list(t) for t in job.tasks],
              "frames": job.frames, "objects": job.objects, "size": list(job.size),
              "roto": None if job.roto_feather is None else {"feather": job.roto_feather},
              "keyframes": job.keyframes, "report": job.report is not None,
              "cuts": job.cuts}
    atomic_write_bytes(root / JOB_FILE, (json.dumps(shared, indent=1) + "\n").encode())
    write_template(root, template(job, root), {
        "Input": job.input, "OutputDir": job.output_dir, "JobDir": str(root),
        "Model": job.model, "Report": job.report})
    return root


def write_template(root: Path, spec: dict, absolute: dict[str, str | None]) -> None:
    """root/template.yaml (`spec`) and root/parameter_values.yaml: each parameter's value as
    made here, `absolute` (a PATH default is relative to the bundle), else its default."""
    values = {"parameterValues": [{"name": p["name"], "value": absolute.get(p["name"])
                                   or p["default"]} for p in spec["parameterDefinitions"]]}
    for name, doc in (("template.yaml", spec), ("parameter_values.yaml", values)):
        text = yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)
        atomic_write_bytes(root / name, text.encode())


def read_job(job_dir: str | os.PathLike[str]) -> dict:
    """job.json of a bundle, its mask paths made absolute against where the bundle is now."""
    root = Path(job_dir).absolute()
    doc = json.loads((root / JOB_FILE).read_text())
    options = list(doc["options"])
    for i, value in enumerate(options[:-1]):
        if value == "--mask":
            frame, _, rel = options[i + 1].partition(":")
            options[i + 1] = f"{frame}:{root / rel}"
    doc["options"] = options
    return doc
