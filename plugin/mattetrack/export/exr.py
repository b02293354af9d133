"""EXR matte output through the native OpenEXR writer (`mattetrack._native`).

Mattes are (H, W) float32 coverage in [0, 1] over the *display window* (see `geometry`); the file
stores them over its *data window*, which may be smaller than, larger than (overscan) or offset
from the display window. Pixels outside the display window are written as 0.

Files are written to a temporary name in the target folder and renamed into place, so a failed
or interrupted write never replaces an earlier file (docs/ARCHITECTURE.md, "Reliability rules").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from mattetrack import _native
from mattetrack.atomicfile import atomic_write
from mattetrack.errors import InputError, MatteTrackError
from mattetrack.export.cryptomatte import Cryptomatte
from mattetrack.export.kinds import COMPRESSIONS
from mattetrack.geometry import Box2i


def write_matte_exr(
    path: str | os.PathLike[str],
    mattes: Mapping[str, np.ndarray],
    display_window: Box2i,
    data_window: Box2i,
    compression: str = "zip",
    half: bool = True,
    attributes: Mapping[str, str] | None = None,
    cryptomatte: Cryptomatte | None = None,
) -> None:
    """Write `mattes` as one channel each to a single-part scanline EXR at `path`.

    mattes: full channel name (e.g. "dog.A") -> (display height, display width) coverage over
        `display_window`, origin at (display_window.xmin, display_window.ymin); clipped to [0, 1].
    data_window: the pixels the file stores (inclusive box); may differ from the display window.
    compression: one of zip, zips, piz, rle, none (lossless only).
    half: HALF channels when true, FLOAT otherwise (a Cryptomatte is always FLOAT).
    attributes: extra string attributes for the header.
    cryptomatte: also rank the mattes into a Cryptomatte (its layers and manifest).

    Raises MatteTrackError (one line, naming `path`) on bad arguments or a failed write; an
    existing file at `path` is then left as it was.
    """
    target = Path(path)
    spec = _native_spec(target, mattes, display_window, data_window, compression, half,
                        attributes, cryptomatte)
    _atomic(target, lambda tmp: _native.write_exr(str(tmp), spec))


def merge_matte_exr(
    plate: str | os.PathLike[str],
    path: str | os.PathLike[str],
    mattes: Mapping[str, np.ndarray],
    display_window: Box2i,
    data_window: Box2i,
    compression: str = "zip",
    half: bool = True,
    attributes: Mapping[str, str] | None = None,
    cryptomatte: Cryptomatte | None = None,
    view: str = "",
    part: int = 0,
    part_name: str = "mattetrack",
    in_place: bool = False,
    part_named_cryptomatte: bool = False,
    on_display: bool = False,
) -> None:
    """Write a copy of the EXR `plate` to `path` with the mattes (and Cryptomatte) added.

    Every pixel bit (NaN payloads too), attribute, window, tiling, mip level, view and codec of
    the plate is kept. The new channels join the plate's part `part` (the one the mattes were
    made from, over its `data_window`) when that part can be rewritten exactly: scanline, a
    lossless codec (none, rle, zips, zip, piz). Otherwise (tiled or mip-mapped, DWA, B44, PXR24)
    that part is copied chunk for chunk and the channels go to a scanline part of their own,
    named `part_name`, with `view` when the plate is multi-view; a single-part plate then gains
    the part name and type that multi-part files require. Every part gets the Cryptomatte's
    header attributes (readers look for them in the part they read). Other arguments as in
    `write_matte_exr`. The plate is only read, unless `in_place` allows `path` to be the plate
    (for files MatteTrack wrote, never input plates): the copy is then renamed over it once
    complete, as every output is. part_named_cryptomatte: the Cryptomatte also under the type
    "<part name>.<type>" when the part holding it has a name (Blender reads a named part's
    layers as "<part>.<layer>"; docs/CONVENTIONS.md, "Blender"). on_display: every part whose
    data window is not its display window is moved onto it (zero outside the data window,
    cropped past it; scanline, full resolution, a lossy codec replaced by ZIP: not bit for bit),
    so that Blender, which shows a data window as the whole image, shows the plate where other
    readers do; give `data_window` = `display_window` then, and the mattes join the plate's part.
    """
    target = Path(path)
    source = Path(plate)
    if target.resolve() == source.resolve() and not in_place:
        raise MatteTrackError(f"{target}: the merged copy would overwrite the plate")
    spec = _native_spec(target, mattes, display_window, data_window, compression, half,
                        attributes, cryptomatte)
    _atomic(target, lambda tmp: _native.merge_exr(str(source), str(tmp), spec,
                                                  part_name=part_name, view=view,
                                                  extend_part=part,
                                                  part_named_cryptomatte=part_named_cryptomatte,
                                                  on_display=on_display))


def _native_spec(
    target: Path,
    mattes: Mapping[str, np.ndarray],
    display_window: Box2i,
    data_window: Box2i,
    compression: str,
    half: bool,
    attributes: Mapping[str, str] | None,
    cryptomatte: Cryptomatte | None,
) -> _native.MatteSpec:
    """The checked spec of the part the native writers write."""
    channels, planes = _data_planes(target, mattes, display_window, data_window)
    if compression not in COMPRESSIONS:
        raise MatteTrackError(
            f"{target}: unsupported compression {compression!r}; expected one of "
            + ", ".join(COMPRESSIONS)
        )
    header = dict(attributes) if attributes is not None else {}
    crypto = None
    if cryptomatte is not None:
        try:
            cryptomatte.check()
            crypto = cryptomatte.native_args(len(channels))
        except MatteTrackError as err:
            raise MatteTrackError(f"{target}: {err}") from None
        header.update(cryptomatte.attributes())
    return _native.MatteSpec(
        channels=channels,
        planes=planes,
        data_window=data_window.as_tuple(),
        display_window=display_window.as_tuple(),
        compression=compression,
        half=half,
        attributes=header or None,
        cryptomatte=crypto,
    )


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Run `write(tmp)` and rename tmp to `target` (`atomicfile.atomic_write`)."""
    atomic_write(target, write, "EXR")


def validate_exr(path: str | os.PathLike[str]) -> None:
    """Read every header and pixel of the EXR at `path`; InputError naming the file if damaged.

    Deep parts count as unusable. Runs without the GIL, so it can be used from worker threads.
    """
    try:
        _native.validate_exr(os.fspath(path))
    except ValueError as err:
        raise InputError(f"damaged or unreadable EXR: {err}") from err


def _data_planes(
    target: Path,
    mattes: Mapping[str, np.ndarray],
    display_window: Box2i,
    data_window: Box2i,
) -> tuple[list[str], list[np.ndarray]]:
    """Channel names and (data height, data width) float32 planes covering `data_window`."""
    for name, box in (("display window", display_window), ("data window", data_window)):
        if not isinstance(box, Box2i) or box.empty:
            raise MatteTrackError(f"{target}: {name} must be a non-empty Box2i, got {box!r}")
    if not mattes:
        raise MatteTrackError(f"{target}: no mattes to write")
    shape = (display_window.height, display_window.width)
    # Where the data window overlaps the display window, in display-array and data-array indices;
    # the rest of the data window (overscan) stays 0.
    overlap = data_window.intersect(display_window)
    channels: list[str] = []
    planes: list[np.ndarray] = []
    for name, matte in mattes.items():
        if not isinstance(name, str) or not name:
            raise MatteTrackError(f"{target}: channel name {name!r} must be a non-empty string")
        coverage = np.asarray(matte)
        if coverage.shape != shape:
            raise MatteTrackError(
                f"{target}: matte {name!r} has shape {coverage.shape}; the display window "
                f"needs {shape}"
            )
        if not (np.issubdtype(coverage.dtype, np.floating) or coverage.dtype == np.bool_):
            raise MatteTrackError(
                f"{target}: matte {name!r} has dtype {coverage.dtype}; expected float coverage"
            )
        if not np.isfinite(coverage).all():
            raise MatteTrackError(f"{target}: matte {name!r} contains NaN or infinite values")
        plane = np.zeros((data_window.height, data_window.width), np.float32)
        if overlap is not None:
            src = coverage[
                overlap.ymin - display_window.ymin : overlap.ymax - display_window.ymin + 1,
                overlap.xmin - display_window.xmin : overlap.xmax - display_window.xmin + 1,
            ]
            dst = plane[
                overlap.ymin - data_window.ymin : overlap.ymax - data_window.ymin + 1,
                overlap.xmin - data_window.xmin : overlap.xmax - data_window.xmin + 1,
            ]
            dst[...] = src
            np.clip(dst, 0.0, 1.0, out=dst)
        channels.append(name)
        planes.append(plane)
    return channels, planes


def write_matte_frame_exr(options, output, shot, frame, channels, mattes, crypto=None) -> None:
    """`export.kinds` writer: frame `frame`'s (H, W) float32 mattes as `output.path(frame)`, a
    matte-only EXR on the plate's windows or (options.merge) a copy of the plate's EXR with the
    mattes added."""
    from mattetrack import __version__

    common = {
        "mattes": dict(zip(channels, mattes, strict=True)),
        "display_window": shot.display_window,
        "compression": options.compression,
        "half": options.half,
        "attributes": {"software": f"MatteTrack {__version__}"},
        "cryptomatte": crypto,
    }
    path = output.path(frame)
    if not options.merge:
        window = shot.display_window if options.window == "display" else shot.data_window(frame)
        write_matte_exr(path, data_window=window, **common)
        return
    from mattetrack.shot import imagefile

    header = imagefile.probe(shot.file(frame))
    if not header.is_exr:
        raise InputError(f": the plate {header.path} is not an EXR file", field="merge")
    on_display = options.window == "display"
    merge_matte_exr(header.path, path,
                    data_window=shot.display_window if on_display else header.data_window,
                    view=header.view, part=header.part,
                    part_named_cryptomatte=options.part_named_cryptomatte,
                    on_display=on_display, **common)
