"""Writing removed frames: a copy of each plate file with its colour channels replaced, a copy
with the clean plate added as a layer (`--merge`), or a movie; a Nuke script to paint on it.

An image plate (EXR, TIFF, PNG, DPX...) is copied part by part with OpenImageIO: every part,
channel, attribute and window as the plate has it, the pixel types kept (a float EXR stays
float, a 16-bit TIFF 16-bit); only the colour channels of the part the plate was read from are
replaced, inside the display window (overscan keeps the plate's pixels). That part is written
scanline, at its full resolution only (no mip levels). A movie plate gives a ProRes 4444 movie
(`composite.writers.ProResWriter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write
from mattetrack.errors import InputError
from mattetrack.shot import imagefile


def write_copy(plate: str, output: str, rgb: np.ndarray) -> None:
    """Write `output`: the plate file with its colour channels (`imagefile.probe`'s) replaced
    by `rgb` ((H, W, 3) float32 over the display window) where the part's data window meets
    the display window."""
    header = imagefile.probe(plate)
    atomic_write(Path(output), lambda tmp: _copy(plate, str(tmp), output, header, rgb),
                 Path(output).suffix.lstrip(".").upper() or "image")


def _copy(plate: str, tmp: str, named: str, header: imagefile.ImageHeader,
          rgb: np.ndarray) -> None:
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(plate)
    if inp is None:
        raise InputError(f"{plate}: {oiio.geterror()}")
    try:
        specs, count = [], 0
        while count < imagefile.MAX_PARTS and inp.seek_subimage(count, 0):
            spec = oiio.ImageSpec(inp.spec())
            if count == header.part:
                spec.tile_width = spec.tile_height = 0  # rewritten scanline, one level
                spec.erase_attribute("openexr:levelmode")
            specs.append(spec)
            count += 1
        out = oiio.ImageOutput.create(named)
        if out is None:
            raise OSError(oiio.geterror())
        try:
            ok = out.open(tmp, tuple(specs)) if count > 1 and out.supports("multiimage") \
                else out.open(tmp, specs[0])
            if not ok:
                raise OSError(out.geterror())
            for part in range(count if out.supports("multiimage") else 1):
                if part and not out.open(tmp, specs[part], "AppendSubimage"):
                    raise OSError(out.geterror())
                if part == header.part:
                    pixels = _replaced(plate, header, rgb)
                    if not out.write_image(pixels):
                        raise OSError(out.geterror())
                else:
                    inp.seek_subimage(part, 0)
                    if not out.copy_image(inp):
                        raise OSError(out.geterror())
        finally:
            out.close()
    finally:
        inp.close()


def _replaced(plate: str, header: imagefile.ImageHeader, rgb: np.ndarray) -> np.ndarray:
    """The part's pixels (all channels, float) with the colour channels replaced."""
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(plate, header.part, 0)
    pixels = np.array(buf.get_pixels(oiio.FLOAT), np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    data, display = header.data_window, header.display_window
    inside = data.intersect(display)
    if inside is None:
        return pixels
    rows = slice(inside.ymin - data.ymin, inside.ymax - data.ymin + 1)
    cols = slice(inside.xmin - data.xmin, inside.xmax - data.xmin + 1)
    src_rows = slice(inside.ymin - display.ymin, inside.ymax - display.ymin + 1)
    src_cols = slice(inside.xmin - display.xmin, inside.xmax - display.xmin + 1)
    for k, channel in enumerate(header.rgb):
        if header.rgb.count(channel) > 1 and k:  # grey plates: Y stands for R, G and B
            continue
        pixels[rows, cols, channel] = rgb[src_rows, src_cols, k]
    if not header.is_float:  # integer files hold [0, 1]: keep it so
        np.clip(pixels, 0.0, 1.0, out=pixels)
    return pixels


def write_merged(plate: str, output: str, rgb: np.ndarray, layer: str) -> None:
    """Write `output`: the EXR plate as it is (every bit kept, as `track --merge` keeps it) with
    the clean plate `rgb` ((H, W, 3) over the display window) added as channels
    `<layer>.R/G/B` over the part's data window, as `track`'s mattes are, in the pixel type of
    the plate's own colour (32-bit float when its red is, else half)."""
    from mattetrack.export.exr import merge_matte_exr

    header = imagefile.probe(plate)
    if not header.is_exr:
        raise InputError(f"{plate}: --merge adds the clean plate to EXR plates only")
    channels = {f"{layer}.{c}": np.ascontiguousarray(rgb[..., k], np.float32)
                for k, c in enumerate("RGB")}
    merge_matte_exr(plate, output, channels, header.display_window, header.data_window,
                    half=not _full_float(plate, header), part=header.part, view=header.view)


def _full_float(plate: str, header: imagefile.ImageHeader) -> bool:
    """Whether the plate part's red channel is 32-bit float."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(plate)
    if inp is None:
        raise InputError(f"{plate}: {oiio.geterror()}")
    try:
        inp.seek_subimage(header.part, 0)
        return inp.spec().channelformat(header.rgb[0]) == oiio.FLOAT
    finally:
        inp.close()


def nuke_script(files: dict[int, str], width: int, height: int, script: str,
                paint: Sequence[int] = ()) -> str:
    """A Nuke script (its own path `script`) with a Read of the clean plate `files` ({frame:
    path}) and a RotoPaint under it, for paint work on top. paint: the frames with most
    invented (`report.removal_report`'s suggested), named on the RotoPaint; the script opens
    on the first of them."""
    from mattetrack.shapes.nuke import _quote, nuke_pattern

    first, last = min(files), max(files)
    label = "paint on the clean plate"
    if paint:
        label += "\nmost invented: " + ", ".join(str(f) for f in paint)
    fmt = f'"{width} {height} 0 0 {width} {height} 1 MatteTrack_{width}x{height}"'
    return "\n".join([
        "#! nuke",
        "version 14.0 v1",
        "Root {", " inputs 0", f" name {_quote(script)}",
        f" frame {paint[0] if paint else first}",
        f" first_frame {first}", f" last_frame {last}", f" format {fmt}", "}",
        "Read {", " inputs 0", f" file {_quote(nuke_pattern(files))}", f" format {fmt}",
        f" first {first}", f" last {last}", f" origfirst {first}", f" origlast {last}",
        " origset true", " on_error black", " name MatteTrack_clean_plate",
        f" label {_quote('MatteTrack clean plate')}", " xpos 0", " ypos -150", "}",
        "RotoPaint {", " name MatteTrack_paint", f" label {_quote(label)}",
        " xpos 0", " ypos -50", "}", ""])
