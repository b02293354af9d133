"""Propagation through a shot: two sweeps, tracks restarting at every keyframe, blended between.

For an object with keyframes k1 < t < k2, coverage at t blends the forward track from k1 and the
backward track from k2, weighted by temporal distance (the nearer keyframe counts more); before
its first keyframe only the backward track exists, after its last only the forward one, and on a
keyframe its own coverage is returned unchanged. Tracks restart from every keyframe, so an error
never drifts past one.

Work is organised as two sweeps over frame positions shared by all objects, so the flow between
two neighbouring frames is computed once per sweep for every object:
1. backward (descending, from the first keyframe at or after the range's end down to its start),
   spilling the backward tracks to disk;
2. forward (ascending, from the last keyframe at or before the range's start), reading the spill
   back, blending, and yielding results in ascending order.
At any time only two frames and one coverage per object are held. The backward sweep also
spills, for each frame pair the forward sweep will track across, the flow in the forward
direction, so each pair's flow is computed once in all.

Where the forward and backward tracks meet, each is weighted by its temporal nearness to its
keyframe times its own confidence (how much of the object the flow followed reliably).

A keyframe that corrects a matte (it has a base: the matte on screen before the correction)
carries only its correction backwards: between it and the keyframe before it, the forward track
from that keyframe gets the change the correction made (corrected minus base), carried back
along the flow, weighted by temporal nearness to the correction. The base already is where the
forward track had got to, so tracking the corrected matte back would only repeat that track's
drift onto frames it still had right; a correction that changes little changes little around
it. So no backward track starts there (the carried change stands for it, in the confidence too:
`_carried_confidence`), except where no forward track reaches: before the object's first
keyframe, and between a cut and the correction (found when the backward sweep reaches the cut;
that stretch is then tracked from the correction after all). Forwards, the track restarts from
the corrected matte as from any keyframe (it is the base plus the change).

Remembered tracks: given a memo (a result store's), every track step keeps its coverage there,
keyed by the parameters, the keyframe (its position and coverage), the direction and the plate
frames from the keyframe on. A later run whose track starts from the same keyframe over the same
frames (the track before a correction, the tracks of spans a correction did not touch) takes
them from the memo and steps nothing; should it need a frame the memo lacks, it catches the
track up from its keyframe first, so the result is the same either way. The memo also keeps
every flow, keyed by its two plate frames: a correction's change is carried, and new tracks
step, along flows the run before computed. Flows are on a 1/64 px grid wherever they come
from (`flowcodec.quantize_flow`), so a track is the same whether its flows were computed, read
back from the spill (float32) or remembered. A frame's pixels are read only when something needs
them (a flow or a track step the memo lacks, the edges of a result; its cut signature is
remembered too), so a correction round's backward sweep over remembered tracks reads no frame.

Shot cuts: a `CutDetector` compares every pair of neighbouring frames in both sweeps (from the
processing-resolution image already made); a track never crosses a cut, so frames on the other
side of a cut from all of an object's keyframes get zero coverage, and blending only happens
between keyframes of the same cut segment. Gradual transitions (dissolves, fades) stop tracks
too: each sweep feeds the same signatures to a `GradualWindow`, and a track ends where the sweep
has seen enough of a transition to know it (inside it, 6 to 24 frames in), so no track runs on
into the next shot. The two sweeps know a transition at different frames (each from its own
side), so `find_cuts`, the engine's split points for the farm, are the hard cuts alone: a
transition stays inside one farm task.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from mattetrack import __version__
from mattetrack.cuts import SIGNATURE_LEN, CutDetector, CutParams, GradualParams, GradualWindow
from mattetrack.engines.base import Coverages, FrameSource, Memo, Propagated
from mattetrack.engines.classic.flow import DenseFlow, FlowPair, warp
from mattetrack.engines.classic.imaging import WorkImage, processing_size, resize_to, work_rgb
from mattetrack.engines.classic.patches import FrameFeatures, PatchModel, sample_view
from mattetrack.engines.classic.refine import refine_edges
from mattetrack.engines.classic.track import TrackParams, TrackState, track_step
from mattetrack.engines.spill import Spill
from mattetrack.engines.sweeps import plan_sweeps
from mattetrack.errors import InputError
from mattetrack.pngcodec import quantize16
from mattetrack.resultkeys import digest
from mattetrack.stagetimes import timed


@dataclass
class PropagateParams:
    """Processing long side (px), DIS preset, and the per-step tracking parameters.

    Decisions are made at a long side of 512 px whatever the plate size (854x480 DAVIS frames and
    1080p plates cost about the same); full resolution is only touched by the edge-aware
    upsampling of the result.
    """

    long_side: int = 512
    flow_preset: str = "medium"
    # Forward-backward flow check: a second flow per frame pair in a single sweep (free when
    # both sweeps run, as the backward sweep computes both directions anyway), worth it on
    # occluders and thin structures (flow bleeding that colour alone does not reveal).
    fb_check: bool = True
    track: TrackParams = field(default_factory=TrackParams)
    # Where a track stops: the shot's hard cuts ...
    cuts: CutParams = field(default_factory=CutParams)
    # ... and its gradual transitions.
    gradual: GradualParams = field(default_factory=GradualParams)


@dataclass
class _Object:
    """One object's keyframes (by frame position) and their coverage."""

    full: dict[int, np.ndarray]  # position -> (H, W) float32 keyframe coverage as given
    work: dict[int, np.ndarray]  # position -> (h, w) float32 at processing resolution
    # position -> appearance learned from that keyframe (when a track first starts there)
    models: dict[int, PatchModel] = field(default_factory=dict)
    # position -> (h, w) float32 base of a keyframe that corrects a matte
    bases: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def positions(self) -> list[int]:
        return sorted(self.full)

    def prev_key(self, p: int) -> int | None:
        """Nearest keyframe position < p."""
        return max((k for k in self.full if k < p), default=None)

    def next_key(self, p: int) -> int | None:
        """Nearest keyframe position > p."""
        return min((k for k in self.full if k > p), default=None)


class _Frame:
    """The plate frame at a sweep position, read and brought to processing resolution only when
    first used: a correction round takes most frames' tracks and flows from the memo."""

    def __init__(self, source: FrameSource, frame: int, size: tuple[int, int]) -> None:
        self.frame = frame
        self._source = source
        self._size = size
        self._full: np.ndarray | None = None
        self._work: WorkImage | None = None
        self._rgb: np.ndarray | None = None
        self._lock = threading.Lock()  # the sweep and the edge finisher share a frame

    @property
    def full(self) -> np.ndarray:
        """(H, W, 3) float32 display-referred RGB of the plate frame."""
        with self._lock:
            if self._full is None:
                self._full = self._source.image(self.frame)
            return self._full

    @property
    def work(self) -> WorkImage:
        """The frame at processing resolution."""
        rgb = self.rgb
        with self._lock:
            if self._work is None:
                self._work = WorkImage.from_rgb(rgb)
            return self._work

    @property
    def rgb(self) -> np.ndarray:
        """(h, w, 3) float32 at processing resolution (`work_rgb`): all that refining a
        result's edges needs of a frame nothing was tracked on."""
        full = self.full
        with self._lock:
            if self._rgb is None:
                self._rgb = work_rgb(full, self._size)
            return self._rgb


def _coverage(source: FrameSource, cov: np.ndarray, what: str) -> np.ndarray:
    cov = np.asarray(cov, np.float32)
    if cov.shape != (source.height, source.width):
        raise InputError(f"{what} is {cov.shape[1]}x{cov.shape[0]}, the shot is "
                         f"{source.width}x{source.height}")
    return np.clip(np.nan_to_num(cov), 0.0, 1.0)


def _prepare(
    source: FrameSource, keyframes: Mapping[int, Mapping[int, np.ndarray]],
    bases: Mapping[int, Mapping[int, np.ndarray]], size: tuple[int, int]
) -> tuple[dict[int, int], dict[int, _Object]]:
    order = list(source.frames)
    pos = {f: i for i, f in enumerate(order)}
    objects: dict[int, _Object] = {}
    for obj, kfs in keyframes.items():
        if not kfs:
            raise InputError(f"object {obj}: propagation needs at least one keyframe")
        full, work = {}, {}
        for frame, cov in kfs.items():
            if frame not in pos:
                raise InputError(f"object {obj}: keyframe {frame} is not a frame of the shot")
            full[pos[frame]] = _coverage(source, cov, f"object {obj}: keyframe {frame} coverage")
            work[pos[frame]] = resize_to(full[pos[frame]], size)
        corrected = {}
        for frame, base in (bases.get(obj) or {}).items():
            if frame not in kfs:
                raise InputError(f"object {obj}: frame {frame} has a base but is no keyframe")
            corrected[pos[frame]] = resize_to(
                _coverage(source, base, f"object {obj}: the base of frame {frame}"), size)
        objects[obj] = _Object(full, work, bases=corrected)
    return pos, objects


def propagate(
    source: FrameSource,
    keyframes: Mapping[int, Mapping[int, np.ndarray]],
    frames: Sequence[int],
    params: PropagateParams | None = None,
    spill_root: str | os.PathLike[str] | None = None,
    bases: Mapping[int, Mapping[int, np.ndarray]] | None = None,
    memo: Memo | None = None,
) -> Iterator[Propagated]:
    """Yield a `Propagated` (frame, {object id: (H, W) float32 coverage}, {object id:
    confidence}) for each of `frames`, ascending.

    keyframes: {object id: {frame: (H, W) float32 coverage}}. Keyframes outside `frames` still
    anchor tracks. bases: {object id: {keyframe: (H, W) float32 matte it corrects}}; memo: where
    tracks are remembered between runs (both: see the module's docstring). spill_root: parent
    folder for the temporary spill (default: the system's).
    """
    params = params or PropagateParams()
    order = list(source.frames)
    size = processing_size(source.width, source.height, params.long_side)
    full_res = size == (source.width, source.height)
    pos, objects = _prepare(source, keyframes, bases or {}, size)
    unknown = [f for f in frames if f not in pos]
    if unknown:
        raise InputError(f"frame {unknown[0]} is not a frame of the shot")
    wanted = sorted({pos[f] for f in frames})
    if not wanted or not objects:
        return
    r0, r1 = wanted[0], wanted[-1]
    wanted_set = set(wanted)
    tp = params.track
    radius = tp.gf_radius(*size)

    plan = plan_sweeps({obj: o.positions for obj, o in objects.items()}, r0, r1,
                       through_keyframes=True)
    spill = Spill(spill_root)
    finisher: _EdgeFinisher | None = None
    try:
        # Backward sweep: only needed where some object has a keyframe after the range's start.
        if plan.backward_from is not None:
            fwd_start = plan.forward_start

            def forward_needs(q: int) -> bool:
                """Will the forward sweep track some object from q - 1 into q?"""
                return fwd_start < q <= r1 and any(
                    q not in o.full and o.positions[0] < q for o in objects.values())

            # Down to where the forward sweep starts, not only to the range's start: the forward
            # sweep then reads every flow of its way from the spill, as it would in a run over
            # the whole span, so a run resumed part way through (a later range start) gives the
            # same mattes, bit for bit.
            down_to = min(r0, plan.forward_start)
            for p, _, tracked, deltas in _sweep(source, order, objects,
                                                   range(plan.backward_from, down_to - 1, -1),
                                                   size, params, spill, forward_needs, memo):
                if p in wanted_set:
                    for obj, (cov, conf) in tracked.items():
                        spill.put(p, f"cov{obj}", cov, "coverage")
                        spill.put(p, f"conf{obj}", np.float64(conf), "float64")
                    for obj, delta in deltas.items():
                        spill.put(p, f"delta{obj}", delta)

        # Forward sweep, blending with the spilled backward tracks; the edges of each frame's
        # results are refined at plate resolution on the finisher's threads while the sweep
        # goes on to the next frames.
        finisher = _EdgeFinisher(radius, tp.gf_eps)
        for p, at, fwd_all, _ in _sweep(source, order, objects, plan.forward, size, params,
                                        spill, None, memo):
            if p not in wanted_set:
                continue
            out: Coverages = {}
            confidence: dict[int, float] = {}
            rough: Coverages = {}  # at processing resolution, for the finisher
            for obj, o in objects.items():
                if p in o.full:
                    out[obj] = o.full[p].copy()  # the artist's word, unchanged
                    confidence[obj] = 1.0
                    continue
                k1, k2 = o.prev_key(p), o.next_key(p)
                fwd = fwd_all.get(obj)
                bwd = _take_track(spill, p, obj) if k2 is not None else None
                delta = spill.take(p, f"delta{obj}") if k2 in o.bases else None
                if fwd is not None and delta is not None and k1 is not None and k2 is not None:
                    # The correction's change, carried back, on the forward track.
                    w = (k2 - p) / (k2 - k1)
                    cov = np.clip(fwd[0] + (1.0 - w) * delta, 0.0, 1.0)
                    confidence[obj] = _carried_confidence(fwd, delta, w)
                elif fwd is not None and bwd is not None and k1 is not None and k2 is not None:
                    w = (k2 - p) / (k2 - k1)
                    cov = _blend(fwd, bwd, w)
                    confidence[obj] = _met_confidence(fwd, bwd, w)
                elif fwd is not None:
                    cov, confidence[obj] = fwd
                elif bwd is not None:
                    cov, confidence[obj] = bwd
                else:  # no track reaches here: a cut separates p from all keyframes
                    cov = np.zeros(size[::-1], np.float32)
                    confidence[obj] = 0.0
                if full_res:
                    out[obj] = cov.astype(np.float32)
                else:
                    rough[obj] = cov
            if rough and at is None:
                at = _Frame(source, order[p], size)
            yield from finisher.add(Propagated(order[p], out, confidence), rough, at)
        yield from finisher.drain()
    finally:
        spill.close()
        if finisher is not None:
            finisher.close()


class _EdgeFinisher:
    """Refines the edges of a sweep's results at plate resolution (`refine_edges`) on threads
    of its own, up to DEPTH frames behind the sweep: the guided filter and upsampling overlap
    the next frames' tracking, and each other where the tracks are remembered (then they are
    most of a correction round's time). Results come out in the order they went in. Measured
    (means of three, alternating): dog, 3 clicks on its last frame, 2.76 s with one thread ->
    2.65 s with two (and only the RGB a guide needs); a whole run of breakdance's second
    correction, 13.64 s with none -> 12.87 s."""

    DEPTH = 2

    def __init__(self, radius: int, eps: float) -> None:
        self.radius, self.eps = radius, eps
        self._pool = ThreadPoolExecutor(self.DEPTH, thread_name_prefix="mattetrack-edges")
        self._queue: deque[tuple[Propagated, Future[Coverages] | None]] = deque()

    def add(self, item: Propagated, rough: Coverages,
            at: _Frame | None) -> Iterator[Propagated]:
        """Queue a frame's results (item.coverages: final ones; rough: {obj: (h, w) coverage}
        still to refine, against the frame `at`), and yield the frames DEPTH before it."""
        job = None
        if rough:
            assert at is not None
            _ = at.full  # read here, in the sweep's order: the shot reads ahead in that order
            job = self._pool.submit(self._refine, rough, at)
        self._queue.append((item, job))
        while len(self._queue) > self.DEPTH:
            yield self._finish()

    def drain(self) -> Iterator[Propagated]:
        while self._queue:
            yield self._finish()

    def close(self) -> None:
        self._queue.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _finish(self) -> Propagated:
        item, job = self._queue.popleft()
        if job is not None:
            item.coverages.update(job.result())
        return item

    def _refine(self, rough: Coverages, at: _Frame) -> Coverages:
        with timed("edges"):
            return {obj: refine_edges(cov, at.rgb, self.radius, self.eps, guide_full=at.full,
                                      keep_thin=True) for obj, cov in rough.items()}


def _take_track(spill: Spill, p: int, obj: int) -> tuple[np.ndarray, float] | None:
    """The backward track's (coverage, confidence) at position p, taken from the spill."""
    cov = spill.take(p, f"cov{obj}", "coverage")
    if cov is None:
        return None
    return cov, float(spill.take(p, f"conf{obj}", "float64"))


def _blend(fwd: tuple[np.ndarray, float], bwd: tuple[np.ndarray, float], w: float) -> np.ndarray:
    """Blend two (coverage, confidence) tracks; w in [0, 1] is the forward one's temporal weight.

    Each track's weight is its temporal nearness times its confidence, so a track that lost the
    object (low confidence) yields to the other one even close to its own keyframe.
    """
    wf = w * max(fwd[1], 1e-3)
    wb = (1.0 - w) * max(bwd[1], 1e-3)
    a = wf / max(wf + wb, 1e-12)
    return a * fwd[0] + (1.0 - a) * bwd[0]


def _met_confidence(fwd: tuple[np.ndarray, float], bwd: tuple[np.ndarray, float],
                    w: float) -> float:
    """Confidence where two tracks meet: their own confidences (weighted as in `_blend`) times
    how well they agree (IoU of their hard mattes): two tracks from different keyframes that
    land on different pixels cannot both be right."""
    track = w * fwd[1] + (1.0 - w) * bwd[1]
    return float(track * _hard_iou(fwd[0], bwd[0]))


def _hard_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (h, w) coverages' hard mattes (>= 0.5); 1.0 when both are empty."""
    a, b = a >= 0.5, b >= 0.5
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def _carried_confidence(fwd: tuple[np.ndarray, float], delta: np.ndarray, w: float) -> float:
    """Confidence where a correction's carried change meets the forward track (w in [0, 1]: the
    forward track's temporal weight). Two readings of the frame bound it: the forward track as
    it is (right if it went wrong only after this frame) and with the whole change (right if it
    had gone wrong before); the result lies between them, so how unsure it is grows with how
    much they disagree (1 - IoU of their hard mattes) and with the distance to the nearer
    keyframe, which settles it (2 min(w, 1 - w): 0 at either keyframe, 1 halfway). The tracks'
    own weight: the forward track's confidence, and 1 for the corrected keyframe."""
    agree = _hard_iou(fwd[0], fwd[0] + delta)
    track = w * fwd[1] + (1.0 - w)
    return float(track * (1.0 - 2.0 * min(w, 1.0 - w) * (1.0 - agree)))


class _Flows:
    """Optical flow between two frames of the shot (by position): DIS, or the flow an earlier
    run left in the memo, keyed by the flow's parameters and the two plate frames (a correction
    round needs the flows of the spans it re-runs, which the run before computed)."""

    def __init__(self, preset: str, size: tuple[int, int], order: list[int],
                 memo: Memo | None) -> None:
        self.dis = DenseFlow(preset)
        self.memo = memo
        self.order = order
        self.run_key = digest("classic flow", cv2.__version__, preset, size)

    def __call__(self, a: _Frame, pa: int, b: _Frame, pb: int) -> np.ndarray:
        """(h, w, 2) float32 flow a -> b (a, b: the frames at positions pa, pb; read only when
        the memo lacks the flow)."""
        if self.memo is None:
            return self.dis(a.work.grey, b.work.grey)
        frame_key = self.memo.frame_key
        key = digest(self.run_key, frame_key(self.order[pa]), frame_key(self.order[pb]))
        flow = self.memo.get_flow(key)
        if flow is None:
            flow = self.dis(a.work.grey, b.work.grey)
            self.memo.put_flow(key, flow)
        return flow


def _flow_pair(
    flows: _Flows,
    spill: Spill,
    forward_needs: Callable[[int], bool] | None,
    image: _Frame,
    prev: _Frame,
    p: int,
    prev_p: int,
    params: PropagateParams,
) -> FlowPair:
    """The flows between frame positions p (current) and prev_p, computed once for both sweeps.

    A backward sweep (forward_needs given) computes cur -> prev and, where the forward sweep will
    need it or the forward-backward check is on, prev -> cur, spilling both for the forward
    sweep; the forward sweep takes them back.
    """
    if forward_needs is None:
        back = spill.take(p, "to_prev", "float32")
        if back is not None:
            return FlowPair.from_flow(back, image.work.rgb, prev.work.rgb,
                                      spill.take(p, "to_cur", "float32"))
    to_prev = flows(image, p, prev, prev_p)
    reuse = forward_needs is not None and forward_needs(prev_p)
    to_cur = flows(prev, prev_p, image, p) if reuse or params.fb_check else None
    if reuse:
        # The forward sweep tracks prev_p from p: its "to_prev" is our to_cur and vice versa.
        assert to_cur is not None
        spill.put(prev_p, "to_prev", to_cur, "float32")
        if params.fb_check:
            spill.put(prev_p, "to_cur", to_prev, "float32")
    return FlowPair.from_flow(to_prev, image.work.rgb, prev.work.rgb,
                              to_cur if params.fb_check else None)


def _model(o: _Object, p: int, frame: int, feats: FrameFeatures,
           params: PropagateParams) -> PatchModel:
    """The appearance a track learns at its keyframe p (the plate's `frame`): the object and set
    as they look around there (a pan may show a different background at the next keyframe);
    learned once. Its samples are drawn by the frame number, not the position, so a run over
    part of the shot (a cut segment) learns the same model."""
    if p not in o.models:
        rng = np.random.default_rng(frame % 2**32)
        patches = params.track.patches
        o.models[p] = PatchModel.learn([sample_view(feats, o.work[p], rng, patches.samples)],
                                       params=patches)
    return o.models[p]


@dataclass
class _Track:
    """One object's live track in a sweep: its keyframe position, the memo key of its latest
    frame, and its state (None while every frame so far came from the memo, and for a track
    that only carries a correction's change: see `_sweep`)."""

    origin: int
    key: str
    state: TrackState | None
    carry_only: bool = False


def _track_again(source: FrameSource, order: list[int], o: _Object, origin: int,
                 steps: range, last: _Frame, size: tuple[int, int],
                 params: PropagateParams, flows: _Flows,
                 out: list[TrackState]) -> Iterator[tuple[int, np.ndarray, float]]:
    """Track an object again from its keyframe `origin` over `steps` (positions up to the
    sweep's previous one, the frame `last`), as the sweep would have, flows included;
    yields (position, quantised coverage, confidence) per step and leaves the state in `out`."""
    image = last if not steps else _Frame(source, order[origin], size)
    state = TrackState.start(o.work[origin],
                             _model(o, origin, order[origin], FrameFeatures(image.work.rgb),
                                    params))
    out.append(state)
    p = origin
    for q in steps:
        cur = last if q == steps[-1] else _Frame(source, order[q], size)
        to_cur = flows(image, p, cur, q) if params.fb_check else None
        pair = FlowPair.from_flow(flows(cur, q, image, p), cur.work.rgb, image.work.rgb, to_cur)
        cov = track_step(state, pair, cur.work, FrameFeatures(cur.work.rgb), params.track)
        yield q, quantize16(cov), state.confidence
        image, p = cur, q


def _sweep(
    source: FrameSource,
    order: list[int],
    objects: dict[int, _Object],
    positions: range,
    size: tuple[int, int],
    params: PropagateParams,
    spill: Spill,
    forward_needs: Callable[[int], bool] | None,
    memo: Memo | None,
) -> Iterator[
    tuple[int, _Frame | None, dict[int, tuple[np.ndarray, float]], dict[int, np.ndarray]]
]:
    """Run every object's track over `positions` in that order, restarting at keyframes.

    A backward sweep (forward_needs given) also carries, from each keyframe that corrects a
    matte (`_Object.bases`), the change it made (corrected minus base, (h, w) float32 in
    [-1, 1]) along the flow to the next keyframe: motion alone moves it, so it stays where the
    correction acted (two tracks of the corrected and the base matte would drift apart
    elsewhere). Not cleared where the flow check fails: a correction is mostly at the object's
    edge, where that check fails most.

    Yields (position, the `_Frame` there or None when no track is alive yet, {obj: ((h, w)
    tracked coverage, track confidence)}, {obj: carried change}) for every position; a frame is
    read only when something needs its pixels (the memo lacks a flow, a track step or its cut
    signature), so a sweep over remembered tracks reads none; keyframes of an
    object restart its track and are not in the dicts, nor are objects whose track a cut ended.
    Tracked coverage is quantised to 1/65535 steps (as the memo and the spill keep it).
    Flows are taken from `spill` when an earlier sweep left them there; `forward_needs(q)` (a
    backward sweep's) says whether to compute and spill the flow q -> q - 1 for a later forward
    sweep. Tracks come from `memo` where it has them (see the module's docstring). Holds two
    frames and one coverage + appearance model per object and keyframe.
    """
    flows = _Flows(params.flow_preset, size, order, memo)
    cuts = CutDetector(params.cuts)
    gradual = GradualWindow(cuts, params.gradual)
    tracks: dict[int, _Track] = {}
    delta: dict[int, np.ndarray] = {}
    prev: _Frame | None = None
    prev_sig: np.ndarray | None = None
    prev_p = -1
    step = positions.step
    direction = "forward" if step > 0 else "backward"
    run_key = digest("classic track", __version__, repr(params), size, direction)
    for p in positions:
        if not any(obj in tracks or p in o.full for obj, o in objects.items()):
            prev = None
            gradual.reset()
            yield p, None, {}, {}  # nothing to track yet: no need to read the frame
            continue
        image = _Frame(source, order[p], size)
        frame_key = memo.frame_key(order[p]) if memo is not None else ""
        sig = _signature(cuts, image, memo, frame_key, size)
        hard = prev is not None and prev_sig is not None and cuts.is_cut(prev_sig, sig)
        if hard:
            gradual.reset()
        gradual.push(p, sig)
        if hard or gradual.began:
            # The forward track from the keyframe before a correction cannot reach the frames
            # between the cut and the correction: they get the correction's own track after all.
            for obj, track in tracks.items():
                if track.carry_only:
                    steps = range(track.origin + step, p, step)
                    for q, cov, conf in _track_again(source, order, objects[obj], track.origin,
                                                     steps, prev, size, params, flows, []):
                        yield q, None, {obj: (cov, conf)}, {}
            tracks.clear()  # a track never crosses a cut
            delta.clear()
        pair: FlowPair | None = None
        feats: FrameFeatures | None = None
        tracked: dict[int, tuple[np.ndarray, float]] = {}
        live: list[int] = []  # objects whose track (of either kind) goes on here
        for obj, o in objects.items():
            if p in o.full:
                key = digest(run_key, order[p], o.work[p], frame_key) if memo is not None else ""
                if p in o.bases and forward_needs is not None:  # only backwards
                    delta[obj] = o.work[p] - o.bases[p]
                    if o.prev_key(p) is not None:
                        # The forward track from the keyframe before meets the change here.
                        tracks[obj] = _Track(p, key, None, carry_only=True)
                        continue
                else:
                    delta.pop(obj, None)
                if memo is None:
                    if feats is None:
                        feats = FrameFeatures(image.work.rgb)
                    tracks[obj] = _Track(p, key, TrackState.start(o.work[p],
                                                                  _model(o, p, order[p], feats,
                                                                         params)))
                else:  # built when a frame is missing from the memo
                    tracks[obj] = _Track(p, key, None)
                continue
            track = tracks.get(obj)
            if track is None:
                continue
            live.append(obj)
            if memo is not None:
                track.key = digest(track.key, frame_key)
            if track.carry_only:
                continue
            if track.state is None:
                assert memo is not None and prev is not None
                kept = memo.get(track.key)
                if kept is not None:
                    tracked[obj] = kept
                    continue
                built: list[TrackState] = []
                for _ in _track_again(source, order, o, track.origin,
                                      range(track.origin + step, p, step), prev, size, params,
                                      flows, built):
                    pass
                track.state = built[0]
            if pair is None:  # once per frame pair, shared by all objects
                assert prev is not None
                pair = _flow_pair(flows, spill, forward_needs, image, prev, p, prev_p, params)
            if feats is None:
                feats = FrameFeatures(image.work.rgb)
            cov = quantize16(track_step(track.state, pair, image.work, feats, params.track))
            tracked[obj] = (cov, track.state.confidence)
            if memo is not None:
                memo.put(track.key, cov, track.state.confidence)
        to_prev = pair.to_prev if pair is not None else None
        for obj in live:
            if obj in delta:
                if to_prev is None:
                    assert prev is not None
                    to_prev = flows(image, p, prev, prev_p)
                delta[obj] = warp(delta[obj], to_prev)
        if forward_needs is None and pair is None:
            # Every track here came from the memo: the flows the backward sweep left are unused.
            spill.drop(p, "to_prev", "float32")
            spill.drop(p, "to_cur", "float32")
        prev, prev_sig, prev_p = image, sig, p
        yield p, image, tracked, {obj: delta[obj] for obj in live if obj in delta}


def _signature(cuts: CutDetector, image: _Frame, memo: Memo | None, frame_key: str,
               size: tuple[int, int]) -> np.ndarray:
    """The cut detector's signature of a frame (`CutDetector.signature` of its processing
    image), remembered by the plate frame when there is a memo."""
    if memo is None:
        return cuts.signature(image.work.u8)
    key = digest("cut signature", __version__, SIGNATURE_LEN, size, frame_key)
    sig = memo.get_vector(key)
    if sig is None:
        sig = cuts.signature(image.work.u8)
        memo.put_vector(key, sig)
    return sig


def find_cuts(source: FrameSource, frames: Sequence[int],
              params: PropagateParams | None = None, memo: Memo | None = None) -> list[int]:
    """The frames of `frames` (ascending, consecutive in the shot) where a track of `propagate`
    with `params` stops: each one's cut signature against the frame before it, made from the
    same processing-resolution image as in the sweeps, or taken from `memo` where a sweep kept
    it. Reads each other frame once."""
    params = params or PropagateParams()
    size = processing_size(source.width, source.height, params.long_side)
    detector = CutDetector(params.cuts)
    out: list[int] = []
    prev: np.ndarray | None = None
    for frame in frames:
        key = memo.frame_key(frame) if memo is not None else ""
        sig = _signature(detector, _Frame(source, frame, size), memo, key, size)
        if prev is not None and detector.is_cut(prev, sig):
            out.append(frame)
        prev = sig
    return out
