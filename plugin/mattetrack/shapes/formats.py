"""Where a shape document goes: the output formats that `mattetrack shapes` and the service's
shapes export share, each written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mattetrack.shapes.document import ShapeDocument

# format -> the output's extension. `blender-plan` is the Mask plan that the Blender extension
# builds in-process (`mattetrack.shapes.blender.mask_plan`); `blender` runs Blender to save a
# .blend.
SHAPE_FORMATS = {"json": ".json", "nuke": ".nk", "blender": ".blend", "fusion": ".setting",
                 "blender-plan": ".json"}


def save_shapes(doc: ShapeDocument, out: Path, fmt: str, frames: dict[int, str],
                is_exr: bool) -> None:
    """The shapes document to `out` in `fmt`. `frames` ({frame: matte file}) and `is_exr` say
    which mattes the shapes came from (the Nuke script reads them back)."""
    from mattetrack.store import atomic_write_bytes

    if fmt == "json":
        doc.save(out)
    elif fmt == "nuke":
        from mattetrack.shapes import nuke

        plan = out.with_suffix(".roto.json").resolve()
        atomic_write_bytes(plan, nuke.plan_json(doc))
        files = {f: os.path.abspath(p) for f, p in frames.items()}
        script = nuke.to_nk(doc, nuke.nuke_pattern(files), min(files), max(files),
                            plan.as_posix(), out.resolve().as_posix(), is_exr)
        atomic_write_bytes(out, script.encode())
    elif fmt == "blender":
        from mattetrack.shapes.blender import write_blend

        write_blend(doc, out)
    elif fmt == "blender-plan":
        from mattetrack.shapes.blender import mask_plan

        atomic_write_bytes(out, json.dumps(mask_plan(doc), separators=(",", ":")).encode())
    else:
        from mattetrack.shapes.fusion import to_setting

        atomic_write_bytes(out, to_setting(doc).encode())
