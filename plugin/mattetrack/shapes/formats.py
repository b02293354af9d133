"""Where a shape document goes: the output formats of `mattetrack shapes` and the service's shapes
export, in one table. The CLI's choices and help, the service's enum and OpenAPI and the browser
UI's format menu (through `GET /v1/formats`) all come from it; each writer writes atomically.

Adding a format is a row here and its writer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from mattetrack.shapes.document import ShapeDocument
from mattetrack.tables import resolve


@dataclass(frozen=True)
class ShapeFormat:
    """One shapes output. writer: `"module:function"` taking (doc, out, frames, is_exr), where
    `frames` ({frame: matte file}) and `is_exr` say which mattes the shapes came from; service:
    offered by the service (a format that runs a program of its own, such as Blender, is the
    command line's only); label: what a menu shows."""

    name: str
    suffix: str
    label: str
    description: str
    writer: str
    service: bool = True


SHAPE_FORMATS: dict[str, ShapeFormat] = {f.name: f for f in (
    ShapeFormat("json", ".json", "JSON (MatteTrack)", "the shapes schema of docs/ARCHITECTURE.md",
                "mattetrack.shapes.formats:write_json"),
    ShapeFormat("nuke", ".nk", "Nuke script (.nk)",
                "a script with a Read and channel copies of the mattes and a Roto node per "
                "object, keyed by the MatteTrack Nuke adapter from the .roto.json plan written "
                "beside it", "mattetrack.shapes.formats:write_nuke"),
    ShapeFormat("fusion", ".setting", "Fusion / Resolve (.setting)",
                "a .setting of animated PolylineMasks", "mattetrack.shapes.fusion:write_setting"),
    ShapeFormat("blender-plan", ".json", "Blender mask plan (.json)",
                "the JSON Mask plan the Blender extension builds in Blender",
                "mattetrack.shapes.blender:write_plan"),
    ShapeFormat("blender", ".blend", "Blender (.blend)",
                "a .blend with an animated Mask; needs Blender or a Python with bpy, found "
                "through MATTETRACK_BLENDER or blender on PATH",
                "mattetrack.shapes.blender:write_blend_file", service=False),
)}
DEFAULT_SHAPE_FORMAT = "json"


def service_formats() -> dict[str, ShapeFormat]:
    """The formats the service writes."""
    return {name: f for name, f in SHAPE_FORMATS.items() if f.service}


def save_shapes(doc: ShapeDocument, out: Path, fmt: str, frames: dict[int, str],
                is_exr: bool) -> None:
    """The shapes document to `out` in format `fmt` (a name of SHAPE_FORMATS)."""
    resolve(SHAPE_FORMATS[fmt].writer)(doc, out, frames, is_exr)


def write_json(doc: ShapeDocument, out: Path, frames: dict[int, str], is_exr: bool) -> None:
    """The document, naming the mattes it came from (so it converts without refitting)."""
    if frames:
        doc = replace(doc, mattes={f: os.path.abspath(p) for f, p in frames.items()},
                      mattes_exr=is_exr)
    doc.save(out)


def write_nuke(doc: ShapeDocument, out: Path, frames: dict[int, str], is_exr: bool) -> None:
    """The .nk script and its .roto.json plan beside it."""
    from mattetrack.shapes import nuke
    from mattetrack.store import atomic_write_bytes

    plan = out.with_suffix(".roto.json").resolve()
    atomic_write_bytes(plan, nuke.plan_json(doc))
    files = {f: os.path.abspath(p) for f, p in frames.items()}
    script = nuke.to_nk(doc, nuke.nuke_pattern(files), min(files), max(files), plan.as_posix(),
                        out.resolve().as_posix(), is_exr)
    atomic_write_bytes(out, script.encode())


def format_help() -> str:
    """The CLI's --format help, from the table."""
    return "; ".join(f"{f.name} ({f.suffix}): {f.description}" for f in SHAPE_FORMATS.values())
