"""The Nuke script and roto plan (shapes/nuke.py); the script is parsed with PyPI nkparser."""

from __future__ import annotations

import nkparser
import numpy as np

from mattetrack.shapes import Shape, ShapeDocument, ShapeObject, ShapeParams, shapes_from_mattes
from mattetrack.shapes.nuke import nuke_pattern, roto_plan, to_nk
from mattetrack.shapes.nukecurves import from_nuke, nuke_float, read_curves

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
    # Each Roto node carries its object's shapes in its own curves knob, not a button.
    for roto in rotos:
        assert roto.knob("curves").value.raw.startswith("{{v x3f99999a} {f 0} {n {layer Root")
    assert "load_into" not in text


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


def _read_back(text: str, height: int) -> dict[str, list]:
    """{Roto node name: its shapes read back from its curves knob, as nkparser gives it}."""
    script = parse(text)
    return {r.name: read_curves(r.knob("curves").value.raw)
            for r in script.find_all(node_class="Roto")}


def _moving_ring(f: int, w: int = 160, h: int = 120) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    d = np.hypot(xs + 0.5 - 50 - 4 * f, ys + 0.5 - 60)
    outer = np.clip(30.5 - d, 0, 1)
    inner = np.clip(d - 9.5, 0, 1)
    speck = np.clip(6.5 - np.hypot(xs + 0.5 - 140, ys + 0.5 - 20), 0, 1) if f >= 4 else 0
    return np.maximum(np.minimum(outer, inner), speck).astype(np.float32)


def test_the_curves_knob_gives_the_shapes_back_within_a_thousandth_of_a_pixel():
    """Fitted shapes (a moving ring with its hole, a piece that appears on frame 4) in the
    script's Roto node: read back from the text nkparser parses, every point, tangent, frame,
    lifetime and hole flag is the document's."""
    frames = [(f, {1: _moving_ring(f)}) for f in range(8)]
    doc = shapes_from_mattes(frames, {1: "ring"}, 160, 120, ShapeParams(min_area=4))
    obj = doc.objects[0]
    assert sorted((s.hole, min(s.frames), max(s.frames)) for s in obj.shapes) == [
        (False, 0, 7), (False, 4, 7), (True, 0, 7)]
    text = to_nk(doc, "m.####.exr", 0, 7, "p.roto.json", "s.nk")
    [(node, shapes)] = _read_back(text, 120).items()
    assert node == "ring_roto" and len(shapes) == len(obj.shapes)
    worst = 0.0
    for got, want in zip(shapes, obj.shapes, strict=True):
        assert got.hole == want.hole and sorted(got.keys) == sorted(want.frames)
        for f, rows in want.frames.items():
            worst = max(worst, float(np.abs(from_nuke(got.keys[f], 120) - rows).max()))
        # A shape not there for the whole shot lives on its frame range only.
        partial = min(want.frames) > 0 or max(want.frames) < 7
        assert ("ltt" in got.attributes) == partial
        assert (got.attributes["ltn"], got.attributes["ltm"]) == (min(want.frames),
                                                                   max(want.frames))
    assert worst < 1e-3, worst


def test_davis_shapes_in_the_script_read_back(shared_data):
    from PIL import Image

    root = shared_data / "davis2016-dev" / "Annotations" / "480p" / "dog"
    files = sorted(root.glob("*.png"))[:12]
    mattes = [(f, {1: (np.asarray(Image.open(p)) > 127).astype(np.float32)})
              for f, p in enumerate(files, 1001)]
    h, w = mattes[0][1][1].shape
    doc = shapes_from_mattes(mattes, {1: "dog"}, w, h)
    shapes = _read_back(to_nk(doc, "m.####.exr", 1001, 1012, "p.json", "s.nk"), h)["dog_roto"]
    assert len(shapes) == len(doc.objects[0].shapes) > 0
    for got, want in zip(shapes, doc.objects[0].shapes, strict=True):
        for f, rows in want.frames.items():
            assert np.abs(from_nuke(got.keys[f], h) - rows).max() < 1e-3


def test_a_static_shape_as_nuke_saves_it_reads_too():
    """Nuke saves a shape keyed once in the compact form: `{px FRAME {dx dy} {x y} {dx dy} ...}`
    and the feather curve as `idem`."""
    pts = [(-2.0, 0.0, 10.0, 40.0, 2.0, 0.0), (0.0, -3.0, 30.0, 40.0, 0.0, 3.0),
           (0.0, 0.0, 20.0, 20.0, 0.0, 0.0)]
    body = " ".join(f"{{{nuke_float(a)} {nuke_float(b)}}} {{{nuke_float(x)} {nuke_float(y)}}} "
                    f"{{{nuke_float(c)} {nuke_float(d)}}}" for a, b, x, y, c, d in pts)
    text = (f"{{{{v x3f99999a}} {{f 0}} {{n {{layer Root {{f 2097152}} {{t x42480000 x41c80000}} "
            f"{{a}} {{curvegroup Bezier1 512 bezier {{{{cc {{f 8192}} {{px {nuke_float(1045)} "
            f"{body}}}}} idem}} {{tx {nuke_float(1045)} x41a00000 x42200000}} "
            f"{{a osw x41200000 osf 0 str 1 tt x40800000}}}}}}}}}}")
    [shape] = read_curves(text)
    assert shape.name == "Bezier1" and not shape.hole and list(shape.keys) == [1045]
    np.testing.assert_array_equal(shape.keys[1045][0], [10, 40, -2, 0, 2, 0])
    np.testing.assert_array_equal(shape.keys[1045][1], [30, 40, 0, -3, 0, 3])
