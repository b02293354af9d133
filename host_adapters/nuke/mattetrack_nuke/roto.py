"""Keyed Roto nodes from a MatteTrack roto plan (`mattetrack shapes --format nuke` writes one
next to its `.nk`; the core's `mattetrack.shapes.nuke.roto_plan` makes it).

The plan is already in Nuke's convention (pixels, origin bottom-left, tangents relative to
their point), so this module only makes `nuke.rotopaint` calls: a Bezier `Shape` per plan
shape, a `ShapeControlPoint` per point with a position key per frame on its centre and both
tangents, a frame-range lifetime, and holes blended "minus". Nothing here is tested in Nuke
itself (none can be installed where MatteTrack is built); the calls are those of Foundry's
Python API documentation, checked against a recording stand-in.
"""

from __future__ import annotations

import json

PLAN_FORMAT = "mattetrack-nuke-roto"
# Attribute names behind AnimAttributes' k...Attribute constants, for builds whose Python
# objects lack the constant; lifetime type 4 is "frame range" in the shape's lifetime menu.
_LIFETIME_TYPE, _LIFETIME_FROM, _LIFETIME_TO = "ltt", "ltn", "ltm"
_FRAME_RANGE = 4
_BLENDING = "bm"
# The "minus" entry of a shape's blending-mode menu. Unverified (no Nuke here): if a hole draws
# additively in some Nuke version, this number is the one place to change.
_MINUS = 1


def read_plan(path: str) -> dict:
    """The plan at `path`; ValueError with the path when it is not a MatteTrack roto plan."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read the roto plan ({err})") from None
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        raise ValueError(f"{path}: not a MatteTrack roto plan")
    return plan


def _attribute(rp, constant: str, fallback: str) -> str:
    return getattr(getattr(rp, "AnimAttributes", None), constant, fallback)


def fill_roto(node, obj: dict, first: int, last: int, nuke) -> int:
    """Adds `obj`'s shapes (one plan object) to Roto `node`'s curves, keyed on every frame they
    have; returns the number of shapes added."""
    rp = nuke.rotopaint
    curves = node["curves"]
    for spec in obj["shapes"]:
        keys = sorted((int(f), rows) for f, rows in spec["keys"].items())
        shape = rp.Shape(curves)
        shape.name = spec["name"]
        for i, row in enumerate(keys[0][1]):
            point = rp.ShapeControlPoint(row[0], row[1])
            for frame, rows in keys:
                x, y, lx, ly, rx, ry = rows[i]
                point.center.addPositionKey(frame, (x, y))
                point.leftTangent.addPositionKey(frame, (lx, ly))
                point.rightTangent.addPositionKey(frame, (rx, ry))
            shape.append(point)
        attrs = shape.getAttributes()
        if spec["first"] > first or spec["last"] < last:
            attrs.set(_attribute(rp, "kLifeTimeTypeAttribute", _LIFETIME_TYPE), _FRAME_RANGE)
            attrs.set(_attribute(rp, "kLifeTimeNAttribute", _LIFETIME_FROM), spec["first"])
            attrs.set(_attribute(rp, "kLifeTimeMAttribute", _LIFETIME_TO), spec["last"])
        if spec["hole"]:
            attrs.set(_attribute(rp, "kBlendingModeAttribute", _BLENDING), _MINUS)
        curves.rootLayer.append(shape)
    curves.changed()
    return len(obj["shapes"])


def build_roto(plan: dict, nuke, objects=None) -> list:
    """A new Roto node per plan object (only those named in `objects`, when given), in the
    plan's format, filled with its keyed shapes; returns the nodes."""
    fmt = nuke.addFormat(f"{plan['width']} {plan['height']} 1 "
                         f"MatteTrack_{plan['width']}x{plan['height']}")
    nodes = []
    for obj in plan["objects"]:
        if objects is not None and obj["name"] not in objects:
            continue
        node = nuke.nodes.Roto(name=obj["node"], output="alpha")
        node["format"].setValue(fmt)
        fill_roto(node, obj, plan["first"], plan["last"], nuke)
        nodes.append(node)
    return nodes


def load_into(node, nuke=None) -> int:
    """The "Load shapes" button of the Roto nodes in a MatteTrack `.nk`: fills `node` with the
    shapes of the object named in its `mattetrack_object` knob from its `mattetrack_plan`."""
    if nuke is None:
        import nuke
    plan = read_plan(node["mattetrack_plan"].value())
    name = node["mattetrack_object"].value()
    if any(True for _ in node["curves"].rootLayer):
        # Loading twice would stack a second copy of every shape on the first.
        raise ValueError(f"{node.name()} already has shapes: delete them to load again")
    for obj in plan["objects"]:
        if obj["name"] == name:
            return fill_roto(node, obj, plan["first"], plan["last"], nuke)
    raise ValueError(f"{node['mattetrack_plan'].value()}: no object {name!r} in the roto plan")


def import_plan(nuke) -> list:
    """Menu command: asks for a roto plan and builds its Roto nodes."""
    path = nuke.getFilename("MatteTrack roto plan", "*.roto.json")
    if not path:
        return []
    try:
        return build_roto(read_plan(path), nuke)
    except ValueError as err:
        nuke.message(str(err))
        return []
