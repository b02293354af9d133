"""Shapes as a Blender Mask datablock: the plan (plain JSON, Blender's mask space) and `.blend`.

Blender animates mask points with F-curves on their `co` / `handle_left` / `handle_right`
paths (honoured by its mask rasterisation; checked with bpy 5.0.1), but it has no per-spline
visibility, and a spline collapsed to a point still leaves pixels behind. So every shape gets
a mask layer of its own: visibility is the layer's `hide_render`, keyed (stepped) where the shape
appears and disappears, and a hole is a layer with blend SUBTRACT right after its shape's layer.

Blender blends layers in stack order, so a hole cuts every layer below it, not only its own
shape. Within an object the shapes are therefore stacked largest first (an island inside a
hole comes after the ring it sits in), which makes the stack equal to the document's rule for
nested outlines such as those fitted to a matte. Where two objects overlap, a hole of the later
object also cuts the earlier one.

`write_blend` runs the Mask builder script (`mattetrack/hostscripts/blender_mask.py`, which the
Blender extension carries too) in Blender or in a Python with `bpy`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from mattetrack.errors import InputError
from mattetrack.shapes.bezier import flatten
from mattetrack.shapes.contour import signed_area
from mattetrack.shapes.document import Shape, ShapeDocument
from mattetrack.shapes.hosts import to_blender

PLAN_FORMAT = "mattetrack-blender-mask"
# Blender's ID and layer names hold at most 63 bytes (MAX_NAME 64, with the terminator).
MAX_NAME_BYTES = 63
# Shipped inside the package (a wheel has it too); it runs in Blender, never imported here.
BUILDER = Path(__file__).resolve().parents[1] / "hostscripts" / "blender_mask.py"
ENV_BLENDER = "MATTETRACK_BLENDER"


def _area(shape: Shape) -> float:
    """The largest area (square px) the shape covers on any of its frames."""
    return max(abs(signed_area(flatten(rows, 4))) for rows in shape.frames.values())


def _groups(shapes: list[Shape]) -> list[tuple[Shape, list[Shape]]]:
    """(shape, its holes) in stacking order, largest shape first; holes listed before any
    shape cut nothing and are dropped, and so are shapes without points."""
    groups: list[tuple[Shape, list[Shape]]] = []
    for shape in shapes:
        if shape.point_count == 0:
            continue
        if not shape.hole:
            groups.append((shape, []))
        elif groups:
            groups[-1][1].append(shape)
    order = sorted(range(len(groups)), key=lambda i: -_area(groups[i][0]))
    return [groups[i] for i in order]


def _hidden_keys(shown: set[int], first: int, last: int) -> list[list]:
    """Stepped hide_render keys [frame, hidden] for a layer shown on the frames in `shown` of a
    shot running from `first` to `last`: one on `first`, one at each change; none when it is
    shown on every frame."""
    keys: list[list] = [[first, first not in shown]]
    for f in sorted(shown):
        if f - 1 not in shown and f > first:
            keys.append([f, False])
        if f + 1 not in shown and f < last:
            keys.append([f + 1, True])
    return [] if keys == [[first, False]] else keys


def _unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted` cut to Blender's name length and made unique among `taken` (which it joins)."""
    name, k = wanted, 1
    while True:
        cut = name.encode()[:MAX_NAME_BYTES].decode(errors="ignore")
        if cut not in taken:
            taken.add(cut)
            return cut
        k += 1
        suffix = f".{k}"
        name = wanted.encode()[:MAX_NAME_BYTES - len(suffix)].decode(errors="ignore") + suffix


def mask_plan(doc: ShapeDocument) -> dict:
    """The document as a plain-JSON plan for the Blender builder script.

    {"format", "version", "width", "height", "frame_start", "frame_end",
     "objects": [{"name", "layers": [{"name", "hole", "blend", "frames", "hidden",
                                       "points"}]}]}
    One layer per shape in stacking order (bottom first). `points` holds, for each frame of
    `frames` (ascending), the (n, 6) rows co, handle_left, handle_right in Blender's mask space
    (hosts.to_blender: normalised, origin bottom-left, aspect-corrected). `hidden` lists the
    layer's stepped hide_render keys [frame, true|false] ([] = shown on every frame); a hole is
    shown only where its shape is there too. Frames are the document's (file) frame numbers;
    the frame range spans every shape's frames.
    """
    frames = doc.frames()
    first, last = (frames[0], frames[-1]) if frames else (0, 0)
    taken: set[str] = set()
    objects = []
    for obj in doc.objects:
        layers = []
        for g, (shape, holes) in enumerate(_groups(obj.shapes), start=1):
            for h, part in enumerate([shape, *holes]):
                keys = sorted(part.frames)
                # A hole acts only where its shape is there too.
                shown = set(keys) if not h else set(keys) & set(shape.frames)
                wanted = f"{obj.name}.{g}" + (f".hole{h}" if part.hole else "")
                layers.append({
                    "name": _unique_name(wanted, taken),
                    "hole": part.hole,
                    "blend": "SUBTRACT" if part.hole else "MERGE_ADD",
                    "frames": keys,
                    "hidden": _hidden_keys(shown, first, last),
                    "points": [to_blender(np.asarray(part.frames[f], np.float64),
                                          doc.width, doc.height).tolist() for f in keys],
                })
        objects.append({"name": obj.name, "layers": layers})
    return {"format": PLAN_FORMAT, "version": 1, "width": doc.width, "height": doc.height,
            "frame_start": first, "frame_end": last, "objects": objects}


def _is_python(exe: str) -> bool:
    """A Python interpreter (python, python3.11, python.exe) rather than a Blender binary."""
    return Path(exe).name.lower().startswith("python")


def find_blender(blender: str | None = None) -> str:
    """The Blender binary or bpy-capable Python to run: `blender`, else $MATTETRACK_BLENDER,
    else `blender` on PATH; InputError when there is none."""
    wanted = blender or os.environ.get(ENV_BLENDER)
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            where = "" if blender else f" (from {ENV_BLENDER})"
            raise InputError(f"Blender not found: {wanted}{where}")
        return found
    found = shutil.which("blender")
    if found is None:
        raise InputError(f"no Blender found: set {ENV_BLENDER} to a blender binary or to a "
                         "Python that can import bpy (pip install bpy==5.0.1)")
    return found


def builder_command(exe: str, plan: Path, out: Path, script: Path = BUILDER) -> list[str]:
    """The command line that runs the builder `script` on `plan`, saving `out`."""
    if _is_python(exe):
        return [exe, str(script), str(plan), str(out)]
    # A Python error leaves Blender with exit status 0 unless --python-exit-code says otherwise.
    return [exe, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script),
            "--", str(plan), str(out)]


def write_blend(doc: ShapeDocument, out: Path, blender: str | None = None) -> None:
    """Save the document as a `.blend` holding one animated Mask (`mask_plan`), written to a
    temporary name beside `out` and renamed into place."""
    out = Path(out)
    exe = find_blender(blender)
    if not BUILDER.is_file():
        raise InputError(f"the Blender builder script is missing: {BUILDER}")
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.blend")
    with tempfile.TemporaryDirectory(prefix="mattetrack-blender-") as folder:
        plan = Path(folder) / "plan.json"
        plan.write_text(json.dumps(mask_plan(doc)))
        try:
            done = subprocess.run(builder_command(exe, plan, tmp, BUILDER), capture_output=True,
                                  text=True, errors="replace", check=False)
            if done.returncode != 0 or not tmp.is_file():
                lines = [x for x in done.stderr.splitlines() if x.strip()]
                last = lines[-1] if lines else f"exit status {done.returncode}"
                raise InputError(f"{out}: Blender ({exe}) could not write the mask: {last}")
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)


def write_plan(doc: ShapeDocument, out: Path, frames=None, is_exr: bool = True) -> None:
    """Shape-format writer (`shapes.formats`): the Mask plan as compact JSON, atomically."""
    from mattetrack.store import atomic_write_bytes

    atomic_write_bytes(out, json.dumps(mask_plan(doc), separators=(",", ":")).encode())


def write_blend_file(doc: ShapeDocument, out: Path, frames=None, is_exr: bool = True) -> None:
    """Shape-format writer (`shapes.formats`): a .blend saved by Blender."""
    write_blend(doc, out)
