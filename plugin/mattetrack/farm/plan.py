"""How a shot's tracking splits into farm tasks that can run apart.

An engine whose tracks restart at every keyframe (`span_results`, the classic engine) gives each
frame a matte that depends only on the keyframes either side of it (checked bit for bit against
whole-shot runs in tests/farm): the shot splits at every keyframe of any object, and each span
is a task. A span longer than `frames_per_task` is cut into chunks of consecutive frames; a
chunk still tracks from its span's keyframes (its sweeps start there), so chunks buy
parallelism with repeated work, which pays on long spans and many workers. An engine whose
memory holds every keyframe (the SAM 2 family) gives every frame a matte that depends on all of
them and on the whole track before it (its memory of the last frames): one task, never cut (a
chunk would start its track at another frame and remember other frames).

An engine whose tracks stop at hard cuts (`stops_at_cuts`, the classic engine) also splits at
the cuts it finds (`Engine.cuts`, when the job is made): each task is told the cuts around it
(`track --known-cuts`) and runs its own cut segment only, so no task sweeps from a keyframe on
the far side of a cut up to it (`engines.segments`). The SAM 2 family tracks across cuts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mattetrack.errors import InputError


def spans(frames: Sequence[int], keyframes: Iterable[int], span_results: bool,
          cuts: Iterable[int] = ()) -> list[list[int]]:
    """The shot's `frames` (ascending) cut where a new span begins: at every keyframe when
    `span_results`, and at every one of `cuts` (frames opening a cut segment). The frames before
    the first keyframe are a span of their own (tracked backwards from it); a keyframe opens
    the span that follows it."""
    if not frames:
        return []
    starts = (set(keyframes) if span_results else set()) | set(cuts)
    out: list[list[int]] = []
    current: list[int] = []
    for f in frames:
        if f in starts and current:
            out.append(current)
            current = []
        current.append(f)
    out.append(current)
    return out


def tasks(frames: Sequence[int], keyframes: Iterable[int], span_results: bool,
          frames_per_task: int | None = None,
          cuts: Iterable[int] = ()) -> list[tuple[int, int]]:
    """(first, last) frame of each task, in shot order: the spans (at keyframes and `cuts`),
    each cut into chunks of at most `frames_per_task` consecutive frames (None or 0: whole
    spans; engines without `span_results`: never in chunks)."""
    if frames_per_task is not None and frames_per_task < 0:
        raise InputError(f"{frames_per_task}: expected 0 (whole spans) or more",
                         field="frames_per_task")
    out = []
    for span in spans(frames, keyframes, span_results, cuts):
        step = (frames_per_task if span_results else 0) or len(span)
        out += [(span[i], span[min(i + step, len(span)) - 1]) for i in range(0, len(span), step)]
    return out


def bounding_cuts(cuts: Sequence[int], first: int, last: int) -> list[int]:
    """Of a job's `cuts` (ascending), those that bound the segment holding frames first..last
    (a task's): the last at or before `first` and the first after `last`."""
    before = [c for c in cuts if c <= first]
    after = [c for c in cuts if c > last]
    return before[-1:] + after[:1]
