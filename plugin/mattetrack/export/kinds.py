"""What mattes can be written as: the output kinds and the EXR compressions, one table each.

The command line's choices and help, the service's enums and OpenAPI, and the pipeline's checks
all read these tables; adding a kind or a compression is a change here (plus its writer).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputKind:
    """A matte file format: its suffix, what it can hold and its frame writer.

    writer: `"module:function"` of a `(options, output, shot, frame, channels, mattes, crypto)`
    writer (see `export.frames.write_matte_frame`); layered: each object gets a named channel,
    so a Cryptomatte, a merge into the plate and roto channels apply; max_objects: objects one
    file holds at most (None: no limit).
    """

    name: str
    suffix: str
    description: str
    writer: str
    layered: bool
    max_objects: int | None = None


OUTPUT_KINDS: dict[str, OutputKind] = {k.suffix: k for k in (
    OutputKind("exr", ".exr", "one float16 <object>.A channel per object (Nuke layer, Blender "
               "pass); --cryptomatte, --merge and --roto-channels add to it",
               "mattetrack.export.exr:write_matte_frame_exr", layered=True),
    OutputKind("png", ".png", "8-bit grey coverage for one object, palette-indexed labels "
               "(index = object number) for several",
               "mattetrack.export.png:write_matte_frame_png", layered=False, max_objects=255),
)}


def output_kind(suffix: str) -> OutputKind | None:
    """The kind written for a file suffix (`.exr`, case-insensitive), or None."""
    return OUTPUT_KINDS.get(suffix.lower())


@dataclass(frozen=True)
class Compression:
    """A lossless EXR compression the matte writers offer (lossy ones would change coverage and
    destroy Cryptomatte ids)."""

    name: str
    description: str


COMPRESSIONS: dict[str, Compression] = {c.name: c for c in (
    Compression("zip", "zlib over 16 scanlines (the default: small and fast to read)"),
    Compression("zips", "zlib per scanline"),
    Compression("piz", "wavelet + Huffman, best on noisy channels"),
    Compression("rle", "run-length, fastest"),
    Compression("none", "uncompressed"),
)}
DEFAULT_COMPRESSION = "zip"
