"""One tracking step: carry an object's coverage from a neighbouring frame into the current one.

warp (flow) -> correct near the boundary and where the flow is unreliable (appearance) and where
pixels move with the background (camera) -> drop blobs that nothing but appearance supports and
detached parts that as a whole move like the background -> fill holes the object did not have
(topology) -> soft edges (guided filter).

Flow, appearance and motion are combined as independent evidence in log-odds: a pixel the flow
is sure of needs strong appearance evidence to flip, a pixel on the warped edge or where the flow
failed its forward-backward check is decided by appearance. This keeps warping's stability in the
interior and lets the boundary snap to where the object actually is. The appearance model is the
keyframes' (patches.py), never updated from tracked frames: a track cannot learn its own drift.
Only its local refinement (local.py) learns from the last frame, from decisions that were sure,
and always with the keyframe's share mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from mattetrack.engines.classic.appearance import band_width
from mattetrack.engines.classic.camera import CameraParams, background_evidence
from mattetrack.engines.classic.flow import FlowPair, fit_motion, warp
from mattetrack.engines.classic.imaging import WorkImage, bounding_box
from mattetrack.engines.classic.local import LocalLooks, LocalParams
from mattetrack.engines.classic.patches import FrameFeatures, PatchModel, PatchParams
from mattetrack.engines.classic.refine import refine_edges
from mattetrack.engines.classic.refine import thin_parts as _thin_parts


@dataclass
class TrackParams:
    """The knobs of a tracking step; why each default: docs/tuning.md."""

    # Probabilities are clamped before log-odds so no single cue is ever certain:
    # flow at 0.98 (logit 3.9) outweighs appearance at 0.95 (logit 2.9) unless the flow is
    # unreliable.
    flow_clamp: float = 0.98
    appearance_clamp: float = 0.95
    # Appearance posteriors are per pixel and noisy; smoothing their log-odds (sigma, px) removes
    # speckle without moving edges much.
    appearance_sigma: float = 1.5
    # Where the flow is unreliable or drops pixels that the object's overall (affine) motion says
    # are still object, the affine prediction is the prior, but a weak one (0.8: logit 1.4), so a
    # look the keyframe has shown only in the background (an occluder) overrides it.
    motion_clamp: float = 0.8
    # A track whose object shrinks below this fraction of its keyframe area is lost (it left the
    # frame or is hidden); it is then re-detected from its keyframe's appearance.
    lost_frac: float = 0.03
    # Guided filter: radius as a fraction of the processing long side, and eps (variance, [0,1]^2).
    gf_radius_frac: float = 1 / 200
    gf_eps: float = 1e-3
    # Growth needs local evidence: where the flow is reliable and says "background", appearance may
    # add a pixel only in proportion to how well it separates object from background right there
    # (mean appearance log-odds just inside minus just outside the warped edge, in units of this
    # value; 3 is about half the full logit range of a clamped appearance cue). Similar-looking
    # ground (grass, road) then cannot pull the mask out over it.
    growth_contrast: float = 3.0
    # ... unless the keyframe's model is sure the look is the object's (posterior at least
    # this): such a pixel may always grow the object (a part coming back into view).
    distinct_look: float = 0.8
    # A pixel whose flow matches the background's motion better than the object's is background
    # with at most this probability (logit 2.2): alone it cannot flip a pixel the flow is sure
    # of (logit 3.9), together with appearance that disagrees it can (see camera.py). 0.5 or
    # less switches the motion evidence off.
    camera_clamp: float = 0.9
    # A detached part whose mean motion evidence is below this fraction of the camera clamp's
    # log-odds is background (see _keep_parts).
    static_part: float = 2 / 3
    # Mean posterior a re-detected region needs: well above the 0.5 of an ambiguous look.
    redetect_min: float = 0.75
    # A re-detected region is within this factor of the area the object was last seen at in
    # full (TrackState.seen_area): objects reappear at about the size they left.
    redetect_size: float = 2.0
    # Frames after a re-detection during which the track may grow over object-looking regions.
    reacquire_frames: int = 5
    # The keyframe's appearance model, the local looks learned along the track, and the
    # background-motion evidence.
    patches: PatchParams = field(default_factory=PatchParams)
    local: LocalParams = field(default_factory=LocalParams)
    camera: CameraParams = field(default_factory=CameraParams)

    def gf_radius(self, width: int, height: int) -> int:
        return max(2, int(round(max(width, height) * self.gf_radius_frac)))


@dataclass
class TrackState:
    """What a track carries from frame to frame.

    cov: (h, w) float32 coverage; appearance: the keyframe's patch model (what the object and
    its surroundings look like; also what re-detection searches for); shape: (h, w) float32 the
    last complete view of the object (see `remember_shape`) carried by the accumulated affine
    motion (a memory of the whole object, so parts hidden by an occluder come back when
    revealed); motion: last frame-to-frame affine
    (2, 3); key_area: object pixels on the keyframe; seen_area: object pixels in the last
    complete view (what `shape` was last refreshed from), scaled by the object's motion since
    (what re-detection expects to find); lost: the object is out of sight;
    confidence: in [0, 1], the product of the per-step shares of the object whose flow was
    reliable (how much to trust this track when blending it with another).
    """

    cov: np.ndarray
    appearance: PatchModel
    shape: np.ndarray
    key_area: int
    seen_area: float = 0.0
    motion: np.ndarray | None = None
    lost: bool = False
    # Frames left in which the track, just re-detected, may still grow wherever the keyframe's
    # appearance shows the object (see `_reacquire`).
    reacquiring: int = 0
    confidence: float = 1.0
    # This frame's local looks (local.py), learned after each step; None until the first.
    local: LocalLooks | None = None

    @classmethod
    def start(cls, cov: np.ndarray, appearance: PatchModel) -> TrackState:
        area = max(int(np.count_nonzero(cov >= 0.5)), 1)
        return cls(cov=cov, appearance=appearance, shape=cov, key_area=area, seen_area=area)

    def restart(self, cov: np.ndarray, reacquire_frames: int) -> None:
        """Pick the track up again from a re-detected coverage, keeping its model; it may grow
        over object-looking regions for `reacquire_frames` frames."""
        self.cov, self.shape, self.motion, self.lost = cov, cov, None, False
        self.seen_area = max(int(np.count_nonzero(cov >= 0.5)), 1)
        self.local = None
        self.reacquiring = reacquire_frames


def _logit(p: np.ndarray, clamp: float) -> np.ndarray:
    p = np.clip(p, 1.0 - clamp, clamp)
    return np.log(p / (1.0 - p))


def track_step(
    state: TrackState,
    pair: FlowPair,
    image: WorkImage,
    feats: FrameFeatures,
    params: TrackParams,
) -> np.ndarray:
    """Coverage in the current frame, (h, w) float32 in [0, 1] at processing resolution.

    state: the track in the neighbouring frame (updated in place to this frame); pair: flows from
    the current frame to that neighbour; image / feats: the current frame and its patch
    descriptors (computed where asked for).
    """
    prev_cov = state.cov
    warped = warp(prev_cov, pair.to_prev)
    h, w = warped.shape
    if state.lost:
        return _redetect(state, feats, image, params)
    # Thin parts (a line, a rope, a spoke: what a 3 x 3 opening removes) would fall below 0.5
    # in a bilinear warp and under the guided filter; they are carried by a nearest-neighbour
    # warp (and motion) instead and kept where the decision keeps them (docs/tuning.md,
    # "Thin parts").
    thin = _thin_parts(prev_cov >= 0.5)
    thin_w = (warp(thin, pair.to_prev, cv2.INTER_NEAREST) > 0) if thin.any() else thin > 0
    warped = np.maximum(warped, thin_w.astype(np.float32))
    motion, agreement = fit_motion(warped >= 0.5, pair)
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
        # The view's own area goes with its scale, whether or not the frame still holds it.
        state.seen_area *= abs(float(np.linalg.det(motion[:, :2])))
        moved = cv2.warpAffine(prev_cov, motion, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        predicted = np.maximum(moved, state.shape)
    if thin.any() and motion is not None:
        thin_p = cv2.warpAffine(thin, motion, (w, h), flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
        predicted = np.maximum(predicted, thin_p.astype(np.float32))
        thin_w = thin_w | thin_p
    hard_w = warped >= 0.5
    hard_p = predicted >= 0.5
    if not (hard_w.any() or hard_p.any()):
        state.lost = True
        state.cov = np.zeros_like(warped)
        return state.cov
    state.confidence *= 1.0 - float(np.count_nonzero(hard_w & pair.unreliable)) / max(
        int(np.count_nonzero(hard_w)), 1)
    width = band_width(hard_w | hard_p)
    # Distances to the warped boundary from inside and outside (0 on the other side), and from
    # the object (warped or predicted). Only distances up to 2 * width are ever compared, so
    # they are computed on the object's box grown by that (`_near_distances`).
    d_in, d_out, dist = _near_distances(hard_w, hard_w | hard_p, 2 * width)
    band = (d_in <= width) & (d_out <= width) if hard_w.any() else np.zeros_like(hard_w)
    # Suspect pixels: the flow failed its consistency check, or it drops pixels that the object's
    # overall motion keeps (dense flow dragged along by a fast occluder or background).
    suspect = pair.unreliable | (~hard_w & hard_p)
    # Only suspects near the object matter: far away they cannot change the matte.
    near = dist <= 2 * width
    region = band | (suspect & near)

    # Appearance is only asked about where it can change the answer: the decision region, the
    # ring just outside the object (growth), and the band just inside (the growth gate's contrast).
    asked = region | (near & ~hard_w) | (hard_w & (d_in <= 2 * width))
    words, unseen = state.appearance.words_in(feats, asked)
    if state.local is None:
        p_look = state.appearance.posterior_of(words, unseen)
    else:
        p_look = state.local.posterior(state.appearance, words, unseen, pair.to_prev)
    lo_look = _logit(p_look, params.appearance_clamp)
    lo_look = cv2.GaussianBlur(lo_look, (0, 0), params.appearance_sigma)
    # Growth on reliable flow needs local contrast, unless the look is distinctly the object's;
    # where the flow failed appearance keeps its full say (it regrows what the flow lost).
    gated = ~suspect & (p_look < params.distinct_look)
    lo_look = _gate_growth(lo_look, hard_w, near & ~hard_w, gated, width, params.growth_contrast)
    prior = np.where(suspect, _logit(predicted, params.motion_clamp),
                     _logit(warped, params.flow_clamp))
    fused = prior + lo_look
    camera: np.ndarray | None = None
    camera_max = float(np.log(params.camera_clamp / (1 - params.camera_clamp)))
    if motion is not None and params.camera_clamp > 0.5:
        obj = hard_w | hard_p
        away = dist > width
        evidence = background_evidence(pair, obj, motion, away, camera_max, within=hard_w | near,
                                       params=params.camera)
        if evidence is not None:
            # Where object and background move apart, the whole object is open to question,
            # not only its boundary band: a leak deep inside is still a leak.
            camera, separable = evidence
            fused = fused + camera
            region = region | ((hard_w | near) & separable)
    hard = np.where(region, fused > 0, hard_w)
    if state.reacquiring > 0:
        state.reacquiring -= 1
        hard = _reacquire(state, feats, hard, params.redetect_min)
    # Appearance may move a boundary but not create an object: keep only blobs that overlap pixels
    # that flow or motion are confident about; and drop the detached ones that move like the set.
    hard = _keep_parts(hard, (hard_w | hard_p) & ~region, camera,
                       params.static_part * camera_max)
    hard = _fill_new_holes(hard, hard_w)

    cov = refine_edges(hard.astype(np.float32), image.rgb, params.gf_radius(w, h), params.gf_eps)
    cov = np.maximum(cov, (hard & thin_w).astype(np.float32))

    if np.count_nonzero(hard) < params.lost_frac * state.key_area:
        state.lost = True  # too little left to track; re-detect from the next frame on
    state.cov = cov
    remember_shape(state, hard, cov)
    state.local = LocalLooks.learn(words, hard, ~region | (np.abs(fused) >= params.local.margin),
                                   len(state.appearance.p_object), params.local)
    return cov


def _near_distances(inside: np.ndarray, anything: np.ndarray,
                    reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w) float32 chamfer distances (cv2 DIST_L2, 3x3 mask): inside `inside` to its outside,
    outside it to it, and outside `anything` (a superset of inside, not empty) to it; exact up to
    `reach` px, larger than reach (not exact) beyond. Computed on anything's box grown by reach +
    2 px: a 3x3 chamfer distance is the length of a path inside the box of its two ends, so
    within the grown box nothing changes (the whole frame's values to a float's last bit, where
    OpenCV's vector loop ends elsewhere on a narrower row: tested; dog's and breakdance's mattes
    bit for bit the same), and the three transforms cost less the smaller the object."""
    h, w = inside.shape
    box = bounding_box(anything)
    assert box is not None
    grow = int(np.ceil(reach)) + 2
    y0, y1 = max(0, box[0] - grow), min(h, box[1] + grow)
    x0, x1 = max(0, box[2] - grow), min(w, box[3] + grow)
    far = np.float32(reach + 1.0)
    d_in = np.zeros((h, w), np.float32)
    d_out = np.full((h, w), far, np.float32)
    dist = np.full((h, w), far, np.float32)
    m = inside[y0:y1, x0:x1].astype(np.uint8)
    d_in[y0:y1, x0:x1] = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    d_out[y0:y1, x0:x1] = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    dist[y0:y1, x0:x1] = cv2.distanceTransform(
        (~anything[y0:y1, x0:x1]).astype(np.uint8), cv2.DIST_L2, 3)
    return d_in, d_out, dist


def _keep_parts(hard: np.ndarray, support: np.ndarray, camera: np.ndarray | None,
                limit: float) -> np.ndarray:
    """The connected parts of `hard` (h, w) bool that are supported and not background.

    support: (h, w) bool pixels that flow or motion are confident about; parts touching none are
    dropped (when there is any support at all). camera: (h, w) float32 log-odds (<= 0) of the
    motion evidence (camera.py), or None. One pixel's evidence is weak and clamped, so it cannot
    flip a pixel the flow is sure of; but a detached part whose *mean* evidence is below -limit
    is a piece of the set that the flow has carried along (a spectator the dancer brushed past,
    a speck of road under the car) and is dropped too. The largest remaining part, the one the
    object's motion was fitted to, always stays (docs/tuning.md, "Detached parts").
    """
    box = bounding_box(hard)
    if box is None:
        return hard
    y0, y1, x0, x1 = box  # only the object's box: the parts are the same, the work smaller
    crop = hard[y0:y1, x0:x1]
    n, labels = cv2.connectedComponents(crop.astype(np.uint8), connectivity=8)
    if n <= 2:
        return hard
    keep = np.ones(n, bool)
    if support.any():
        keep[:] = False
        keep[labels[support[y0:y1, x0:x1] & crop]] = True  # duplicates need no sorting out
    keep[0] = False
    if camera is not None and keep.any():
        area = np.bincount(labels.ravel(), None, n)
        mean = np.bincount(labels.ravel(), camera[y0:y1, x0:x1].ravel(), n) / np.maximum(area, 1)
        largest = int(np.argmax(np.where(keep, area, -1)))
        keep &= mean >= -limit
        keep[largest] = True
    if keep[1:].all():
        return hard
    out = np.zeros_like(hard)
    out[y0:y1, x0:x1] = keep[labels]
    return out


def _fill_new_holes(hard: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Fill the holes of `hard` (h, w) bool that were object in `before` (h, w) bool.

    A topology prior: objects rarely open new holes, but noisy appearance or motion evidence
    punches them into an object's interior (a dark engine or tyre that looks like the forest
    behind, motion blur that fails the flow check), and a hole, once open, is background the flow
    keeps carrying. A hole that touches background of `before` (the gap between legs closing
    round the background) is real and kept, as is any background reaching the frame border.
    (docs/tuning.md, "New holes").
    """
    box = bounding_box(hard)
    if box is None:
        return hard
    # The object's box grown by a pixel: background beyond it is all one outside region, which
    # touches the grown box's border (or the frame's), so holes are the same within it.
    h, w = hard.shape
    y0, y1, x0, x1 = max(box[0] - 1, 0), min(box[1] + 1, h), max(box[2] - 1, 0), min(box[3] + 1, w)
    crop = hard[y0:y1, x0:x1]
    n, labels = cv2.connectedComponents((~crop).astype(np.uint8), connectivity=4)
    if n <= 2:
        return hard
    fill = np.ones(n, bool)
    fill[0] = False  # label 0 is the object itself
    for edge in (labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]):
        fill[edge] = False
    was_background = np.bincount(labels.ravel(), (~before[y0:y1, x0:x1]).ravel(), n) > 0
    fill &= ~was_background
    if not fill.any():
        return hard
    out = hard.copy()
    out[y0:y1, x0:x1] |= fill[labels]
    return out


def _gate_growth(
    lo_colour: np.ndarray, inside: np.ndarray, outside: np.ndarray, gated: np.ndarray,
    width: float, scale: float,
) -> np.ndarray:
    """Scale down appearance's vote for growth where it does not separate the object locally.

    lo_colour: (h, w) float32 appearance log-odds; inside / outside: (h, w) bool the warped object
    and the background near it; gated: (h, w) bool where the gate applies. Positive log-odds
    outside the object there are multiplied by the local contrast (mean log-odds of the inside
    minus the outside within about two band widths, divided by `scale`, clipped to [0, 1]): where
    object and background look alike nearby, appearance cannot pull the edge out. Returns the gated
    (h, w) float32 log-odds (unchanged where `scale` <= 0).
    """
    if scale <= 0:
        return lo_colour
    k = 4 * int(width) + 3
    fin, fout = inside.astype(np.float32), outside.astype(np.float32)
    m_in = cv2.boxFilter(lo_colour * fin, -1, (k, k)) / (cv2.boxFilter(fin, -1, (k, k)) + 1e-3)
    m_out = cv2.boxFilter(lo_colour * fout, -1, (k, k)) / (cv2.boxFilter(fout, -1, (k, k)) + 1e-3)
    gate = np.clip((m_in - m_out) / scale, 0.0, 1.0)
    grow = outside & gated & (lo_colour > 0)
    return np.where(grow, lo_colour * gate, lo_colour).astype(np.float32)


def remember_shape(state: TrackState, hard: np.ndarray, cov: np.ndarray) -> None:
    """Refresh the shape memory with this frame's result unless the object looks cut short.

    hard: (h, w) bool this frame's decision; cov: (h, w) float32 its coverage. The memory exists
    to bring back parts an occluder hides; an occluded object has fewer pixels than the memory,
    so then the memory keeps the last complete view (carried by the object's affine motion). When
    the object is at least as large as the memory, nothing is hidden and the memory becomes the
    current shape: a keyframe's shape carried by affine motion alone drifts away from a
    deforming object (a walking dog, a drifting car) and would hold its old outline over the
    background as a strong prior, which the appearance model, where background and object look
    alike, cannot correct (docs/tuning.md, "Shape memory").
    """
    area = int(np.count_nonzero(hard))
    if area >= np.count_nonzero(state.shape >= 0.5):
        state.shape = cov
        state.seen_area = max(area, 1)


def _object_regions(
    state: TrackState, feats: FrameFeatures
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the keyframe's appearance says "object" in the whole frame: its connected regions
    where the smoothed posterior is above 0.5 (labels (h, w) int32, 0 = none), each region's
    area in pixels and its mean smoothed posterior ((n,) each, index = label)."""
    post = cv2.GaussianBlur(state.appearance.posterior_in(feats), (0, 0), 2.0)
    n, labels = cv2.connectedComponents((post > 0.5).astype(np.uint8), connectivity=8)
    areas = np.bincount(labels.ravel(), None, n)
    means = np.bincount(labels.ravel(), post.ravel(), n) / np.maximum(areas, 1)
    return labels, areas, means


def _reacquire(state: TrackState, feats: FrameFeatures, hard: np.ndarray,
               redetect_min: float) -> np.ndarray:
    """Grow a just re-detected track over the object-looking regions it touches.

    A re-detected object is usually coming back into view (from behind an occluder, over the
    frame edge) faster than a boundary band can follow, so for a few frames the track takes in
    every region where the keyframe's appearance is sure of the object (mean posterior at least
    `redetect_min`) and that overlaps it. hard: (h, w) bool this step's decision; returns it grown.
    """
    if not hard.any():
        return hard
    labels, _, means = _object_regions(state, feats)
    grow = np.zeros(len(means), bool)
    grow[labels[hard]] = True
    grow &= means >= redetect_min
    grow[0] = False
    return hard | grow[labels] if grow.any() else hard


def _redetect(
    state: TrackState, feats: FrameFeatures, image: WorkImage, params: TrackParams
) -> np.ndarray:
    """Search a frame for the lost object by its keyframe's appearance; restart the track there.

    The candidates are the connected regions where the keyframe's model says "object"
    (posterior > 0.5 after smoothing) whose area is plausible: within `redetect_size` of the area
    of the object's last complete view, scaled by the object's motion since (seen_area); the
    keyframe's area is no guide once the object has moved away or come closer (docs/tuning.md,
    "Re-detection"). The one the model is surest of wins, if its mean posterior is high
    (>= `redetect_min`). Returns (h, w) float32 coverage: the found object, or zeros while it
    stays out of sight.
    """
    h, w = image.grey.shape
    labels, areas, means = _object_regions(state, feats)
    ref = state.seen_area
    plausible = (areas >= ref / params.redetect_size) & (areas <= params.redetect_size * ref)
    score = np.where(plausible, means, -1.0)
    score[0] = -1.0
    best = int(np.argmax(score))
    if score[best] < params.redetect_min:
        state.cov = np.zeros((h, w), np.float32)
        return state.cov
    found = (labels == best).astype(np.float32)
    cov = refine_edges(found, image.rgb, params.gf_radius(w, h), params.gf_eps)
    state.restart(cov, params.reacquire_frames)
    state.confidence *= 0.5  # a re-detected track is worth less than a continuous one
    return cov
