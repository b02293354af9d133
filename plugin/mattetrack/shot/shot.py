"""`Shot`: the frames of a plate (sequence, folder, single image or movie), read on demand.

`image(frame)` gives (H, W, 3) float32 display-referred sRGB in [0, 1] covering the display window,
from a bounded LRU cache. Only the first frame's header is read when a shot opens; every other
frame is decoded when it is asked for.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from mattetrack.color import ColorConverter
from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern
from mattetrack.geometry import Box2i
from mattetrack.shot import imagefile, locate
from mattetrack.shot.cache import LRUCache
from mattetrack.shot.movie import MovieReader


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
        self._cache: LRUCache[int, np.ndarray] = LRUCache(cache_size)
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: str,
        *,
        colorspace: str | None = None,
        frame_range: tuple[int, int] | None = None,
        cache_size: int = 8,
    ) -> Shot:
        """Opens a pattern (`plate.####.exr`, `%04d`), a folder of frames, one image or a movie.

        `frame_range` (first, last), inclusive, keeps the frames inside it. Errors: InputError.
        """
        path = os.fspath(path)
        converter = ColorConverter(colorspace)
        if os.path.isfile(path) and locate.is_movie(path):
            movie = MovieReader(path)
            try:
                frames = _restrict(list(range(movie.frame_count)), frame_range, path)
            except InputError:
                movie.close()
                raise
            window = Box2i.from_size(movie.width, movie.height)
            return cls(path, None, movie, frames, window, False, converter, cache_size)

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
            path, files, None, frames, header.display_window, header.is_float, converter, cache_size
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
    def is_movie(self) -> bool:
        return self._movie is not None

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
        with self._lock:
            cached = self._cache.get(frame)
            if cached is not None:
                return cached
            rgb = self._read_movie(frame) if self._movie is not None else self._read_file(frame)
            rgb.setflags(write=False)
            self._cache.put(frame, rgb)
            return rgb

    def _read_movie(self, frame: int) -> np.ndarray:
        assert self._movie is not None
        pixels = self._movie.read(frame).astype(np.float32) * np.float32(1.0 / 255.0)
        return self._converter.to_display(pixels, self._source_is_float)

    def _read_file(self, frame: int) -> np.ndarray:
        assert self._files is not None
        path = self._files[frame]
        header = imagefile.probe(path)
        display = header.display_window
        if (display.width, display.height) != (self.width, self.height):
            raise InputError(
                f"{path}: display window is {display.width}x{display.height}, "
                f"the shot's is {self.width}x{self.height}"
            )
        pixels = imagefile.read(header)
        out = np.zeros((self.height, self.width, 3), dtype=np.float32)
        slices = imagefile.display_slices(header.data_window, display)
        if slices is not None:
            source, target = slices
            # Convert only the visible part, then place it: outside the data window stays 0.
            out[target] = self._converter.to_display(pixels[source], self._source_is_float)
        return out

    def close(self) -> None:
        """Releases the movie capture (image shots hold no open files)."""
        if self._movie is not None:
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
            raise InputError(f"--range {first}-{last}: the first frame is after the last")
        kept = [f for f in frames if first <= f <= last]
    if not kept:
        have = f"{frames[0]}-{frames[-1]}" if frames else "none"
        wanted = f" in --range {frame_range[0]}-{frame_range[1]}" if frame_range else ""
        raise InputError(f"{label}: no frames{wanted} (the shot has frames {have})")
    return kept
