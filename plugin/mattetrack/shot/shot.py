"""`Shot`: the frames of a plate (sequence, folder, single image or movie), read on demand.

`image(frame)` gives (H, W, 3) float32 display-referred sRGB in [0, 1] covering the display window,
from a bounded LRU cache. Only the first frame's header is read when a shot opens; every other
frame is decoded when it is asked for.

Read-ahead: when `image()` is called for neighbouring frames in a row (forwards or backwards), the
next `prefetch` frames in that direction are decoded and converted on background threads while
the caller computes (OIIO, OCIO and OpenCV release the GIL): as many as `prefetch` and the CPU
count allow for image files, so a fast engine (a GPU) is not held to one core's decoding rate, and
one for a movie, whose frames come in order; `prefetch(frames)` asks for specific frames. Memory
stays bounded by `cache_size` + `prefetch` frames, whatever the shot's length.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mattetrack.color import ColorConverter
from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern
from mattetrack.geometry import Box2i
from mattetrack.lru import LRUCache
from mattetrack.shot import imagefile, locate
from mattetrack.shot.movie import MovieReader


@dataclass(frozen=True)
class Decoded:
    """A frame as decoded, before any colour conversion: `rgb` (h, w, 3) float32 over its data
    window (integer files and movies normalised to [0, 1]), in the plate's own colour space."""

    rgb: np.ndarray
    data_window: Box2i
    display_window: Box2i
    is_float: bool


@dataclass
class ReadStats:
    """Seconds spent decoding and converting frames (on any thread), and where frames came from.

    `waited` is the time callers of `image()` were blocked on a read; with read-ahead keeping up
    it stays far below decode + colour.
    """

    decode: float = 0.0
    colour: float = 0.0
    waited: float = 0.0
    frames_read: int = 0
    prefetched: int = 0
    hits: int = 0
    first_at: float | None = None  # time.perf_counter() when the first frame was ready


class Shot:
    """A plate's frames; build one with `Shot.open`. Safe to share between threads."""

    def __init__(
        self,
        path: str,
        files: dict[int, str] | None,
        movie: MovieReader | None,
        frames: list[int],
        display_window: Box2i,
        source_is_float: bool,
        converter: ColorConverter,
        cache_size: int,
        prefetch: int = 0,
    ) -> None:
        self._path = path
        self._files = files  # {frame: file} for image shots, None for a movie
        self._movie = movie
        self._frames = frames
        self._frame_set = frozenset(frames)
        self._display_window = display_window
        self._source_is_float = source_is_float
        self._converter = converter
        self._colorspace = converter.source_colorspace(source_is_float)
        self._converter_key: tuple | None = None
        self._cache: LRUCache[int, np.ndarray] = LRUCache(cache_size)
        self._lock = threading.Lock()  # guards the cache, _loading, _queued and the stats
        # One capture: reads in turn. Re-entrant so that a read-ahead can check the capture's
        # position and read under one hold.
        self._movie_lock = threading.RLock()
        self._position = {f: i for i, f in enumerate(frames)}
        # Frames being read right now -> the future their result lands in; a second caller of
        # the same frame waits on it instead of reading the file again.
        self._loading: dict[int, Future[np.ndarray]] = {}
        # Read-ahead: at most `prefetch` frames queued or in flight, never more than the cache
        # can hold next to the frame in use.
        self._depth = max(0, min(prefetch, cache_size - 1))
        self._queued: set[int] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._last: int | None = None  # position of the last image() call
        self._step = 0  # direction of access: +1, -1, or 0 (none)
        self._closed = False
        self.stats = ReadStats()

    @classmethod
    def open(
        cls,
        path: str,
        *,
        colorspace: str | None = None,
        frame_range: tuple[int, int] | None = None,
        cache_size: int = 8,
        prefetch: int = 2,
        exact_colour: bool = False,
        frame_numbers: str = "index",
    ) -> Shot:
        """Opens a pattern (`plate.####.exr`, `%04d`), a folder of frames, one image or a movie.

        `frame_range` (first, last), inclusive, keeps the frames inside it. `cache_size` decoded
        frames are kept; up to `prefetch` more are read ahead (0: no read-ahead).
        `exact_colour` uses the exact OCIO processor instead of its baked LUT. `frame_numbers`
        ("index" or "timecode"): how a movie's frames are numbered, from 0 or from its start
        timecode. Errors: InputError.
        """
        path = os.fspath(path)
        converter = ColorConverter(colorspace, exact=exact_colour)
        if os.path.isfile(path) and locate.is_movie(path):
            movie = MovieReader(path, frame_numbers)
            try:
                frames = _restrict(list(range(movie.first, movie.first + movie.frame_count)),
                                   frame_range, path)
                if colorspace is None:  # the stream's own colour tags, when the config knows them
                    tagged = converter.first_known(movie.colour_spaces)
                    if tagged is not None:
                        converter = ColorConverter(tagged, exact=exact_colour)
            except InputError:
                movie.close()
                raise
            window = Box2i.from_size(movie.width, movie.height)
            return cls(
                path, None, movie, frames, window, False, converter, cache_size, prefetch
            )

        pattern: FramePattern | None = None
        if os.path.isdir(path):
            pattern, files = locate.scan_folder(path)
            label = str(pattern)
        elif os.path.isfile(path):
            files = {locate.single_frame_number(path): path}
            label = path
        else:
            pattern, files = locate.scan_pattern(path)
            label = path
        frames = _restrict(list(files), frame_range, label)
        files = {frame: files[frame] for frame in frames}
        locate.check_no_gaps(files, pattern, label)
        header = imagefile.probe(files[frames[0]])
        return cls(
            path, files, None, frames, header.display_window, header.is_float, converter,
            cache_size, prefetch,
        )

    # -- description -------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The path the shot was opened from, as given."""
        return self._path

    @property
    def frames(self) -> list[int]:
        """Frame numbers in order (a copy)."""
        return list(self._frames)

    @property
    def display_window(self) -> Box2i:
        """The first frame's display window; all frames have its size."""
        return self._display_window

    @property
    def width(self) -> int:
        return self._display_window.width

    @property
    def height(self) -> int:
        return self._display_window.height

    @property
    def colorspace(self) -> str:
        """The source colour space the plate is read as (OCIO name)."""
        return self._colorspace

    @property
    def source_is_float(self) -> bool:
        """Whether the plate's pixels are floats (EXR, float TIFF): its default colour space."""
        return self._source_is_float

    @property
    def config(self):
        """The OCIO config the shot's colours are read through."""
        return self._converter.config

    @property
    def is_movie(self) -> bool:
        return self._movie is not None

    @property
    def fps(self) -> float | None:
        """A movie's frame rate; None for frame sequences (they carry none)."""
        return self._movie.fps if self._movie is not None else None

    def check_frame(self, frame: int) -> None:
        """InputError when `frame` is not one of the shot's frames."""
        if frame not in self._frame_set:
            first, last = self._frames[0], self._frames[-1]
            span = f"frame {first}" if first == last else f"frames {first}-{last}"
            raise InputError(f"frame {frame} is not in the shot ({span})")

    def file(self, frame: int) -> str:
        """The file holding `frame` (the movie file for a movie)."""
        self.check_frame(frame)
        return self._path if self._files is None else self._files[frame]

    def frame_key(self, frame: int) -> tuple:
        """What decides `image(frame)`: the file (real path, size, modification time), the
        frame number and the colour conversion, for result keys (`mattetrack.resultkeys`)."""
        self.check_frame(frame)
        path = self._path if self._files is None else self._files[frame]
        st = os.stat(path)
        if self._converter_key is None:
            self._converter_key = self._converter.key(self._source_is_float)
        return os.path.realpath(path), st.st_size, st.st_mtime_ns, frame, self._converter_key

    def data_window(self, frame: int) -> Box2i:
        """Where `frame` has pixels (EXR); the display window for a movie or other formats."""
        self.check_frame(frame)
        if self._files is None:
            return self._display_window
        return imagefile.probe(self._files[frame]).data_window

    # -- pixels --------------------------------------------------------------------------------

    def image(self, frame: int) -> np.ndarray:
        """(height, width, 3) float32 display sRGB in [0, 1] over the display window, read-only.

        Data-window pixels sit at their offset in the display window; outside it is 0.
        """
        self.check_frame(frame)
        rgb = self._get(frame, wait=True)
        self._read_ahead(self._position[frame])
        assert rgb is not None
        return rgb

    def decoded(self, frame: int) -> Decoded:
        """`frame` as decoded, in the plate's own colour space (`colorspace`), without the
        conversion and the cache of `image`: for writers that keep the plate's values."""
        self.check_frame(frame)
        if self._movie is not None:
            with self._movie_lock:
                pixels = self._movie.read(frame)
            rgb = pixels.astype(np.float32)
            rgb *= np.float32(1.0 / self._movie.max_value)
            return Decoded(rgb, self._display_window, self._display_window, False)
        assert self._files is not None
        header = imagefile.probe(self._files[frame])
        shown = header.display_window
        if (shown.width, shown.height) != (self.width, self.height):
            raise InputError(f"{self._files[frame]}: display window is {shown.width}x"
                             f"{shown.height}, the shot's is {self.width}x{self.height}")
        return Decoded(imagefile.read(header), header.data_window, header.display_window,
                       header.is_float)

    def prefetch(self, frames: Sequence[int]) -> None:
        """A hint: read these frames in the background, in order, as far as the read-ahead depth
        allows (frames beyond it, unknown, cached or already loading are skipped)."""
        self._schedule([f for f in frames if f in self._frame_set], speculative=False)

    def _get(self, frame: int, wait: bool) -> np.ndarray | None:
        """The frame from the cache, from a read in progress, or read now on this thread.

        wait=False (read-ahead): returns None at once when the frame is cached or loading.
        """
        with self._lock:
            if not wait and frame in self._cache:
                return None  # a read-ahead must not refresh the frame's place in the LRU order
            cached = self._cache.get(frame)
            if cached is not None:
                self.stats.hits += 1
                return cached
            future = self._loading.get(frame)
            owner = future is None
            if owner:
                future = Future()
                self._loading[frame] = future
            elif not wait:
                return None
        assert future is not None
        if owner:
            self._load(frame, future, prefetched=not wait)
        if not wait:
            return None
        started = time.perf_counter()
        try:
            return future.result()
        finally:
            with self._lock:
                self.stats.waited += time.perf_counter() - started

    def _load(self, frame: int, future: Future[np.ndarray], prefetched: bool) -> None:
        """Read `frame`, publish it in the cache and resolve `future` (with the error if any)."""
        try:
            rgb, decode, colour = self._read(frame)
        except BaseException as err:  # the waiter gets the very same InputError
            with self._lock:
                self._loading.pop(frame, None)
            future.set_exception(err)
            if not isinstance(err, Exception):
                raise  # KeyboardInterrupt and the like
            return
        rgb.setflags(write=False)
        with self._lock:
            self._cache.put(frame, rgb)
            self._loading.pop(frame, None)
            self.stats.decode += decode
            self.stats.colour += colour
            self.stats.frames_read += 1
            self.stats.prefetched += prefetched
            if self.stats.first_at is None:
                self.stats.first_at = time.perf_counter()
        future.set_result(rgb)

    def _read_ahead(self, position: int) -> None:
        """After an access at `position`, keep the next frames in its direction coming."""
        last, self._last = self._last, position
        if self._depth == 0 or last is None or abs(position - last) != 1:
            self._step = 0
            return  # no direction yet (or a jump): read nothing speculatively
        self._step = step = position - last
        ahead = range(position + step, position + step * (self._depth + 1), step)
        self._schedule([self._frames[p] for p in ahead if 0 <= p < len(self._frames)], True)

    def _still_ahead(self, frame: int) -> bool:
        """Whether `frame` is still among the next frames in the direction of access."""
        last, step = self._last, self._step
        if last is None or step == 0:
            return False
        return 0 < (self._position[frame] - last) * step <= self._depth

    def _schedule(self, frames: list[int], speculative: bool) -> None:
        if self._depth == 0 or self._closed:
            return
        with self._lock:
            for frame in frames:
                if len(self._queued) >= self._depth:
                    break
                if frame in self._queued or frame in self._loading or frame in self._cache:
                    continue
                if self._pool is None:
                    workers = min(self._depth, os.cpu_count() or 1)
                    workers = 1 if self._movie is not None else workers
                    self._pool = ThreadPoolExecutor(workers, thread_name_prefix="mattetrack-read")
                self._queued.add(frame)
                self._pool.submit(self._prefetch_one, frame, speculative)

    def _prefetch_one(self, frame: int, speculative: bool) -> None:
        try:
            if self._movie is None:
                # A read-ahead queued behind a slow thread start may be stale by now.
                if not speculative or self._still_ahead(frame):
                    # Errors stay in the frame's future until someone asks for that frame.
                    self._get(frame, wait=False)
                return
            with self._movie_lock:
                # Checked under the capture's lock, so the reader cannot move on in between: a
                # stale read-ahead, or one that would seek backwards, costs more than it saves.
                stale = speculative and not self._still_ahead(frame)
                if not stale and frame >= self._movie.next_index:
                    self._get(frame, wait=False)
        except Exception:
            pass
        finally:
            with self._lock:
                self._queued.discard(frame)

    def _read(self, frame: int) -> tuple[np.ndarray, float, float]:
        """(display RGB, decode seconds, colour seconds) of `frame`, read on this thread."""
        if self._movie is not None:
            return self._read_movie(frame)
        return self._read_file(frame)

    def _read_movie(self, frame: int) -> tuple[np.ndarray, float, float]:
        assert self._movie is not None
        started = time.perf_counter()
        with self._movie_lock:
            pixels = self._movie.read(frame)
        rgb = pixels.astype(np.float32)
        rgb *= np.float32(1.0 / self._movie.max_value)  # 8 or 16 bits
        decoded = time.perf_counter()
        self._converter.convert_in_place(rgb, self._source_is_float, unit_range=True)
        return rgb, decoded - started, time.perf_counter() - decoded

    def _read_file(self, frame: int) -> tuple[np.ndarray, float, float]:
        assert self._files is not None
        started = time.perf_counter()
        path = self._files[frame]
        header = imagefile.probe(path)
        display = header.display_window
        if (display.width, display.height) != (self.width, self.height):
            raise InputError(
                f"{path}: display window is {display.width}x{display.height}, "
                f"the shot's is {self.width}x{self.height}"
            )
        # A float file whose conversion reads half floats as stored (colorencode) is read so.
        half = header.is_float and self._converter.reads_half(self._source_is_float)
        pixels = imagefile.read(header, keep_half=True) if half else imagefile.read(header)
        decoded = time.perf_counter()
        # Integer files decode to [0, 1] already: a pass-through conversion is then free.
        unit = not header.is_float

        def converted(x: np.ndarray) -> np.ndarray:
            return self._converter.converted(x, self._source_is_float, unit_range=unit)

        if header.data_window == display:
            return converted(pixels), decoded - started, time.perf_counter() - decoded
        out = np.zeros((self.height, self.width, 3), dtype=np.float32)
        slices = imagefile.display_slices(header.data_window, display)
        if slices is not None:
            source, target = slices
            # Convert only the visible part, then place it: outside the data window stays 0.
            out[target] = converted(np.ascontiguousarray(pixels[source]))
        return out, decoded - started, time.perf_counter() - decoded

    def close(self) -> None:
        """Stops the read-ahead and releases the movie capture (image shots hold no open files)."""
        self._closed = True
        if self._pool is not None:
            # Queued read-aheads are dropped; one in flight finishes (a frame's worth of time).
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._movie is not None:
            with self._movie_lock:
                self._movie.close()

    def __enter__(self) -> Shot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        span = f"{self._frames[0]}-{self._frames[-1]}"
        size = f"{self.width}x{self.height}"
        return f"Shot({self._path!r}, frames {span}, {size}, {self._colorspace})"


def _restrict(frames: list[int], frame_range: tuple[int, int] | None, label: str) -> list[int]:
    """`frames` inside the inclusive `frame_range`; InputError when none are."""
    if frame_range is None:
        kept = frames
    else:
        first, last = frame_range
        if first > last:
            raise InputError(f"{first}-{last}: the first frame is after the last", field="range")
        kept = [f for f in frames if first <= f <= last]
    if not kept:
        have = f"{frames[0]}-{frames[-1]}" if frames else "none"
        wanted = f" in --range {frame_range[0]}-{frame_range[1]}" if frame_range else ""
        raise InputError(f"{label}: no frames{wanted} (the shot has frames {have})")
    return kept
