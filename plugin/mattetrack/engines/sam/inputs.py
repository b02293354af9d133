"""Model inputs made here rather than by the transformers processors (those need torchvision).

The SAM 2 family sees a frame stretched to a square of `size` px (1024 for SAM 2 and EdgeTAM,
1008 for SAM 3), normalised per channel. Prompts are in MatteTrack's display-window pixels
(prompts.py: the top-left pixel's centre is (0.5, 0.5)); the models' prompt encoder takes pixel
indices on the square and adds 0.5 itself, so a coordinate maps as x * size / W - 0.5.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from mattetrack.prompts import FramePrompts


def plate_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) float32 display-referred RGB -> (3, H, W) float32 on `device`, in [0, 1].

    Non-finite pixels (a raw float plate can hold them) read as 0 rather than poisoning the model.
    """
    with warnings.catch_warnings():
        # Frames from a Shot are read-only; the tensor over them is only read (nan_to_num
        # makes a new one), so torch's warning about non-writable arrays does not apply.
        warnings.simplefilter("ignore", UserWarning)
        t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).to(device)
    t = torch.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0).clamp_(0.0, 1.0)
    return t.permute(2, 0, 1).contiguous()


def pixel_values(
    plate: torch.Tensor,
    size: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    dtype: torch.dtype,
) -> torch.Tensor:
    """(3, H, W) plate in [0, 1] -> (1, 3, size, size) normalised model input of `dtype`.

    Bilinear with antialiasing, as the processors resize (a 4K plate must not alias).
    """
    x = F.interpolate(plate[None], size=(size, size), mode="bilinear", align_corners=False,
                      antialias=True)
    m = torch.tensor(mean, device=plate.device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=plate.device, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x - m) / s).to(dtype)


def square_mask(coverage: torch.Tensor, size: int) -> torch.Tensor:
    """(H, W) coverage in [0, 1] -> (1, 1, size, size) float32 on the model's square grid."""
    return F.interpolate(coverage[None, None].float(), size=(size, size), mode="bilinear",
                         align_corners=False, antialias=True).clamp_(0.0, 1.0)


def prompt_tensors(
    prompts: FramePrompts, width: int, height: int, size: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Points and box of one object's prompts for `_single_frame_forward`.

    Returns input_points (1, 1, N, 2) and input_labels (1, 1, N) int32 (1 object, 0 background)
    when there are points, input_boxes (1, 1, 4) when there is a box; coordinates on the model's
    square as pixel indices (see the module docstring).
    """
    sx, sy = size / width, size / height
    out: dict[str, torch.Tensor] = {}
    if len(prompts.points):
        pts = prompts.points.astype(np.float32) * np.float32([sx, sy]) - 0.5
        out["input_points"] = torch.from_numpy(pts).to(device).view(1, 1, -1, 2)
        labels = torch.from_numpy(prompts.labels.astype(np.int32))
        out["input_labels"] = labels.to(device).view(1, 1, -1)
    if prompts.box is not None:
        x0, y0, x1, y1 = prompts.box
        # Clipped to the frame: a box dragged past the edge means "to the edge".
        x0, x1 = np.clip([x0, x1], 0.0, width)
        y0, y1 = np.clip([y0, y1], 0.0, height)
        box = [x0 * sx - 0.5, y0 * sy - 0.5, x1 * sx - 0.5, y1 * sy - 0.5]
        out["input_boxes"] = torch.tensor(box, dtype=torch.float32, device=device).view(1, 1, 4)
    return out


def mask_logits(coverage: torch.Tensor, mask_size: int) -> torch.Tensor:
    """(H, W) coverage in [0, 1] -> (1, 1, mask_size, mask_size) logits for the prompt encoder.

    The decoder's mask input is its own earlier low-resolution logits; a coverage maps onto the
    same +-10 scale the models use for a mask given as output (`_use_mask_as_output`).
    """
    m = F.interpolate(coverage[None, None].float(), size=(mask_size, mask_size), mode="bilinear",
                      align_corners=False, antialias=True)
    return m * 20.0 - 10.0


def with_stroke_points(prompts: FramePrompts, per_stroke: int = 6) -> FramePrompts:
    """The prompts with each stroke replaced by up to `per_stroke` points spread evenly along
    it (SAM's prompt encoder takes points; a few along a line say what the line says)."""
    if not prompts.strokes:
        return prompts
    points, labels = [prompts.points], [prompts.labels]
    for stroke in prompts.strokes:
        line = stroke.samples(1.0)
        pick = np.unique(np.linspace(0, len(line) - 1, min(per_stroke, len(line))).round())
        points.append(line[pick.astype(int)])
        labels.append(np.full(len(pick), 1 if stroke.positive else 0, np.int8))
    return dataclasses.replace(prompts, points=np.concatenate(points).astype(np.float32),
                               labels=np.concatenate(labels), strokes=[])
