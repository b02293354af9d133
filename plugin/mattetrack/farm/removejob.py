"""An Open Job Description job bundle that removes objects from a plate on a render farm
(`mattetrack remove ... --job DIR`), in Deadline Cloud's bundle layout.

DIR/template.yaml           jobtemplate-2023-09: parameters (the plate, the mattes, the output
                            folder: PATH-typed, so a farm's path mapping rules move them; the
                            command) and two steps:
                            `Remove`, a task per chunk of frames, each `mattetrack remove ...
                            --range A-B`: the tasks run apart and in any order (each fills the
                            frames before its first and after its last, unwritten, for what
                            they carry on and settle: `removal.run.removed`; its frames are the
                            whole run's) and a task run again resumes;
                            `Finish`, after them, `mattetrack remove` over the whole range: it
                            finds every file written (and writes any that is not) and writes
                            what needs every frame, the report and the Nuke script
DIR/parameter_values.yaml   the parameters' values as made here (`deadline bundle submit`)
DIR/plate, DIR/mattes,      links to their folders, through which the parameters' defaults go
DIR/output

`openjd run DIR/template.yaml --step Finish --run-dependencies` runs the whole job here and
writes what `mattetrack remove` with the same arguments writes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mattetrack.farm.bundle import MATTETRACK_PARAMETER, SPEC, path_parameter, write_template

REMOVE = "Remove"  # a task per chunk of frames
FINISH = "Finish"  # the whole range once every chunk is written: report, Nuke script
FRAMES_PER_TASK = 24  # a chunk: 24 frames, and up to 14 filled before it and 6 after, unwritten


@dataclass
class RemovalJob:
    """What a removal bundle holds.

    input, mattes: the plate and the mattes (file, pattern or folder), absolute; output_dir /
    output_name: where the clean plate goes; options: `remove`'s options for every task (the
    objects, --grow, --merge, how the plate is read); tasks: (first, last) frame of each;
    finish: the options only the last step takes (--format nuke); report: --report's file,
    absolute, or None; memory_mib: what a task needs at least.
    """

    name: str
    input: str
    mattes: str
    output_dir: str
    output_name: str
    options: list[str]
    tasks: list[tuple[int, int]]
    finish: list[str]
    report: str | None
    memory_mib: int


def removal_job(plate: str, mattes: str, output: str, objects: Sequence[str],
                frames: Sequence[int], size: tuple[int, int], *, grow: int = 4,
                merge: bool = False, cache_mib: int | None = None,
                colorspace: str | None = None, frame_numbers: str = "index",
                per_task: int | None = None, nuke: bool = False, report: str | None = None,
                name: str | None = None, foreground: Sequence[str] = ()) -> RemovalJob:
    """The job writing `output` (a pattern) from `plate` with `objects` (their layers in
    `mattes`) removed on `frames` (ascending; the plate's (width, height) `size`), in chunks of
    `per_task` frames (None: FRAMES_PER_TASK); the other arguments are `remove`'s options.
    The one way the command line and the service make one."""
    from mattetrack.removal.run import CACHE_MIB

    options = ["--object", ",".join(objects), "--grow", str(grow)]
    if foreground:
        options += ["--foreground", ",".join(foreground)]
    if merge:
        options.append("--merge")
    if cache_mib is not None:
        options += ["--cache-mib", str(cache_mib)]
    if colorspace:
        options += ["--colorspace", colorspace]
    if frame_numbers != "index":
        options += ["--frame-numbers", frame_numbers]
    output = os.path.abspath(output)
    return RemovalJob(
        name=name or f"MatteTrack remove {os.path.basename(output)}",
        input=os.path.abspath(plate), mattes=os.path.abspath(mattes),
        output_dir=os.path.dirname(output), output_name=os.path.basename(output),
        options=options,
        tasks=chunks(frames, FRAMES_PER_TASK if per_task is None else per_task),
        finish=["--format", "nuke"] if nuke else [],
        report=os.path.abspath(report) if report else None,
        memory_mib=memory_mib(CACHE_MIB if cache_mib is None else cache_mib, *size))


def chunks(frames: Sequence[int], per_task: int) -> list[tuple[int, int]]:
    """(first, last) of each run of `per_task` consecutive `frames` (0: one task)."""
    step = per_task or len(frames)
    return [(frames[i], frames[min(i + step, len(frames)) - 1])
            for i in range(0, len(frames), step)]


def memory_mib(cache_mib: int, width: int, height: int) -> int:
    """What a task needs: the plate cache's budget, the fill's working frames and room for
    the interpreter and libraries (`removal.py --memory`: 1080p with 1024 MiB kept peaks at
    about 2.1 GB)."""
    frame = width * height * 3 * 4 / 2**20
    return int(cache_mib + 1024 + 8 * frame)


def _parameters(job: RemovalJob, root: Path) -> list[dict]:
    params = [
        path_parameter(root, "Input", "plate", job.input, False,
                       "the plate: a frame pattern, a folder or an image"),
        path_parameter(root, "Mattes", "mattes", job.mattes, False,
                       "the mattes of the objects removed"),
        path_parameter(root, "OutputDir", "output", job.output_dir, True,
                       f"where {job.output_name} is written", folder=True),
        MATTETRACK_PARAMETER,
    ]
    if job.report is not None:
        params.append(path_parameter(root, "Report", "report", job.report, True,
                                     "where the report (the invented share of each frame) "
                                     "goes", folder=False))
    return params


def template(job: RemovalJob, root: Path) -> dict:
    """The job template (a dict, as YAML writes it)."""
    command = ["remove", "{{Param.Input}}", "{{Param.Mattes}}", *job.options, "-o",
               f"{{{{Param.OutputDir}}}}/{job.output_name}", "--openjd", "-q"]
    first, last = job.tasks[0][0], job.tasks[-1][1]
    finish = [*command, "--range", f"{first}-{last}", *job.finish]
    if job.report is not None:
        finish += ["--report", "{{Param.Report}}"]
    amounts = [{"name": "amount.worker.memory", "min": int(job.memory_mib)}]
    steps = [
        {"name": REMOVE,
         "description": f"{len(job.tasks)} task(s), a chunk of frames each",
         "parameterSpace": {"taskParameterDefinitions": [
             {"name": "Frames", "type": "STRING", "range": [f"{a}-{b}" for a, b in job.tasks]}]},
         "hostRequirements": {"amounts": amounts},
         "script": {"actions": {"onRun": {
             "command": "{{Param.Mattetrack}}",
             "args": [*command, "--range", "{{Task.Param.Frames}}"]}}}},
        {"name": FINISH,
         "description": "the whole range once every chunk is written: the report, the Nuke "
                        "script (and any frame a task left unwritten)",
         "dependencies": [{"dependsOn": REMOVE}],
         "hostRequirements": {"amounts": amounts},
         "script": {"actions": {"onRun": {"command": "{{Param.Mattetrack}}",
                                          "args": finish}}}},
    ]
    return {"specificationVersion": SPEC, "name": job.name,
            "parameterDefinitions": _parameters(job, root), "steps": steps}


def write_removal_bundle(job: RemovalJob, job_dir: str | os.PathLike[str]) -> Path:
    """Write the bundle into `job_dir` (created; files replaced atomically). Returns its path."""
    root = Path(job_dir).absolute()
    root.mkdir(parents=True, exist_ok=True)
    Path(job.output_dir).mkdir(parents=True, exist_ok=True)
    write_template(root, template(job, root), {
        "Input": job.input, "Mattes": job.mattes, "OutputDir": job.output_dir,
        "Report": job.report})
    return root
