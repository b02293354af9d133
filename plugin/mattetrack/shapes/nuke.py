"""Shapes for Nuke: the roto plan the Nuke adapter keys into Roto nodes, and a `.nk` script.

The plan (`roto_plan`) is plain JSON, already in Nuke's convention, so the adapter inside Nuke
(`host_adapters/nuke/mattetrack_nuke/roto.py`, standard library only) just makes the
`nuke.rotopaint` calls: one Roto node per object, one Bezier shape per shape and run of
consecutive frames, a position key per point per frame for the centre and both tangents
(pixels, origin bottom-left, tangents relative to their point), a frame-range lifetime when a
shape is not there for the whole shot, and holes blended as "minus".

The script (`to_nk`) is what a compositor imports: a Read of the EXR mattes (raw: they are
data, not colour), a Copy per object moving `<object>.alpha` into `rgba.alpha`, and a Roto node
per object holding its shapes in its own `curves` knob (shapes/nukecurves.py), keyed on every
frame, so the script shows them in any Nuke, with nothing of ours installed. The plan beside it
is for the adapter's live import (`build_roto`), which makes the same shapes through the API.
"""

from __future__ import annotations

import json
import re

from mattetrack.export.channels import sanitize_layer_name
from mattetrack.framerange import consecutive_runs
from mattetrack.shapes.document import ShapeDocument
from mattetrack.shapes.hosts import to_nuke
from mattetrack.shapes.nukecurves import curves_knob

PLAN_FORMAT = "mattetrack-nuke-roto"


def roto_plan(doc: ShapeDocument) -> dict:
    """The document as Nuke Roto keys: {"format", "width", "height", "first", "last", "objects":
    [{"name", "node", "shapes": [{"name", "hole", "first", "last", "keys": {frame: [[x, y,
    left dx, left dy, right dx, right dy], ...]}}]}]}, pixels, origin bottom-left."""
    shot = doc.frames()
    objects = []
    used: set[str] = set()
    for obj in doc.objects:
        node = sanitize_layer_name(f"{obj.name}_roto")
        while node in used:
            node += "_"
        used.add(node)
        shapes = []
        for shape in obj.shapes:
            for run in consecutive_runs(shape.frames):
                keys = {str(f): [[round(float(v), 4) for v in row]
                                 for row in to_nuke(shape.frames[f], doc.height)] for f in run}
                shapes.append({"name": f"{'hole' if shape.hole else 'shape'}{len(shapes) + 1}",
                               "hole": shape.hole, "first": run[0], "last": run[-1],
                               "keys": keys})
        objects.append({"name": obj.name, "node": node, "shapes": shapes})
    return {"format": PLAN_FORMAT, "version": 1, "width": doc.width, "height": doc.height,
            "first": shot[0] if shot else 0, "last": shot[-1] if shot else 0,
            "objects": objects}


def plan_json(doc: ShapeDocument) -> bytes:
    return json.dumps(roto_plan(doc), separators=(",", ":")).encode()


def nuke_pattern(frames: dict[int, str]) -> str:
    """The sequence as a Nuke file name, from {frame: path}: the frame digits become #### (one
    # per digit) when padded or all of one width, else %d; forward slashes. A single file whose
    name holds no frame number is returned as is."""
    frame, path = min(frames.items())
    path = path.replace("\\", "/")
    head, _, name = path.rpartition("/")
    hits = [m for m in re.finditer(r"\d+", name) if int(m.group()) == frame]
    if not hits:
        return path
    m = hits[-1]
    digits = m.group()
    one_width = len({len(str(f)) for f in frames}) == 1
    token = "#" * len(digits) if digits.startswith("0") or one_width else "%d"
    name = name[:m.start()] + token + name[m.end():]
    return f"{head}/{name}" if head else name


def _quote(text: str) -> str:
    """A TCL word in quotes: backslashes, quotes, $, brackets and braces escaped, newlines as
    \\n (as Nuke writes them)."""
    return '"' + re.sub(r'([\\"$\[\]{}])', r"\\\1", text).replace("\n", "\\n") + '"'


def to_nk(doc: ShapeDocument, mattes: str, first: int, last: int, plan_path: str,
          script: str, exr: bool = True) -> str:
    """A Nuke script (its own path `script`): Read of `mattes` (a Nuke file pattern), a Copy per
    object into rgba.alpha, and a Roto node per object holding its shapes (`plan_path`, the
    adapter's plan, is named on it). The objects' layers are declared first (add_layer), as
    Nuke does for layers it does not know, so the Copy knobs resolve before the Read has
    opened a file."""
    w, h = doc.width, doc.height
    # Layer names as Nuke shows them (other characters become _); track writes them so already.
    # Node names follow the same rule.
    layers = [sanitize_layer_name(o.name) for o in doc.objects]
    fmt = f'"{w} {h} 0 0 {w} {h} 1 MatteTrack_{w}x{h}"'
    lines = [
        "#! nuke",
        "version 14.0 v1",
        "Root {",
        " inputs 0",
        f" name {_quote(script)}",
        f" frame {first}",
        f" first_frame {first}",
        f" last_frame {last}",
        f" format {fmt}",
        "}",
        *([f"add_layer {{{layer} {layer}.alpha}}" for layer in layers] if exr else []),
        "Read {",
        " inputs 0",
        *([" file_type exr"] if exr else []),
        f" file {_quote(mattes)}",
        f" format {fmt}",
        f" first {first}",
        f" last {last}",
        f" origfirst {first}",
        f" origlast {last}",
        " origset true",
        " on_error black",
        " raw true",
        " name MatteTrack_mattes",
        " xpos 0",
        " ypos -150",
        "}",
        "set N_mattetrack_mattes [stack 0]",
    ]
    plan = roto_plan(doc)
    for i, obj in enumerate(plan["objects"]):
        # A Copy takes two inputs from the stack (input 0, B, on top): both are the Read, so the
        # output is the mattes file with this object's matte as its alpha.
        source = f"{layers[i]}.alpha" if exr else "rgba.red"
        lines += [
            *(["push $N_mattetrack_mattes"] * (1 if i == 0 else 2)),
            "Copy {",
            " inputs 2",
            f" from0 {_quote(source)}",
            " to0 rgba.alpha",
            f" name {sanitize_layer_name(obj['name'] + '_matte')}",
            f" label {_quote('MatteTrack matte: ' + obj['name'])}",
            f" xpos {i * 120}",
            " ypos -50",
            "}",
        ]
    for i, (obj, shapes) in enumerate(zip(plan["objects"], doc.objects, strict=True)):
        lines += [
            "Roto {",
            " inputs 0",
            " output alpha",
            f" format {fmt}",
            # The shapes themselves, keyed on their frames (shapes/nukecurves.py): the script
            # needs nothing of ours to show them.
            f" curves {curves_knob(shapes, w, h, first, last)}",
            f" name {obj['node']}",
            f" label {_quote('MatteTrack shapes: ' + obj['name'])}",
            f" xpos {i * 120}",
            " ypos 50",
            " addUserKnob {20 MatteTrack}",
            ' addUserKnob {2 mattetrack_plan l "roto plan"}',
            f" mattetrack_plan {_quote(plan_path)}",
            " addUserKnob {1 mattetrack_object l object}",
            f" mattetrack_object {_quote(obj['name'])}",
            "}",
        ]
    return "\n".join(lines) + "\n"
