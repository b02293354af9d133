"""Per-frame matte files of a shot: where each frame's mattes go, and writing one frame.

Shared by every front end through the pipeline (`export.pipeline`), so all write the same files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mattetrack.errors import InputError
from mattetrack.export.kinds import DEFAULT_COMPRESSION, OUTPUT_KINDS, OutputKind, output_kind
from mattetrack.framepattern import FramePattern
from mattetrack.tables import resolve


class MatteOutput:
    """Where each frame's mattes go: a frame pattern, or one file for a one-frame shot.

    field: the input field it came from, for messages (`output`: `-o` on the command line).
    """

    def __init__(self, text: str, n_frames: int, field: str = "output") -> None:
        base, ext = os.path.splitext(text)
        kind = output_kind(ext)
        if kind is None:
            raise InputError(f"{text!r}: the output must end in "
                             + " or ".join(OUTPUT_KINDS), field=field)
        self.kind: OutputKind = kind
        self.field = field
        try:
            self.pattern = FramePattern.parse(text)
        except ValueError as err:
            raise InputError(f"{text!r}: {err}", field=field) from None
        if self.pattern is None and n_frames > 1:
            raise InputError(
                f"{text!r}: the shot has {n_frames} frames; give a pattern such as "
                f"{base}.####{ext}", field=field)
        self.text = text

    def path(self, frame: int) -> str:
        return self.pattern.path(frame) if self.pattern else self.text


@dataclass(frozen=True)
class WriteOptions:
    """EXR settings (`track`'s --compression, --half/--float, --merge, --window).

    window: "data" writes matte-only files on the plate's data window (as Nuke expects: the
    matte's bounding box is the plate's); "display" on its display window (the mattes are made
    on it, so nothing is lost): Blender 5.0 reads an EXR's data window as the whole image and
    its compositor centres it, so only a file whose data window is its display window lands
    where OpenImageIO and Nuke put it (docs/CONVENTIONS.md, "Blender"). With merge, "display"
    also moves every plate part whose data window is not its display window onto it (decoded and
    re-encoded: not bit for bit), so Blender shows the plate there too.
    """

    compression: str = DEFAULT_COMPRESSION
    half: bool = True
    merge: bool = False
    window: str = "data"
    # A merged copy's Cryptomatte also typed "<part>.<type>" after the named part holding it,
    # as Blender names that part's layers (--blender-cryptomatte).
    part_named_cryptomatte: bool = False


WINDOWS = ("data", "display")


def write_matte_frame(
    options: WriteOptions,
    output: MatteOutput,
    shot,
    frame: int,
    channels: Sequence[str],
    mattes: Sequence[np.ndarray],
    crypto=None,
) -> None:
    """Write frame `frame`'s (H, W) float32 mattes, atomically, with the output kind's writer."""
    resolve(output.kind.writer)(options, output, shot, frame, channels, mattes, crypto)
