"""Roto mask channels: the native rasteriser (exact pixel areas, holes, feather) and the shapes
written back as `<object>_roto.A` channels next to the mattes (shapes/roto.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from mattetrack import _native
from mattetrack.cli import main
from mattetrack.shapes import ShapeDocument, shapes_from_mattes
from mattetrack.shapes.bezier import flatten
from mattetrack.shapes.contour import pieces
from mattetrack.shapes.roto import roto_coverage

W, H = 160, 120


def circle(cx: float, cy: float, r: float, n: int = 4000) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def disc(cx: float, cy: float, r: float, inner: float = 0.0) -> np.ndarray:
    """Anti-aliased (H, W) coverage of a disc with an optional hole (8 x 8 supersampling)."""
    s = 8
    ys, xs = np.mgrid[0 : H * s, 0 : W * s]
    d = np.hypot((xs + 0.5) / s - cx, (ys + 0.5) / s - cy)
    return ((d <= r) & (d >= inner)).astype(np.float32).reshape(H, s, W, s).mean(axis=(1, 3))


def box_coverage(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> np.ndarray:
    """Exact area of each pixel inside an axis-aligned rectangle."""
    cx = np.clip(np.minimum(np.arange(w) + 1, x1) - np.maximum(np.arange(w), x0), 0, 1)
    cy = np.clip(np.minimum(np.arange(h) + 1, y1) - np.maximum(np.arange(h), y0), 0, 1)
    return np.outer(cy, cx)


def test_pixels_get_their_exact_covered_area():
    rect = np.array([[2.25, 1.5], [17.75, 1.5], [17.75, 9.2], [2.25, 9.2]])
    expected = box_coverage(2.25, 1.5, 17.75, 9.2, 20, 12)
    for poly in (rect, rect[::-1], np.roll(rect, 1, axis=0)):  # either orientation, any start
        np.testing.assert_allclose(_native.rasterise_shapes([poly], [False], 20, 12), expected,
                                   atol=1e-6)
    # Partly outside the raster on every side: clipped, not wrapped or smeared.
    big = np.array([[-5.5, -3.0], [14.3, -3.0], [14.3, 30.0], [-5.5, 30.0]])
    np.testing.assert_allclose(_native.rasterise_shapes([big], [False], 10, 8),
                               box_coverage(-5.5, -3, 14.3, 30, 10, 8), atol=1e-6)
    # A triangle's area, and a ring (hole subtracting) against pi (R^2 - r^2).
    tri = np.array([[1.0, 1.0], [19.0, 3.0], [7.0, 11.5]])
    assert _native.rasterise_shapes([tri], [False], 20, 12).sum() == pytest.approx(
        0.5 * abs(18 * 10.5 - 6 * 2), abs=1e-4)
    ring = _native.rasterise_shapes([circle(80, 60, 40.3), circle(80, 60, 12.6)], [False, True],
                                    W, H)
    assert ring.sum() == pytest.approx(np.pi * (40.3**2 - 12.6**2), rel=1e-5)
    assert ring.max() == 1.0 and ring[60, 80] < 1e-6 and ring.min() == 0.0  # float32 sums
    assert np.abs(ring - disc(80, 60, 40.3, inner=12.6)).max() < 0.07  # 8x8 supersampled


def test_feather_softens_symmetrically_and_keeps_the_area():
    rect = np.array([[40.0, 30.0], [120.0, 30.0], [120.0, 90.0], [40.0, 90.0]])
    sharp = _native.rasterise_shapes([rect], [False], W, H)
    assert _native.rasterise_shapes([rect], [False], W, H, feather=0.0).tobytes() == sharp.tobytes()
    widths = []
    for feather in (1.0, 4.0, 10.0):
        soft = _native.rasterise_shapes([rect], [False], W, H, feather=feather)
        assert soft.sum() == pytest.approx(sharp.sum(), rel=1e-5)  # blur moves, never loses
        row = soft[60]
        assert np.all(np.diff(row[:80]) >= -1e-7)  # a monotonic ramp up ...
        assert row[39] + row[40] == pytest.approx(1.0, abs=1e-5)  # ... centred on the edge at 40
        widths.append(int(((row > 0.01) & (row < 0.99)).sum()))
    assert widths[0] < widths[1] < widths[2] and widths[2] >= 8
    # Touching the frame edge: the matte stays solid there (edge values extend), no dark rim.
    edge = _native.rasterise_shapes([np.array([[0.0, 0], [50, 0], [50, 50], [0, 50]])], [False],
                                    W, H, feather=10.0)
    assert edge[0, 0] == pytest.approx(1.0) and edge[25, 0] == pytest.approx(1.0)


def test_bad_polygons_are_value_errors():
    with pytest.raises(ValueError, match="not \\(n, 2\\)"):
        _native.rasterise_shapes([np.zeros((4, 3))], [False], 10, 10)
    with pytest.raises(ValueError, match="non-finite"):
        _native.rasterise_shapes([np.array([[0, 0], [np.nan, 1], [1, 1.0]])], [False], 10, 10)
    with pytest.raises(ValueError, match="hole flags"):
        _native.rasterise_shapes([np.zeros((4, 2))], [], 10, 10)
    with pytest.raises(ValueError, match="feather"):
        _native.rasterise_shapes([], [], 10, 10, feather=-1.0)
    assert _native.rasterise_shapes([], [], 3, 2).tolist() == [[0, 0, 0], [0, 0, 0]]


def outline_distance(coverage: np.ndarray, polylines: list[np.ndarray]) -> np.ndarray:
    """Distance (px) from each point of `coverage`'s sub-pixel 0.5 contour to the nearest of
    `polylines` (closed, dense: 64 chords per Bezier segment)."""
    import cv2

    curves = [p.astype(np.float32).reshape(-1, 1, 2) for p in polylines]
    pts = np.concatenate([np.concatenate([p.outer, *p.holes]) for p in pieces(coverage, 1.0)])
    return np.array([min(abs(cv2.pointPolygonTest(c, (float(x), float(y)), True))
                         for c in curves) for x, y in pts])


def test_roto_channel_follows_the_shapes_own_outline(shared_data: Path):
    """On real outlines (DAVIS ground truth), the roto matte's 0.5 level lies on the shapes."""
    from PIL import Image

    root = shared_data / "davis2016-dev" / "Annotations" / "480p"
    for shot in ("blackswan", "bmx-trees"):
        files = sorted((root / shot).glob("*.png"))[30:33]
        masks = [(np.asarray(Image.open(f)) > 127).astype(np.float32) for f in files]
        h, w = masks[0].shape
        doc = shapes_from_mattes(enumerate({1: m} for m in masks), {1: shot}, w, h)
        obj = doc.objects[0]
        for f in range(len(masks)):
            lines = [flatten(s.frames[f], 64) for s in obj.shapes if f in s.frames]
            d = outline_distance(roto_coverage(obj, f, w, h), lines)
            assert d.max() < 1.0 and d.mean() < 0.2, (shot, f, d.max(), d.mean())


def read_all(path: Path) -> dict[str, np.ndarray]:
    inp = oiio.ImageInput.open(str(path))
    out = {}
    part = 0
    while inp.seek_subimage(part, 0):
        spec = inp.spec()
        px = inp.read_image(part, 0, 0, spec.nchannels, "float")
        for i, name in enumerate(spec.channelnames):
            out[name] = px[:, :, i]
        part += 1
    inp.close()
    return out


def write_mattes(folder: Path, frames: int, window: tuple[int, int, int, int]) -> None:
    """Matte files m.0001.exr... with `ball.A` over a data window (x, y, w, h) inside the frame."""
    x, y, w, h = window
    for f in range(1, frames + 1):
        m = disc(60 + 4 * f, 60, 30, inner=8)
        spec = oiio.ImageSpec(w, h, 1, "half")
        spec.channelnames = ("ball.A",)
        spec.x, spec.y, spec.full_width, spec.full_height = x, y, W, H
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create("exr")
        assert out.open(str(folder / f"m.{f:04d}.exr"), spec)
        out.write_image(np.ascontiguousarray(m[y:y + h, x:x + w, None]))
        out.close()


def test_shapes_exr_adds_roto_channels_beside_the_mattes(tmp_path: Path):
    write_mattes(tmp_path, 4, (10, 20, 140, 90))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert main(["shapes", str(tmp_path / "m.####.exr"), "-q", "-o", str(tmp_path / "s.json"),
                 "--exr", str(tmp_path / "roto.####.exr")]) == 0
    doc = ShapeDocument.load(tmp_path / "s.json")
    for f in range(1, 5):
        src, out = read_all(tmp_path / f"m.{f:04d}.exr"), read_all(tmp_path / f"roto.{f:04d}.exr")
        assert sorted(out) == ["ball.A", "ball_roto.A"]
        assert out["ball.A"].tobytes() == src["ball.A"].tobytes()  # the matte kept bit for bit
        spec = oiio.ImageInput.open(str(tmp_path / f"roto.{f:04d}.exr")).spec()
        assert (spec.x, spec.y, spec.width, spec.height) == (10, 20, 140, 90)  # same windows
        expected = roto_coverage(doc.objects[0], f, W, H)[20:110, 10:150]
        np.testing.assert_allclose(out["ball_roto.A"], expected, atol=1e-3)  # half precision
        matte, roto = out["ball.A"] >= 0.5, out["ball_roto.A"] >= 0.5
        assert (matte & roto).sum() / (matte | roto).sum() > 0.98
    # The matte files were only read; the copies are new files.
    assert all(hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() == h
               for n, h in before.items())
    # In place, once; a second time would stack old and new roto channels, so it is refused.
    assert main(["shapes", str(tmp_path / "m.####.exr"), "-q", "--feather", "3",
                 "--exr", str(tmp_path / "m.####.exr")]) == 0
    inplace = read_all(tmp_path / "m.0002.exr")
    assert sorted(inplace) == ["ball.A", "ball_roto.A"]
    assert ((inplace["ball_roto.A"] > 0.02) & (inplace["ball_roto.A"] < 0.98)).sum() > 0
    kept = hashlib.sha256((tmp_path / "m.0002.exr").read_bytes()).hexdigest()
    assert main(["shapes", str(tmp_path / "m.####.exr"), "-q",
                 "--exr", str(tmp_path / "m.####.exr")]) == 2
    assert hashlib.sha256((tmp_path / "m.0002.exr").read_bytes()).hexdigest() == kept
    # Roto channels are not taken for objects when fitting again.
    assert main(["shapes", str(tmp_path / "m.####.exr"), "-q", "-o", str(tmp_path / "t.json")]) == 0
    assert [o.name for o in ShapeDocument.load(tmp_path / "t.json").objects] == ["ball"]


@pytest.mark.parametrize("merge", [False, True])
def test_track_roto_channels(tmp_path: Path, merge: bool):
    """track --roto-channels: shapes fitted while tracking, their channels in the same files."""
    from mattetrack.synthetic import render_shot

    shot = render_shot(n_frames=6, width=W, height=H, seed=5)
    for i, (rgb, _) in enumerate(shot):
        spec = oiio.ImageSpec(W, H, 3, "half")
        out = oiio.ImageOutput.create("exr")
        assert out.open(str(tmp_path / f"plate.{i + 1:04d}.exr"), spec)
        out.write_image(np.ascontiguousarray(rgb, np.float32))
        out.close()
    truth = shot[0][1]
    ys, xs = np.nonzero(truth >= 0.99)
    k = len(ys) // 2
    argv = ["track", str(tmp_path / "plate.####.exr"), "--object", "hero", "--point",
            f"{xs[k]},{ys[k]}", "--roto-channels", "--roto-feather", "1.5", "-q",
            "-o", str(tmp_path / "out" / "m.####.exr")]
    assert main(argv + (["--merge"] if merge else [])) == 0
    for f in range(1, 7):
        chans = read_all(tmp_path / "out" / f"m.{f:04d}.exr")
        assert "hero.A" in chans and "hero_roto.A" in chans
        assert ("R" in chans) == merge
        matte, roto = chans["hero.A"] >= 0.5, chans["hero_roto.A"] >= 0.5
        assert (matte & roto).sum() / max((matte | roto).sum(), 1) > 0.95
