"""Loading a SAM 2 family model from a local folder or a Hugging Face id, with one-line errors.

`--model` is either a folder (what `save_pretrained` or `hf download ID --local-dir DIR` writes:
config.json and model.safetensors) or a Hugging Face id, looked up in the local Hugging Face
cache and downloaded there if the hub can be reached and HF_HUB_OFFLINE is not set.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from mattetrack.engines.devices import pick_device
from mattetrack.engines.sam.families import FAMILIES, Family
from mattetrack.errors import InputError

# A Hugging Face repository id: "name" or "owner/name" (letters, digits, '-', '_', '.').
_HUB_ID = re.compile(r"\A(?:[\w.-]+/)?[\w.-]+\Z")


@dataclass
class LoadedModel:
    """A model ready for inference, with its family and where it runs."""

    family: Family
    model: torch.nn.Module
    session_class: type
    device: torch.device
    dtype: torch.dtype
    source: str


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _where(family: Family, ref: str) -> str:
    """The second half of every missing-weights message: where weights go."""
    return (
        f"put a {family.title} checkpoint (config.json + model.safetensors) in a folder and "
        f"pass it, or fetch one into {_hub_cache()} with `hf download {ref}`"
    )


def load_model(
    family: Family | str,
    model: str | None = None,
    device: str | None = None,
    dtype: torch.dtype | None = None,
    compile: bool = False,
) -> LoadedModel:
    """Load `model` (folder or id; the family's default id when None) for inference.

    dtype: default bfloat16 on CUDA, float32 on CPU. compile: `torch.compile` the image encoder
    (the bulk of the work per frame; the rest changes shape with the memory bank).
    """
    fam = FAMILIES[family] if isinstance(family, str) else family
    ref = model or fam.default_model
    dev = pick_device(device)
    if dtype is None:
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"--model {ref!r}: the folder has no config.json; {_where(fam, ref)}")
        source, local_only = str(path), True
    elif path.exists():
        raise InputError(f"--model {ref!r}: not a folder; {_where(fam, ref)}")
    elif not _HUB_ID.match(ref) or ref.startswith((".", "~")) or os.sep + os.sep in ref:
        raise InputError(f"--model {ref!r}: no such folder; {_where(fam, ref)}")
    else:
        source, local_only = ref, _offline()

    from transformers import AutoConfig
    from transformers.utils import logging as hf_logging

    # Its warnings about unused keys and its loading progress bars are not the artist's concern.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_only)
    except (OSError, ValueError) as err:
        if local_only and source == ref and not path.is_dir():
            raise InputError(f"--model {ref!r}: not in the local cache; {_where(fam, ref)}") \
                from None
        raise InputError(f"--model {ref!r}: cannot read its config ({_first_line(err)}); "
                         f"{_where(fam, ref)}") from None
    kind = getattr(config, "model_type", "")
    if kind != fam.model_type and kind not in fam.also_types:
        other = next((f for f in FAMILIES.values()
                      if kind == f.model_type or kind in f.also_types), None)
        hint = f"use --engine {other.engine}" if other else "not a model MatteTrack can run"
        raise InputError(f"--model {ref!r}: a {kind or 'unknown'} model, not {fam.title} ({hint})")
    model_cls, session_cls = fam.classes()
    try:
        net = model_cls.from_pretrained(source, local_files_only=local_only, dtype=dtype)
    except ImportError as err:
        # The released EdgeTAM's image encoder is a timm model, which transformers only loads
        # with timm and torchvision installed.
        raise InputError(f"--model {ref!r}: {fam.title} needs more packages "
                         f"({_first_line(err)}); pip install timm torchvision") from None
    except (OSError, ValueError, RuntimeError) as err:
        raise InputError(f"--model {ref!r}: cannot load its weights ({_first_line(err)}); "
                         f"{_where(fam, ref)}") from None
    net = net.to(dev).eval().requires_grad_(False)
    if compile:
        net.vision_encoder = torch.compile(net.vision_encoder, dynamic=False)
    return LoadedModel(fam, net, session_cls, dev, dtype, source)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
