"""Fusion `.setting` export: parsed back with a small reader of Fusion's table syntax (written
here from the format, not shared with the writer) and checked against the shapes."""

from __future__ import annotations

import re

import numpy as np

from mattetrack.shapes import shapes_from_mattes
from mattetrack.shapes.fusion import to_setting
from mattetrack.shapes.hosts import to_fusion

W, H = 200, 100
_TOKEN = re.compile(r'\s*(?:(--[^\n]*)|("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|'
                    r'(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(\S))')


def parse(text: str):
    """Fusion's Lua-like tables: {a = 1, [0] = {...}, Type {...}, ordered() {...}} -> Python."""
    tokens = [(m.group(2) and ("str", m.group(2)[1:-1])) or (m.group(3) and ("name", m.group(3)))
              or (m.group(4) and ("num", float(m.group(4)))) or ("sym", m.group(5))
              for m in _TOKEN.finditer(text) if not m.group(1) and m.group(0).strip()]
    pos = 0

    def value():
        nonlocal pos
        kind, tok = tokens[pos]
        if kind == "sym" and tok == "{":
            return table()
        if kind == "name":
            pos += 1
            if tok in ("true", "false"):
                return tok == "true"
            if tokens[pos] == ("sym", "("):  # ordered()
                pos += 2
            return {"__type__": tok, **table()} if tokens[pos] == ("sym", "{") else tok
        pos += 1
        return tok

    def table():
        nonlocal pos
        assert tokens[pos] == ("sym", "{")
        pos += 1
        out: dict = {}
        items: list = []
        while tokens[pos] != ("sym", "}"):
            if tokens[pos] == ("sym", "["):
                key = tokens[pos + 1][1]
                pos += 4  # [ key ] =
                out[key] = value()
            elif tokens[pos][0] == "name" and tokens[pos + 1] == ("sym", "="):
                key = tokens[pos][1]
                pos += 2
                out[key] = value()
            else:
                items.append(value())
            if tokens[pos] == ("sym", ","):
                pos += 1
        pos += 1
        if items:
            out["__items__"] = items
        return out

    return value()


def ring(f: int) -> np.ndarray:
    ys, xs = np.mgrid[:H, :W]
    d = np.hypot(xs - 60 - 2 * f, ys - 50)
    m = ((d < 35) & (d > 12)).astype(np.float32)
    if f >= 2:
        m[40:60, 150:170] = 1.0  # a second piece from frame 2
    return m


def test_setting_holds_every_shape_keyed_per_frame():
    doc = shapes_from_mattes([(f, {1: ring(f)}) for f in range(4)], {1: "hero ring"}, W, H)
    tools = parse(to_setting(doc))["Tools"]
    masks = [k for k, v in tools.items()
             if isinstance(v, dict) and v.get("__type__") == "PolylineMask"]
    assert masks == ["hero_ring_1", "hero_ring_2", "hero_ring_3"]  # outer, hole, new piece
    shapes = doc.objects[0].shapes
    for name, shape in zip(masks, shapes, strict=True):
        inputs = tools[name]["Inputs"]
        assert inputs["MaskWidth"]["Value"] == W and inputs["MaskHeight"]["Value"] == H
        spline = tools[inputs["Polyline"]["SourceOp"]]
        assert spline["__type__"] == "BezierSpline"
        assert sorted(spline["KeyFrames"]) == sorted(shape.frames)
        for f, rows in shape.frames.items():
            poly = spline["KeyFrames"][f]["Value"]
            assert poly["Closed"] is True
            pts = np.array([[p[k] for k in ("X", "Y", "LX", "LY", "RX", "RY")]
                            for p in poly["Points"]["__items__"]])
            np.testing.assert_allclose(pts, to_fusion(rows, W, H), atol=2e-6)
    # The hole subtracts from the outer shape; each mask is chained to the one before it.
    assert tools["hero_ring_2"]["Inputs"]["PaintMode"]["Value"]["__items__"] == ["Subtract"]
    assert tools["hero_ring_2"]["Inputs"]["EffectMask"]["SourceOp"] == "hero_ring_1"
    # The piece that appears on frame 2 is hidden before it (stepped Level keys).
    level = tools[tools["hero_ring_3"]["Inputs"]["Level"]["SourceOp"]]["KeyFrames"]
    assert {f: k["__items__"][0] for f, k in level.items()} == {0: 0, 2: 1}


def test_fusion_coordinates_are_centre_relative_y_up_in_frame_widths():
    rows = np.array([[W / 2, H / 2, W / 2 - 10, H / 2, W / 2 + 10, H / 2 - 5],
                     [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    out = to_fusion(rows, W, H)
    np.testing.assert_allclose(out[0], [0, 0, -10 / W, 0, 10 / W, 5 / W])
    np.testing.assert_allclose(out[1, :2], [-0.5, 0.5 * H / W])  # top-left corner
