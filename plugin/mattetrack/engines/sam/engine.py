"""SAM 2, EdgeTAM and the SAM 3 tracker behind MatteTrack's engine interface.

select: the image encoder once per frame (kept for the next clicks on it), then the prompt
encoder and mask decoder on the artist's points, box and mask.

propagate, SAM 2's way: every keyframe's coverage becomes a conditioning frame (a pinned memory
the model attends to from anywhere in the shot); tracks run forwards from each object's first
keyframe (or its last one before the range) to the range's end, and backwards from the first
keyframe to the range's start. Frames are streamed from the shot one at a time and the memory
bank is capped (memory.py), so memory does not grow with shot length. The backward sweep runs
first and waits on disk as low-resolution logits; results are yielded in ascending order, each
upsampled to plate resolution along the plate's edges (upsample.py).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from mattetrack import __version__
from mattetrack.engines.base import Coverages, FrameSource, Memo, Propagated
from mattetrack.engines.sam.families import FAMILIES
from mattetrack.engines.sam.inputs import (
    mask_logits,
    pixel_values,
    plate_tensor,
    prompt_tensors,
    square_mask,
    with_stroke_points,
)
from mattetrack.engines.sam.loading import LoadedModel, load_model
from mattetrack.engines.sam.memory import (
    forget,
    forget_tracks,
    model_memory_frames,
    slim_outputs,
)
from mattetrack.engines.sam.upsample import NO_OBJ, UpsampleParams, upsample_logits
from mattetrack.engines.spill import Spill
from mattetrack.engines.sweeps import plan_sweeps
from mattetrack.lru import LRUCache
from mattetrack.prompts import FramePrompts


@dataclass
class SamParams:
    """Tunables of the deep engines.

    memory_frames: tracked frames kept in the memory bank (None: as many as the model attends
    to, 15 for the released SAM 2 family, so the cap loses nothing). max_keyframes: keyframes
    the model attends to on each frame, the nearest ones (None: the model's own setting, all).
    select_cache: frames whose image embeddings are kept for further clicks.
    """

    memory_frames: int | None = None
    max_keyframes: int | None = None
    select_cache: int = 2
    upsample: UpsampleParams = field(default_factory=UpsampleParams)


class SamEngine:
    """One loaded SAM 2 family model serving any number of sessions (it keeps no shot state)."""

    # Every keyframe is in the model's memory on every frame: a frame's result depends on all.
    span_results = False
    # Its memory carries an object across a cut (it finds it again on the other side).
    stops_at_cuts = False

    def __init__(
        self,
        family: str,
        model: str | None = None,
        device: str | None = None,
        compile: bool = False,
        params: SamParams | None = None,
        loaded: LoadedModel | None = None,
        spill_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.loaded = loaded or load_model(FAMILIES[family], model, device, compile=compile)
        self.name = self.loaded.family.engine
        self.params = params or SamParams()
        self.spill_root = spill_root
        net = self.loaded.model
        if self.params.max_keyframes is not None:
            net.config.max_cond_frame_num = int(self.params.max_keyframes)
        self.size = int(net.config.image_size)
        self.mask_size = int(net.prompt_encoder.mask_input_size[0])
        reach = model_memory_frames(net.config)
        wanted = reach if self.params.memory_frames is None else self.params.memory_frames
        self.memory_frames = max(1, min(int(wanted), reach))
        # Image embeddings of the last frames clicked on (keyed by their pixels).
        self._embeddings: LRUCache[bytes, list[torch.Tensor]] = LRUCache(
            max(self.params.select_cache, 1))

    @functools.cached_property
    def cache_key(self) -> str:
        """See `mattetrack.engines.base.Engine.cache_key`: family, weights (where from, and a
        sample of their values), dtype, device kind and parameters."""
        h = hashlib.blake2b(digest_size=10)
        for _, tensor in zip(range(4), self.loaded.model.parameters(), strict=False):
            h.update(tensor.detach().flatten()[:256].float().cpu().numpy().tobytes())
        return (f"{self.name} {__version__} {self.loaded.source} {h.hexdigest()} "
                f"{self.loaded.dtype} {self.device.type} {self.memory_frames} {self.params!r}")

    # -- helpers ---------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.loaded.device

    def _pixels(self, plate: torch.Tensor) -> torch.Tensor:
        fam = self.loaded.family
        return pixel_values(plate, self.size, fam.mean, fam.std, self.loaded.dtype)

    @torch.inference_mode()
    def _coverage(self, logits: torch.Tensor, plate: torch.Tensor) -> torch.Tensor:
        """(N, 1, h, w) logits -> (N, H, W) float32 coverage, on the engine's device."""
        return upsample_logits(logits.to(plate.device), plate, self.params.upsample).float()

    def _image_embeddings(self, image: np.ndarray, plate: torch.Tensor) -> list[torch.Tensor]:
        # Keyed on the pixels themselves: the engine knows nothing of shots, and hashing a 1080p
        # frame (~20 ms) is far cheaper than encoding it again for the next click.
        key = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest()
        key += repr(image.shape).encode()
        hit = self._embeddings.get(key)
        if hit is None:
            hit = self.loaded.model.get_image_embeddings(self._pixels(plate))
            self._embeddings.put(key, hit)
        return hit

    @torch.inference_mode()
    def prepare(self, image: np.ndarray) -> None:
        """See `mattetrack.engines.base.Engine.prepare`: the image encoder's embeddings."""
        self._image_embeddings(image, plate_tensor(image, self.device))

    # -- select ----------------------------------------------------------------------------
    @torch.inference_mode()
    def select(self, image: np.ndarray, prompts: FramePrompts,
               context: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
        """image: (H, W, 3) float32 display-referred RGB in [0, 1] -> (H, W) float32 coverage.

        A mask alone is its own answer; points and a box go through the decoder, with the mask
        or the matte being corrected (`prompts.dense`, when there is one) as its dense prompt,
        as SAM 2's demo feeds a frame's previous mask with new clicks. Strokes become points
        sampled along them. One point alone is ambiguous (a shirt or the person?), so the decoder
        makes three masks and the one it scores best is kept. The context frames are not used:
        the model sees one image.
        """
        prompts = with_stroke_points(prompts)
        dense = prompts.dense
        if dense is not None and not len(prompts.points) and prompts.box is None:
            return np.clip(dense, 0.0, 1.0).astype(np.float32)
        height, width = image.shape[:2]
        net, dtype = self.loaded.model, self.loaded.dtype
        plate = plate_tensor(image, self.device)
        embeddings = self._image_embeddings(image, plate)
        inputs = prompt_tensors(prompts, width, height, self.size, self.device)
        if dense is not None:
            cov = torch.from_numpy(np.asarray(dense, np.float32)).to(self.device)
            inputs["input_masks"] = mask_logits(cov, self.mask_size).to(dtype)
        multimask = len(prompts.points) == 1 and prompts.box is None and dense is None
        out = net._single_frame_forward(image_embeddings=embeddings, multimask_output=multimask,
                                        **inputs)
        logits = out.pred_masks.reshape(1, 1, *out.pred_masks.shape[-2:])
        return self._coverage(logits, plate)[0].cpu().numpy()

    # -- propagate -------------------------------------------------------------------------
    def cuts(self, source: FrameSource, frames: Sequence[int],
             memo: Memo | None = None) -> list[int]:
        """See `mattetrack.engines.base.Engine.cuts`: none, its tracks cross them."""
        return []

    def propagate(
        self,
        source: FrameSource,
        keyframes: Mapping[int, Mapping[int, np.ndarray]],
        frames: Sequence[int],
        bases: Mapping[int, Mapping[int, np.ndarray]] | None = None,
        memo: Memo | None = None,
    ) -> Iterator[Propagated]:
        """See `mattetrack.engines.base.Engine.propagate` (the blending between keyframes is the
        model's own: every keyframe is in its memory, and a corrected one's mask is a
        conditioning frame, so `bases` is not needed; its memory of a run is not kept between
        runs, so neither is `memo`)."""
        run = _Run(self, source)
        try:
            yield from run.propagate(keyframes, frames)
        finally:
            run.close()


class _Run:
    """One propagation: the model's streamed inference session and the sweeps over it."""

    def __init__(self, engine: SamEngine, source: FrameSource) -> None:
        self.engine = engine
        self.source = source
        self.net = engine.loaded.model
        loaded = engine.loaded
        self.session = loaded.session_class(
            video_height=source.height,
            video_width=source.width,
            inference_device=loaded.device,
            inference_state_device=loaded.device,
            video_storage_device=loaded.device,
            dtype=loaded.dtype,
        )
        # Low-resolution logits of the backward sweep (float16: 128 KB per object and frame at
        # 256 x 256) wait here until the forward sweep yields their frames.
        self.spill = Spill(engine.spill_root, prefix="mattetrack-sam-")
        self.frames = list(source.frames)
        # SAM 2 and SAM 3 encode a frame's memories for all objects in one batch after the
        # frame; EdgeTAM encodes each object's inside its inference step.
        params = inspect.signature(self.net._run_single_frame_inference).parameters
        self._step_encodes = "run_mem_encoder" in params

    def close(self) -> None:
        self.spill.close()
        self.session.reset_inference_session()
        self.session.cache.clear_all()

    @torch.inference_mode()
    def _plate(self, pos: int) -> torch.Tensor:
        return plate_tensor(self.source.image(self.frames[pos]), self.engine.device)

    @torch.inference_mode()
    def _feed(self, pos: int) -> torch.Tensor:
        """Streams frame `pos` into the session; returns its (3, H, W) plate tensor."""
        plate = self._plate(pos)
        self.session.add_new_frame(self.engine._pixels(plate), pos)
        return plate

    def _infer(self, pos: int, idx: int, reverse: bool, mask: torch.Tensor | None) -> dict:
        """One object's inference step on frame `pos`: a keyframe (`mask`) or tracked."""
        extra = {"run_mem_encoder": True} if self._step_encodes else {}
        return self.net._run_single_frame_inference(
            inference_session=self.session, frame_idx=pos, obj_idx=idx, batch_size=1,
            is_init_cond_frame=mask is not None, point_inputs=None, mask_inputs=mask,
            reverse=reverse, streaming=True, **extra,
        )

    def _encode(self, pos: int, objs: list[int], outs: list[dict], from_input: bool) -> None:
        """Memory for frame `pos` of every object just run there, batched, then slimmed."""
        if self._step_encodes:
            slim_outputs(self.session, pos)
            return
        self.net._batch_encode_memories(
            inference_session=self.session,
            frame_idx=pos,
            objects_needing_memory_encoding=objs,
            high_res_masks_for_memory=[o["high_res_masks"] for o in outs],
            object_score_logits_for_memory=[o["object_score_logits"] for o in outs],
            is_mask_from_pts_per_obj=[from_input] * len(objs),
        )
        slim_outputs(self.session, pos)

    @torch.inference_mode()
    def _condition(self, pos: int, masks: dict[int, np.ndarray]) -> None:
        """Keyframe `pos`: each object's coverage there becomes a pinned conditioning memory."""
        self._feed(pos)
        objs, outs = [], []
        for obj_id, cov in masks.items():
            idx = self.session.obj_id_to_idx(obj_id)
            cov_t = torch.from_numpy(np.array(cov, np.float32)).to(self.engine.device)
            mask = square_mask(cov_t, self.engine.size)
            out = self._infer(pos, idx, False, mask.to(self.engine.loaded.dtype))
            self.session.store_output(idx, pos, output_value=out, is_conditioning_frame=True)
            objs.append(idx)
            outs.append(out)
        self._encode(pos, objs, outs, from_input=True)
        forget(self.session, pos, self.engine.memory_frames)

    @torch.inference_mode()
    def _track(self, pos: int, obj_ids: list[int],
               reverse: bool) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Track `obj_ids` onto frame `pos` (already fed) from the memory bank.

        Returns {object id: ((1, 1, h, w) logits, confidence as a 0-d tensor on the device)}:
        read on the host only when the frame's results are (no wait for the GPU here).
        """
        objs, outs, logits = [], [], {}
        for obj_id in obj_ids:
            idx = self.session.obj_id_to_idx(obj_id)
            out = self._infer(pos, idx, reverse, None)
            self.session.store_output(idx, pos, output_value=out, is_conditioning_frame=False)
            objs.append(idx)
            outs.append(out)
            pred = out["pred_masks"].reshape(1, 1, *out["pred_masks"].shape[-2:])
            logits[obj_id] = (pred, track_confidence(pred, out.get("object_score_logits")))
        if objs:
            self._encode(pos, objs, outs, from_input=False)
        return logits

    def propagate(
        self, keyframes: Mapping[int, Mapping[int, np.ndarray]], frames: Sequence[int]
    ) -> Iterator[Propagated]:
        position = {f: i for i, f in enumerate(self.frames)}
        want = sorted(position[f] for f in frames)
        if not want:
            return
        keys = {obj: {position[f]: c for f, c in kf.items()} for obj, kf in keyframes.items()}
        lo, hi = want[0], want[-1]
        plan = plan_sweeps({obj: list(ks) for obj, ks in keys.items()}, lo, hi,
                           through_keyframes=False)
        first = {obj: min(ks) for obj, ks in keys.items()}
        # Forward tracks start at each object's last keyframe at or before the range, else at
        # its first; frames before an object's first keyframe are tracked backwards from it.
        start = {obj: max((k for k in ks if k <= lo), default=first[obj])
                 for obj, ks in keys.items()}
        back = {obj: k for obj, k in first.items() if k > lo}

        # 1. Keyframes become pinned memories (from the earliest that matters to beyond the range:
        #    a keyframe after a frame also guides it, as in SAM 2).
        by_pos: dict[int, dict[int, np.ndarray]] = {}
        for obj, ks in keys.items():
            for k, cov in ks.items():
                if k >= start[obj]:
                    by_pos.setdefault(k, {})[obj] = cov
        for pos in sorted(by_pos):
            self._condition(pos, by_pos[pos])

        # 2. Backward sweep, spilled.
        if plan.backward_from is not None:
            for pos in range(plan.backward_from - 1, lo - 1, -1):
                objs = [o for o, k in back.items() if pos < k]
                self._feed(pos)
                for obj, (lg, conf) in self._track(pos, objs, reverse=True).items():
                    self.spill.put(pos, f"logits{obj}",
                                   lg.float().clamp(NO_OBJ, -NO_OBJ).cpu().numpy())
                    self.spill.put(pos, f"conf{obj}", np.float64(float(conf)), "float64")
                forget(self.session, pos, self.engine.memory_frames)
            forget_tracks(self.session)

        # 3. Forward sweep, yielding every wanted frame in ascending order, each one frame late:
        #    its copy to the host overlaps the next frame's work on the GPU.
        wanted = set(want)
        host = _ToHost(self.engine.device)
        pending: tuple[int, dict] | None = None
        for pos in plan.forward:
            tracking = [o for o in keys if start[o] <= pos and pos not in keys[o]]
            plate = None
            logits: dict[int, torch.Tensor] = {}
            confidence: dict[int, torch.Tensor | float] = {}
            if tracking:
                plate = self._feed(pos)
                for obj, (lg, conf) in self._track(pos, tracking, reverse=False).items():
                    logits[obj], confidence[obj] = lg, conf
                forget(self.session, pos, self.engine.memory_frames)
            if pos in wanted:
                for obj in keys:
                    if obj not in logits and pos not in keys[obj]:
                        spilled = self.spill.take(pos, f"logits{obj}")
                        if spilled is not None:
                            logits[obj] = torch.from_numpy(spilled)
                            confidence[obj] = float(self.spill.take(pos, f"conf{obj}",
                                                                    "float64"))
                staged = {}
                if logits:
                    if plate is None:
                        plate = self._plate(pos)
                    ids = list(logits)
                    stack = torch.cat([logits[o].to(self.engine.device).float() for o in ids])
                    covs = self.engine._coverage(stack, plate)
                    staged = {o: host.start(covs[i], confidence[o]) for i, o in enumerate(ids)}
                if pending is not None:
                    yield self._finish(*pending, keys)
                pending = (pos, staged)
        if pending is not None:
            yield self._finish(*pending, keys)

    def _finish(
        self, pos: int, staged: dict, keys: Mapping[int, Mapping[int, np.ndarray]]
    ) -> Propagated:
        """Frame `pos`'s results on the host: tracked coverage, or the keyframe's own."""
        out: Coverages = {}
        conf: dict[int, float] = {}
        for obj in keys:
            if pos in keys[obj]:
                out[obj] = np.array(keys[obj][pos], dtype=np.float32)
                conf[obj] = 1.0
            elif obj in staged:
                out[obj], conf[obj] = _ToHost.finish(staged[obj])
            else:
                # Defensive: a frame no sweep reached (none should be) is empty.
                out[obj] = np.zeros((self.source.height, self.source.width), np.float32)
                conf[obj] = 0.0
        return Propagated(self.frames[pos], out, conf)


def track_confidence(logits: torch.Tensor, object_score: torch.Tensor | None) -> torch.Tensor:
    """How sure the model is of a tracked mask, in [0, 1]: its object score (the probability
    that the object is in view) times how decided its mask is where it is not plainly
    background (mean |2p - 1| over pixels with p > 0.1: a mask of half-sure pixels is a guess).
    logits: (1, 1, h, w) mask logits; object_score: the model's object score logit or None.
    Returns a 0-d float32 tensor on the logits' device, computed without reading anything back
    (on a GPU a read here would wait for the frame's work and end its overlap with the next)."""
    p = torch.sigmoid(logits.float())
    near = (p > 0.1).float()
    count = near.sum()
    decided = torch.where(count > 0, ((2 * p - 1).abs() * near).sum() / count.clamp(min=1.0),
                          torch.ones((), device=p.device))
    if object_score is None:
        return decided
    return torch.sigmoid(object_score.float()).max() * decided


class _ToHost:
    """Device-to-host copies of results that overlap the next frame's GPU work.

    On CUDA each copy goes to pinned memory (torch caches those blocks, so this costs no
    allocation per frame) without blocking, and only the consumer waits for it; on the CPU the
    result already is on the host.
    """

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def start(self, cov: torch.Tensor, conf: torch.Tensor | float = 1.0
              ) -> tuple[torch.Tensor, torch.Tensor | float, object]:
        """(H, W) coverage and its confidence on the device -> (host tensors being filled,
        their CUDA event)."""
        if not self.cuda:
            return cov, conf, None
        out = torch.empty(cov.shape, dtype=cov.dtype, pin_memory=True)
        out.copy_(cov, non_blocking=True)
        if isinstance(conf, torch.Tensor):
            host_conf = torch.empty(conf.shape, dtype=conf.dtype, pin_memory=True)
            host_conf.copy_(conf, non_blocking=True)
            conf = host_conf
        event = torch.cuda.Event()
        event.record()
        return out, conf, event

    @staticmethod
    def finish(staged: tuple[torch.Tensor, torch.Tensor | float, object]
               ) -> tuple[np.ndarray, float]:
        """(coverage on the host, confidence) once the copies are done."""
        tensor, conf, event = staged
        if event is not None:
            event.synchronize()
        return tensor.numpy(), float(conf)
