"""From a session to files: the one pipeline every front end runs (`track`, the service's
propagation jobs, and anything later).

    plan = plan_mattes(session, MatteRequest("mattes.####.exr", cryptomatte=True))
    result = run_mattes(session, plan)

`plan_mattes` makes every check that can fail before any work starts: objects without prompts,
the output pattern and folder, an output that would overwrite the plate or an input mask, the
output kind's limits (PNG holds 255 objects; a Cryptomatte, a merge and roto channels need
EXR; a merge needs EXR plate frames). `run_mattes` then propagates and hands each frame to a
background writer (atomic files, bounded queue), optionally fitting roto shapes on the way and
adding their channels once the whole shot is in. Errors about an input carry its field name,
which each front end spells its own way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import remove_stale_temps
from mattetrack.errors import InputError
from mattetrack.export.frames import WINDOWS, MatteOutput, WriteOptions, write_matte_frame
from mattetrack.export.outputlock import OutputLock

# (frame, {object id: (H, W) float32 coverage})
Frame = tuple[int, dict[int, np.ndarray]]


@dataclass(frozen=True)
class MatteRequest:
    """What to write: the output pattern as given and the writers' options.

    roto_feather: ramp width (px) of the roto channels; write_queue: frames waiting for the
    writer at most (bounds memory); outlines: a folder where each frame's outlines are saved
    before its mattes are written (`<frame>.npz`, `shapes.outlinefile`: a farm task's share of
    the roto shapes, fitted by the job's last step).
    """

    output: str
    write: WriteOptions = field(default_factory=WriteOptions)
    cryptomatte: bool = False
    roto_channels: bool = False
    roto_feather: float = 0.0
    write_queue: int = 4
    outlines: str | None = None


@dataclass
class MattePlan:
    """A checked request: where each frame goes and under which names.

    frames: the frames to write, ascending; layers: {object id: EXR layer} in the session's
    object order (its matte is channel `<layer>.A`); crypto: a Cryptomatte or None.
    """

    request: MatteRequest
    output: MatteOutput
    frames: list[int]
    layers: dict[int, str]
    crypto: object | None

    @property
    def channels(self) -> list[str]:
        from mattetrack.export.channels import matte_channel

        return [matte_channel(layer) for layer in self.layers.values()]


@dataclass
class RunResult:
    """What a run did. frames: frames done; kept: of those, frames whose file already held
    their mattes (written by an earlier run with the same store, untouched since) and was left
    alone. Seconds: engine_s includes the reads it waited for; write_s is spent on the writer
    thread (overlapped); write_wait_s is the loop blocked on a full writer queue; roto_s
    rasterising and writing roto channels after the shot."""

    frames: int = 0
    kept: int = 0
    cancelled: bool = False
    engine_s: float = 0.0
    write_s: float = 0.0
    write_wait_s: float = 0.0
    roto_s: float = 0.0


def plan_mattes(session, request: MatteRequest, frames: list[int] | None = None) -> MattePlan:
    """Check `request` against the session (a `Session` on a `Shot`) and prepare its output.

    frames: the frames to write (default: the whole shot). Raises InputError (with its field)
    before anything is computed or written; creates the output folder.
    """
    from mattetrack.export.channels import layer_names

    shot = session.shot
    frames = list(shot.frames) if frames is None else sorted(frames)
    session.check_ready()
    objects = session.objects
    output = MatteOutput(request.output, len(shot.frames))
    kind = output.kind
    if kind.max_objects is not None and len(objects) > kind.max_objects:
        raise InputError(f"{request.output!r}: {kind.name.upper()} output holds at most "
                         f"{kind.max_objects} objects, there are {len(objects)}; use EXR",
                         field="output")
    for flag, wanted in (("merge", request.write.merge), ("cryptomatte", request.cryptomatte),
                         ("roto_channels", request.roto_channels)):
        if wanted and not kind.layered:
            raise InputError(f": needs EXR output, not {request.output!r}", field=flag)
    if request.write.part_named_cryptomatte and not (request.write.merge and request.cryptomatte):
        raise InputError(": only with --merge and --cryptomatte (a matte-only file has no part "
                         "name)", field="blender_cryptomatte")
    if request.write.window not in WINDOWS:
        raise InputError(f"{request.write.window!r}: expected one of {', '.join(WINDOWS)}",
                         field="window")
    plate_layers = _plate_layers(shot) if request.write.merge else set()
    _refuse_overwrites(shot, output, frames, session.input_files)
    crypto = None
    if request.cryptomatte:
        from mattetrack.export.cryptomatte import Cryptomatte

        crypto = Cryptomatte([o.name for o in objects], type_name=_crypto_type(plate_layers))
        plate_layers = plate_layers | set(crypto.layers)
    names = layer_names([o.name for o in objects], plate_layers)
    folder = Path(output.path(frames[0] if frames else shot.frames[0])).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{request.output!r}: cannot create {folder} ({err.strerror})",
                         field="output") from None
    return MattePlan(request, output, frames, dict(zip([o.id for o in objects], names,
                                                       strict=True)), crypto)


def _plate_layers(shot) -> set[str]:
    """The plate's layer names (a merge keeps clear of them); refuses plates it cannot merge
    into."""
    from mattetrack.shot import imagefile

    if shot.is_movie:
        raise InputError(f": the plate {shot.path} is a movie; merging needs EXR frames",
                         field="merge")
    header = imagefile.probe(shot.file(shot.frames[0]))
    if not header.is_exr:
        raise InputError(f": the plate {header.path} is not an EXR file", field="merge")
    return imagefile.layer_names(header.path)


def _refuse_overwrites(shot, output: MatteOutput, frames: list[int],
                       inputs: set[str]) -> None:
    refuse_overwrites(shot, [output.path(f) for f in frames], inputs, output.text)


def refuse_overwrites(shot, targets: Iterable[str], inputs: Iterable[str], text: str,
                      inputs_are: str = "the input mask") -> None:
    """An output file (`targets`, from the output given as `text`) must never be one of the
    inputs: a plate frame, or one of `inputs` (a mask prompt's file, mattes under review, ...,
    named `inputs_are` in the error). InputError on the `output` field otherwise."""
    protected = {os.path.realpath(p): inputs_are for p in inputs}
    plate = [shot.path] if shot.is_movie else [shot.file(f) for f in shot.frames]
    protected.update((os.path.realpath(p), "the plate") for p in plate)
    for path in targets:
        target = os.path.realpath(path)
        if target in protected:
            raise InputError(f"{text!r}: would overwrite {protected[target]} {target}",
                             field="output")


def _crypto_type(plate_layers: set[str]) -> str:
    """Our Cryptomatte type name, suffixed when the plate already has layers of that name (a
    plate that was merged before)."""
    from mattetrack.export.cryptomatte import TYPE_NAME, layer_names

    name, n = TYPE_NAME, 1
    while any(layer in plate_layers for layer in layer_names(name)):
        n += 1
        name = f"{TYPE_NAME}_{n}"
    return name


def run_mattes(
    session,
    plan: MattePlan,
    *,
    on_submitted: Callable[[int], None] | None = None,
    on_written: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    step_guard: Callable[[bool], contextlib.AbstractContextManager] | None = None,
    quiet: bool = True,
) -> RunResult:
    """Propagate `session` through `plan.frames` and write every frame's mattes.

    on_submitted(frame): a frame's mattes went to the writer (a progress bar); on_written(frame):
    its file is complete (called on the writer thread); cancel: stop after the frame in
    progress (frames handed over are still written whole); step_guard(first): a context held
    around each engine step (the service's engine gate; `first` is the step that reads the
    session's prompts); quiet: no progress bar for the roto channels.
    """
    from mattetrack.export.background import BackgroundWriter

    result = RunResult()
    request = plan.request
    objects = list(plan.layers)
    channels = plan.channels
    guard = step_guard or (lambda first: contextlib.nullcontext())

    manifest, output_keys = _output_manifest(session, plan)
    kept = {f for f in plan.frames
            if manifest is not None and manifest.holds(plan.output.path(f), output_keys[f])}

    def write(frame: int, mattes: list[np.ndarray]) -> None:
        write_matte_frame(request.write, plan.output, session.shot, frame, channels, mattes,
                          plan.crypto)
        if manifest is not None:
            manifest.record(plan.output.path(frame), output_keys[frame])
        if on_written is not None:
            on_written(frame)

    # What a run killed mid-write left beside the outputs goes before this one writes there.
    for folder in {os.path.dirname(os.path.abspath(plan.output.path(f))) for f in plan.frames}:
        remove_stale_temps(folder)

    if request.outlines is not None:
        from mattetrack.shapes.outlinefile import save_outlines
        from mattetrack.shapes.temporal import frame_outlines

        os.makedirs(request.outlines, exist_ok=True)

    def save_frame_outlines(frame: int, coverages: dict[int, np.ndarray]) -> None:
        # Before the frame's mattes are written: a written file (kept by a rerun) always has
        # its outlines.
        save_outlines(os.path.join(request.outlines, f"{frame}.npz"),
                      [frame_outlines(coverages[o]) for o in objects])

    def tracked(writer: BackgroundWriter) -> Iterator[Frame]:
        """Propagates, hands each frame to the writer, and yields it on (for shape fitting)."""
        frames = session.propagate(plan.frames, objects, unread=kept)
        first = True
        try:
            while True:
                tick = time.perf_counter()
                with guard(first):
                    item = next(frames, None)
                first = False
                tock = time.perf_counter()
                result.engine_s += tock - tick
                if item is None:
                    return
                frame, coverages = item
                if frame in kept:
                    result.kept += 1
                    if on_written is not None:
                        on_written(frame)
                else:
                    if request.outlines is not None:
                        save_frame_outlines(frame, coverages)
                    # The engine yields fresh arrays per frame: the writer may keep them.
                    writer.submit(plan.output.path(frame), functools.partial(
                        write, frame, [coverages[o] for o in objects]))
                result.write_wait_s += time.perf_counter() - tock
                result.frames += 1
                if on_submitted is not None:
                    on_submitted(frame)
                if coverages is not None:
                    yield frame, coverages
                if cancel is not None and cancel.is_set():
                    result.cancelled = result.frames < len(plan.frames)
                    return
        finally:
            frames.close()

    doc = None
    # One writer per output: a second run is refused, not mixed in. A run over part of the
    # shot (a farm task's) locks its frames only, so a job's tasks write side by side.
    part = None if plan.frames == list(session.shot.frames) or not plan.frames else (
        plan.frames[0], plan.frames[-1])
    lock = OutputLock(request.output, frames=part)
    lock.acquire()
    try:
        with BackgroundWriter(request.write_queue) as writer:
            if request.roto_channels:
                from mattetrack.shapes import shapes_from_mattes

                # Only outlines are kept while tracking; the shapes are fitted once all are in.
                doc = shapes_from_mattes(tracked(writer), dict(plan.layers),
                                         session.shot.width, session.shot.height)
            else:
                for _ in tracked(writer):
                    pass
        if doc is not None and not result.cancelled:
            started = time.perf_counter()
            # The shapes need the whole shot, so their channels join the written files
            # afterwards.
            done = {f: plan.output.path(f) for f in plan.frames
                    if os.path.isfile(plan.output.path(f))}
            write_roto_channels(doc, done, plan.output.path, request.roto_feather, quiet,
                                request.write_queue)
            result.roto_s = time.perf_counter() - started
    finally:
        if manifest is not None:  # what was written, also when the run stopped early
            manifest.save()
        lock.release()
    result.write_s = writer.seconds
    return result


def _output_manifest(session, plan: MattePlan):
    """(the store's `OutputManifest`, {frame: output key}), or (None, {}) without a store and
    for roto channels (their shapes are fitted over the whole shot: any change may move every
    frame's)."""
    store = session.store
    if store is None or plan.request.roto_channels:
        return None, {}
    from mattetrack.export.outputmanifest import MANIFEST_NAME, OutputManifest, output_key

    objects = list(plan.layers)
    request = plan.request
    settings = (request.output, request.write, request.cryptomatte,
                tuple(plan.layers.values()), plan.crypto)
    keys = session.result_keys(plan.frames, objects)
    return OutputManifest(store.root / MANIFEST_NAME), {
        f: output_key(settings, f, session.plate_key(f), [keys[o][f] for o in objects])
        for f in plan.frames}


def write_roto_channels(doc, frames: dict[int, str], target: Callable[[int], str],
                        feather: float, quiet: bool, queue: int = 4) -> None:
    """Roto channels of a shape document for every frame ({frame: matte file}): rasterised
    here, written into `target(frame)` on the background writer."""
    import sys

    from tqdm import tqdm

    from mattetrack.export.background import BackgroundWriter
    from mattetrack.shapes.roto import roto_frames

    bar = tqdm(total=len(frames), unit="frame", desc="roto channels",
               disable=quiet or not sys.stderr.isatty(), file=sys.stderr, dynamic_ncols=True)
    with bar, BackgroundWriter(queue) as writer:
        for path, job in roto_frames(doc, frames, target, feather):
            writer.submit(path, job)
            bar.update(1)
