"""The removal pipeline: plate and mattes in, each frame with the objects removed out.

`removed` is a generator of per-frame results (in order): each frame filled on its own
(`fill.py`), then the filled frames made consistent through time (`temporal.py`, a stream that
looks `TemporalParams.span` frames ahead). Frames are read on demand through a cache bounded in
MiB (`RemovalSource`, CACHE_MIB), never the whole shot of a long or large plate, and the
background's motion is fitted pair by pair as the fill reaches further. Frames outside
`--range` still give candidates: the range says what is written, not what is looked at.
`write_removed` consumes it into files (written on a writer thread, each atomically;
`output.py`). A sequence resumes: the files' keys (settings, every plate frame and matte file
looked at) are kept in `.mattetrack-remove.json` beside them, and a rerun over the same inputs
leaves the finished files alone. A frame's result depends on the frames before it (the part no
other frame saw is carried on from the frame before) and on the `span` frames after it, so a run
of frames that starts after the shot's first (a `--range`, a farm task, a resumed run) first
fills the frames before its first, unwritten (`lead_in_frames`, 8, and the `span`, 9), and one
that ends before the shot's last fills the `span` after it: its frames are the whole run's to
1/255 (but for a few pixels where the flow between the filled frames turns out otherwise:
0.08% of breakdance's hole pixels in chunks of 10 frames).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from mattetrack import resultkeys
from mattetrack.ahead import ahead
from mattetrack.composite.frames import on_window
from mattetrack.errors import InputError
from mattetrack.export.outputlock import OutputLock
from mattetrack.framepattern import FramePattern
from mattetrack.lru import LRUCache
from mattetrack.removal.fill import FillParams, fill_frame
from mattetrack.removal.motion import (
    MOVING_LAYERS,
    PairMotion,
    ShotMotion,
    pair_motion,
    processing_scale,
)
from mattetrack.removal.temporal import TemporalParams, settled

# Matte values above this are the object (a 16-bit or half matte's last bits are not).
COVERED = 1.0 / 255.0


@dataclass(frozen=True)
class RemovalSettings:
    """objects: the mattes removed (their union); grow: px the hole is grown by past the
    matte (motion blur and the matte's own error); fill: the fill's parameters; foreground:
    mattes of what moves in front of the background and stays (an actor beside the removed
    rig): where another frame shows one of them, that frame is no view of the background, so
    it is not smeared into the clean plate (grown by `grow` too); temporal: the filled
    frames made consistent through time (`temporal.py`)."""

    objects: tuple[str, ...]
    grow: int = 4
    fill: FillParams = FillParams()
    foreground: tuple[str, ...] = ()
    temporal: TemporalParams = TemporalParams()


@dataclass(frozen=True)
class RemovedFrame:
    """One frame's result: `pixels` (H, W, 3) float32 over the display window in the plate's
    values, the hole filled; `hole` (H, W) bool; `unseen` (H, W) bool: what no frame saw."""

    frame: int
    pixels: np.ndarray
    hole: np.ndarray
    unseen: np.ndarray


# MiB of plate frames kept for the fill. The fill of frame t reads frames up to t +- reach
# (kite-surf with 12 frames kept, in an LRU cache: 49-60 reads per frame written; all of them
# kept: 1). 1 GiB keeps every frame the fill reaches at 432x240 to 2K, 41 at 1080p, 12 at 4K.
CACHE_MIB = 1024


class NearestFrames:
    """Plate frames by position, at most `maxsize` of them; when full, the one farthest from
    `focus` (the position being filled; behind it first on a tie) goes. The fill of t reads
    t +- reach nearest first and t then moves on by one, so the frames read again are the
    nearest: an LRU cache smaller than what is read evicts exactly the frames that the next
    scan reads (simulated on the reads of 40 frames of dog at 1080p: 41 frames kept, LRU 14.6
    reads per frame, this 3.1, Belady's optimum 2.8; 12 kept: 60.7, 34.8, 33.5)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.focus = 0
        self._items: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, position: int) -> np.ndarray | None:
        return self._items.get(position)

    def put(self, position: int, pixels: np.ndarray) -> None:
        self._items[position] = pixels
        while len(self._items) > max(1, self.maxsize):
            del self._items[max(self._items, key=self._distance)]

    def _distance(self, position: int) -> tuple[int, bool]:
        return abs(position - self.focus), position < self.focus


class RemovalSource:
    """A shot's frames at positions 0..n-1 (`frames`) for the fill: plate pixels over the
    display window, their holes, and the motion's grey images, read on demand and kept: the
    pixels within `cache_mib` MiB (12 frames at least, no more than the fill reaches), those
    nearest the frame being filled (`NearestFrames`, `focus`); in LRU caches the holes of
    every frame the fill reaches (packed, 1 bit a pixel: 1/96 of a frame's pixels) and the
    greys (processing size) of the frames the moving layers follow. The fill asks for a
    frame's hole before its pixels, and reads the pixels only where that frame sees part of the
    hole it fills."""

    def __init__(self, shot, mattes, frames: Sequence[int], settings: RemovalSettings,
                 cache_mib: int = CACHE_MIB) -> None:
        self.shot, self.mattes, self.frames, self.settings = shot, mattes, list(frames), settings
        self.scale = processing_scale(shot.width, shot.height)
        self.size = (max(16, round(shot.width * self.scale)),
                     max(16, round(shot.height * self.scale)))
        self._budget = cache_mib * 2**20
        self._pixels = NearestFrames(self._kept(shot.width * shot.height * 3 * 4))
        self._holes: LRUCache = LRUCache(2 * settings.fill.reach + 2)
        self._foreground: LRUCache = LRUCache(2 * settings.fill.reach + 2)
        # The motion's greys and holes (processing size, 0.3 MB a frame at 1080p) of every frame
        # the fill reaches: the moving layers' points are checked against the holes of t +-
        # moving_reach, and with fewer kept the far pairs' greys pushed those out (2.4 display
        # images read per frame written instead of 1).
        self._greys: LRUCache = LRUCache(2 * settings.fill.reach + 4)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._lock = threading.Lock()
        # Every pair the fill reaches keeps its flow (processing px, float16: 0.6 MB a pair at
        # 1080p): the moving layers follow theirs, and one let go would be fitted again.
        self.motion = ShotMotion(len(self.frames), self._pair, self.scale,
                                 lambda i: self._grey(i)[1], 2 * settings.fill.reach + 4)
        grow = max(0, settings.grow)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))

    def locked(self, call: Callable) -> Callable:
        """`call` made safe for the fill's two threads (one each way): the caches, the
        optical flow's state and the motion fitted on demand are shared."""
        def one_at_a_time(*args):
            with self._lock:
                return call(*args)
        return one_at_a_time

    def hole(self, position: int) -> np.ndarray:
        """(H, W) bool: the objects' mattes at `position`, grown by `settings.grow`."""
        return self._covered(position, self._holes)

    def foreground(self, position: int) -> np.ndarray:
        """(H, W) bool: the foreground's mattes at `position`, grown by `settings.grow`."""
        return self._covered(position, self._foreground)

    def _covered(self, position: int, cache: LRUCache) -> np.ndarray:
        """(H, W) bool from `cache` (`_holes` or `_foreground`): a union of mattes at
        `position`, grown, kept packed (1 bit a pixel). One read of the mattes makes both."""
        h, w = self.shot.height, self.shot.width
        packed = cache.get(position)
        if packed is None:
            covs = self.mattes.read(self.frames[position])
            for names, kept in ((self.settings.objects, self._holes),
                                (self.settings.foreground, self._foreground)):
                if names:
                    covered = np.zeros((h, w), bool)
                    for name in names:
                        covered |= covs[name] > COVERED
                    kept.put(position, np.packbits(
                        cv2.dilate(covered.astype(np.uint8), self._kernel) > 0))
            packed = cache.get(position)
        return np.unpackbits(packed, count=h * w).reshape(h, w).view(bool)

    @property
    def cached(self) -> int:
        """How many plate frames are kept."""
        return self._pixels.maxsize

    def _kept(self, frame_bytes: int) -> int:
        """Frames of `frame_bytes` that the budget keeps: 12 at least, at most what the fill
        reaches (t +- reach)."""
        return int(np.clip(self._budget // max(1, frame_bytes), 12,
                           2 * self.settings.fill.reach + 2))

    def pixels(self, position: int) -> np.ndarray:
        """(H, W, 3): the plate's values over the display window; float16 where that holds
        them exactly (a half plate: twice the frames in the budget; 4K reads were the fill's
        cost), else float32."""
        got = self._pixels.get(position)
        if got is None:
            decoded = self.shot.decoded(self.frames[position])
            got = on_window(decoded.rgb, decoded.data_window, decoded.display_window)
            got = np.ascontiguousarray(got, np.float32)
            if not np.isfinite(got).all():  # one pass where nan_to_num takes four
                got = np.nan_to_num(got, posinf=65504.0)
            half = got.astype(np.float16)
            if np.array_equal(half, got):
                got = half
            shared = np.may_share_memory(got, decoded.rgb)  # a view keeps the whole buffer
            cost = self._kept(max(got.nbytes, decoded.rgb.nbytes if shared else 0))
            # The first frame read says what one costs; a costlier one later lowers it.
            self._pixels.maxsize = cost if not self._pixels else min(self._pixels.maxsize,
                                                                     cost)
            self._pixels.put(position, got)
        return got

    def focus(self, position: int) -> None:
        """The fill is now at `position`: the plate frames kept are those nearest it."""
        self._pixels.focus = position

    def frame(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """(pixels (H, W, 3) float32 over the display window, hole (H, W) bool)."""
        return self.pixels(position).astype(np.float32, copy=False), self.hole(position)

    def _grey(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        got = self._greys.get(position)
        if got is None:
            image = cv2.resize(self.shot.image(self.frames[position]), self.size,
                               interpolation=cv2.INTER_AREA)
            grey = cv2.cvtColor((image * 255.0 + 0.5).astype(np.uint8), cv2.COLOR_RGB2GRAY)
            hole = cv2.resize(self.hole(position).astype(np.uint8), self.size,
                              interpolation=cv2.INTER_AREA) > 0
            got = (grey, hole)
            self._greys.put(position, got)
        return got

    def _pair(self, i: int) -> PairMotion:
        (a, hole_a), (b, hole_b) = self._grey(i), self._grey(i + 1)
        return pair_motion(a, b, hole_a, hole_b, self._dis)


# Frames the fill runs ahead of the temporal pass (`ahead`).
FILLED_AHEAD = 2

# The most frames a run filled before its first (`lead_in_frames`).
LEAD_IN_MAX = 32


def lead_in_frames(carry: float) -> int:
    """Frames filled, not written, before a run that starts after the shot's first frame with
    nothing carried in (a `--range`, a farm task): the invented part keeps `carry` of the frame
    before's, so the history it starts without fades to within 1/255 of the whole run's after
    this many frames (8 at the default 0.5)."""
    if carry <= 0.0:
        return 0
    if carry >= 1.0:
        return LEAD_IN_MAX
    return min(LEAD_IN_MAX, math.ceil(math.log(1.0 / 255.0) / math.log(carry)))


def removed(shot, mattes, frames: Sequence[int], wanted: Sequence[int],
            settings: RemovalSettings,
            cache_mib: int = CACHE_MIB) -> Iterator[RemovedFrame]:
    """Each of `wanted` (in the order of `frames`, the consecutive frames looked at) with the
    objects removed, in order. A frame's result depends on the frames filled before it (what
    no frame saw is carried on) and on the `temporal.span` frames either side (`temporal.py`):
    those are filled too, not yielded; a run of wanted frames that starts after the shot's
    first frame fills `lead_in_frames` and the span before it, so its frames are the whole
    run's to 1/255 (but for a few pixels: the module's docstring).
    cache_mib: the plate frames kept in memory (`RemovalSource`)."""
    source = RemovalSource(shot, mattes, frames, settings, cache_mib)
    position = {f: n for n, f in enumerate(frames)}
    chosen = sorted(position[f] for f in wanted)
    span = settings.temporal.span
    # The frames `span` before the first settle it: they must be the whole run's already.
    before = lead_in_frames(settings.fill.carry) + span
    for first, last in _segments(chosen, before + 2 * span):
        todo = {p for p in chosen if first <= p <= last}
        looked = range(max(0, first - before), min(len(frames), last + span + 1))
        # The fill of the frames ahead runs on a thread of its own while the temporal pass
        # settles those behind (its flows let go of the GIL): docs/tuning.md, session 24.
        for t, result in settled(ahead(_filled(source, looked, settings), FILLED_AHEAD),
                                 source.scale, settings.temporal,
                                 source.locked(source.foreground) if settings.foreground
                                 else None):
            if t in todo:
                yield result


def _segments(positions: Sequence[int], gap: int) -> list[tuple[int, int]]:
    """(first, last) of the sorted `positions` split where more than `gap` frames lie between
    two: filling the frames between costs more than starting afresh."""
    out: list[tuple[int, int]] = []
    for p in positions:
        if out and p - out[-1][1] - 1 <= gap:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def _filled(source: RemovalSource, positions: Sequence[int], settings: RemovalSettings
            ) -> Iterator[tuple[int, RemovedFrame]]:
    """(position, the frame filled on its own: `fill.fill_frame`) for consecutive `positions`,
    what no frame saw carried on from one to the next."""
    previous: tuple[int, np.ndarray] | None = None
    for t in positions:
        source.focus(t)
        pixels, hole = source.frame(t)
        carried = None
        if previous is not None:
            carried = (previous[1], source.motion.between(t, previous[0]))
        result = fill_frame(
            t, len(source.frames), pixels, hole, source.locked(source.pixels),
            source.locked(source.hole), source.locked(source.motion.between), carried,
            settings.fill,
            moving=tuple(source.locked(source.motion.moving(k)) for k in range(MOVING_LAYERS)),
            foreground_of=source.locked(source.foreground) if settings.foreground else None)
        previous = (t, result.pixels)
        yield t, RemovedFrame(source.frames[t], result.pixels, hole, result.unseen)


MANIFEST_NAME = ".mattetrack-remove.json"


def clean_layer(objects: Sequence[str]) -> str:
    """The clean plate's name: its `--merge` layer and its report's entry (`<objects>_clean`)."""
    from mattetrack.export.channels import sanitize_layer_name

    return sanitize_layer_name("_".join(objects)) + "_clean"


class Written(NamedTuple):
    """What `write_removed` did: `count` frames written (the others were there already, the
    same), and `report`, where the clean plate needs paint (`report.removal_report`)."""

    count: int
    report: dict


def _inputs_key(output: str, shot, mattes, frames: Sequence[int], settings: object) -> str:
    """What decides every removed frame: the output's kind, the settings, and every plate frame
    and matte file looked at."""
    parts: list[object] = ["remove", os.path.splitext(output)[1].lower(), repr(settings)]
    for f in frames:
        st = os.stat(mattes.frames[f])
        parts += [shot.frame_key(f), os.path.realpath(mattes.frames[f]), st.st_size,
                  st.st_mtime_ns]
    return resultkeys.digest(*parts)


def write_removed(output: str, shot, mattes, frames: Sequence[int], wanted: Sequence[int],
                  settings: RemovalSettings,
                  on_frame: Callable[[int, bool], None] | None = None,
                  merge_layer: str | None = None, nuke: str | None = None,
                  cache_mib: int = CACHE_MIB, report: str | None = None) -> Written:
    """Write `wanted` frames with the objects removed to `output` (a frame pattern; a .mov for
    a movie plate); returns how many were written and the report (`Written`). on_frame(frame,
    written) after each.
    cache_mib: the plate frames kept in memory (`RemovalSource`).
    merge_layer: copies of the EXR plate with the clean plate added as `<merge_layer>.R/G/B`
    instead (`output.write_merged`). nuke: a Nuke script with a Read of the files, written
    there once they are. report: where the frames' invented shares go (`report.py`), once
    every frame is written; a resumed run's report covers the files kept as they were."""
    from mattetrack.composite.writers import ProResWriter
    from mattetrack.removal.report import invented_share, removal_report
    from mattetrack.report import write_report_doc

    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise InputError(f"{output!r}: folder {folder} does not exist", field="output")
    name = merge_layer or clean_layer(settings.objects)
    if shot.is_movie:
        shares: dict[int, float] = {}
        if os.path.splitext(output)[1].lower() != ".mov":
            raise InputError(f"{output!r}: a movie plate's removal is a .mov (ProRes 4444)",
                             field="output")
        with OutputLock(output):
            movie = ProResWriter(output, shot.fps or 24.0, shot.display_window, wanted[0])
            complete = False
            try:
                for result in removed(shot, mattes, frames, wanted, settings,
                                      cache_mib=cache_mib):
                    movie.write(output, result.pixels, shot.display_window,
                                shot.display_window)
                    shares[result.frame] = invented_share(result.hole, result.unseen)
                    if on_frame is not None:
                        on_frame(result.frame, True)
                complete = True
            finally:
                movie.close(complete)
        doc = removal_report(name, shares, wanted)
        if report is not None:
            write_report_doc(report, doc)
        return Written(len(wanted), doc)
    pattern = FramePattern.parse(output)
    if pattern is None and len(wanted) > 1:
        raise InputError(f"{output!r}: {len(wanted)} frames need a frame pattern "
                         "(clean.####.exr)", field="output")
    path_of = (lambda f: pattern.path(f)) if pattern is not None else (lambda f: output)
    # One writer per output (frame range): farm tasks write their chunks side by side, and a
    # second run over the same frames is refused rather than mixing its files with the first's.
    part = None if list(wanted) == list(frames) else (wanted[0], wanted[-1])
    with OutputLock(output, frames=part):
        return _write_frames(output, path_of, shot, mattes, frames, wanted, settings, on_frame,
                             merge_layer, nuke, cache_mib, report, name)


def _write_frames(output: str, path_of: Callable[[int], str], shot, mattes,
                  frames: Sequence[int], wanted: Sequence[int], settings: RemovalSettings,
                  on_frame, merge_layer: str | None, nuke: str | None, cache_mib: int,
                  report: str | None, name: str) -> Written:
    """`write_removed` of a frame sequence (`path_of(frame)`: its file), its output locked."""
    from mattetrack.atomicfile import atomic_write_bytes
    from mattetrack.export.background import BackgroundWriter
    from mattetrack.export.outputmanifest import OutputManifest
    from mattetrack.removal.output import nuke_script, write_copy, write_merged
    from mattetrack.removal.report import InventedShares, invented_share, removal_report
    from mattetrack.report import write_report_doc

    folder = os.path.dirname(os.path.abspath(output))
    shares: dict[int, float] = {}  # frame: the share of its hole no frame saw
    manifest = OutputManifest(os.path.join(folder, MANIFEST_NAME))
    key = _inputs_key(output, shot, mattes, frames, (settings, merge_layer))
    invented = InventedShares(folder)
    # A file counts as done with its share only (its report entry): a share lost (two farm
    # tasks saving at once, the file damaged) costs that frame's fill again, not the report.
    for f in wanted:
        kept = invented.get(path_of(f), key)
        if kept is not None and manifest.holds(path_of(f), key):
            shares[f] = kept
            if on_frame is not None:
                on_frame(f, False)
    todo = [f for f in wanted if f not in shares]
    try:
        with BackgroundWriter() as writer:
            for result in (removed(shot, mattes, frames, todo, settings, cache_mib)
                           if todo else ()):
                path = path_of(result.frame)
                share = shares[result.frame] = invented_share(result.hole, result.unseen)

                def job(path=path, result=result, share=share) -> None:
                    plate = shot.file(result.frame)
                    if merge_layer is None:
                        write_copy(plate, path, result.pixels)
                    else:
                        write_merged(plate, path, result.pixels, merge_layer)
                    manifest.record(path, key)
                    invented.record(path, key, share)

                writer.submit(path, job)
                if on_frame is not None:
                    on_frame(result.frame, True)
    finally:
        manifest.save()
        invented.save()
    doc = removal_report(name, shares, wanted)
    if report is not None:
        write_report_doc(report, doc)
    if nuke is not None:
        files = {f: os.path.abspath(path_of(f)) for f in wanted}
        text = nuke_script(files, shot.width, shot.height, os.path.abspath(nuke),
                           doc["objects"][0]["suggested"])
        atomic_write_bytes(Path(nuke), text.encode())
    return Written(len(todo), doc)
