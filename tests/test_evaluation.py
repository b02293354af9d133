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
