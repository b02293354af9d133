"""Type stubs for `mattetrack._native` (pybind11, OpenEXR). Private: use `mattetrack.export`."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

def openexr_version() -> str:
    """Version of the OpenEXR library the module was built against, e.g. "3.1.5"."""

def write_exr(
    path: str,
    channels: Sequence[str],
    planes: Sequence[npt.NDArray[np.float32]],
    data_window: tuple[int, int, int, int],
    display_window: tuple[int, int, int, int],
    compression: str = "zip",
    half: bool = True,
    attributes: dict[str, str] | None = None,
) -> None:
    """Write one scanline EXR part to exactly `path` (no temporary file; callers do that).

    planes[i]: C-contiguous native float32, shape (data height, data width), channel channels[i]
        over the data window, row 0 = data_window ymin.
    data_window, display_window: inclusive pixel boxes (xmin, ymin, xmax, ymax).
    compression: zip, zips, piz, rle or none. half: HALF channels if true, else FLOAT.
    attributes: extra header attributes, written as OpenEXR string attributes.

    Raises ValueError (bad arguments, checked before anything is written), OSError (cannot
    open or write `path`), RuntimeError or MemoryError; messages are one line naming `path`.
    Pixel conversion and I/O run with the GIL released.
    """

def validate_exr(path: str) -> None:
    """Read every part's header and every pixel of the EXR at `path` with the GIL released.

    Raises ValueError("<path>: <reason>") if the file is missing, damaged, implausible (header
    sanity checks against the file size run before any pixel is decoded) or holds deep data.
    """
