"""One tracking step: carry an object's coverage from a neighbouring frame into the current one.

warp (flow) -> correct near the boundary and where the flow is unreliable (colour model) ->
drop blobs that nothing but colour supports -> soft edges (guided filter) -> update the model.

Flow and colour are combined as independent evidence in log-odds: a pixel the flow is sure of
needs strong colour evidence to flip, a pixel on the warped edge or where the flow failed its
forward-backward check is decided by colour. This keeps warping's stability in the interior and
lets the boundary snap to where the object's colours actually are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mattetrack.engines.classic.appearance import ColourModel, band_width, inner_outer
from mattetrack.engines.classic.flow import FlowPair, fit_motion, warp
from mattetrack.engines.classic.imaging import WorkImage
from mattetrack.engines.classic.refine import boundary_band, refine_edges


@dataclass
class TrackParams:
    """The few knobs of a tracking step (defaults are what the tests and DAVIS numbers use)."""

    # Probabilities are clamped before log-odds so no single cue is ever certain:
    # flow at 0.98 (logit 3.9) outweighs colour at 0.95 (logit 2.9) unless the flow is unreliable.
    flow_clamp: float = 0.98
    colour_clamp: float = 0.95
    # Colour posteriors are per pixel and noisy; smoothing their log-odds (sigma, px) removes
    # speckle without moving edges much.
    colour_sigma: float = 1.5
    # Where the flow is unreliable or drops pixels that the object's overall (affine) motion says
    # are still object, the affine prediction is the prior, but a weak one (0.8: logit 1.4), so a
    # colour the model has seen only in the background (an occluder) overrides it.
    motion_clamp: float = 0.8
    # Conservative model update: 5% per frame, so a few bad frames cannot rewrite it.
    model_rate: float = 0.05
    # Guided filter: radius as a fraction of the processing long side, and eps (variance, [0,1]^2).
    gf_radius_frac: float = 1 / 200
    gf_eps: float = 1e-3

    def gf_radius(self, width: int, height: int) -> int:
        return max(2, int(round(max(width, height) * self.gf_radius_frac)))


@dataclass
class TrackState:
    """What a track carries from frame to frame.

    cov: (h, w) float32 coverage; model: colour model; shape: (h, w) float32 the keyframe's
    coverage carried by the accumulated affine motion (a memory of the whole object, so parts
    hidden by an occluder come back when revealed); motion: last frame-to-frame affine (2, 3).
    """

    cov: np.ndarray
    model: ColourModel
    shape: np.ndarray
    motion: np.ndarray | None = None

    @classmethod
    def start(cls, cov: np.ndarray, model: ColourModel) -> TrackState:
        return cls(cov=cov, model=model, shape=cov)


def _logit(p: np.ndarray, clamp: float) -> np.ndarray:
    p = np.clip(p, 1.0 - clamp, clamp)
    return np.log(p / (1.0 - p))


def _supported_components(hard: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Keep the connected components of `hard` (h, w) bool that touch `support` (h, w) bool."""
    n, labels = cv2.connectedComponents(hard.astype(np.uint8), connectivity=8)
    if n <= 2:
        return hard
    keep = np.zeros(n, bool)
    keep[np.unique(labels[support & hard])] = True
    keep[0] = False
    return keep[labels]


def track_step(
    state: TrackState,
    pair: FlowPair,
    image: WorkImage,
    colour_idx: np.ndarray,
    params: TrackParams,
) -> np.ndarray:
    """Coverage in the current frame, (h, w) float32 in [0, 1] at processing resolution.

    state: the track in the neighbouring frame (updated in place to this frame); pair: flows from
    the current frame to that neighbour; image/colour_idx: the current frame.
    """
    prev_cov, model = state.cov, state.model
    warped = warp(prev_cov, pair.to_prev)
    h, w = warped.shape
    motion, agreement = fit_motion(prev_cov, pair)
    # When less than half the object's flow agrees on a motion (occlusion, flow bleeding), keep
    # the last frame's motion: objects have inertia, flow failures do not.
    if (motion is None or agreement < 0.5) and state.motion is not None:
        motion = state.motion
    if motion is None:
        predicted = warped
    else:
        state.motion = motion
        state.shape = cv2.warpAffine(state.shape, motion, (w, h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        moved = cv2.warpAffine(prev_cov, motion, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        predicted = np.maximum(moved, state.shape)
    hard_w = warped >= 0.5
    hard_p = predicted >= 0.5
    if not (hard_w.any() or hard_p.any()):
        return warped  # lost (left the frame); re-detection would go here
    width = band_width(hard_w | hard_p)
    band = boundary_band(hard_w, width)
    # Suspect pixels: the flow failed its consistency check, or it drops pixels that the object's
    # overall motion keeps (dense flow dragged along by a fast occluder or background).
    suspect = pair.unreliable | (~hard_w & hard_p)
    # Only suspects near the object matter: far away they cannot change the matte.
    dist = cv2.distanceTransform((~(hard_w | hard_p)).astype(np.uint8), cv2.DIST_L2, 3)
    near = dist <= 2 * width
    region = band | (suspect & near)

    lo_colour = _logit(model.posterior(colour_idx), params.colour_clamp)
    lo_colour = cv2.GaussianBlur(lo_colour, (0, 0), params.colour_sigma)
    prior = np.where(suspect, _logit(predicted, params.motion_clamp),
                     _logit(warped, params.flow_clamp))
    fused = prior + lo_colour
    hard = np.where(region, fused > 0, hard_w)
    # Colour may move a boundary but not create an object: keep only blobs that overlap pixels
    # that flow or motion are confident about.
    core = (hard_w | hard_p) & ~region
    if core.any():
        hard = _supported_components(hard, core)

    cov = refine_edges(hard.astype(np.float32), image.rgb, params.gf_radius(w, h), params.gf_eps)

    # Learn only from pixels on which flow and the final decision agree.
    inner, outer = inner_outer(hard, width)
    ok = ~suspect
    model.update(colour_idx, inner & ok & hard_w & (cov > 0.95),
                 outer & ok & ~hard_w & (cov < 0.05), params.model_rate)
    state.cov = cov
    return cov
