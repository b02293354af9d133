"""The composite's output formats, by the output's suffix (`COMPOSITE_FORMATS`).

Pixels come in premultiplied: (h, w, 3) RGB for a composite, (h, w, 4) RGBA for the object
alone (`--foreground-only`), already in the file's colour space (`frames.Spaces.output`).
- `.exr`: half-float RGB(A), ZIP, over the plate's data window with its display window: a linear
  plate's composite stays linear and keeps its overscan;
- `.tif` / `.tiff`: 16-bit RGB(A), associated (premultiplied) alpha, display window;
- `.png`: 16-bit RGB(A); PNG's alpha is straight by its spec, so OpenImageIO divides the colour
  by it when writing;
- `.mov`: Apple ProRes 4444 (10-bit 4:4:4 with alpha, FFmpeg's prores_ks through PyAV), BT.709
  matrix, premultiplied (in Resolve: the clip's Alpha Mode "Premultiplied"; the Resolve script
  sets it).
Sequence files are written through a temporary file and a rename; a movie is written to a
temporary file renamed when it is complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write, temp_path
from mattetrack.composite.frames import on_window
from mattetrack.errors import InputError, MatteTrackError
from mattetrack.geometry import Box2i


def _write_oiio(path: Path, named: str, pixels: np.ndarray, window: Box2i, display: Box2i,
                kind: str, extra: dict[str, object]) -> None:
    """Write `pixels` to `path` in the format of file name `named` (a temporary file's name
    has no image suffix)."""
    import OpenImageIO as oiio

    h, w, channels = pixels.shape
    spec = oiio.ImageSpec(w, h, channels, kind)
    spec.x, spec.y = window.xmin, window.ymin
    spec.full_x, spec.full_y = display.xmin, display.ymin
    spec.full_width, spec.full_height = display.width, display.height
    spec.channelnames = ("R", "G", "B", "A")[:channels]
    if channels == 4:
        spec.alpha_channel = 3
    for name, value in extra.items():
        spec.attribute(name, value)
    out = oiio.ImageOutput.create(named)
    if out is None:
        raise OSError(oiio.geterror())
    try:
        if not out.open(str(path), spec) or not out.write_image(pixels):
            raise OSError(out.geterror())
    finally:
        out.close()


@dataclass(frozen=True)
class ImageKind:
    """One sequence format: OpenImageIO pixel type and attributes; float files keep the data
    window (integer ones are written over the display window)."""

    pixel: str
    extra: tuple[tuple[str, object], ...] = ()

    @property
    def is_float(self) -> bool:
        return self.pixel == "half"

    def write(self, path: str, pixels: np.ndarray, window: Box2i, display: Box2i) -> None:
        if not self.is_float:
            pixels = np.clip(on_window(pixels, window, display), 0.0, 1.0)
            window = display
        target = Path(path)
        atomic_write(target, lambda tmp: _write_oiio(tmp, path, pixels, window, display,
                                                     self.pixel, dict(self.extra)),
                     os.path.splitext(path)[1].lstrip(".").upper())


def timecode(frame: int, fps: float) -> str:
    """Frame number `frame` as a non-drop HH:MM:SS:FF timecode at `fps` (rounded to whole
    frames a second), so a movie's first frame carries its plate frame's number."""
    rate = max(1, round(fps))
    frame = max(0, frame)
    seconds, ff = divmod(frame, rate)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh % 24:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


class ProResWriter:
    """Frames into one ProRes 4444 movie at `path` (a temporary file until `close`), its start
    timecode the first frame's number (`timecode`): an editor's conform lines it up with the
    plate's frames."""

    is_float = False

    def __init__(self, path: str, fps: float, display: Box2i, first_frame: int = 0) -> None:
        import av

        self.path = path
        self.display = display
        self._tmp = temp_path(Path(path))
        if display.width % 2 or display.height % 2:
            raise InputError(f"{path!r}: ProRes needs an even width and height, the plate is "
                             f"{display.width}x{display.height}", field="output")
        self._container = av.open(str(self._tmp), mode="w", format="mov")
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("prores_ks", rate=rate)
        self._stream.width, self._stream.height = display.width, display.height
        self._stream.pix_fmt = "yuva444p10le"
        self._stream.options = {"profile": "4444", "vendor": "apl0"}
        self._stream.metadata["timecode"] = timecode(first_frame, float(rate))
        from av.video.reformatter import ColorRange, Colorspace

        codec = self._stream.codec_context
        codec.colorspace, codec.color_range = Colorspace.ITU709, ColorRange.MPEG

    def write(self, path: str, pixels: np.ndarray, window: Box2i, display: Box2i) -> None:
        import av
        from av.video.reformatter import ColorRange, Colorspace

        rgba = on_window(pixels, window, display)
        if rgba.shape[2] == 3:
            rgba = np.concatenate([rgba, np.ones_like(rgba[:, :, :1])], axis=2)
        codes = (np.clip(rgba, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
        frame = av.VideoFrame.from_ndarray(codes, format="rgba64le")
        frame = frame.reformat(format="yuva444p10le", dst_colorspace=Colorspace.ITU709,
                               dst_color_range=ColorRange.MPEG)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self, complete: bool) -> None:
        """Finish the movie and rename it into place (complete), or remove it."""
        try:
            if complete:
                for packet in self._stream.encode():
                    self._container.mux(packet)
            self._container.close()
            if complete:
                os.replace(self._tmp, self.path)
        except OSError as err:
            raise MatteTrackError(f"{self.path}: cannot write the movie: {err}") from err
        finally:
            self._tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CompositeFormat:
    description: str
    movie: bool
    kind: ImageKind | None = None


COMPOSITE_FORMATS: dict[str, CompositeFormat] = {
    ".exr": CompositeFormat("half-float EXR, the plate's windows and colour space", False,
                            ImageKind("half", (("compression", "zip"),))),
    ".tif": CompositeFormat("16-bit TIFF, premultiplied alpha", False, ImageKind("uint16")),
    ".tiff": CompositeFormat("16-bit TIFF, premultiplied alpha", False, ImageKind("uint16")),
    ".png": CompositeFormat("16-bit PNG (straight alpha, as PNG has it)", False,
                            ImageKind("uint16")),
    ".mov": CompositeFormat("Apple ProRes 4444 with alpha", True),
}


def composite_format(path: str) -> CompositeFormat:
    """The format of output `path` by its suffix; InputError naming the suffixes."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in COMPOSITE_FORMATS:
        raise InputError(f"{path!r}: the composite must end in {', '.join(COMPOSITE_FORMATS)}",
                         field="output")
    return COMPOSITE_FORMATS[suffix]


Writer = Callable[[str, np.ndarray, Box2i, Box2i], None]
