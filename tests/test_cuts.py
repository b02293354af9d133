"""CutDetector: no false cuts inside real shots (motion, flashes, blur), cuts between shots found.

Real-data tests use the DAVIS dev shots in ../shared/data and skip when they are absent.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mattetrack.cuts import CutDetector, GradualWindow
from mattetrack.synthetic import linear_to_srgb, render_shot


def _srgb_frames(seed: int, n: int = 16) -> list[np.ndarray]:
    return [linear_to_srgb(rgb) for rgb, _ in render_shot(n, 320, 180, seed=seed)]


@pytest.fixture(scope="module")
def davis(shared_data: Path) -> dict[str, list[np.ndarray]]:
    """{shot: [(480, 854, 3) float32 RGB frames]} of every DAVIS dev shot."""
    root = shared_data / "davis2016-dev" / "JPEGImages" / "480p"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    return {
        shot.name: [np.asarray(Image.open(p), np.float32) / 255 for p in sorted(shot.glob("*.jpg"))]
        for shot in sorted(root.iterdir())
    }


@pytest.fixture(scope="module")
def signatures(davis: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    detector = CutDetector()
    return {shot: [detector.signature(f) for f in frames] for shot, frames in davis.items()}


def test_signature_shape_and_input_types() -> None:
    detector = CutDetector()
    frame = _srgb_frames(0, 2)[0]
    sig = detector.signature(frame)
    assert sig.dtype == np.float32 and sig.ndim == 1 and np.isfinite(sig).all()
    as_u8 = detector.signature((frame * 255 + 0.5).astype(np.uint8))
    np.testing.assert_allclose(sig, as_u8, atol=1e-4)
    assert detector.distance(sig, sig) < 0.3 and not detector.is_cut(sig, sig)


def test_flat_frames_do_not_crash() -> None:
    detector = CutDetector()
    black = detector.signature(np.zeros((90, 160, 3), np.float32))
    grey = detector.signature(np.full((90, 160, 3), 0.5, np.float32))
    assert np.isfinite(detector.distance(black, grey))


def test_synthetic_shots_joined_have_one_cut() -> None:
    detector = CutDetector()
    a, b = _srgb_frames(1), _srgb_frames(2)
    sigs = [detector.signature(f) for f in a[:10] + b[3:13]]  # cut between positions 9 and 10
    cuts = [i for i in range(len(sigs) - 1) if detector.is_cut(sigs[i], sigs[i + 1])]
    assert cuts == [9]


def test_threshold_moves_the_decision() -> None:
    a, b = _srgb_frames(1, 12)[3], _srgb_frames(2, 12)[6]
    strict, lax = CutDetector(threshold=0.99), CutDetector(threshold=0.01)
    sa, sb = strict.signature(a), strict.signature(b)
    assert not strict.is_cut(sa, sb) and lax.is_cut(sa, sb)


def test_no_false_cuts_inside_davis_shots(signatures: dict[str, list[np.ndarray]]) -> None:
    detector = CutDetector()
    false = [
        (shot, i)
        for shot, sigs in signatures.items()
        for i in range(len(sigs) - 1)
        if detector.is_cut(sigs[i], sigs[i + 1])
    ]
    assert false == []


def test_no_false_cuts_on_flashes_blur_and_skips(
    davis: dict[str, list[np.ndarray]], signatures: dict[str, list[np.ndarray]]
) -> None:
    detector = CutDetector()
    false = []
    for shot, frames in davis.items():
        for i in range(0, len(frames) - 2, 9):
            nxt = frames[i + 1]
            for name, changed in (
                ("flash", np.clip(nxt * 1.8, 0, 1)),  # a flash that blows out highlights
                ("dark", nxt * 0.5),
                ("gamma", nxt**0.6),
                ("motion blur", cv2.blur(nxt, (31, 1))),
                ("skipped frame", frames[i + 2]),  # twice the motion
            ):
                if detector.is_cut(signatures[shot][i], detector.signature(changed)):
                    false.append((shot, i, name))
    assert false == []


def test_cuts_between_davis_shots_are_found(signatures: dict[str, list[np.ndarray]]) -> None:
    detector = CutDetector()
    pairs = list(itertools.permutations(signatures, 2))
    found = sum(detector.is_cut(signatures[a][-1], signatures[b][0]) for a, b in pairs)
    assert found == len(pairs)  # 56 of 56 when measured
    rng = np.random.default_rng(0)
    anywhere = [
        detector.is_cut(
            signatures[a][rng.integers(len(signatures[a]))],
            signatures[b][rng.integers(len(signatures[b]))],
        )
        for a, b in pairs
        for _ in range(3)
    ]
    assert np.mean(anywhere) >= 0.9  # 163 of 168 when measured


def _transitions(window: GradualWindow, signatures: list[np.ndarray]) -> list[tuple[int, int]]:
    """[(start, end)] of every window `window` calls a gradual transition."""
    return [(start, end) for end, sig in enumerate(signatures)
            if (start := window.push(end, sig)) is not None]


def test_no_gradual_transition_inside_davis_shots(
        signatures: dict[str, list[np.ndarray]]) -> None:
    for shot, sigs in signatures.items():
        assert _transitions(GradualWindow(CutDetector()), sigs) == [], shot


def test_dissolves_between_davis_shots_are_found(davis: dict[str, list[np.ndarray]]) -> None:
    """Each shot dissolved into the next over 12 frames: a transition found, and every window
    it is found in lies across the dissolve."""
    detector = CutDetector()
    shots = list(davis)
    for a, b in zip(shots, shots[1:], strict=False):
        tail, head = davis[a][-20:], davis[b][:20]
        mixed = [(1 - (k + 1) / 13) * tail[8 + k] + (k + 1) / 13 * head[k] for k in range(12)]
        frames = tail[:8] + mixed + head[12:]  # the dissolve is frames 8-19
        found = _transitions(GradualWindow(detector), [detector.signature(f) for f in frames])
        assert found, (a, b)
        assert all(start < 20 and end >= 8 for start, end in found), (a, b, found)


def test_a_window_forgets_on_reset() -> None:
    detector = CutDetector()
    rng = np.random.default_rng(3)
    # Two unrelated textures, reddish and bluish.
    a, b = (cv2.GaussianBlur(rng.random((180, 320, 3), np.float32), (0, 0), 3) * tint
            for tint in (np.float32([1.0, 0.4, 0.2]), np.float32([0.2, 0.5, 1.0])))
    mixed = [(1 - t) * a + t * b for t in np.linspace(0, 1, 20)]
    sigs = [detector.signature(f) for f in mixed]
    window = GradualWindow(detector)
    assert _transitions(window, sigs)
    window.reset()
    assert window.push(0, sigs[-1]) is None
