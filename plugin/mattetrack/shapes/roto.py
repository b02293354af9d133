"""Roto mask channels: the shapes rasterised back into `<object>_roto.A` channels next to the
mattes, so a compositor gets the smooth, temporally steady shape matte beside the raw one.

Rasterising is native (`mattetrack._native.rasterise_shapes`): each pixel gets the exact area
of it inside the shapes (holes taken away), then an optional feather, a tent filter whose
straight-edge ramp is `feather` pixels wide, centred on the outline. The channels are added to
each matte file with the merge rules of `mattetrack track --merge` (export/exr.py): into the
part that holds the mattes when it can be rewritten exactly, else as a part of its own; every
other channel, part and attribute is kept bit for bit. Layer names keep clear of the file's
(a second run gives `matte_<object>_roto`, as a second merge does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from mattetrack import _native
from mattetrack.errors import InputError
from mattetrack.export.channels import layer_names, matte_channel
from mattetrack.geometry import Box2i
from mattetrack.shapes.bezier import flatten
from mattetrack.shapes.document import ShapeDocument, ShapeObject
from mattetrack.shapes.source import roto_of
from mattetrack.shot import imagefile

# Points per Bezier segment when flattening: fitted segments are rarely longer than ~60 px, and
# 16 chords keep the polygon within a few hundredths of a pixel of the curve there.
SAMPLES = 16


def roto_coverage(obj: ShapeObject, frame: int, width: int, height: int,
                  feather: float = 0.0, samples: int = SAMPLES) -> np.ndarray:
    """(height, width) float32 in [0, 1]: the area of each display-window pixel inside `obj`'s
    shapes on `frame` (holes subtracting), feathered over `feather` px; zeros when absent."""
    polygons, holes = [], []
    for shape in obj.shapes:
        rows = shape.frames.get(frame)
        if rows is not None:
            polygons.append(np.ascontiguousarray(flatten(rows, samples), np.float64))
            holes.append(shape.hole)
    return _native.rasterise_shapes(polygons, holes, width, height, float(feather))


@dataclass(frozen=True)
class MattePart:
    """Where a file's mattes live: part index, its windows and view, and every layer name in
    the file (what new channels must keep clear of)."""

    part: int
    data_window: Box2i
    display_window: Box2i
    view: str
    layers: frozenset[str]


def matte_part(path: str, layer: str) -> MattePart:
    """The part of EXR `path` holding channel `<layer>.A`; InputError naming the file if none."""
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: {imagefile.short(oiio.geterror())}")
    try:
        found: MattePart | None = None
        layers: set[str] = set()
        part = 0
        while part < imagefile.MAX_PARTS and inp.seek_subimage(part, 0):
            spec = inp.spec()
            layers.update(c.rpartition(".")[0] for c in spec.channelnames)
            if found is None and matte_channel(layer) in spec.channelnames:
                found = MattePart(part, *imagefile.windows(inp, spec),
                                  imagefile.part_view(spec), frozenset())
            part += 1
    finally:
        inp.close()
    if found is None:
        raise InputError(f"{path}: no channel {matte_channel(layer)}")
    return MattePart(found.part, found.data_window, found.display_window, found.view,
                     frozenset(layers))


def roto_layer_names(objects: list[str], taken: frozenset[str] | set[str]) -> list[str]:
    """`<object>_roto` for each object, sanitised and clear of the file's layers `taken`."""
    return layer_names([f"{o}_roto" for o in objects], taken)


def refuse_old_roto(source: str, dest: str, layers: frozenset[str] | None = None) -> None:
    """InputError when `dest` is `source` and it has roto channels already: merging in place
    would keep the old ones beside new, prefixed ones."""
    if os.path.realpath(source) != os.path.realpath(dest):
        return
    if layers is None:
        layers = frozenset(imagefile.layer_names(source))
    old = sorted(lay for lay in layers if roto_of(lay, list(layers)))
    if old:
        raise InputError(f"{source}: already has roto channels ({', '.join(old)}); write the "
                         "new ones to another pattern")


def roto_frames(doc: ShapeDocument, frames: dict[int, str], target: Callable[[int], str],
                feather: float = 0.0) -> Iterator[tuple[str, Callable[[], None]]]:
    """(output path, job) per frame of the matte files `frames` ({frame: path}); each job writes
    the file at target(frame): a copy of the matte file with the objects' roto channels added
    (in place when the two are the same file). Rasterising happens as the generator advances;
    the jobs only write, so they can run on a writer thread."""
    from mattetrack.export.exr import merge_matte_exr

    names = [o.name for o in doc.objects]
    for frame in sorted(frames):
        source, dest = frames[frame], target(frame)
        where = matte_part(source, names[0])
        display = where.display_window
        if (display.width, display.height) != (doc.width, doc.height):
            raise InputError(f"{source}: display window {display.width}x{display.height}, "
                             f"the shapes' is {doc.width}x{doc.height}")
        refuse_old_roto(source, dest, where.layers)
        channels = [matte_channel(layer) for layer in roto_layer_names(names, where.layers)]
        planes = {c: roto_coverage(o, frame, doc.width, doc.height, feather)
                  for c, o in zip(channels, doc.objects, strict=True)}

        def job(source: str = source, dest: str = dest, planes: dict = planes,
                where: MattePart = where) -> None:
            merge_matte_exr(source, dest, planes, where.display_window, where.data_window,
                            view=where.view, part=where.part, in_place=True)

        yield dest, job
