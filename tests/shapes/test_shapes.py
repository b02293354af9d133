"""Roto shapes: contours, Bezier fitting, temporal coherence, the JSON document, rasterising.

Synthetic mattes have known geometry (anti-aliased discs, rings, moving and deforming blobs);
one test runs on real DAVIS ground truth when ../shared/data is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.shapes import ShapeDocument, ShapeParams, shapes_from_mattes
from mattetrack.shapes.bezier import flatten
from mattetrack.shapes.contour import pieces, signed_area
from mattetrack.shapes.raster import coverage, rasterise

W, H = 160, 120


def disc(cx: float, cy: float, r: float, inner: float = 0.0, sx: float = 1.0) -> np.ndarray:
    """Anti-aliased coverage (H, W) of an ellipse (radius r, x stretched by sx) with an optional
    concentric hole of radius `inner`, by 8 x 8 supersampling."""
    s = 8
    ys, xs = np.mgrid[0 : H * s, 0 : W * s]
    x, y = (xs + 0.5) / s, (ys + 0.5) / s
    d = np.hypot((x - cx) / sx, y - cy)
    fine = ((d <= r) & (d >= inner)).astype(np.float32)
    return fine.reshape(H, s, W, s).mean(axis=(1, 3))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_pieces_find_outer_boundaries_and_holes_with_orientation():
    matte = np.maximum(disc(50, 60, 30, inner=12), disc(130, 40, 10))
    found = pieces(matte)
    assert len(found) == 2
    ring, small = found  # largest first
    assert len(ring.holes) == 1 and not small.holes
    # Areas of the 0.5 iso-lines: pi r^2 within a pixel's worth of perimeter.
    assert abs(abs(signed_area(ring.outer)) - np.pi * 30**2) < 2 * np.pi * 30 * 0.2
    assert abs(abs(signed_area(ring.holes[0])) - np.pi * 12**2) < 2 * np.pi * 12 * 0.2
    # Outer boundaries one way round, holes the other.
    assert signed_area(ring.outer) < 0 < signed_area(ring.holes[0])
    assert pieces(np.zeros((H, W), np.float32)) == []


def test_fitted_shapes_follow_the_matte_with_few_points():
    matte = disc(80, 60, 40, sx=1.3)
    doc = shapes_from_mattes([(0, {1: matte})], {1: "egg"}, W, H)
    (shape,) = doc.objects[0].shapes
    rows = shape.frames[0]
    assert 4 <= len(rows) <= 16  # a smooth ellipse needs few points
    # Every point of the shape's outline lies on the ellipse's edge within the tolerance.
    outline = flatten(rows, 32)
    radius = np.hypot((outline[:, 0] - 80) / 1.3, outline[:, 1] - 60)
    assert np.abs(radius - 40).max() * 1.3 < ShapeParams().tolerance + 0.2
    # Smooth: incoming and outgoing handles are colinear through each knot (G1).
    a, b = rows[:, 2:4] - rows[:, :2], rows[:, 4:6] - rows[:, :2]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert np.all(cos < -0.999)
    assert iou(rasterise(doc.objects[0], 0, W, H), matte >= 0.5) > 0.99


def test_holes_cut_their_shape_when_rasterised():
    matte = disc(70, 60, 40, inner=15)
    doc = shapes_from_mattes([(0, {1: matte})], {1: "ring"}, W, H)
    kinds = [s.hole for s in doc.objects[0].shapes]
    assert kinds == [False, True]
    assert iou(rasterise(doc.objects[0], 0, W, H), matte >= 0.5) > 0.98
    soft = coverage(doc.objects[0], 0, W, H)
    assert soft[60, 70] == 0.0 and soft[60, 40] == 1.0  # the hole's centre, the ring itself


def test_point_count_and_correspondence_hold_through_motion():
    # An ellipse moving 3 px per frame and slowly growing: one shape, the same point count on
    # every frame, and point k follows the motion instead of sliding round the outline.
    frames = [(f, {1: disc(40 + 3 * f, 60, 20 + 0.5 * f, sx=1.4)}) for f in range(20)]
    doc = shapes_from_mattes(frames, {1: "blob"}, W, H)
    (shape,) = doc.objects[0].shapes
    assert sorted(shape.frames) == list(range(20))
    assert len({len(r) for r in shape.frames.values()}) == 1
    for f in range(19):
        a, b = shape.frames[f][:, :2], shape.frames[f + 1][:, :2]
        # Where point k should be: moved with the centre and scaled about it.
        scale = (20 + 0.5 * (f + 1)) / (20 + 0.5 * f)
        expected = np.array([43 + 3 * f, 60]) + (a - [40 + 3 * f, 60]) * scale
        assert np.abs(b - expected).max() < 2.0, f


def test_pieces_that_appear_and_disappear_get_shapes_of_their_own():
    def frame(f: int) -> np.ndarray:
        m = disc(50, 60, 25)
        if 5 <= f < 12:
            m = np.maximum(m, disc(125, 60, 12))  # a second piece from frame 5 to 11
        return m

    doc = shapes_from_mattes([(f, {1: frame(f)}) for f in range(16)], {1: "two"}, W, H)
    spans = sorted((min(s.frames), max(s.frames)) for s in doc.objects[0].shapes)
    assert spans == [(0, 15), (5, 11)]
    for f in (0, 7, 15):
        assert iou(rasterise(doc.objects[0], f, W, H), frame(f) >= 0.5) > 0.98


def test_a_hole_closing_for_a_frame_keeps_its_shape():
    """Flicker (a hole shut on frame 3, a piece missing on frames 6-7) is bridged: the shape
    stays on the missing frames, its points between the frames either side; a piece that
    comes back somewhere else, or after too long, gets a shape of its own."""
    def frame(f: int) -> np.ndarray:
        m = disc(50, 60, 30, inner=0 if f == 3 else 10)
        if f not in (6, 7, 12, 13, 14):
            m = np.maximum(m, disc(125 if f < 9 else 125 - 4 * (f - 9), 40, 10))
        return m

    doc = shapes_from_mattes([(f, {1: frame(f)}) for f in range(18)], {1: "flicker"}, W, H)
    shapes = doc.objects[0].shapes
    spans = sorted((s.hole, sorted(s.frames)) for s in shapes)
    everything = list(range(18))
    assert spans == [
        (False, list(range(12))),  # back after 2 frames: the same shape, kept on 6 and 7
        (False, everything),
        (False, [15, 16, 17]),  # back after 3 frames: a new one
        (True, everything),  # the hole stays on frame 3
    ]
    bridged = {3, 6, 7}
    for f in everything:
        if f not in bridged:
            assert iou(rasterise(doc.objects[0], f, W, H), frame(f) >= 0.5) > 0.97
    # On the bridged frames the shapes are the interpolation of the frames either side (the
    # small piece and the hole did not move).
    piece = next(s for s in shapes if not s.hole and len(s.frames) == 12)
    hole = next(s for s in shapes if s.hole)
    np.testing.assert_allclose(piece.frames[6], piece.frames[5] / 3 * 2 + piece.frames[8] / 3)
    np.testing.assert_allclose(hole.frames[3], (hole.frames[2] + hole.frames[4]) / 2)
    unbridged = shapes_from_mattes([(f, {1: frame(f)}) for f in range(18)], {1: "flicker"}, W, H,
                                   ShapeParams(bridge=0))
    spans = sorted((s.hole, sorted(s.frames)) for s in unbridged.objects[0].shapes)
    assert spans == sorted([(False, [0, 1, 2, 3, 4, 5]), (False, [8, 9, 10, 11]),
                            (False, everything), (False, [15, 16, 17]), (True, [0, 1, 2]),
                            (True, everything[4:])])


def test_small_pieces_and_holes_that_flicker_get_no_shape():
    """The flicker rule: a piece or hole seen on fewer than min_frames frames and under
    flicker_share of the object's area on each is dropped; a short-lived large piece stays."""
    def frame(f: int) -> np.ndarray:
        m = disc(60, 60, 35, inner=3 if f in (4, 5) else 0)  # a 28 px2 hole, 2 frames
        if f == 2:
            m = np.maximum(m, disc(130, 20, 3))  # a speck for one frame (28 px2, 0.7%)
        if f in (7, 8):
            m = np.maximum(m, disc(130, 80, 18))  # a large piece for two frames
        return m

    frames = [(f, {1: frame(f)}) for f in range(12)]
    doc = shapes_from_mattes(frames, {1: "o"}, W, H, ShapeParams(min_area=1.0))
    spans = sorted((s.hole, sorted(s.frames)) for s in doc.objects[0].shapes)
    assert spans == [(False, list(range(12))), (False, [7, 8])]
    # With the rule off, the speck and the hole get shapes of their own.
    every = shapes_from_mattes(frames, {1: "o"}, W, H, ShapeParams(min_area=1.0, min_frames=1))
    spans = sorted((s.hole, sorted(s.frames)) for s in every.objects[0].shapes)
    assert spans == [(False, list(range(12))), (False, [2]), (False, [7, 8]), (True, [4, 5])]


def test_specks_are_dropped_and_pinholes_filled_by_area():
    """Pieces under min_area get no shape and holes under it are filled; the default is a share
    of the frame's area, so a larger plate has larger specks."""
    matte = np.maximum(disc(60, 60, 35, inner=3), disc(130, 20, 4))  # 28 px2 hole, 50 px2 speck
    doc = shapes_from_mattes([(0, {1: matte})], {1: "o"}, W, H, ShapeParams(min_area=64))
    (shape,) = doc.objects[0].shapes
    assert not shape.hole
    kept = shapes_from_mattes([(0, {1: matte})], {1: "o"}, W, H, ShapeParams(min_area=16))
    assert sorted(s.hole for s in kept.objects[0].shapes) == [False, False, True]
    assert ShapeParams().area_limit(854, 480) == pytest.approx(64, rel=0.01)
    assert ShapeParams().area_limit(1920, 1080) == pytest.approx(324)
    assert ShapeParams(min_area=5).area_limit(1920, 1080) == 5


def test_a_gap_in_the_frames_ends_shapes():
    frames = [(f, {1: disc(60, 60, 25)}) for f in (0, 1, 2, 5, 6)]
    doc = shapes_from_mattes(frames, {1: "gap"}, W, H)
    assert sorted(sorted(s.frames) for s in doc.objects[0].shapes) == [[0, 1, 2], [5, 6]]


def test_json_document_round_trip(tmp_path: Path):
    frames = [(f, {1: disc(60 + f, 60, 25, inner=8), 2: disc(130, 30, 10)}) for f in range(3)]
    doc = shapes_from_mattes(frames, {1: "ring", 2: "dot"}, W, H)
    path = tmp_path / "shapes.json"
    doc.save(path)
    data = json.loads(path.read_text())
    assert data["width"] == W and data["height"] == H
    assert [o["name"] for o in data["objects"]] == ["ring", "dot"]
    ring = data["objects"][0]["shapes"]
    assert [s["hole"] for s in ring] == [False, True] and all(s["closed"] for s in ring)
    assert set(ring[0]["points"]) == {"0", "1", "2"}
    assert all(len(p) == 6 for p in ring[0]["points"]["1"])
    back = ShapeDocument.load(path)
    for o1, o2 in zip(doc.objects, back.objects, strict=True):
        for s1, s2 in zip(o1.shapes, o2.shapes, strict=True):
            for f in s1.frames:
                np.testing.assert_allclose(s1.frames[f], s2.frames[f], atol=1e-4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_documents_are_input_errors(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{"width": 10, "objects": []}')
    with pytest.raises(InputError, match="bad.json"):
        ShapeDocument.load(path)
    path.write_text('{"width": 10, "height": 10, "objects": [{"name": "a", "shapes": [{"points": '
                    '{"0": [[1,2,3,4,5,6]], "1": [[1,2,3,4,5,6],[1,2,3,4,5,6]]}}]}]}')
    with pytest.raises(InputError, match="point count"):
        ShapeDocument.load(path)


def test_davis_ground_truth_is_followed_closely(shared_data: Path):
    from PIL import Image

    files = sorted((shared_data / "davis2016-dev" / "Annotations" / "480p" / "blackswan")
                   .glob("*.png"))[:12]
    masks = [(np.asarray(Image.open(f)) > 127).astype(np.float32) for f in files]
    h, w = masks[0].shape
    doc = shapes_from_mattes(enumerate({1: m} for m in masks), {1: "swan"}, w, h)
    obj = doc.objects[0]
    ious = [iou(rasterise(obj, f, w, h), m >= 0.5) for f, m in enumerate(masks)]
    assert min(ious) > 0.98, ious
    assert np.mean([s.point_count for s in obj.shapes]) <= 100
