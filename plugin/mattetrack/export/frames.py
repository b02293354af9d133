"""Per-frame matte files of a shot: where each frame's mattes go, and writing one frame.

Shared by `mattetrack track` and the local service, so both write the same files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mattetrack import __version__
from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern


class MatteOutput:
    """Where each frame's mattes go: a frame pattern, or one file for a one-frame shot.

    option: how the user gave it, for messages (`-o` on the command line).
    """

    def __init__(self, text: str, n_frames: int, option: str = "-o") -> None:
        ext = os.path.splitext(text)[1].lower()
        if ext not in (".exr", ".png"):
            raise InputError(f"{option} {text!r}: the output must end in .exr or .png")
        self.kind = ext[1:]
        try:
            self.pattern = FramePattern.parse(text)
        except ValueError as err:
            raise InputError(f"{option} {text!r}: {err}") from None
        if self.pattern is None and n_frames > 1:
            raise InputError(
                f"{option} {text!r}: the shot has {n_frames} frames; give a pattern such as "
                f"{os.path.splitext(text)[0]}.####{ext}"
            )
        self.text = text

    def path(self, frame: int) -> str:
        return self.pattern.path(frame) if self.pattern else self.text


@dataclass(frozen=True)
class WriteOptions:
    """EXR settings (`track`'s --compression, --half/--float, --merge)."""

    compression: str = "zip"
    half: bool = True
    merge: bool = False


def write_matte_frame(
    options: WriteOptions,
    output: MatteOutput,
    shot,  # noqa: ANN001 (a Shot: display/data windows and the plate files)
    frame: int,
    channels: Sequence[str],
    mattes: Sequence[np.ndarray],
    crypto=None,  # noqa: ANN001 (a Cryptomatte or None)
) -> None:
    """Write frame `frame`'s (H, W) float32 mattes, atomically: an 8-bit PNG, a matte-only EXR,
    or (options.merge) a copy of the plate's EXR with the mattes added."""
    path = output.path(frame)
    if output.kind == "png":
        from mattetrack.export.png import write_matte_png

        write_matte_png(path, mattes)
        return
    from mattetrack.export.exr import merge_matte_exr, write_matte_exr

    common = {
        "mattes": dict(zip(channels, mattes, strict=True)),
        "display_window": shot.display_window,
        "compression": options.compression,
        "half": options.half,
        "attributes": {"software": f"MatteTrack {__version__}"},
        "cryptomatte": crypto,
    }
    if not options.merge:
        write_matte_exr(path, data_window=shot.data_window(frame), **common)
        return
    from mattetrack.shot import imagefile

    header = imagefile.probe(shot.file(frame))
    if not header.is_exr:
        raise InputError(f"--merge: the plate {header.path} is not an EXR file")
    merge_matte_exr(header.path, path, data_window=header.data_window, view=header.view,
                    part=header.part, **common)
