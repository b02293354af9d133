"""Real-size configs (for random weights) of the SAM-family video trackers, for benchmarks.

`MODEL_SIZES` maps a size name to `(family, config_factory)`, where family is "sam2",
"edgetam" or "sam3" (built with `Sam2VideoModel`, `EdgeTamVideoModel`,
`Sam3TrackerVideoModel`) and `config_factory()` returns a fresh transformers config with the
published hyperparameters of that checkpoint. Nothing is downloaded: the weights are random,
so these measure speed and memory only.

Sources of the hyperparameters:
- SAM 2.1 (facebook/sam2.1-hiera-{tiny,small,base-plus,large}): the upstream Hydra configs
  `sam2/configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml` as mapped by transformers'
  `convert_sam2_video_to_hf.py`: only the Hiera trunk (and the FPN's input channels) differ;
  memory attention, memory encoder, prompt encoder and mask decoder are the config defaults.
  SAM 2.1 turns on `enable_temporal_pos_encoding_for_object_pointers` and
  `enable_occlusion_spatial_embedding` (both default True).
- EdgeTAM (yonigozlan/EdgeTAM-hf; original facebook/EdgeTAM, `sam2/configs/edgetam.yaml`):
  a timm RepViT-M1 trunk (`repvit_m1.dist_in1k`, features at strides 4-32 with 48/96/192/384
  channels) under the SAM 2 FPN, 2 memory-attention layers with RoPE keys on a 16x16 grid, and
  a 2-layer spatial perceiver (256 + 256 latents, width 64), as in transformers'
  `convert_edgetam_video_to_hf.py`, which also turns off the temporal encoding of object
  pointers and the occlusion embedding. transformers builds that trunk through `timm_wrapper`,
  which needs timm, and transformers only counts timm as available with torchvision installed:
  without both, `EdgeTamVideoModel(config)` raises ImportError. `build_model("edgetam")` then
  puts `RepViTM1`, a plain-torch copy of the same trunk (same layers, parameter count and
  FLOPs; parameter names as timm's features_only model), in its place.
- SAM 3 tracker (facebook/sam3): `Sam3TrackerVideoConfig()` defaults, i.e. the SAM 3 ViT
  (1024 wide, 32 layers, patch 14, 1008 input) with its own tracker FPN neck, 4 memory-attention
  layers and at most 4 conditioning frames in memory (`max_cond_frame_num=4`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def device_name(device: str) -> str:
    """The device a benchmark ran on, for its table."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU, {torch.get_num_threads()} threads"


# --------------------------------------------------------------------------------------------
# SAM 2.1


def _sam21(
    dim: int,
    heads: int,
    blocks: list[int],
    global_blocks: list[int],
    background: int = 7,
    windows: tuple[int, int, int, int] = (8, 4, 14, 7),
) -> Callable[[], Any]:
    """A SAM 2.1 config on a Hiera trunk: embed_dim, num_heads, stages, global_att_blocks,
    window_pos_embed_bkg_spatial_size and window_spec of the upstream yaml; widths and heads
    double at each of the 4 stages, and the FPN reads the stages' widths, deepest first."""
    widths = [dim, 2 * dim, 4 * dim, 8 * dim]
    trunk = {
        "hidden_size": dim,
        "num_attention_heads": heads,
        "blocks_per_stage": blocks,
        "embed_dim_per_stage": widths,
        "num_attention_heads_per_stage": [heads, 2 * heads, 4 * heads, 8 * heads],
        "global_attention_blocks": global_blocks,
        "window_positional_embedding_background_size": [background, background],
        "window_size_per_stage": list(windows),
    }

    def factory():
        from transformers import Sam2VideoConfig

        return Sam2VideoConfig(
            vision_config={
                "model_type": "sam2_vision_model",
                "backbone_config": {"model_type": "sam2_hiera_det_model", **trunk},
                "backbone_channel_list": widths[::-1],
            },
            enable_temporal_pos_encoding_for_object_pointers=True,
            enable_occlusion_spatial_embedding=True,
        )

    return factory


SAM21_TINY = _sam21(96, 1, [1, 2, 7, 2], [5, 7, 9])
SAM21_SMALL = _sam21(96, 1, [1, 2, 11, 2], [7, 10, 13])
SAM21_BASE_PLUS = _sam21(112, 2, [2, 3, 16, 3], [12, 16, 20], background=14)
SAM21_LARGE = _sam21(144, 2, [2, 6, 36, 4], [23, 33, 43], windows=(8, 4, 16, 8))

# --------------------------------------------------------------------------------------------
# EdgeTAM

# timm's model_args for the trunk, as in convert_edgetam_video_to_hf.py.
EDGETAM_TIMM_MODEL_ARGS = {"in_chans": 3, "features_only": True, "out_indices": [0, 1, 2, 3]}


def edgetam_config():
    """The EdgeTAM config (as yonigozlan/EdgeTAM-hf): RepViT-M1 via timm_wrapper."""
    from transformers import EdgeTamVideoConfig, EdgeTamVisionConfig, TimmWrapperConfig

    # Built explicitly: EdgeTamVisionConfig()'s own default misspells "architecture"
    # ("archirecture"), which leaves timm_wrapper's default "resnet50". `num_labels` keeps
    # the config from asking timm for ImageNet label names.
    backbone = TimmWrapperConfig(
        architecture="repvit_m1", model_args=dict(EDGETAM_TIMM_MODEL_ARGS), num_labels=1000
    )
    vision = EdgeTamVisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[384, 192, 96, 48],
        backbone_feature_sizes=[[256, 256], [128, 128], [64, 64]],
        fpn_hidden_size=256,
    )
    return EdgeTamVideoConfig(
        vision_config=vision,
        enable_temporal_pos_encoding_for_object_pointers=False,
        enable_occlusion_spatial_embedding=False,
        memory_attention_num_layers=2,
        memory_attention_rope_feat_sizes=[64, 64],
        memory_attention_rope_k_sizes=[16, 16],
        perceiver_resampler_num_latents=256,
        perceiver_resampler_num_latents_2d=256,
        perceiver_resampler_hidden_size=64,
        perceiver_resampler_mlp_intermediate_size=256,
        perceiver_resampler_attention_head_dim=64,
        perceiver_resampler_num_layers=2,
    )


class _ConvNorm(nn.Sequential):
    """timm repvit.ConvNorm: conv without bias, then batch norm (children `c`, `bn`)."""

    def __init__(self, cin: int, cout: int, ks: int = 1, stride: int = 1, pad: int = 0, groups=1):
        super().__init__()
        self.add_module("c", nn.Conv2d(cin, cout, ks, stride, pad, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(cout))


class _RepVggDw(nn.Module):
    """timm repvit.RepVggDw with legacy=True: dw 3x3 ConvNorm + dw 1x1 ConvNorm + identity."""

    def __init__(self, dim: int, kernel_size: int = 3):
        super().__init__()
        self.conv = _ConvNorm(dim, dim, kernel_size, 1, kernel_size // 2, groups=dim)
        self.conv1 = _ConvNorm(dim, dim, 1, 1, 0, groups=dim)  # legacy: ConvNorm, not Conv2d
        self.bn = nn.Identity()  # legacy: no batch norm after the sum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x) + self.conv1(x) + x)


class _SqueezeExcite(nn.Module):
    """timm.layers.SqueezeExcite(dim, 0.25): rd = make_divisible(dim / 4, 8), min 8."""

    def __init__(self, dim: int):
        super().__init__()
        rd = max(8, int(dim * 0.25 + 4) // 8 * 8)
        self.fc1 = nn.Conv2d(dim, rd, 1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd, dim, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(self.act(self.bn(self.fc1(s))))
        return x * s.sigmoid()


class _RepVitMlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.conv1 = _ConvNorm(dim, hidden, 1, 1, 0)
        self.act = nn.GELU()
        self.conv2 = _ConvNorm(hidden, dim, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.conv1(x)))


class _RepViTBlock(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float, kernel_size: int, use_se: bool):
        super().__init__()
        self.token_mixer = _RepVggDw(dim, kernel_size)
        self.se = _SqueezeExcite(dim) if use_se else nn.Identity()
        self.channel_mixer = _RepVitMlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.token_mixer(x))
        return x + self.channel_mixer(x)


class _RepVitStem(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = _ConvNorm(cin, cout // 2, 3, 2, 1)
        self.act1 = nn.GELU()
        self.conv2 = _ConvNorm(cout // 2, cout, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act1(self.conv1(x)))


class _RepVitDownsample(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float, out_dim: int, kernel_size: int):
        super().__init__()
        self.pre_block = _RepViTBlock(dim, mlp_ratio, kernel_size, use_se=False)
        self.spatial_downsample = _ConvNorm(dim, dim, kernel_size, 2, kernel_size // 2, groups=dim)
        self.channel_downsample = _ConvNorm(dim, out_dim, 1, 1, 0)
        self.ffn = _RepVitMlp(out_dim, int(out_dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel_downsample(self.spatial_downsample(self.pre_block(x)))
        return x + self.ffn(x)


class _RepVitStage(nn.Module):
    def __init__(self, cin: int, cout: int, depth: int, mlp_ratio: float, downsample: bool):
        super().__init__()
        self.downsample = (
            _RepVitDownsample(cin, mlp_ratio, cout, 3) if downsample else nn.Identity()
        )
        blocks, use_se = [], True
        for _ in range(depth):
            blocks.append(_RepViTBlock(cout, mlp_ratio, 3, use_se))
            use_se = not use_se
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class RepViTM1(nn.Module):
    """timm's `repvit_m1` (legacy) as `features_only=True, out_indices=(0, 1, 2, 3)`.

    Plain torch, so it runs without timm and torchvision. Returns the four stage outputs (NCHW;
    strides 4, 8, 16, 32; 48, 96, 192, 384 channels). Module names follow timm's
    FeatureListNet (`stem`, `stages_0` .. `stages_3`) so a timm state dict can be loaded.
    """

    embed_dim = (48, 96, 192, 384)
    depth = (2, 2, 14, 2)

    def __init__(self, in_chans: int = 3, mlp_ratio: float = 2.0):
        super().__init__()
        self.stem = _RepVitStem(in_chans, self.embed_dim[0])
        prev = self.embed_dim[0]
        for i, (dim, depth) in enumerate(zip(self.embed_dim, self.depth, strict=True)):
            self.add_module(f"stages_{i}", _RepVitStage(prev, dim, depth, mlp_ratio, i > 0))
            prev = dim

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        out = []
        for i in range(len(self.embed_dim)):
            x = getattr(self, f"stages_{i}")(x)
            out.append(x)
        return out


class _TimmWrapperStandIn(nn.Module):
    """Stands in for TimmWrapperModel(features_only): `.timm_model` and a `last_hidden_state`."""

    def __init__(self):
        super().__init__()
        self.timm_model = RepViTM1()

    def forward(self, pixel_values: torch.Tensor, **kwargs):
        from transformers.modeling_outputs import BaseModelOutput

        return BaseModelOutput(last_hidden_state=self.timm_model(pixel_values))


def build_edgetam_without_timm(config=None):
    """EdgeTamVideoModel with the RepViT-M1 trunk in plain torch (random weights).

    transformers cannot build `timm_wrapper` without timm + torchvision, so the model is built
    with a placeholder Hiera vision config and its `vision_encoder` then replaced by an
    `EdgeTamVisionModel` whose backbone is `RepViTM1`. State-dict keys match the real model.
    """
    from transformers import EdgeTamVideoModel
    from transformers.models.edgetam.modeling_edgetam import EdgeTamVisionModel

    config = edgetam_config() if config is None else config
    vision_config = config.vision_config
    placeholder = config.__class__.from_dict(config.to_dict())
    placeholder.vision_config = _tiny_hiera_like(vision_config)
    model = EdgeTamVideoModel(placeholder)

    # EdgeTamVisionModel.__init__ would build the timm backbone: build it piecewise instead.
    encoder = EdgeTamVisionModel.__new__(EdgeTamVisionModel)
    nn.Module.__init__(encoder)
    encoder.config = vision_config
    encoder.backbone = _TimmWrapperStandIn()
    from transformers.models.edgetam.modeling_edgetam import EdgeTamVisionNeck

    encoder.neck = EdgeTamVisionNeck(vision_config)
    encoder.num_feature_levels = vision_config.num_feature_levels
    model.vision_encoder = encoder
    model.config = config
    _init_like_transformers(model.vision_encoder, config)
    return model.eval()


def _tiny_hiera_like(vision_config):
    """A minimal sam2_vision_model with the same FPN width/levels (replaced right after)."""
    from transformers import Sam2VisionConfig

    return Sam2VisionConfig(
        backbone_config={
            "model_type": "sam2_hiera_det_model",
            "hidden_size": 8,
            "blocks_per_stage": [1, 1, 1, 1],
            "embed_dim_per_stage": [8, 16, 32, 64],
            "num_attention_heads_per_stage": [1, 1, 1, 1],
            "global_attention_blocks": [2],
        },
        backbone_channel_list=[64, 32, 16, 8],
        backbone_feature_sizes=vision_config.backbone_feature_sizes,
        fpn_hidden_size=vision_config.fpn_hidden_size,
        num_feature_levels=vision_config.num_feature_levels,
    )


def _init_like_transformers(module: nn.Module, config) -> None:
    std = getattr(config, "initializer_range", 0.02)
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------------------------
# SAM 3 tracker


def sam3_tracker_config():
    """facebook/sam3's tracker: the Sam3TrackerVideoConfig defaults (1008 input, ViT-L/14)."""
    from transformers import Sam3TrackerVideoConfig

    return Sam3TrackerVideoConfig()


# --------------------------------------------------------------------------------------------

MODEL_SIZES: dict[str, tuple[str, Callable[[], Any]]] = {
    "sam2.1-tiny": ("sam2", SAM21_TINY),
    "sam2.1-small": ("sam2", SAM21_SMALL),
    "sam2.1-base-plus": ("sam2", SAM21_BASE_PLUS),
    "sam2.1-large": ("sam2", SAM21_LARGE),
    "edgetam": ("edgetam", edgetam_config),
    "sam3-tracker": ("sam3", sam3_tracker_config),
}

# The public checkpoints these mirror (transformers format).
HF_MODEL_IDS = {
    "sam2.1-tiny": "facebook/sam2.1-hiera-tiny",
    "sam2.1-small": "facebook/sam2.1-hiera-small",
    "sam2.1-base-plus": "facebook/sam2.1-hiera-base-plus",
    "sam2.1-large": "facebook/sam2.1-hiera-large",
    "edgetam": "yonigozlan/EdgeTAM-hf",
    "sam3-tracker": "facebook/sam3",
}

# Published parameter counts (millions) where there is one, for a sanity check.
PUBLISHED_PARAMS_M = {
    "sam2.1-tiny": 38.9,
    "sam2.1-small": 46.0,
    "sam2.1-base-plus": 80.8,
    "sam2.1-large": 224.4,
}

MODEL_CLASSES = {
    "sam2": "Sam2VideoModel",
    "edgetam": "EdgeTamVideoModel",
    "sam3": "Sam3TrackerVideoModel",
}


def build_model(name: str):
    """A randomly initialised model of size `name`, in eval mode.

    EdgeTAM is built through timm when transformers can use it, else with `RepViTM1`.
    """
    import transformers
    from transformers.utils import is_timm_available

    family, factory = MODEL_SIZES[name]
    config = factory()
    if family == "edgetam" and not is_timm_available():
        return build_edgetam_without_timm(config)
    return getattr(transformers, MODEL_CLASSES[family])(config).eval()
