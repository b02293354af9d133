"""Movie frames through OpenCV's ffmpeg backend, read on demand (OIIO here has no ffmpeg).

The capture stays open at its position: reading frames in order never seeks; a short jump forwards
grabs (decodes and drops) the frames in between, and only going backwards or jumping far seeks.
"""

from __future__ import annotations

import cv2
import numpy as np

from mattetrack.errors import InputError

# Grabbing up to this many frames is cheaper and more exact than an ffmpeg seek, which lands on a
# keyframe and decodes forwards anyway.
_MAX_GRAB = 16


class MovieReader:
    """Frames 0..frame_count-1 of a movie as (H, W, 3) uint8 RGB; `seeks` counts real seeks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cap = cv2.VideoCapture(path)
        if not self._cap.isOpened():
            raise InputError(f"{path}: cannot open as a movie")
        self._pos = 0  # index of the frame the next read() returns
        self.seeks = 0
        # Decoding frame 0 proves the file is a movie; keep it so that reading from the start
        # afterwards needs no seek back.
        self._first: np.ndarray | None = self._decode(0)
        self.height, self.width = self._first.shape[:2]
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or None  # 0 when unknown
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        # Containers without a frame count (some mkv/webm) report 0 or less: count by decoding.
        self.frame_count = count if count > 0 else self._count_frames()

    def _count_frames(self) -> int:
        count = self._pos
        while self._cap.grab():
            count += 1
        self._pos = count
        return count

    def _decode(self, index: int) -> np.ndarray:
        if index < self._pos or index - self._pos > _MAX_GRAB:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self.seeks += 1
            self._pos = index
        while self._pos < index:
            if not self._cap.grab():
                raise InputError(f"{self.path}: cannot decode frame {self._pos}")
            self._pos += 1
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            # The position is unknown after a failed read: force a seek next time.
            self._pos = 1 << 62
            raise InputError(f"{self.path}: cannot decode frame {index}")
        self._pos = index + 1
        return bgr

    @property
    def next_index(self) -> int:
        """The frame the capture decodes next without seeking."""
        return 0 if self._first is not None else self._pos

    def read(self, index: int) -> np.ndarray:
        """Frame `index` as (H, W, 3) uint8 RGB."""
        bgr = self._first if index == 0 and self._first is not None else self._decode(index)
        self._first = None
        if bgr.shape[:2] != (self.height, self.width):
            raise InputError(f"{self.path}: frame {index} is {bgr.shape[1]}x{bgr.shape[0]}, "
                             f"the movie is {self.width}x{self.height}")
        if bgr.ndim == 2:
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()
