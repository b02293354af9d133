"""The SAM 2 family of video models MatteTrack runs through Hugging Face `transformers`.

All three share SAM 2's design (image encoder, prompt encoder, mask decoder, memory attention over
a bank of past frames and object pointers) and its streaming inference session, so one driver
serves them; what differs is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

# ImageNet statistics, as the SAM 2 and EdgeTAM processors normalise (0-1 RGB).
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Family:
    """One model family: its engine name, transformers classes and input conventions."""

    engine: str  # --engine name
    title: str  # for messages
    model_type: str  # config.json's model_type
    model_class: str  # transformers class name
    session_class: str  # its streaming inference-session class
    module: str  # transformers.models.<module>.modeling_<module>
    default_model: str  # Hugging Face id used when --model is not given
    # Other config.json model_types that hold this family's weights (SAM 3's full checkpoint
    # carries the tracker).
    also_types: tuple[str, ...] = ()
    mean: tuple[float, float, float] = _IMAGENET_MEAN
    std: tuple[float, float, float] = _IMAGENET_STD

    def classes(self) -> tuple[type, type]:
        """(model class, inference-session class), imported on demand (transformers is heavy)."""
        import importlib

        mod = importlib.import_module(f"transformers.models.{self.module}.modeling_{self.module}")
        return getattr(mod, self.model_class), getattr(mod, self.session_class)


FAMILIES: dict[str, Family] = {
    f.engine: f
    for f in (
        Family("sam2", "SAM 2", "sam2_video", "Sam2VideoModel", "Sam2VideoInferenceSession",
               "sam2_video", "facebook/sam2.1-hiera-tiny"),
        Family("edgetam", "EdgeTAM", "edgetam_video", "EdgeTamVideoModel",
               "EdgeTamVideoInferenceSession", "edgetam_video", "yonigozlan/EdgeTAM-hf"),
        Family("sam3", "SAM 3 tracker", "sam3_tracker_video", "Sam3TrackerVideoModel",
               "Sam3TrackerVideoInferenceSession", "sam3_tracker_video", "facebook/sam3",
               also_types=("sam3_video", "sam3"), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )
}
