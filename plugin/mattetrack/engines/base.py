"""The engine interface shared by `classic` and the deep engines.

Engines are stateless with respect to shots: everything about a shot (objects, prompts, keyframe
coverage) is passed in, so one loaded engine serves many sessions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

import numpy as np

from mattetrack.prompts import FramePrompts

# {object id: (H, W) float32 coverage in [0, 1] on the display window}
Coverages = dict[int, np.ndarray]


class FrameSource(Protocol):
    """Frames of a shot, read on demand (a `Shot` is one)."""

    @property
    def frames(self) -> Sequence[int]: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def image(self, frame: int) -> np.ndarray:
        """(H, W, 3) float32 display-referred RGB in [0, 1] covering the display window."""
        ...


class Engine(Protocol):
    name: str

    def select(self, image: np.ndarray, prompts: FramePrompts) -> np.ndarray:
        """Coverage of the prompted object on one frame.

        image: (H, W, 3) float32 display-referred RGB in [0, 1]. Returns (H, W) float32 in [0, 1].
        """
        ...

    def prepare(self, image: np.ndarray) -> None:
        """Precompute what `select` will need for this image (its features), so that the first
        click on a frame the artist is looking at answers sooner. Only a memo: skipping it
        changes no result. image: (H, W, 3) float32 display-referred RGB in [0, 1]."""
        ...

    def propagate(
        self,
        source: FrameSource,
        keyframes: Mapping[int, Mapping[int, np.ndarray]],
        frames: Sequence[int],
    ) -> Iterator[tuple[int, Coverages]]:
        """Propagate keyframe coverage through `frames`.

        keyframes: {object id: {frame: (H, W) float32 coverage}}; every object has at least one.
        Runs forwards and backwards from every keyframe and blends between neighbouring keyframes;
        a keyframe's own coverage is returned unchanged on its frame. Yields (frame, {object id:
        coverage}) for every frame of `frames` in ascending order, one at a time, so memory does not
        grow with shot length.
        """
        ...
