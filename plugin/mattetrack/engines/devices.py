"""Compute devices as users name them (`--device`), shared by every engine that takes one."""

from __future__ import annotations

from mattetrack.errors import InputError


def pick_device(device: str | None):
    """`--device`: auto (CUDA when there is one, else CPU), cpu, cuda or cuda:N."""
    import torch

    name = (device or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    expected = InputError(f"{device!r}: expected auto, cpu, cuda or cuda:N", field="device")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise expected from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{device!r}: this machine's torch sees no CUDA GPU", field="device")
    if dev.type not in ("cpu", "cuda"):
        raise expected
    return dev
