"""Matte sequences as input for `mattetrack shapes`: which frames, which objects, their coverage.

- EXR (what `mattetrack track` writes, sidecar or merged): every `<layer>.A` channel is an
  object named `<layer>`, except the Cryptomatte's rank layers and roto channels (`<layer>_roto`
  beside `<layer>`); coverage over the display window.
- PNG and other 8/16-bit images: a grey (or palette) image is one object, `object`, whose
  coverage is the grey value (palette: any non-zero index).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from mattetrack.errors import InputError
from mattetrack.geometry import Box2i
from mattetrack.shot import imagefile, locate
from mattetrack.shot.mask import read_mask

_CRYPTO_NAME = re.compile(r"cryptomatte/[0-9a-f]{7}/name\Z")


@dataclass
class MatteSequence:
    """frames: {frame: path}; objects: names, in channel order; width / height: display window."""

    frames: dict[int, str]
    objects: list[str]
    width: int
    height: int
    is_exr: bool

    def read(self, frame: int) -> dict[str, np.ndarray]:
        """{object name: (height, width) float32 coverage} of `frame`."""
        path = self.frames[frame]
        if not self.is_exr:
            return {self.objects[0]: read_mask(path, self.width, self.height)}
        return _read_exr_mattes(path, self.objects, self.width, self.height)

    def __iter__(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        for frame in sorted(self.frames):
            yield frame, self.read(frame)


def open_mattes(text: str, objects: Sequence[str] | None = None) -> MatteSequence:
    """The matte sequence named by `text` (a pattern such as mattes.####.exr, a folder, or one
    file); `objects` restricts (and orders) the objects taken from EXR files."""
    if os.path.isdir(text):
        _, frames = locate.scan_folder(text)
    elif os.path.isfile(text):
        frames = {locate.single_frame_number(text): text}
    else:
        _, frames = locate.scan_pattern(text)
    first = frames[min(frames)]
    display, is_exr = _display_window(first)
    if not is_exr:
        names = ["object"]
    else:
        names = _exr_matte_names(first)
        if objects:
            missing = [o for o in objects if o not in names]
            if missing:
                raise InputError(f"--objects: {missing[0]!r} is not a matte in {first} "
                                 f"(mattes: {', '.join(names) or 'none'})")
            names = list(objects)
        if not names:
            raise InputError(f"{first}: no matte channels (<object>.A) in the file")
    return MatteSequence(frames, names, display.width, display.height, is_exr)


def _display_window(path: str) -> tuple[Box2i, bool]:
    """(display window, is EXR) from the first part's header; any channels will do (a matte
    file has no colour channels, so `imagefile.probe`, which looks for a plate's, does not)."""
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: {imagefile.short(oiio.geterror())}")
    try:
        return imagefile.windows(inp, inp.spec())[1], inp.format_name() == "openexr"
    finally:
        inp.close()


def _exr_matte_names(path: str) -> list[str]:
    """Layers with an `.A` channel in any part, minus Cryptomatte rank layers."""
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: {imagefile.short(oiio.geterror())}")
    try:
        names: list[str] = []
        crypto: list[str] = []
        part = 0
        while part < imagefile.MAX_PARTS and inp.seek_subimage(part, 0):
            spec = inp.spec()
            for attr in spec.extra_attribs:
                if _CRYPTO_NAME.match(attr.name.removeprefix("openexr:")):
                    crypto.append(str(attr.value))
            for channel in spec.channelnames:
                layer, _, name = channel.rpartition(".")
                if name == "A" and layer and layer not in names:
                    names.append(layer)
            part += 1
    finally:
        inp.close()
    rank_layer = re.compile("|".join(re.escape(c) + r"\d\d" for c in crypto) or r"(?!)")
    names = [n for n in names if not rank_layer.fullmatch(n)]
    return [n for n in names if roto_of(n, names) is None]


def roto_of(layer: str, layers: Sequence[str]) -> str | None:
    """The matte layer whose roto channel `layer` is (`dog_roto` or, written by a later run,
    `matte_dog_roto` next to `dog`), else None."""
    if not layer.endswith("_roto"):
        return None
    base = layer.removesuffix("_roto")
    while base not in layers and base.startswith("matte_"):
        base = base.removeprefix("matte_")
    return base if base in layers and base != layer else None


def _read_exr_mattes(path: str, objects: Sequence[str], width: int,
                     height: int) -> dict[str, np.ndarray]:
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: {imagefile.short(oiio.geterror())}")
    out: dict[str, np.ndarray] = {}
    try:
        part = 0
        while part < imagefile.MAX_PARTS and inp.seek_subimage(part, 0):
            spec = inp.spec()
            for index, channel in enumerate(spec.channelnames):
                layer, _, name = channel.rpartition(".")
                if name != "A" or layer not in objects or layer in out:
                    continue
                pixels = inp.read_image(part, 0, index, index + 1, oiio.FLOAT)
                if pixels is None:
                    raise InputError(f"{path}: {imagefile.short(inp.geterror())}")
                data, display = imagefile.windows(inp, spec)
                if (display.width, display.height) != (width, height):
                    raise InputError(f"{path}: display window {display.width}x{display.height}, "
                                     f"the sequence's is {width}x{height}")
                cov = np.zeros((height, width), np.float32)
                slices = imagefile.display_slices(data, display)
                if slices is not None:
                    source, target = slices
                    cov[target] = np.asarray(pixels, np.float32)[:, :, 0][source]
                out[layer] = np.clip(np.nan_to_num(cov), 0.0, 1.0)
            part += 1
    finally:
        inp.close()
    for name in objects:
        out.setdefault(name, np.zeros((height, width), np.float32))
    return out
