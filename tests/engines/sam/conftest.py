"""Tiny randomly initialised SAM 2 family checkpoints, saved the way real ones are distributed.

No weights can be downloaded here: each family's tiny config (tiny_models.py) is built with a
fixed seed and `save_pretrained` into a folder, which the engine then loads through `--model`,
exactly as it would load a real checkpoint folder. HF_HUB_OFFLINE keeps every test off the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from tiny_models import FAMILIES, tiny_model


def save_tiny(family: str, folder: Path, seed: int = 0) -> Path:
    """Build family's tiny model with `seed` and save it (config.json + model.safetensors)."""
    tiny_model(family, seed).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """{family: folder} of saved tiny checkpoints for every family."""
    pytest.importorskip("transformers", reason="the deep engines need transformers ([sam] extra)")
    root = tmp_path_factory.mktemp("checkpoints")
    return {f: save_tiny(f, root / f) for f in FAMILIES}
