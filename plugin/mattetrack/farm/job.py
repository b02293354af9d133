"""A farm job from a session: the one way every front end (the command line, the service and
through it the browser UI and the hosts' panels) turns prompts into a bundle.

The tasks run `mattetrack track`, so a session's prompts travel as its options
(`session_options`): clicks, boxes and strokes as text (exact: a float32 coordinate's repr reads
back as the same float32), masks as 16-bit PNGs in the bundle (within 1/65535 of the coverage).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from mattetrack.engines import Engine, EngineSpec
from mattetrack.engines.base import Memo
from mattetrack.errors import InputError
from mattetrack.farm.bundle import FarmJob
from mattetrack.farm.plan import tasks


def make_job(session, plate: str, output: str, options: list[str], spec: EngineSpec, *,
             masks: dict[str, str] | None = None,
             mask_arrays: dict[str, np.ndarray] | None = None,
             frames: Sequence[int] | None = None, frames_per_task: int = 0,
             model: str | None = None, device: str | None = None,
             roto_feather: float | None = None, report: str | None = None,
             name: str | None = None, engine: Engine | None = None,
             memo: Memo | None = None) -> FarmJob:
    """The job for `session` (a `Session` with its objects and prompts; its engine is not
    used) writing `output` (a pattern) from `plate`; options: `track`'s options for the tasks,
    prompts included (mask files as `masks/...`: {bundle name: source file} in `masks`, or
    {bundle name: coverage} in `mask_arrays`). engine: the loaded engine when `spec`
    `stops_at_cuts`, to find the cuts the job also splits at (it reads every frame once, but
    what `memo`, a session store's, kept of an earlier propagation)."""
    shot = session.shot
    frames = list(shot.frames) if frames is None else list(frames)
    if not session.objects:
        raise InputError("no prompts: give at least one --point, --stroke, --box or --mask")
    keyframes = {f for obj in session.objects for f in obj.keyframes}
    cuts = engine.cuts(shot, frames, memo) if spec.stops_at_cuts and engine is not None else []
    split = tasks(frames, keyframes, spec.span_results, frames_per_task, cuts)
    output = os.path.abspath(output)
    folder = bool(model) and os.path.isdir(model)
    return FarmJob(
        name=name or f"MatteTrack {os.path.basename(output)}",
        input=os.path.abspath(plate), output_dir=os.path.dirname(output),
        output_name=os.path.basename(output), options=list(options), tasks=split,
        model=os.path.abspath(model) if folder else model, model_is_folder=folder,
        gpu=spec.takes_model and device != "cpu",
        # The read-ahead cache, the engine's working frames and the writer's queue, as float32
        # RGB frames, and room for the interpreter and the libraries (a measured run of the
        # classic engine at 1080p peaks at about 1.3 GB); a deep engine's weights and session.
        memory_mib=int(1024 + 48 * shot.width * shot.height * 12 / 2**20)
        + (8192 if spec.takes_model else 0),
        masks=dict(masks or {}), mask_arrays=dict(mask_arrays or {}),
        objects=[obj.name for obj in session.objects],
        keyframes=[sorted(obj.keyframes) for obj in session.objects],
        size=(shot.width, shot.height), roto_feather=roto_feather,
        report=os.path.abspath(report) if report else None,
        frames=[[f for f in frames if a <= f <= b] for a, b in split], cuts=list(cuts))


def _xy(values) -> str:
    return ",".join(repr(float(v)) for v in np.asarray(values, np.float32).ravel())


def session_options(session) -> tuple[list[str], dict[str, np.ndarray], list[str]]:
    """`track`'s prompt options for `session`'s objects, in order: ([options], {bundle name:
    mask coverage}, [warnings: what a farm job cannot carry])."""
    options: list[str] = []
    masks: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    widths = set()
    for obj in session.objects:
        if not obj.keyframes:
            warnings.append(f"object {obj.name!r} has no prompts (an imported matte): left out")
            continue
        options += ["--object", obj.name]
        for frame in sorted(obj.keyframes):
            p = obj.prompts[frame]
            if p.base is not None:
                warnings.append(f"object {obj.name!r} frame {frame}: the prompts correct a "
                                "propagated matte, which the job tracks afresh")
            if p.mask is not None:
                name = f"masks/{len(masks):03d}_{frame}.png"
                masks[name] = np.asarray(p.mask, np.float32)
                options += ["--mask", f"{frame}:{name}"]
            for (x, y), label in zip(p.points, p.labels, strict=True):
                options += ["--point" if label else "--negative", f"{frame}:{_xy((x, y))}"]
            if p.box is not None:
                options += ["--box", f"{frame}:{_xy(p.box)}"]
            for stroke in p.strokes:
                widths.add(float(stroke.width))
                kind = "--stroke" if stroke.positive else "--negative-stroke"
                options += [kind, f"{frame}:{_xy(stroke.points)}"]
    if len(widths) > 1:
        warnings.append(f"strokes of {len(widths)} widths: all drawn {max(widths):g} px wide")
    if widths:
        options += ["--stroke-width", repr(max(widths))]
    return options, masks, warnings
