"""Shapes as a Fusion `.setting` file: one animated PolylineMask per shape.

Each shape is a PolylineMask whose Polyline input comes from a BezierSpline with a key per
frame (docs/CONVENTIONS.md, "DaVinci Resolve and Fusion"); an object's masks are chained through
their EffectMask inputs, holes with PaintMode Subtract, so the last mask of an object is the
object's matte. A shape that is absent on some frames has its Level keyed to 0 there. Paste the
file into Fusion's node editor (or Resolve's Fusion page), or load it as a macro setting.
"""

from __future__ import annotations

import numpy as np

from mattetrack.export.channels import sanitize_layer_name
from mattetrack.shapes.document import ShapeDocument
from mattetrack.shapes.hosts import to_fusion


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != 0 else "0"


def _polyline(rows: np.ndarray, width: int, height: int, indent: str) -> str:
    pts = to_fusion(rows, width, height)
    lines = [f"{indent}Polyline {{", f"{indent}\tClosed = true,", f"{indent}\tPoints = {{"]
    for x, y, lx, ly, rx, ry in pts:
        lines.append(f"{indent}\t\t{{ X = {_num(x)}, Y = {_num(y)}, LX = {_num(lx)}, "
                     f"LY = {_num(ly)}, RX = {_num(rx)}, RY = {_num(ry)} }},")
    lines += [f"{indent}\t}}", f"{indent}}}"]
    return "\n".join(lines)


def to_setting(doc: ShapeDocument) -> str:
    """The whole document as the text of a Fusion `.setting` file."""
    tools: list[str] = []
    shot = doc.frames()
    y = 0
    for obj in doc.objects:
        previous: str | None = None
        for i, shape in enumerate(obj.shapes):
            mask = f"{sanitize_layer_name(obj.name)}_{i + 1}"
            frames = sorted(shape.frames)
            keys = []
            for f in frames:
                body = _polyline(shape.frames[f], doc.width, doc.height, "\t\t\t\t\t")
                keys.append(f"\t\t\t\t[{f}] = {{ 0, Flags = {{ Linear = true, LockedY = true }}, "
                            f"Value =\n{body}\n\t\t\t\t}},")
            inputs = [
                f"\t\t\t\tMaskWidth = Input {{ Value = {doc.width}, }},",
                f"\t\t\t\tMaskHeight = Input {{ Value = {doc.height}, }},",
                "\t\t\t\tPixelAspect = Input { Value = { 1, 1 }, },",
                '\t\t\t\tClippingMode = Input { Value = FuID { "None" }, },',
                f'\t\t\t\tPolyline = Input {{ SourceOp = "{mask}Polyline", Source = "Value", }},',
                "\t\t\t\tPolyline2 = Input { Value = Polyline { }, Disabled = true, },",
            ]
            if shape.hole:
                inputs.append('\t\t\t\tPaintMode = Input { Value = FuID { "Subtract" }, },')
            if previous is not None:
                inputs.append(f'\t\t\t\tEffectMask = Input {{ SourceOp = "{previous}", '
                              'Source = "Mask", },')
            level_keys = _visibility(frames, shot[0], shot[-1])
            if level_keys:
                inputs.append(f'\t\t\t\tLevel = Input {{ SourceOp = "{mask}Level", '
                              'Source = "Value", },')
            tools.append("\n".join([
                f"\t\t{mask} = PolylineMask {{",
                '\t\t\tDrawMode = "InsertAndModify",',
                '\t\t\tDrawMode2 = "InsertAndModify",',
                "\t\t\tInputs = {",
                *inputs,
                "\t\t\t},",
                f"\t\t\tViewInfo = OperatorInfo {{ Pos = {{ {110 * i}, {y} }} }},",
                "\t\t},",
                f"\t\t{mask}Polyline = BezierSpline {{",
                "\t\t\tSplineColor = { Red = 173, Green = 255, Blue = 47 },",
                "\t\t\tNameSet = true,",
                "\t\t\tKeyFrames = {",
                *keys,
                "\t\t\t}",
                "\t\t},",
            ]))
            if level_keys:
                tools.append("\n".join([
                    f"\t\t{mask}Level = BezierSpline {{",
                    "\t\t\tSplineColor = { Red = 255, Green = 255, Blue = 255 },",
                    "\t\t\tNameSet = true,",
                    "\t\t\tKeyFrames = {",
                    *[f"\t\t\t\t[{f}] = {{ {v}, Flags = {{ StepIn = true }} }},"
                      for f, v in level_keys],
                    "\t\t\t}",
                    "\t\t},",
                ]))
            previous = mask
        y += 60
    return "{\n\tTools = ordered() {\n" + "\n".join(tools) + "\n\t},\n}\n"


def _visibility(frames: list[int], first: int, last: int) -> list[tuple[int, int]]:
    """Level keys (frame, 0 or 1, stepped) for a shape present on `frames` of a shot running
    from `first` to `last`; none when it is there on every frame."""
    present = set(frames)
    if len(present) == last - first + 1:
        return []
    keys = []
    for f in range(first, last + 1):
        here = f in present
        if f == first or here != ((f - 1) in present):
            keys.append((f, int(here)))
    return keys


def write_setting(doc: ShapeDocument, out, frames=None, is_exr: bool = True) -> None:
    """Shape-format writer (`shapes.formats`): the .setting, atomically."""
    from mattetrack.store import atomic_write_bytes

    atomic_write_bytes(out, to_setting(doc).encode())
