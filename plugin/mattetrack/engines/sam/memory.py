"""Bounding the model's memory: what a streamed inference session keeps.

transformers' inference sessions keep every frame they are given and every frame's outputs (4 MB
of high-resolution logits per object and frame for SAM 2 at 1024 px), which is how long shots
run out of memory. MatteTrack feeds frames one at a time and, after each, keeps only:
- the keyframes' outputs (conditioning frames: pinned, never dropped), and of those the model
  attends to the `max_keyframes` nearest;
- the outputs of the last `memory_frames` tracked frames, slimmed to what the memory attention
  reads (memory features, their position encoding, the object pointer and score).
Neither grows with shot length.
"""

from __future__ import annotations

import torch

# What the memory attention reads from a past frame's outputs; the rest is dropped once the
# frame's memory is encoded.
_KEEP = ("maskmem_features", "maskmem_pos_enc", "object_pointer", "object_score_logits")


def model_memory_frames(config: object) -> int:
    """How many past frames the model can attend to: masks (num_maskmem - 1) or object
    pointers (max_object_pointers_in_encoder - 1), whichever reaches further."""
    num_maskmem = int(getattr(config, "num_maskmem", 7))
    pointers = int(getattr(config, "max_object_pointers_in_encoder", 16))
    return max(num_maskmem - 1, pointers - 1, 1)


def slim_outputs(session: object, frame_idx: int) -> None:
    """Drop everything but the memory attention's inputs from frame `frame_idx`'s outputs."""
    for outputs in session.output_dict_per_obj.values():
        for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
            out = outputs[kind].get(frame_idx)
            if out is not None:
                for key in [k for k in out if k not in _KEEP]:
                    del out[key]


def forget(session: object, frame_idx: int, memory_frames: int) -> None:
    """After frame `frame_idx`: drop its pixels and tracked outputs further than
    `memory_frames` from it (keyframe outputs stay)."""
    if session.processed_frames is not None:
        session.processed_frames.pop(frame_idx, None)
    for outputs in session.output_dict_per_obj.values():
        tracked = outputs["non_cond_frame_outputs"]
        for f in [f for f in tracked if abs(f - frame_idx) > memory_frames]:
            del tracked[f]
    for tracked in session.frames_tracked_per_obj.values():
        tracked.clear()


def forget_tracks(session: object) -> None:
    """Drop all tracked (non-keyframe) outputs: a new sweep must not read another's."""
    for outputs in session.output_dict_per_obj.values():
        outputs["non_cond_frame_outputs"].clear()


def bank_bytes(session: object) -> int:
    """Bytes of tensors the session holds (frames, outputs, cached features): for tests and
    benchmarks that check the bank stays bounded."""
    seen: set[int] = set()
    total = 0

    def add(x: object) -> None:
        nonlocal total
        if isinstance(x, torch.Tensor):
            if id(x) not in seen:
                seen.add(id(x))
                total += x.numel() * x.element_size()
        elif isinstance(x, dict):
            for v in x.values():
                add(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                add(v)

    add(session.processed_frames or {})
    add(session.output_dict_per_obj)
    add(session.cache._vision_features)
    add(session.mask_inputs_per_obj)
    return total
