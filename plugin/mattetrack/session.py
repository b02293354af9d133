"""Session: the explicit state of one shot's work — objects, their prompts, keyframes, results.

Engines hold no per-shot state; a Session passes them what they need. Object ids are stable
integers starting at 1 (0 is "no object" in label images), independent of list positions, so
removing an object never renumbers the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from mattetrack.engines.base import Coverages, Engine, FrameSource
from mattetrack.errors import InputError
from mattetrack.prompts import FramePrompts
from mattetrack.store import ResultStore


@dataclass
class TrackedObject:
    """One object: a stable id, a name, and its prompts per frame."""

    id: int
    name: str
    prompts: dict[int, FramePrompts] = field(default_factory=dict)

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
        self._frames = set(shot.frames)
        # Files the prompts were read from (mask images): outputs must never overwrite them.
        self.input_files: set[str] = set()
        # Keyframe coverage computed by engine.select, dropped whenever that frame's prompts change.
        self._selected: dict[tuple[int, int], np.ndarray] = {}

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

    def add_object(self, name: str | None = None) -> int:
        """Add an object and return its id. Names are unique; a default one is made when omitted."""
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
        if any(o.name == name for o in self._objects.values()):
            raise InputError(f"{name!r}: there is already an object with that name",
                             field="object")
        obj = TrackedObject(self._next_id, name)
        self._objects[obj.id] = obj
        self._next_id += 1
        if self.store is not None:
            self.store.set_object(obj.id, obj.name)
        return obj.id

    def remove_object(self, obj_id: int) -> None:
        self.object(obj_id)
        del self._objects[obj_id]
        self._selected = {k: v for k, v in self._selected.items() if k[0] != obj_id}
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
        self._selected.pop((obj_id, frame), None)
        return obj.prompts.setdefault(frame, FramePrompts())

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

    def clear_prompts(self, obj_id: int, frame: int | None = None) -> None:
        """Remove an object's prompts on one frame, or on every frame."""
        obj = self.object(obj_id)
        frames = list(obj.prompts) if frame is None else [frame]
        for f in frames:
            obj.prompts.pop(f, None)
            self._selected.pop((obj_id, f), None)

    def keyframes(self, obj_id: int) -> list[int]:
        return self.object(obj_id).keyframes

    # -- results -------------------------------------------------------------------------------
    def select(self, obj_id: int, frame: int) -> np.ndarray:
        """(H, W) float32 coverage of an object on one of its keyframes (a selection preview)."""
        obj = self.object(obj_id)
        prompts = obj.prompts.get(frame)
        if prompts is None or prompts.empty:
            raise InputError(f"object {obj.name!r} has no prompts on frame {frame}")
        key = (obj_id, frame)
        if key not in self._selected:
            coverage = self.engine.select(self.shot.image(frame), prompts)
            coverage.setflags(write=False)
            self._selected[key] = coverage
        return self._selected[key]

    def check_ready(self) -> None:
        """Refuse to propagate a session without objects or with an object without prompts."""
        if not self._objects:
            raise InputError("nothing to track: add an object with at least one prompt")
        for obj in self._objects.values():
            if not obj.keyframes:
                raise InputError(f"object {obj.name!r} has no prompts")

    def propagate(self, frames: Sequence[int] | None = None,
                  objects: Sequence[int] | None = None) -> Iterator[tuple[int, Coverages]]:
        """Propagate objects from their keyframes through `frames` (default: the whole shot).

        objects: the ids to propagate (default: every object; an output planned for some objects
        gets exactly those, or an error if one was removed since). Yields (frame, {object id:
        (H, W) float32 coverage}) in ascending frame order, one frame at a time; results also go
        to the store when the session has one.
        """
        self.check_ready()
        chosen = list(self._objects.values()) if objects is None else [
            self.object(o) for o in objects]
        frames = list(self.shot.frames) if frames is None else sorted(frames)
        for f in frames:
            self._check_frame(f, "propagate")
        keyframes = {obj.id: {f: self.select(obj.id, f) for f in obj.keyframes}
                     for obj in chosen}
        for frame, coverages in self.engine.propagate(self.shot, keyframes, frames):
            if self.store is not None:
                for obj_id, coverage in coverages.items():
                    self.store.put(obj_id, frame, coverage)
            yield frame, coverages
