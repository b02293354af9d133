"""The Nuke script and roto plan (shapes/nuke.py); the script is parsed with PyPI nkparser."""

from __future__ import annotations

import nkparser
import numpy as np

from mattetrack.shapes import Shape, ShapeDocument, ShapeObject
from mattetrack.shapes.nuke import nuke_pattern, roto_plan, to_nk

W, H = 100, 50
ROWS = np.array([[10.0, 10, 8, 10, 12, 10], [30, 10, 30, 8, 30, 12], [20, 30, 22, 30, 18, 30]])


def parse(text: str) -> nkparser.Script:
    script = nkparser.Script.from_string(text)
    assert not script.errors(), script.errors()
    return script


def test_script_reads_the_mattes_and_copies_each_into_alpha():
    doc = ShapeDocument(W, H, [ShapeObject("dog", [Shape({0: ROWS})]),
                               ShapeObject("car.2", [Shape({0: ROWS})])])
    text = to_nk(doc, "/shots/a b/m.####.exr", 1001, 1010, '/x/"s".roto.json', "/x/s.nk")
    script = parse(text)
    assert not script.warnings(), script.warnings()
    root = script.root()
    assert root.get_string("name") == "/x/s.nk"
    assert (root.get("first_frame"), root.get("last_frame")) == ("1001", "1010")
    [read] = script.find_all(node_class="Read")
    assert read.get_string("file") == "/shots/a b/m.####.exr"
    assert (read.get("first"), read.get("last"), read.get("raw")) == ("1001", "1010", "true")
    assert read.get_string("format") == f"{W} {H} 0 0 {W} {H} 1 MatteTrack_{W}x{H}"
    copies = script.find_all(node_class="Copy")
    assert [c.name for c in copies] == ["dog_matte", "car_2_matte"]
    for copy, layer in zip(copies, ("dog", "car_2"), strict=True):
        assert [i.name for i in copy.inputs] == [read.name, read.name]
        assert (copy.get_string("from0"), copy.get("to0")) == (f"{layer}.alpha", "rgba.alpha")
        assert f"add_layer {{{layer} {layer}.alpha}}" in text
    rotos = script.find_all(node_class="Roto")
    assert [r.name for r in rotos] == ["dog_roto", "car_2_roto"]
    for roto, name in zip(rotos, ("dog", "car.2"), strict=True):
        assert roto.inputs == [] and roto.get("output") == "alpha"
        assert roto.get_string("mattetrack_plan") == '/x/"s".roto.json'
        assert roto.get_string("mattetrack_object") == name
    assert text.count("mattetrack_nuke.roto.load_into(nuke.thisNode())") == 2


def test_png_mattes_copy_red_into_alpha():
    doc = ShapeDocument(W, H, [ShapeObject("object", [Shape({5: ROWS})])])
    script = parse(to_nk(doc, "m.%d.png", 5, 5, "p.roto.json", "s.nk", exr=False))
    [copy] = script.find_all(node_class="Copy")
    assert copy.get_string("from0") == "rgba.red"
    [read] = script.find_all(node_class="Read")
    assert read.knob("file_type") is None and read.get_string("file") == "m.%d.png"
    assert "add_layer" not in script.to_nk()


def test_nuke_patterns():
    assert nuke_pattern({1001: "/a/m.1001.exr", 1002: "/a/m.1002.exr"}) == "/a/m.####.exr"
    assert nuke_pattern({1: "/a/m.0001.exr", 2: "/a/m.0002.exr"}) == "/a/m.####.exr"
    assert nuke_pattern({8: "m_8.png", 10: "m_10.png"}) == "m_%d.png"
    assert nuke_pattern({7: "C:\\shots\\m.007.exr"}) == "C:/shots/m.###.exr"
    assert nuke_pattern({3: "/a/v2/m3.exr"}) == "/a/v2/m#.exr"  # the frame's digits, not v2's
    assert nuke_pattern({0: "/a/still.exr"}) == "/a/still.exr"


def test_plan_is_bottom_left_with_relative_tangents_and_a_range_per_run():
    doc = ShapeDocument(W, H, [ShapeObject("dog", [Shape({3: ROWS, 4: ROWS + 1}, hole=False),
                                                   Shape({4: ROWS}, hole=True)])])
    plan = roto_plan(doc)
    assert (plan["first"], plan["last"], plan["width"], plan["height"]) == (3, 4, W, H)
    ring, hole = plan["objects"][0]["shapes"]
    assert (ring["first"], ring["last"], ring["hole"]) == (3, 4, False)
    assert (hole["first"], hole["last"], hole["hole"]) == (4, 4, True)
    assert ring["keys"]["3"][0] == [10, H - 10, -2, 0, 2, 0]
    assert ring["keys"]["4"][1] == [31, H - 11, 0, 2, 0, -2]
