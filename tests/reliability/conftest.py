"""Plates of the reliability tests: synthetic shots written as 8-bit PNGs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from mattetrack.synthetic import render_shot


@pytest.fixture(scope="session")
def png_plate(tmp_path_factory) -> Callable[..., Path]:
    """plate(n, width, height, seed) -> a folder with p.1001.png... and mask.png, the object's
    coverage on the first frame (for `--mask 1001:...`)."""

    def make(n: int, width: int, height: int, seed: int) -> Path:
        folder = tmp_path_factory.mktemp("plate")
        shot = render_shot(n_frames=n, width=width, height=height, seed=seed,
                           motion_blur_samples=1)
        for i, (rgb, cov) in enumerate(shot):
            pixels = (np.clip(rgb, 0, 1)[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
            cv2.imwrite(str(folder / f"p.{1001 + i}.png"), pixels)
            if i == 0:
                cv2.imwrite(str(folder / "mask.png"), (cov * 255 + 0.5).astype(np.uint8))
        return folder

    return make
