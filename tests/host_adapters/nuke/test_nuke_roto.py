"""The Nuke adapter's Roto builder (host_adapters/nuke/mattetrack_nuke/roto.py), run against a
recording stand-in for `nuke`: the keys it sets are read back, converted from Nuke's convention
by hand, and must give back the shapes (and, rasterised, the mattes they were fitted to)."""

from __future__ import annotations

import json
from pathlib import Path

import nuke_standin
import numpy as np
import pytest
from mattetrack_nuke import roto

from mattetrack.shapes import Shape, ShapeDocument, ShapeObject, shapes_from_mattes
from mattetrack.shapes.nuke import roto_plan
from mattetrack.shapes.raster import rasterise

W, H = 160, 120


def disc(cx: float, cy: float, r: float, inner: float = 0.0) -> np.ndarray:
    """Anti-aliased (H, W) coverage of a disc with an optional concentric hole."""
    s = 8
    ys, xs = np.mgrid[0 : H * s, 0 : W * s]
    d = np.hypot((xs + 0.5) / s - cx, (ys + 0.5) / s - cy)
    return ((d <= r) & (d >= inner)).astype(np.float32).reshape(H, s, W, s).mean(axis=(1, 3))


def matte(f: int) -> np.ndarray:
    """A ring moving right; a small disc from frame 4 to 7."""
    m = disc(45 + 3 * f, 60, 30, inner=11)
    if 4 <= f <= 7:
        m = np.maximum(m, disc(130, 30, 10))
    return m


def read_back(node, height: int) -> ShapeObject:
    """The stand-in Roto node's shapes, converted back to our pixels (top-left, absolute
    handles) by hand, holes from their blending attribute."""
    obj = ShapeObject(node.name())
    for shape in node["curves"].rootLayer:
        frames = sorted(shape[0].center.keys)
        rows = {}
        for f in frames:
            out = []
            for p in shape:
                (x, y), (lx, ly), (rx, ry) = (p.center.keys[f], p.leftTangent.keys[f],
                                              p.rightTangent.keys[f])
                out.append([x, height - y, x + lx, height - (y + ly), x + rx, height - (y + ry)])
            rows[f] = np.array(out)
        obj.shapes.append(Shape(rows, hole=shape.attributes.values.get("bm") == roto._MINUS))
    return obj


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_roto_nodes_keyed_from_the_plan_give_back_the_shapes():
    doc = shapes_from_mattes([(f, {1: matte(f)}) for f in range(10)], {1: "hero ring"}, W, H)
    plan = json.loads(json.dumps(roto_plan(doc)))  # as the adapter gets it: through JSON
    nuke = nuke_standin.make()
    [node] = roto.build_roto(plan, nuke)
    assert nuke.formats == [f"{W} {H} 1 MatteTrack_{W}x{H}"]
    assert node["format"].value() == nuke.formats[0] and node["output"].value() == "alpha"
    assert node.name() == "hero_ring_roto" and node["curves"].changes == 1
    shapes = node["curves"].rootLayer
    assert len(shapes) == len(doc.objects[0].shapes) == 3  # ring, its hole, the small disc
    back = read_back(node, H)
    for mine, theirs in zip(doc.objects[0].shapes, back.shapes, strict=True):
        assert mine.hole == theirs.hole and sorted(mine.frames) == sorted(theirs.frames)
        for f, rows in mine.frames.items():
            np.testing.assert_allclose(theirs.frames[f], rows, atol=1e-3)
    for f in range(10):
        assert iou(rasterise(back, f, W, H), matte(f) >= 0.5) > 0.97
    # Only the small disc lives on part of the shot: a frame-range lifetime, frames 4-7.
    attrs = [s.attributes.values for s in shapes]
    assert sum("ltt" in a for a in attrs) == 1
    [short] = [a for a in attrs if "ltt" in a]
    assert short == {"ltt": 4, "ltn": 4, "ltm": 7}
    assert [a.get("bm") for a in attrs].count(roto._MINUS) == 1


def test_a_shape_with_a_gap_becomes_one_nuke_shape_per_run():
    rows = np.array([[10.0, 10, 9, 10, 11, 10], [20, 10, 20, 9, 20, 11], [15, 20, 16, 20, 14, 20]])
    doc = ShapeDocument(W, H, [ShapeObject("a", [Shape({0: rows, 1: rows, 5: rows + 1})])])
    plan = roto_plan(doc)
    [obj] = plan["objects"]
    assert [(s["first"], s["last"]) for s in obj["shapes"]] == [(0, 1), (5, 5)]
    nuke = nuke_standin.make()
    [node] = roto.build_roto(plan, nuke)
    assert [sorted(s[0].center.keys) for s in node["curves"].rootLayer] == [[0, 1], [5]]
    # Nuke: y up from the bottom edge, tangents relative to their point.
    p = node["curves"].rootLayer[0][0]
    assert p.center.keys[0] == (10, H - 10) and p.leftTangent.keys[0] == (-1, 0)
    assert node["curves"].rootLayer[0][1].rightTangent.keys[0] == (0, -1)


def test_objects_can_be_chosen_and_names_stay_unique():
    rows = np.array([[10.0, 10, 10, 10, 10, 10]] * 3)
    doc = ShapeDocument(W, H, [ShapeObject(n, [Shape({0: rows})]) for n in ("a b", "a_b", "2")])
    plan = roto_plan(doc)
    assert [o["node"] for o in plan["objects"]] == ["a_b_roto", "a_b_roto_", "_2_roto"]
    nuke = nuke_standin.make()
    nodes = roto.build_roto(plan, nuke, objects={"2"})
    assert [n.name() for n in nodes] == ["_2_roto"]


def test_load_button_fills_its_node_once(tmp_path: Path):
    doc = shapes_from_mattes([(f, {1: matte(f)}) for f in range(3)], {1: "ring"}, W, H)
    plan_path = tmp_path / "s.roto.json"
    plan_path.write_text(json.dumps(roto_plan(doc)))
    nuke = nuke_standin.make()
    node = nuke_standin.Node("Roto", name="ring_roto", mattetrack_plan=str(plan_path),
                             mattetrack_object="ring")
    assert roto.load_into(node, nuke) == 2  # the ring and its hole
    assert len(node["curves"].rootLayer) == 2
    with pytest.raises(ValueError, match="already has shapes"):
        roto.load_into(node, nuke)
    other = nuke_standin.Node("Roto", name="x", mattetrack_plan=str(plan_path),
                              mattetrack_object="dog")
    with pytest.raises(ValueError, match="no object 'dog'"):
        roto.load_into(other, nuke)
    (tmp_path / "bad.json").write_text('{"width": 1}')
    with pytest.raises(ValueError, match="not a MatteTrack roto plan"):
        roto.read_plan(str(tmp_path / "bad.json"))


def test_davis_ground_truth_through_nuke(shared_data: Path):
    """Real outlines (bmx-trees: pieces that come and go behind branches) keyed into Roto."""
    from PIL import Image

    files = sorted((shared_data / "davis2016-dev" / "Annotations" / "480p" / "bmx-trees")
                   .glob("*.png"))[20:32]
    masks = [(np.asarray(Image.open(f)) > 127).astype(np.float32) for f in files]
    h, w = masks[0].shape
    doc = shapes_from_mattes(enumerate({1: m} for m in masks), {1: "rider"}, w, h)
    nuke = nuke_standin.make()
    [node] = roto.build_roto(json.loads(json.dumps(roto_plan(doc))), nuke)
    back = read_back(node, h)
    ious = [iou(rasterise(back, f, w, h), rasterise(doc.objects[0], f, w, h))
            for f in range(len(masks))]
    assert min(ious) > 0.999, ious
    assert np.mean([iou(rasterise(back, f, w, h), m >= 0.5) for f, m in enumerate(masks)]) > 0.9
