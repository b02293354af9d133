"""The classic engine when the object leaves the frame, is hidden, or the shot cuts; flow reuse."""

from __future__ import annotations

import numpy as np
import pytest

from mattetrack.engines.classic import ClassicEngine
from mattetrack.engines.classic import flow as flow_module
from mattetrack.evaluation import iou
from mattetrack.synthetic import SyntheticSource, render_shot

N = 36


def forward(src: SyntheticSource, keyframes=None) -> dict[int, np.ndarray]:
    keyframes = keyframes or {0: {src.frames[0]: src.truth(src.frames[0])}}
    return {f: c[0] for f, c, _ in ClassicEngine().propagate(src, keyframes, src.frames)}


@pytest.mark.parametrize("kind", ["leave", "hide"])
def test_object_found_again_after_leaving_or_hiding(kind: str) -> None:
    """Out of sight for several frames, then re-detected from the keyframe's appearance."""
    src = SyntheticSource(render_shot(N, 480, 270, seed=0, **{kind: (0.42, 0.55)}))
    res = forward(src)
    gone = [f for f in src.frames if src.truth(f).max() < 0.5]
    assert len(gone) >= 4, gone  # the shot really hides the object
    for f in gone:
        assert np.count_nonzero(res[f] >= 0.5) < 200, f  # no false object while it is away
    tail = [iou(res[f], src.truth(f)) for f in src.frames[-10:]]
    assert min(tail) >= 0.9, tail  # measured 0.99 (leave), 0.91 (hide: still regrowing)


def test_lost_object_stays_lost_without_a_match() -> None:
    """Re-detection needs a region of plausible size that the keyframe's colours fit well:
    a keyframe of plain background finds nothing once its track is lost."""
    src = SyntheticSource(render_shot(20, 480, 270, seed=0, leave=(0.3, 1.0)))
    res = forward(src)
    assert all(np.count_nonzero(res[f] >= 0.5) < 200 for f in src.frames[10:])


@pytest.fixture(scope="module")
def two_shots() -> SyntheticSource:
    """Two different synthetic shots of 18 frames cut together (the cut is before frame 18)."""
    return SyntheticSource(render_shot(18, 480, 270, seed=0) + render_shot(18, 480, 270, seed=3))


def test_track_never_crosses_a_cut(two_shots: SyntheticSource) -> None:
    res = forward(two_shots)
    assert all(iou(res[f], two_shots.truth(f)) >= 0.9 for f in range(18))  # measured 0.98
    assert all(res[f].max() == 0.0 for f in range(18, 36))  # no keyframe after the cut


def test_blending_stays_within_cut_segments(two_shots: SyntheticSource) -> None:
    """Keyframes on both sides of a cut: each side follows its own keyframe only."""
    keys = {0: {0: two_shots.truth(0), 35: two_shots.truth(35)}}
    res = forward(two_shots, keys)
    for f in two_shots.frames:
        # measured >= 0.97, and 0.88 where the second shot's pole crosses its object
        assert iou(res[f], two_shots.truth(f)) >= 0.8, f
    # A middle keyframe after the cut: the first segment's frames after frame 0 would be blended
    # with it if the cut were ignored; only a track from frame 0 reaches them.
    keys = {0: {0: two_shots.truth(0), 20: two_shots.truth(20)}}
    res = forward(two_shots, keys)
    assert min(iou(res[f], two_shots.truth(f)) for f in range(18)) >= 0.9
    # Frames 18, 19 lie in the second segment before its keyframe: tracked backwards from 20.
    assert min(iou(res[f], two_shots.truth(f)) for f in (18, 19)) >= 0.9


def test_a_correction_after_a_cut_tracks_back_to_the_cut_only(two_shots) -> None:
    """A corrected keyframe carries its change back instead of tracking (the forward track from
    the keyframe before meets it), but a cut between the two stops that forward track: the
    frames between the cut and the correction are tracked back from it, and its change does
    not cross the cut."""
    first = {0: two_shots.truth(0)}
    alone = forward(two_shots, {0: first})
    keys = {0: {**first, 20: two_shots.truth(20)}}
    base = {0: {20: np.zeros_like(two_shots.truth(20))}}  # the matte it corrects was empty
    res = {f: c[0] for f, c, _ in ClassicEngine().propagate(two_shots, keys, two_shots.frames,
                                                             bases=base)}
    for f in range(18):  # frame 0's segment: exactly the track from frame 0
        np.testing.assert_array_equal(res[f], alone[f])
    assert min(iou(res[f], two_shots.truth(f)) for f in (18, 19)) >= 0.9


def test_a_correction_tracks_nothing_backwards(track_steps) -> None:
    """Between a keyframe and a correction after it only the forward track runs (and the
    correction's change is carried back along the flow): one track step per frame in all."""
    src = SyntheticSource(render_shot(12, 240, 135, seed=0, motion_blur_samples=1))
    steps = track_steps
    on_screen = forward(src)[6]  # what the correction on frame 6 corrects
    keys = {0: {0: src.truth(0), 6: src.truth(6)}}
    steps["n"] = 0
    forward(src, keys)
    assert steps["n"] == 5 + 2 * 5  # 1-5 tracked both ways, 7-11 forwards
    steps["n"] = 0
    res = {f: c[0] for f, c, _ in ClassicEngine().propagate(src, keys, src.frames,
                                                             bases={0: {6: on_screen}})}
    assert steps["n"] == 5 + 5
    assert min(iou(res[f], src.truth(f)) for f in src.frames) >= 0.9


def test_each_frame_pairs_flow_computed_once(monkeypatch) -> None:
    """Two sweeps (keyframes at both ends) cost the same flows as one forward sweep."""
    src = SyntheticSource(render_shot(12, 240, 135, seed=0, motion_blur_samples=1))
    calls = {"n": 0}
    real = flow_module.DenseFlow.__call__

    def counting(self, a, b):
        calls["n"] += 1
        return real(self, a, b)

    monkeypatch.setattr(flow_module.DenseFlow, "__call__", counting)
    forward(src)
    one_sweep = calls["n"]
    calls["n"] = 0
    forward(src, {0: {0: src.truth(0), 11: src.truth(11)}})
    assert one_sweep == 2 * 11  # both directions per pair (forward-backward check)
    assert calls["n"] == 2 * 11  # the backward sweep computes both; the forward one reads them


def _disc(r: int, cx: int = 40, shape: tuple[int, int] = (80, 80)) -> np.ndarray:
    y, x = np.mgrid[: shape[0], : shape[1]]
    return (((x - cx) ** 2 + (y - 40) ** 2) <= r * r).astype(np.float32)


def test_shape_memory_follows_a_complete_object_but_not_an_occluded_one() -> None:
    """The occlusion memory takes the current shape when nothing is hidden (so a deforming
    object's old outline is not held over the background), and keeps the last complete view
    while the object looks cut short (so hidden parts come back when revealed)."""
    from mattetrack.engines.classic.patches import PatchModel
    from mattetrack.engines.classic.track import TrackState, remember_shape

    state = TrackState.start(_disc(20), PatchModel.learn([]))
    moved = _disc(21, cx=44)  # the object moved and deformed, nothing hidden: remembered
    remember_shape(state, moved >= 0.5, moved)
    assert np.array_equal(state.shape, moved)
    cut = moved.copy()
    cut[:, 44:] = 0.0  # half of it behind an occluder: the complete view stays
    remember_shape(state, cut >= 0.5, cut)
    assert np.array_equal(state.shape, moved)


def test_growth_needs_local_colour_contrast() -> None:
    """Colour may pull the edge out over the background only where it separates object from
    background nearby; where the two look alike (object-ish ground), the flow's shape wins."""
    from mattetrack.engines.classic.track import _gate_growth

    inside = _disc(20) >= 0.5
    outside = ~inside & (_disc(30) >= 0.5)
    ambiguous = np.full(inside.shape, 0.5, np.float32)  # object and ground look alike
    clear = np.where(inside, 2.5, -2.5).astype(np.float32)
    clear[outside & (_disc(23) >= 0.5)] = 2.5  # a ring of object colour just outside the edge
    every = np.ones_like(inside)
    gated = _gate_growth(ambiguous, inside, outside, every, 4, 3.0)
    assert np.all(gated[outside] == 0.0) and np.all(gated[inside] == 0.5)
    kept = _gate_growth(clear, inside, outside, every, 4, 3.0)
    ring = outside & (_disc(23) >= 0.5)
    assert kept[ring].min() > 1.0  # strong local contrast: colour keeps most of its vote
    assert np.array_equal(_gate_growth(ambiguous, inside, outside, ~every, 4, 3.0), ambiguous)
    assert np.array_equal(_gate_growth(ambiguous, inside, outside, every, 4, 0.0), ambiguous)


def _davis_shot(root, name: str, frames: slice) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(scene-linear RGB, truth coverage)] of DAVIS dev shot `name`'s `frames`."""
    from PIL import Image

    from mattetrack.synthetic import srgb_to_linear

    jpegs = sorted((root / "JPEGImages" / "480p" / name).glob("*.jpg"))[frames]
    out = []
    for jpeg in jpegs:
        rgb = np.asarray(Image.open(jpeg), np.float32) / 255
        mask = root / "Annotations" / "480p" / name / (jpeg.stem + ".png")
        out.append((srgb_to_linear(rgb), (np.asarray(Image.open(mask)) > 0).astype(np.float32)))
    return out


def test_track_never_crosses_a_dissolve(shared_data) -> None:
    """dog dissolving over 12 frames (mixed in display values, as an edit does) into car-shadow:
    the track from dog's first frame follows dog, stops inside the dissolve and gives nothing
    on car-shadow after it."""
    from mattetrack.synthetic import linear_to_srgb, srgb_to_linear

    root = shared_data / "davis2016-dev"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    dog = _davis_shot(root, "dog", slice(0, 32))
    cars = _davis_shot(root, "car-shadow", slice(0, 32))
    mixed = []
    for k in range(12):
        t = (k + 1) / 13
        (a, ta), (b, tb) = dog[20 + k], cars[k]
        mixed.append((srgb_to_linear((1 - t) * linear_to_srgb(a) + t * linear_to_srgb(b)),
                      ta if t < 0.5 else tb))
    src = SyntheticSource(dog[:20] + mixed + cars[12:])  # the dissolve is frames 20-31
    res = forward(src)
    assert min(iou(res[f], src.truth(f)) for f in range(20)) >= 0.8
    assert all(res[f].max() == 0.0 for f in range(32, 52))  # nothing after the dissolve
    assert ClassicEngine().cuts(src, src.frames) == []  # the farm's split points: hard cuts only
