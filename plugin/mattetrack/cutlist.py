"""A plate's shots: where its cuts are, written as an editor's timeline (`mattetrack cuts`).

Boundaries are found with the shot-cut detector the engines use (`cuts.CutDetector`, one
signature per frame, each compared with the frame before), at the end of every run of black
frames between pictures (a fade through black, a slug), and in the middle of every other gradual
transition (a dissolve, a fade that stops short of black: `cuts.GradualWindow`), reading every
frame once in order.

Formats, by the output's suffix (`CUT_FORMATS`):
- `.otio`: an OpenTimelineIO timeline (Resolve imports it) with one clip per shot, each
  referencing the source media (the movie, or the image sequence) and its range;
- `.edl`: a CMX 3600 EDL of the same (OpenTimelineIO's cmx_3600 adapter);
- `.json`: {"source", "fps", "first", "last", "cuts": [frame, ...], "shots": [[first, last]]}.
Frame numbers are the plate's (file numbers, or a movie's index or timecode frames).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mattetrack.cuts import CutDetector, GradualWindow
from mattetrack.errors import InputError
from mattetrack.store import atomic_write_bytes

# Frame rate of the timeline when the plate has none (an image sequence): the editors' default.
DEFAULT_FPS = 24.0


# A frame whose mean luma (display-referred, 0..1) is under this is black: a fade through black,
# or a slug between shots. tests/benchmarks/cuts.py, docs/tuning.md "Shot boundaries".
BLACK = 0.03


def find_boundaries(shot, frames: Sequence[int] | None = None,
                    progress: Callable[[int], None] | None = None) -> list[int]:
    """The frames of `shot` (its `frames`, ascending) where a new shot begins, the first frame
    excluded. Reads each frame once, in order."""
    frames = list(shot.frames if frames is None else frames)
    shot.prefetch(frames)

    def images():
        for done, frame in enumerate(frames, 1):
            yield frame, shot.image(frame)
            if progress is not None:
                progress(done)

    return boundaries(images())


# Frames a flash (or any brief change) may last: a change that comes back to the shot within
# this many frames is not a cut.
FLASH_FRAMES = 2


def boundaries(images) -> list[int]:
    """Where new shots begin in a sequence of (frame, (H, W, 3) display RGB in [0, 1]) in order:
    - hard cuts (`cuts.CutDetector`): a frame unlike the shot's last frame, and so are the
      FLASH_FRAMES after it (a flash, or a frame or two of anything, comes back: no cut);
    - the end of every run of black frames with picture on both sides (a fade through black, or
      a slug: the next shot begins where the picture comes back);
    - the middle frame of every other gradual transition (`cuts.GradualWindow`; overlapping
      windows joined), unless a boundary of the kinds above is in it or beside it."""
    detector = CutDetector()
    gradual = GradualWindow(detector)
    spans: list[list[int]] = []  # [first, last] of gradual transitions, joined as found
    found: list[int] = []
    anchor = None  # signature of the last frame known to belong to the current shot
    outliers: list[tuple[int, np.ndarray]] = []  # frames since, unlike the anchor
    dark_from: int | None = None  # first frame of the current black run
    seen_picture = False
    for frame, image in images:
        signature = detector.signature(image)
        start = gradual.push(frame, signature)
        if start is not None:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = frame
            else:
                spans.append([start, frame])
        luma = float(np.mean(image[..., 0] * 0.2126 + image[..., 1] * 0.7152
                             + image[..., 2] * 0.0722))
        if luma < BLACK:
            if dark_from is None:
                dark_from = frame
            continue
        if dark_from is not None:
            if seen_picture:  # back from black: one boundary for the whole fade or slug
                found = [f for f in found if f < dark_from]
                found.append(frame)
            anchor, outliers, dark_from = signature, [], None
            seen_picture = True
            continue
        seen_picture = True
        if anchor is None or not detector.is_cut(anchor, signature):
            anchor, outliers = signature, []  # still the shot (after a flash, if any)
            continue
        outliers.append((frame, signature))
        if len(outliers) > FLASH_FRAMES:  # it stayed different: a cut at its first frame
            found.append(outliers[0][0])
            anchor, outliers = signature, []
    if outliers and anchor is not None:
        # The last frames differ from the shot and the plate ends: a cut, unless one of them
        # is back in the shot (checked as it came).
        found.append(outliers[0][0])
    for first, last in spans:
        if not any(first - 1 <= f <= last + 1 for f in found):
            found.append((first + last + 1) // 2)
    return sorted(found)


def shot_ranges(frames: Sequence[int], cuts: Sequence[int]) -> list[tuple[int, int]]:
    """[(first, last)] of each shot of `frames` (ascending, consecutive) split at `cuts`."""
    starts = [frames[0], *[c for c in cuts if frames[0] < c <= frames[-1]]]
    ends = [s - 1 for s in starts[1:]] + [frames[-1]]
    return list(zip(starts, ends, strict=True))


@dataclass(frozen=True)
class Source:
    """What the clips reference: `path` (a movie file, or a sequence's pattern such as
    /s/plate.####.exr), frame rate, its first frame number and frame count, and for a sequence
    its files' {frame: path}."""

    path: str
    fps: float
    first: int
    count: int
    files: dict[int, str] | None = None


def _timeline(source: Source, ranges: list[tuple[int, int]], name: str):
    import opentimelineio as otio

    rate = source.fps
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for n, (first, last) in enumerate(ranges, 1):
        clip = otio.schema.Clip(
            name=f"{name}_shot{n:03d}",
            media_reference=_reference(source),
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(first, rate),
                otio.opentime.RationalTime(last - first + 1, rate)),
        )
        track.append(clip)
    timeline = otio.schema.Timeline(name=name)
    timeline.tracks.append(track)
    return timeline


def _reference(source: Source):
    """The media every clip references: the movie, or the image sequence (its files' prefix,
    padded frame number and suffix)."""
    import opentimelineio as otio

    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(source.first, source.fps),
        otio.opentime.RationalTime(source.count, source.fps))
    if source.files is None:
        return otio.schema.ExternalReference(
            target_url=Path(source.path).absolute().as_uri(), available_range=available)
    first = min(source.files)
    path = Path(source.files[first]).absolute()
    pad = _padding(path.name, first)
    number = str(first).zfill(pad)
    at = path.name.rfind(number)
    return otio.schema.ImageSequenceReference(
        target_url_base=path.parent.as_uri() + "/", name_prefix=path.name[:at],
        name_suffix=path.name[at + len(number):], start_frame=first, frame_step=1,
        rate=source.fps, frame_zero_padding=pad, available_range=available)


def _padding(name: str, frame: int) -> int:
    """The zero padding of `frame`'s number in file name `name` (its digits as written)."""
    hits = [m.group() for m in re.finditer(r"\d+", name) if int(m.group()) == frame]
    return len(hits[-1]) if hits else len(str(frame))


def write_otio(source: Source, ranges: list[tuple[int, int]], cuts: list[int], out: Path) -> None:
    import opentimelineio as otio

    text = otio.adapters.write_to_string(_timeline(source, ranges, _title(source)), "otio_json")
    atomic_write_bytes(out, text.encode())


def write_edl(source: Source, ranges: list[tuple[int, int]], cuts: list[int], out: Path) -> None:
    import opentimelineio as otio

    timeline = _timeline(source, ranges, _title(source))
    text = otio.adapters.write_to_string(timeline, "cmx_3600")
    atomic_write_bytes(out, text.encode())


def write_json(source: Source, ranges: list[tuple[int, int]], cuts: list[int], out: Path) -> None:
    data = {"source": os.path.abspath(source.path), "fps": source.fps,
            "first": ranges[0][0], "last": ranges[-1][1], "cuts": list(cuts),
            "shots": [list(r) for r in ranges]}
    atomic_write_bytes(out, (json.dumps(data, indent=1) + "\n").encode())


def _title(source: Source) -> str:
    name = Path(source.path).name
    for token in ("#", "%", "."):
        name = name.split(token)[0] or name
    return name.strip("._-") or "plate"


CutWriter = Callable[[Source, list, list, Path], None]
CUT_FORMATS: dict[str, tuple[str, CutWriter]] = {
    ".otio": ("an OpenTimelineIO timeline, one clip per shot (Resolve imports it)", write_otio),
    ".edl": ("a CMX 3600 EDL, one event per shot", write_edl),
    ".json": ("the cut frames and each shot's first and last frame", write_json),
}


def cut_format(path: str) -> CutWriter:
    """The writer for output `path` by its suffix; InputError naming the suffixes."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in CUT_FORMATS:
        raise InputError(f"{path!r}: the cut list must end in "
                         f"{', '.join(CUT_FORMATS)}", field="output")
    return CUT_FORMATS[suffix][1]


def write_cut_list(shot, output: str, fps: float | None = None,
                   progress: Callable[[int], None] | None = None) -> tuple[list[int], list]:
    """Find the boundaries of `shot` (all its frames) and write them to `output` in the format
    its suffix names; returns (cuts, [(first, last)] of each shot). `fps`: the timeline's rate
    (default: the movie's, else DEFAULT_FPS)."""
    write = cut_format(output)
    cuts = find_boundaries(shot, progress=progress)
    files = None if shot.is_movie else {f: shot.file(f) for f in shot.frames}
    source = Source(shot.path, fps or shot.fps or DEFAULT_FPS, shot.frames[0],
                    len(shot.frames), files)
    ranges = shot_ranges(shot.frames, cuts)
    write(source, ranges, cuts, Path(output))
    return cuts, ranges


@contextlib.contextmanager
def progress_bar(total: int, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress callback over `total` frames on a terminal (None when quiet or not a tty)."""
    import sys

    from tqdm import tqdm

    if quiet or not sys.stderr.isatty():
        yield None
        return
    with tqdm(total=total, unit="frame", desc="finding cuts", file=sys.stderr,
              dynamic_ncols=True) as bar:
        yield lambda done: bar.update(done - bar.n)
