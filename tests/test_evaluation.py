"""The simulated-click protocol and IoU used by the NoC benchmark and the selection tests."""

import numpy as np

from mattetrack.evaluation import iou, next_click


def test_iou_thresholds_mattes_at_half():
    a = np.zeros((10, 10), np.float32)
    b = np.zeros((10, 10), np.float32)
    assert iou(a, b) == 1.0  # both empty
    a[:, :5] = 0.6
    b[:, :5] = 1.0
    b[:, 5:] = 0.49
    assert iou(a, b) == 1.0
    b[:, 5] = 0.5
    assert iou(a, b) == 50 / 60


def test_first_click_is_the_deepest_object_point_and_corrections_take_the_largest_error():
    truth = np.zeros((40, 60), bool)
    truth[10:31, 5:26] = True  # 21x21 square centred on pixel (15, 20)
    assert next_click(np.zeros_like(truth), truth) == (15.5, 20.5, True)

    pred = truth.copy()
    pred[2:6, 40:44] = True  # a small false blob: negative
    pred[10:31, 5:12] = False  # a bigger miss on the object: positive, and larger
    x, y, positive = next_click(pred, truth)
    assert positive and 5 <= x < 12 and 10 <= y < 31
    pred[10:31, 5:12] = True
    x, y, positive = next_click(pred, truth)
    assert not positive and 40 <= x < 44 and 2 <= y < 6
    assert next_click(truth, truth) is None


def test_corrections_go_to_the_deepest_error_not_the_widest():
    """The benchmarks' protocol (RITM's clicker): the error pixel farthest from its error's
    boundary, not the centre of the error of largest area. A long 2-px sliver missed along the
    object's edge (larger area) loses to a compact false blob (deeper)."""
    truth = np.zeros((60, 100), bool)
    truth[10:50, 10:90] = True
    pred = truth.copy()
    pred[10:12, 10:90] = False  # a 2 x 80 sliver missed: 160 px, depth 1
    pred[52:60, 40:52] = True  # an 8 x 12 false blob below: 96 px, depth 4 (frame border counts)
    x, y, positive = next_click(pred, truth)
    assert not positive and 40 <= x < 52 and 52 <= y < 60
    pred[52:60, 40:52] = False
    x, y, positive = next_click(pred, truth)
    assert positive and 10 <= y < 12
