"""Tiny, randomly initialised configs for the transformers SAM-family video trackers.

`tiny_config(family)` returns a config for `Sam2VideoModel` ("sam2"), `EdgeTamVideoModel`
("edgetam") or `Sam3TrackerVideoModel` ("sam3"). Each builds in a fraction of a second and
runs a 256x256 (SAM 2, EdgeTAM) or 224x224 (SAM 3) frame in a few tens of milliseconds on CPU,
yet keeps every code path the real models use when tracking: the multi-level vision features
(and their FPN), the prompt encoder with its mask-input path, the multimask decoder with object
score and object pointer heads, the memory encoder, memory attention with RoPE over spatial
memories plus object pointer tokens, and (EdgeTAM) the spatial perceiver resampler.

Nothing here downloads anything and nothing needs torchvision or timm. The real EdgeTAM uses a
timm RepViT backbone (`edgetam_vision_model` wrapping `timm_wrapper`); transformers gates timm on
torchvision, so the tiny EdgeTAM uses the Hiera `sam2_vision_model` backbone, which is the
`EdgeTamVideoConfig` default and feeds the same EdgeTAM-specific tracking code.

Known upstream quirk (transformers 5.23): `EdgeTamVideoModel._use_mask_as_output` returns
`object_score_logits` of shape (B, 1) instead of (B, 1, 1), so a frame where one object is
prompted with a mask and another with points fails in `forward` (torch.cat of 1-D and 2-D);
SAM 2 and SAM 3 are fine.

Import it from a test with the folder on `sys.path` (there are no `__init__.py` files in tests).
"""

from __future__ import annotations

from typing import Any

FAMILIES = ("sam2", "edgetam", "sam3")

# The model input square each tiny config expects (`config.image_size`).
IMAGE_SIZE = {"sam2": 256, "edgetam": 256, "sam3": 224}

# Width of the image features, prompt/mask decoder and memory attention (real models: 256).
# Object pointers have this width and are cut into HIDDEN // MEMORY_DIM memory tokens, so it
# must be a multiple of MEMORY_DIM; 128 keeps that split (2 tokens per pointer; real: 4).
HIDDEN = 128
# Memory encoder output width. Fixed at 64 by the models themselves: memory attention's
# cross-attention is built with `kv_in_dim=64` whatever the config says.
MEMORY_DIM = 64


def _hiera_vision_config(image_size: int) -> dict[str, Any]:
    """A 4-stage Hiera backbone (stride 4, 8, 16, 32) and its 3-level FPN, as a plain dict."""
    s4 = image_size // 4
    return {
        "model_type": "sam2_vision_model",
        "backbone_config": {
            "model_type": "sam2_hiera_det_model",
            "hidden_size": 16,
            "num_attention_heads": 1,
            "blocks_per_stage": [1, 1, 2, 1],
            "embed_dim_per_stage": [16, 32, 64, 128],
            "num_attention_heads_per_stage": [1, 1, 2, 2],
            "window_size_per_stage": [8, 4, 14, 7],
            "global_attention_blocks": [3],
            "image_size": [image_size, image_size],
            "window_positional_embedding_background_size": [7, 7],
        },
        "backbone_channel_list": [128, 64, 32, 16],
        "backbone_feature_sizes": [[s4, s4], [s4 // 2, s4 // 2], [s4 // 4, s4 // 4]],
        "fpn_hidden_size": HIDDEN,
    }


def _decoder_kwargs(image_size: int, patch_size: int) -> dict[str, Any]:
    return {
        "prompt_encoder_config": {
            "hidden_size": HIDDEN,
            "image_size": image_size,
            "patch_size": patch_size,
        },
        "mask_decoder_config": {
            "hidden_size": HIDDEN,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
    }


def _memory_kwargs() -> dict[str, Any]:
    """Memory encoder and memory attention sizes shared by the three families."""
    return {
        "num_maskmem": 7,
        "max_object_pointers_in_encoder": 16,
        "memory_attention_hidden_size": HIDDEN,
        "memory_attention_num_layers": 1,
        "memory_encoder_hidden_size": HIDDEN,
        "memory_encoder_output_channels": MEMORY_DIM,
        "mask_downsampler_embed_dim": HIDDEN,
        "memory_fuser_embed_dim": HIDDEN,
        "memory_fuser_intermediate_dim": 2 * HIDDEN,
    }


def _sam2_config():
    from transformers import Sam2VideoConfig

    size = IMAGE_SIZE["sam2"]
    return Sam2VideoConfig(
        vision_config=_hiera_vision_config(size),
        image_size=size,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[size // 16, size // 16],
        **_decoder_kwargs(size, 16),
        **_memory_kwargs(),
    )


def _edgetam_config():
    from transformers import EdgeTamVideoConfig

    size = IMAGE_SIZE["edgetam"]
    s16 = size // 16
    # The perceiver pools the stride-16 memory into `num_latents` global tokens plus a
    # sqrt(num_latents_2d)^2 grid of window tokens; the grid side must divide s16, and the
    # RoPE key grid (`rope_k_sizes`) is that grid. Its width is the memory width.
    grid = s16 // 4
    return EdgeTamVideoConfig(
        vision_config=_hiera_vision_config(size),
        image_size=size,
        memory_attention_mlp_hidden_size=64,
        memory_attention_rope_feat_sizes=[s16, s16],
        memory_attention_rope_k_sizes=[grid, grid],
        perceiver_resampler_num_latents=16,
        perceiver_resampler_num_latents_2d=grid * grid,
        perceiver_resampler_hidden_size=MEMORY_DIM,
        perceiver_resampler_mlp_intermediate_size=2 * MEMORY_DIM,
        perceiver_resampler_num_attention_heads=1,
        perceiver_resampler_attention_head_dim=MEMORY_DIM,
        perceiver_resampler_num_layers=1,
        **_decoder_kwargs(size, 16),
        **_memory_kwargs(),
    )


def _sam3_config():
    from transformers import Sam3TrackerVideoConfig

    size = IMAGE_SIZE["sam3"]
    patch = 14
    tokens = size // patch  # 16: the ViT grid, stride 14 (real: 1008 / 14 = 72)
    vision_config = {
        "model_type": "sam3_vision_model",
        "backbone_config": {
            "model_type": "sam3_vit_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": size,
            "patch_size": patch,
            "window_size": 8,
            "global_attn_indexes": [1],
            "pretrain_image_size": size // 2,
        },
        "fpn_hidden_size": HIDDEN,
        "backbone_feature_sizes": [[4 * tokens] * 2, [2 * tokens] * 2, [tokens] * 2],
    }
    return Sam3TrackerVideoConfig(
        vision_config=vision_config,
        image_size=size,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[tokens, tokens],
        **_decoder_kwargs(size, patch),
        **_memory_kwargs(),
    )


_FACTORIES = {"sam2": _sam2_config, "edgetam": _edgetam_config, "sam3": _sam3_config}


def tiny_config(family: str):
    """A fresh tiny config for `family` ("sam2", "edgetam" or "sam3")."""
    try:
        factory = _FACTORIES[family]
    except KeyError:
        raise ValueError(f"unknown SAM family {family!r}; expected one of {FAMILIES}") from None
    return factory()


def tiny_model(family: str, seed: int = 0):
    """A tiny randomly initialised model for `family`, in eval mode (seeded, so reproducible)."""
    import torch

    from mattetrack.engines.sam.families import FAMILIES as ENGINE_FAMILIES

    model_cls, _ = ENGINE_FAMILIES[family].classes()
    torch.manual_seed(seed)
    return model_cls(tiny_config(family)).eval()
