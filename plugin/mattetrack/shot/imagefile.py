"""Reading one image file with OpenImageIO: part and channel choice, windows, one-line errors.

Every failure (unreadable, not an image, truncated, damaged, deep, no colour channels) is an
`InputError` naming the file; OIIO's own messages are cut to their first line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from mattetrack import _native
from mattetrack.errors import InputError
from mattetrack.geometry import Box2i

# Damaged headers can claim absurd sizes; refuse before allocating (2^28 px is 16K x 16K).
MAX_PIXELS = 1 << 28
# Damaged files can claim any number of parts; real plates have a few dozen at most.
MAX_PARTS = 1024

_FLOAT_TYPES = (oiio.FLOAT, oiio.HALF, oiio.DOUBLE)
_RED, _GREEN, _BLUE = ("r", "red"), ("g", "green"), ("b", "blue")
_GREY = ("y", "l", "luminance")
_ALPHA = ("a", "alpha")


def short(message: str, limit: int = 200) -> str:
    """The first non-empty line of a library message, at most `limit` characters."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    text = lines[0] if lines else "unknown error"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(path: str, message: str) -> InputError:
    return InputError(f"{path}: {short(message)}")


@dataclass(frozen=True)
class ImageHeader:
    """What `read` needs: the part, the channels standing for R, G, B (a grey channel three times)
    and alpha, and the windows (for non-EXR files both are the image, origin 0, 0)."""

    path: str
    part: int
    names: tuple[str, ...]
    rgb: tuple[int, int, int]
    alpha: int | None
    data_window: Box2i
    display_window: Box2i
    is_float: bool
    # EXR only: the part's view (its `view` attribute, else the first of a single-part multi-view
    # file's `multiView`, whose unprefixed channels are that view's); "" when not multi-view.
    view: str = ""
    is_exr: bool = False
    # Every chosen colour channel (and alpha) is HALF: `read` can give them as float16.
    is_half: bool = False


def _split(name: str) -> tuple[str, str]:
    """'rgba.R' -> ('rgba', 'r'); 'R' -> ('', 'r')."""
    layer, _, channel = name.rpartition(".")
    return layer, channel.lower()


def _pick_channels(names: tuple[str, ...]) -> tuple[int, tuple[int, int, int] | None, int | None]:
    """(rank, rgb indices, alpha index) for one part's channels.

    Rank 3: R, G, B of one layer (the unnamed layer first, then in file order); 2: a Y/L grey
    channel; 1: a lone channel of any name, as grey; 0: no colour channels.
    """
    layers: dict[str, dict[str, int]] = {}
    for index, name in enumerate(names):
        layer, channel = _split(name)
        layers.setdefault(layer, {}).setdefault(channel, index)
    order = sorted(layers, key=lambda layer: layer != "")  # stable: unnamed layer first

    def find(layer: str, aliases: tuple[str, ...]) -> int | None:
        return next((layers[layer][a] for a in aliases if a in layers[layer]), None)

    def alpha_of(layer: str) -> int | None:
        # The layer's own alpha, else the unnamed layer's (Nuke's rgba.alpha goes with any layer).
        found = find(layer, _ALPHA)
        if found is None and layer != "" and "" in layers:
            found = find("", _ALPHA)
        return found

    for layer in order:
        r, g, b = find(layer, _RED), find(layer, _GREEN), find(layer, _BLUE)
        if r is not None and g is not None and b is not None:
            return 3, (r, g, b), alpha_of(layer)
    for layer in order:
        y = find(layer, _GREY)
        if y is not None:
            return 2, (y, y, y), alpha_of(layer)
    if len(names) == 1:
        alpha = 0 if _split(names[0])[1] in _ALPHA else None
        return 1, (0, 0, 0), alpha
    return 0, None, None


def part_view(spec: oiio.ImageSpec) -> str:
    """An EXR part's view: its `view` attribute, else the first of `multiView`; "" if none."""
    view = spec.get_string_attribute("view")
    if view:
        return view
    views = spec.getattribute("multiView")
    if isinstance(views, tuple | list) and views:
        return str(views[0])
    return ""


def windows(inp: oiio.ImageInput, spec: oiio.ImageSpec) -> tuple[Box2i, Box2i]:
    """(data window, display window); only EXR has them, elsewhere both are the whole image."""
    if inp.format_name() == "openexr":
        data = Box2i.from_size(spec.width, spec.height, spec.x, spec.y)
        display = Box2i.from_size(spec.full_width, spec.full_height, spec.full_x, spec.full_y)
    else:
        data = display = Box2i.from_size(spec.width, spec.height)
    return data, display


def _check_size(path: str, box: Box2i, what: str) -> None:
    if box.empty or box.width * box.height > MAX_PIXELS:
        raise InputError(f"{path}: unusable {what} {box.width}x{box.height} (damaged file?)")


def _open(path: str) -> oiio.ImageInput:
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise fail(path, oiio.geterror() or "cannot open as an image")
    return inp


def probe(path: str) -> ImageHeader:
    """Reads the header of `path` and chooses the part and channels to use (no pixels read)."""
    inp = _open(path)
    try:
        best: tuple[int, int, oiio.ImageSpec, tuple[int, int, int], int | None] | None = None
        saw_deep = False
        part = 0
        while part < MAX_PARTS and inp.seek_subimage(part, 0):
            spec = inp.spec()
            if spec.deep:
                saw_deep = True
            else:
                rank, rgb, alpha = _pick_channels(tuple(spec.channelnames))
                # The first part with the best kind of colour channels (RGB over grey over one).
                if rgb is not None and (best is None or rank > best[0]):
                    best = (rank, part, spec, rgb, alpha)
                    if rank == 3:
                        break
            part += 1
        if best is None:
            if saw_deep:
                raise InputError(f"{path}: deep EXR is not supported")
            if part == 0:
                raise fail(path, inp.geterror() or "no image in the file")
            names = ", ".join(list(inp.spec(0, 0).channelnames)[:8])
            raise InputError(f"{path}: no colour channels (R, G, B or Y) among {names}")
        _, part, spec, rgb, alpha = best
        data, display = windows(inp, spec)
        _check_size(path, data, "data window")
        _check_size(path, display, "display window")
        is_float = spec.channelformat(rgb[0]).basetype in _FLOAT_TYPES
        names = tuple(spec.channelnames)
        is_exr = inp.format_name() == "openexr"
        if is_exr:
            # EXR's only integer type, UINT, holds ids and counts, never colour: reading it as
            # colour would give a black plate and a meaningless track.
            for c in sorted(set(rgb)):
                if spec.channelformat(c).basetype not in _FLOAT_TYPES:
                    raise InputError(f"{path}: channel {names[c]} is UINT (ids, not colour); "
                                     "the colour channels must be HALF or FLOAT")
        chosen = set(rgb) | ({alpha} if alpha is not None else set())
        is_half = all(spec.channelformat(c).basetype == oiio.HALF for c in chosen)
        return ImageHeader(path, part, names, rgb, alpha, data, display, is_float,
                           view=part_view(spec) if is_exr else "", is_exr=is_exr,
                           is_half=is_half)
    finally:
        inp.close()


def layer_names(path: str) -> set[str]:
    """Layer names of every channel in every part of `path` ("" for unlayered channels): what
    new channels in a merged copy must keep clear of. Headers only."""
    inp = _open(path)
    try:
        layers: set[str] = set()
        part = 0
        while part < MAX_PARTS and inp.seek_subimage(part, 0):
            layers.update(name.rpartition(".")[0] for name in inp.spec().channelnames)
            part += 1
        return layers
    finally:
        inp.close()


def read(header: ImageHeader, with_alpha: bool = False, keep_half: bool = False) -> np.ndarray:
    """The chosen channels over the data window: (h, w, 3), or (h, w, 4) with alpha last (opaque 1
    when the part has none), float32; integer files are normalised to [0, 1]. keep_half: a
    HALF file's channels come as float16 (half the bytes, no conversion pass)."""
    channels = list(header.rgb)
    if with_alpha and header.alpha is not None:
        channels.append(header.alpha)
    first, last = min(channels), max(channels)
    inp = _open(header.path)
    try:
        kind = "half" if keep_half and header.is_half else "float"
        pixels = inp.read_image(header.part, 0, first, last + 1, kind)
        if pixels is None or inp.has_error:
            raise fail(header.path, inp.geterror() or "cannot read the pixels (truncated?)")
    finally:
        inp.close()
        # OpenEXR's decoding leaves the vector registers' upper halves in use on this thread;
        # cleared, the colour conversion after it runs 2x faster (`_native.clear_upper_state`).
        _native.clear_upper_state()
    pixels = np.asarray(pixels, dtype=np.float16 if kind == "half" else np.float32)
    expected = (header.data_window.height, header.data_window.width)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[:2] != expected:
        raise InputError(f"{header.path}: read {pixels.shape[1]}x{pixels.shape[0]} pixels, "
                         f"the header says {expected[1]}x{expected[0]}")
    picks = [c - first for c in channels]
    # The common case (R, G, B are the part's first channels) needs no gathering copy.
    out = pixels if picks == list(range(pixels.shape[2])) else pixels[:, :, picks]
    if with_alpha and header.alpha is None:
        out = np.concatenate([out, np.ones_like(out[:, :, :1])], axis=2)
    return np.ascontiguousarray(out)


def display_slices(
    data_window: Box2i, display_window: Box2i
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """(source, target) [y, x] slices that copy the part of a data-window array lying inside the
    display window into a display-window array; None when they do not overlap."""
    inside = data_window.intersect(display_window)
    if inside is None:
        return None

    def rows_cols(origin: Box2i) -> tuple[slice, slice]:
        return (
            slice(inside.ymin - origin.ymin, inside.ymax - origin.ymin + 1),
            slice(inside.xmin - origin.xmin, inside.xmax - origin.xmin + 1),
        )

    return rows_cols(data_window), rows_cols(display_window)
