"""Session: the explicit state of one shot's work — objects, their prompts, keyframes, results.

Engines hold no per-shot state; a Session passes them what they need. Object ids are stable
integers starting at 1 (0 is "no object" in label images), independent of list positions, so
removing an object never renumbers the others.

With a result store, every result is kept under a key of what produced it (`resultkeys`), and
propagation computes only what the store lacks: the frames an interrupted run did not reach, and
after a change of prompts the frames whose result can change (for engines whose tracks restart
at keyframes, the spans between the changed keyframe's neighbours). Prompts on a frame that
already has a propagated matte correct that matte (`FramePrompts.base`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from mattetrack import resultkeys
from mattetrack.engines.base import Coverages, Engine, FrameSource, Memo, Propagated
from mattetrack.engines.segments import propagate_in_segments
from mattetrack.errors import InputError
from mattetrack.lru import LRUCache
from mattetrack.pngcodec import quantize16
from mattetrack.prompts import DEFAULT_STROKE_WIDTH, FramePrompts, Stroke
from mattetrack.store import ResultStore

SELECTIONS_KEPT = 8  # keyframe selections held in memory when a store keeps them all

# Bytes of an object's name: its EXR channels (`<name>.A`, `matte_<name>_roto.A`, Cryptomatte
# manifests) must stay within OpenEXR's 255.
MAX_NAME_BYTES = 200


@dataclass
class RunCounts:
    """What the last propagation did, in object-frames (one object on one frame): computed by
    the engine or reused from the store; frames_computed: frames with anything computed;
    tracks_remembered / tracks_computed: track steps an engine took from the store's memo / made;
    flows_remembered / flows_computed: the same for optical flows (engines that keep them: see
    `mattetrack.memo`)."""

    computed: int = 0
    reused: int = 0
    frames_computed: int = 0
    tracks_remembered: int = 0
    tracks_computed: int = 0
    flows_remembered: int = 0
    flows_computed: int = 0


@dataclass
class HeldMattes:
    """Mattes given for an object (opened from files), used as they are while it has no
    prompts: coverage(frame) -> (H, W) float32 or None where there is none (then empty);
    key(frame) -> what decides that matte (its file's identity), for result keys."""

    coverage: Callable[[int], np.ndarray | None]
    key: Callable[[int], str]


@dataclass
class TrackedObject:
    """One object: a stable id, a name, its prompts per frame, and mattes it holds, if any."""

    id: int
    name: str
    prompts: dict[int, FramePrompts] = field(default_factory=dict)
    held: HeldMattes | None = None

    @property
    def keyframes(self) -> list[int]:
        """Frames with prompts, ascending."""
        return sorted(f for f, p in self.prompts.items() if not p.empty)


class Session:
    """Objects and prompts on a shot, with selection previews and propagation through an engine."""

    def __init__(self, shot: FrameSource, engine: Engine, store: ResultStore | None = None) -> None:
        self.shot = shot
        self.engine = engine
        self.store = store
        self._objects: dict[int, TrackedObject] = {}
        self._next_id = 1
        self._order = list(shot.frames)
        self._position = {f: i for i, f in enumerate(self._order)}  # frame -> index in the shot
        self._frames = set(self._order)
        # Files the prompts were read from (mask images): outputs must never overwrite them.
        self.input_files: set[str] = set()
        # Keyframe coverage computed by engine.select, and the keys of those selections (hashing
        # a corrected frame's base is ~2 ms, and every run asks twice: its outputs, its results);
        # both dropped whenever that frame's prompts change (`_forget`).
        # With a store they are on disk too (read back in ~0.2 ms): only the latest are kept in
        # memory, so a session with many keyframes (a service's, for hours) stays bounded.
        self._selected: dict[tuple[int, int], np.ndarray] | LRUCache = (
            {} if store is None else LRUCache(SELECTIONS_KEPT))
        self._selection_keys: dict[tuple[int, int], str] = {}
        # {object id: {frame: confidence}} of the latest propagation results seen.
        self.confidence: dict[int, dict[int, float]] = {}
        self.last_run = RunCounts()
        # time.perf_counter() when an engine first ran in this session (`--timings`' start-up).
        self.engine_started_at: float | None = None
        self._plate_keys: dict[int, str] = {}
        # Frames that open a cut segment, known before a run (a farm task's, found by
        # `Engine.cuts` when its job was made): an engine that stops at cuts then runs one
        # segment at a time and never sweeps across one (`engines.segments`).
        self.known_cuts: tuple[int, ...] = ()

    # -- objects -------------------------------------------------------------------------------
    @property
    def objects(self) -> list[TrackedObject]:
        """Objects in the order they were added."""
        return list(self._objects.values())

    def object(self, obj_id: int) -> TrackedObject:
        try:
            return self._objects[obj_id]
        except KeyError:
            raise InputError(f"no object with id {obj_id}") from None

    def add_object(self, name: str | None = None, obj_id: int | None = None) -> int:
        """Add an object and return its id. Names are unique; a default one is made when omitted.
        obj_id: the id to give it (a saved session restored), else the next free one."""
        if name is None:
            base, n = "object", 1
            taken = {o.name for o in self._objects.values()}
            name = base
            while name in taken:
                n += 1
                name = f"{base}{n}"
        name = name.strip()
        if not name or re.search(r"[\x00-\x1f]", name):
            raise InputError(f"{name!r}: an object needs a printable, non-empty name",
                             field="object")
        size = len(name.encode())
        if size > MAX_NAME_BYTES:
            raise InputError(f"{name[:24]!r}...: an object name is {size} bytes, at most "
                             f"{MAX_NAME_BYTES} (EXR channel names hold 255)", field="object")
        if any(o.name == name for o in self._objects.values()):
            raise InputError(f"{name!r}: there is already an object with that name",
                             field="object")
        if obj_id is not None and (obj_id < 1 or obj_id in self._objects):
            raise InputError(f"object id {obj_id}: taken or not positive", field="object")
        obj = TrackedObject(self._next_id if obj_id is None else obj_id, name)
        self._objects[obj.id] = obj
        self._next_id = max(self._next_id, obj.id + 1)
        if self.store is not None:
            self.store.set_object(obj.id, obj.name)
        return obj.id

    def remove_object(self, obj_id: int) -> None:
        self.object(obj_id)
        self._forget(obj_id, list(self._objects[obj_id].prompts))
        del self._objects[obj_id]
        self.confidence.pop(obj_id, None)
        if self.store is not None:
            self.store.remove_object(obj_id)

    # -- prompts -------------------------------------------------------------------------------
    def _check_frame(self, frame: int, where: str) -> None:
        if frame not in self._frames:
            frames = self.shot.frames
            raise InputError(
                f"{where}: frame {frame} is not in the shot (frames {frames[0]}-{frames[-1]})"
            )

    def _prompts(self, obj_id: int, frame: int, where: str) -> FramePrompts:
        obj = self.object(obj_id)
        self._check_frame(frame, where)
        self._forget(obj_id, [frame])
        return obj.prompts.setdefault(frame, FramePrompts())

    def _forget(self, obj_id: int, frames: Sequence[int]) -> None:
        """Drop what was derived from an object's prompts on `frames` (they change)."""
        for f in frames:
            self._selected.pop((obj_id, f), None)
            self._selection_keys.pop((obj_id, f), None)

    def add_point(
        self,
        obj_id: int,
        frame: int,
        x: float,
        y: float,
        positive: bool = True,
        where: str = "point",
    ) -> None:
        """A click at display-window pixel (x, y); positive marks the object, negative the rest."""
        if not (np.isfinite(x) and np.isfinite(y)):
            raise InputError(f"{where}: the point {x:g},{y:g} is not a finite position")
        trial = FramePrompts()
        trial.add_point(x, y, positive)
        trial.validate(self.shot.width, self.shot.height, where)
        self._prompts(obj_id, frame, where).add_point(x, y, positive)

    def add_box(
        self, obj_id: int, frame: int, box: tuple[float, float, float, float], where: str = "box"
    ) -> None:
        """A box (x0, y0, x1, y1) around the object, display-window pixels."""
        FramePrompts(box=box).validate(self.shot.width, self.shot.height, where)
        self._prompts(obj_id, frame, where).box = tuple(float(v) for v in box)

    def add_mask(self, obj_id: int, frame: int, mask: np.ndarray, where: str = "mask",
                 source: str | None = None) -> None:
        """A (H, W) coverage mask of the object on a frame (>= 0.5 is the object); source: the
        file it was read from, if any (protected from being overwritten by outputs)."""
        mask = np.asarray(mask, dtype=np.float32)
        FramePrompts(mask=mask).validate(self.shot.width, self.shot.height, where)
        if not np.isfinite(mask).all():
            raise InputError(f"{where}: the mask has NaN or infinite values")
        self._prompts(obj_id, frame, where).mask = np.clip(mask, 0.0, 1.0)
        if source is not None:
            self.input_files.add(source)

    def add_stroke(self, obj_id: int, frame: int, points: np.ndarray, positive: bool = True,
                   width: float = DEFAULT_STROKE_WIDTH, where: str = "stroke") -> None:
        """A painted line through display-window points (N, 2) x, y, `width` px wide; positive
        paints the object, negative the rest."""
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        if not len(pts) or not np.isfinite(pts).all():
            raise InputError(f"{where}: a stroke needs at least one finite point")
        if not (np.isfinite(width) and width > 0):
            raise InputError(f"{where}: the stroke width must be > 0, not {width:g}")
        stroke = Stroke(pts, positive, float(width))
        FramePrompts(strokes=[stroke]).validate(self.shot.width, self.shot.height, where)
        self._prompts(obj_id, frame, where).strokes.append(stroke)

    def set_base(self, obj_id: int, frame: int, coverage: np.ndarray | None) -> None:
        """The (H, W) matte the object's prompts on `frame` correct (what the artist saw there
        when they first prompted it), or None: the prompts select from scratch."""
        prompts = self._prompts(obj_id, frame, "base")
        prompts.base = None if coverage is None else np.clip(
            np.asarray(coverage, np.float32), 0.0, 1.0)

    def set_prompts(self, obj_id: int, frame: int, prompts: FramePrompts,
                    where: str = "prompts") -> None:
        """Replace an object's prompts on a frame (undo, a point deleted, a saved session
        restored); the frame's base (the matte its prompts correct) stays. Empty prompts clear
        the frame."""
        self._check_frame(frame, where)
        prompts.validate(self.shot.width, self.shot.height, where)
        obj = self.object(obj_id)
        old = obj.prompts.get(frame)
        if prompts.empty:
            self.clear_prompts(obj_id, frame)
            return
        self._forget(obj_id, [frame])
        prompts.base = old.base if old is not None else None
        obj.prompts[frame] = prompts

    def clear_prompts(self, obj_id: int, frame: int | None = None) -> None:
        """Remove an object's prompts on one frame, or on every frame."""
        obj = self.object(obj_id)
        frames = list(obj.prompts) if frame is None else [frame]
        self._forget(obj_id, frames)
        for f in frames:
            obj.prompts.pop(f, None)

    def keyframes(self, obj_id: int) -> list[int]:
        return self.object(obj_id).keyframes

    def hold(self, obj_id: int, held: HeldMattes | None) -> None:
        """Give an object mattes of its own (opened from files): propagation passes them
        through unchanged while the object has no prompts, and tracks it from its keyframes
        once it has some."""
        self.object(obj_id).held = held

    # -- results -------------------------------------------------------------------------------
    def plate_key(self, frame: int) -> str:
        """What decides the frame's pixels (file identity and colour pipeline, or the pixels)."""
        key = self._plate_keys.get(frame)
        if key is None:
            frame_key = getattr(self.shot, "frame_key", None)
            key = resultkeys.digest(frame_key(frame) if frame_key is not None
                                    else self.shot.image(frame))
            self._plate_keys[frame] = key
        return key

    def _context(self, frame: int) -> list[int]:
        """The frames next to `frame` that a selection there also sees (its motion), as
        offsets: -1 and +1 where the shot has them."""
        p = self._position[frame]
        return [o for o in (-1, 1) if 0 <= p + o < len(self._order)]

    def _selection_key(self, obj_id: int, frame: int) -> str:
        key = self._selection_keys.get((obj_id, frame))
        if key is None:
            prompts = self.object(obj_id).prompts[frame]
            p = self._position[frame]
            context = [self.plate_key(self._order[p + o]) for o in self._context(frame)]
            key = resultkeys.digest(self.engine.cache_key, self.plate_key(frame),
                                    resultkeys.prompts_key(prompts), context)
            self._selection_keys[(obj_id, frame)] = key
        return key

    def select(self, obj_id: int, frame: int) -> np.ndarray:
        """(H, W) float32 coverage of an object on one of its keyframes (a selection preview)."""
        obj = self.object(obj_id)
        prompts = obj.prompts.get(frame)
        if prompts is None or prompts.empty:
            raise InputError(f"object {obj.name!r} has no prompts on frame {frame}")
        problem = self.prompt_problem(obj_id, frame)
        if problem is not None:  # not an empty matte that looks like a result
            raise InputError(problem)
        key = (obj_id, frame)
        coverage = self._selected.get(key)
        if coverage is None:
            if self.store is not None:
                skey = self._selection_key(obj_id, frame)
                coverage = self.store.get_selection(skey)
            if coverage is None:
                p = self._position[frame]
                context = [(o, self.shot.image(self._order[p + o]))
                           for o in self._context(frame)]
                # On the store's grid, so a run that computes it and one that reads it back
                # propagate the very same keyframe.
                coverage = quantize16(self.engine.select(self.shot.image(frame), prompts, context))
                if self.store is not None:
                    self.store.put_selection(skey, coverage)
            coverage.setflags(write=False)
            if isinstance(self._selected, LRUCache):
                self._selected.put(key, coverage)
            else:
                self._selected[key] = coverage
        return coverage

    def check_ready(self) -> None:
        """Refuse to propagate a session without objects or with an object without prompts."""
        if not self._objects:
            raise InputError("nothing to track: add an object with at least one prompt")
        for obj in self._objects.values():
            if not obj.keyframes and obj.held is None:
                raise InputError(f"object {obj.name!r} has no prompts")
            for f in obj.keyframes:
                problem = self.prompt_problem(obj.id, f)
                if problem is not None:
                    raise InputError(problem)

    def prompt_problem(self, obj_id: int, frame: int) -> str | None:
        """Why an object's prompts on a frame cannot select anything (only negative ones and no
        matte to refine), as a one-line message; None when they can."""
        obj = self.object(obj_id)
        prompts = obj.prompts.get(frame)
        if prompts is None or prompts.empty or not prompts.selects_nothing:
            return None
        return (f"object {obj.name!r}: the prompts on frame {frame} are all negative; "
                "add a positive point, a stroke, a box or a mask")

    def adopt_bases(self) -> None:
        """Prompts on a frame the store has a propagated matte for correct that matte.

        For each object and keyframe: the base the store kept from the first time the frame
        was prompted, else the frame's stored propagated result (the matte the artist was
        looking at), which is then kept as that frame's base. Bases of frames that are no
        longer keyframes are forgotten. Needs a store; a mask prompt needs no base.
        """
        store = self.store
        if store is None:
            return
        for obj in self._objects.values():
            keys = set(obj.keyframes)
            for f in store.base_frames(obj.id):
                if f not in keys:
                    store.drop_base(obj.id, f)
            for f in keys:
                prompts = obj.prompts[f]
                if prompts.mask is not None or prompts.base is not None:
                    continue
                base = store.get_base(obj.id, f)
                if base is None:
                    stored = store.lookup(obj.id, f)
                    if stored is None or stored.key.startswith("k"):
                        continue  # no matte there yet, or its own earlier selection
                    base = store.get(obj.id, f)
                    if base is None:
                        continue
                    store.put_base(obj.id, f, base)
                self.set_base(obj.id, f, base)

    def _frame_keys(self, obj: TrackedObject, frames: Sequence[int],
                    selections: dict[int, str]) -> dict[int, str]:
        """{frame: result key} of an object over `frames` (see `resultkeys`). Keyframe results
        are keyed `k...` (a later correction there is not made on top of its own selection)."""
        order, position = self._order, self._position
        keys = sorted(selections, key=position.__getitem__)
        engine_key = self.engine.cache_key
        if not self.engine.span_results:
            shared = resultkeys.digest(engine_key, sorted(selections.items()),
                                       [self.plate_key(f) for f in order])
            return {f: "k" + selections[f] if f in selections
                    else "p" + resultkeys.digest(shared, f) for f in frames}
        kpos = [position[k] for k in keys]
        segment: dict[tuple[int, int], str] = {}  # (first, last) position -> plate digest
        out: dict[int, str] = {}
        for f in frames:
            if f in selections:
                out[f] = "k" + selections[f]
                continue
            p = position[f]
            i = int(np.searchsorted(kpos, p))
            lo = kpos[i - 1] if i > 0 else 0
            hi = kpos[i] if i < len(kpos) else len(order) - 1
            if (lo, hi) not in segment:
                segment[(lo, hi)] = resultkeys.digest(
                    [self.plate_key(order[q]) for q in range(lo, hi + 1)])
            deps = [(order[q], selections[order[q]]) for q in (lo, hi) if q in kpos]
            out[f] = "p" + resultkeys.span_key(engine_key, f, deps, [segment[(lo, hi)]])
        return out

    def result_keys(self, frames: Sequence[int],
                    objects: Sequence[int]) -> dict[int, dict[int, str]]:
        """{object id: {frame: key}}: what the results of `objects` on `frames` will be keyed
        by (`resultkeys`), from the prompts as they are now; a store holding a result under its
        key is reused as it is."""
        chosen = [self.object(o) for o in objects]
        return {obj.id: {f: "h" + obj.held.key(f) for f in frames} if _passes(obj)
                else self._frame_keys(obj, frames, {f: self._selection_key(obj.id, f)
                                                    for f in obj.keyframes})
                for obj in chosen}

    def propagate(self, frames: Sequence[int] | None = None,
                  objects: Sequence[int] | None = None,
                  unread: Container[int] = ()) -> Iterator[tuple[int, Coverages | None]]:
        """Propagate objects from their keyframes through `frames` (default: the whole shot).

        objects: the ids to propagate (default: every object; an output planned for some objects
        gets exactly those, or an error if one was removed since). Yields (frame, {object id:
        (H, W) float32 coverage}) in ascending frame order, one frame at a time. With a store,
        results whose key is stored are read back and only the rest computed (`last_run` says
        how many); new results go to the store as they are made. Confidences land in
        `confidence`. unread: frames whose mattes the caller does not need (their output is
        already written): where every result of such a frame is reused, it yields (frame, None)
        without reading the store.
        """
        self.check_ready()
        chosen = list(self._objects.values()) if objects is None else [
            self.object(o) for o in objects]
        frames = list(self.shot.frames) if frames is None else sorted(frames)
        for f in frames:
            self._check_frame(f, "propagate")
        held = [obj for obj in chosen if _passes(obj)]
        if not held:
            yield from self._propagate(chosen, frames, unread)
            return
        # Held mattes pass through beside the tracked objects' results, frame by frame.
        tracked = [obj for obj in chosen if not _passes(obj)]
        self.last_run = RunCounts()  # (a tracked propagation starts its own)
        empty = np.zeros((self.shot.height, self.shot.width), np.float32)
        source = self._propagate(tracked, frames, unread) if tracked else (
            (f, None if f in unread else {}) for f in frames)
        for f, coverages in source:
            self.last_run.reused += len(held)
            if coverages is None:
                yield f, None
                continue
            for obj in held:
                cov = obj.held.coverage(f)
                coverages[obj.id] = empty if cov is None else cov
            yield f, {obj.id: coverages[obj.id] for obj in chosen}

    def _propagate(self, chosen: list[TrackedObject], frames: list[int],
                   unread: Container[int]) -> Iterator[tuple[int, Coverages | None]]:
        """`propagate` of objects tracked from their keyframes."""
        self.last_run = counts = RunCounts()
        keyframes = {obj.id: {f: self.select(obj.id, f) for f in obj.keyframes}
                     for obj in chosen}
        bases = {obj.id: {f: obj.prompts[f].base for f in obj.keyframes
                          if obj.prompts[f].base is not None} for obj in chosen}
        if self.store is None:
            for item in self._engine_run(keyframes, frames, bases, None):
                self._note(item.confidence, item.frame)
                counts.computed += len(item.coverages)
                counts.frames_computed += 1
                yield item.frame, item.coverages
            return
        yield from self._propagate_stored(chosen, frames, keyframes, bases, counts, unread)

    def _engine_run(self, keyframes: dict[int, dict[int, np.ndarray]], frames: list[int],
                    bases: dict[int, dict[int, np.ndarray]],
                    memo: Memo | None) -> Iterator[Propagated]:
        """The engine's propagation (`Engine.propagate`), by cut segment when the cuts are
        known and the engine's tracks stop at them."""
        if self.engine_started_at is None:
            self.engine_started_at = time.perf_counter()
        if self.known_cuts and self.engine.stops_at_cuts:
            return propagate_in_segments(self.engine, self.shot, keyframes, frames, bases, memo,
                                         self.known_cuts)
        return self.engine.propagate(self.shot, keyframes, frames, bases, memo)

    def _note(self, confidence: dict[int, float], frame: int) -> None:
        for obj_id, c in confidence.items():
            self.confidence.setdefault(obj_id, {})[frame] = float(c)

    def _propagate_stored(self, chosen: list[TrackedObject], frames: list[int],
                          keyframes: dict[int, dict[int, np.ndarray]],
                          bases: dict[int, dict[int, np.ndarray]],
                          counts: RunCounts,
                          unread: Container[int]) -> Iterator[tuple[int, Coverages | None]]:
        store = self.store
        assert store is not None
        keys = self.result_keys(frames, [obj.id for obj in chosen])
        missing: dict[int, list[int]] = {}
        for obj in chosen:
            missing[obj.id] = []
            for f in frames:
                stored = store.lookup(obj.id, f)
                if stored is None or stored.key != keys[obj.id][f]:
                    missing[obj.id].append(f)
        # One engine run per group of objects missing the same frames and per run of
        # consecutive frames (a run far from another costs only its own sweeps).
        position = self._position
        groups: dict[tuple[int, ...], list[int]] = {}
        for obj_id, fs in missing.items():
            if fs:
                groups.setdefault(tuple(fs), []).append(obj_id)
        runs: list[tuple[list[int], list[int]]] = []  # (frames, objects)
        for fs, objs in groups.items():
            current: list[int] = []
            for f in fs:
                if current and position[f] != position[current[-1]] + 1:
                    runs.append((current, objs))
                    current = []
                current.append(f)
            runs.append((current, objs))
        runs.sort(key=lambda r: position[r[0][0]])
        active: list[tuple[Iterator[Propagated], set[int]]] = []
        pending = list(runs)
        memo = store.track_memo(self.plate_key)
        try:
            for f in frames:
                while pending and pending[0][0][0] == f:
                    run_frames, objs = pending.pop(0)
                    gen = self._engine_run({o: keyframes[o] for o in objs}, run_frames,
                                           {o: bases[o] for o in objs}, memo)
                    active.append((gen, set(run_frames)))
                out: Coverages = {}
                for gen, run_frames in list(active):
                    if f not in run_frames:
                        continue
                    item = next(gen)
                    assert item.frame == f, (item.frame, f)
                    for obj_id, cov in item.coverages.items():
                        conf = item.confidence.get(obj_id)
                        store.put(obj_id, f, cov, keys[obj_id][f], conf)
                        out[obj_id] = cov
                    self._note(item.confidence, f)
                    if f == max(run_frames):
                        gen.close()
                        active.remove((gen, run_frames))
                computed = len(out)
                if not computed and f in unread:
                    # Its output is already written: only the confidences are wanted.
                    for obj in chosen:
                        stored = store.lookup(obj.id, f)
                        if stored is not None and stored.confidence is not None:
                            self._note({obj.id: stored.confidence}, f)
                    counts.reused += len(chosen)
                    yield f, None
                    continue
                for obj in chosen:
                    if obj.id in out:
                        continue
                    stored = store.lookup(obj.id, f)
                    cov = store.get(obj.id, f, keys[obj.id][f]) if stored is not None else None
                    if cov is None:  # removed under us: a one-line error, not a wrong matte
                        raise InputError(f"{store.root}: the stored result of object "
                                         f"{obj.name!r} on frame {f} disappeared during the run")
                    out[obj.id] = cov
                    if stored.confidence is not None:
                        self._note({obj.id: stored.confidence}, f)
                counts.computed += computed
                counts.reused += len(out) - computed
                counts.frames_computed += computed > 0
                yield f, {obj.id: out[obj.id] for obj in chosen}
        finally:
            for gen, _ in active:
                gen.close()
            counts.tracks_remembered, counts.tracks_computed = memo.hits, memo.puts
            counts.flows_remembered, counts.flows_computed = memo.flow_hits, memo.flow_puts
            memo.trim()


def _passes(obj: TrackedObject) -> bool:
    """Whether propagation passes an object's held mattes through (it has no prompts)."""
    return obj.held is not None and not obj.keyframes
