"""Shapes jobs: roto shapes fitted to a session's propagated mattes on a background thread and
written in a shapes format, with progress and cancel like a propagation (`jobs.py`).

Fitting a long shot takes seconds to minutes; a request that waited for it would hold a host's
call (and its UI) that long. The export request checks everything, answers 202 with the job,
and the job's status and `/events` stream say how far it is: {stage: "outlines" | "fitting",
done, total} per step (frames read and outlined, then shape-frames fitted), then the end state.
A cancel stops at the next frame or shape; nothing is written then. The document fitted last is
kept with the session: the same mattes and settings asked for in another format are written
without fitting again (`refitted` in the end status says which).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mattetrack.service.jobs import BackgroundJob
from mattetrack.service.state import ServiceSession
from mattetrack.shapes import ShapeParams


class ShapesJob(BackgroundJob):
    """Fits shapes to `files` ({frame: matte file}) whose objects are `layers` ({object id:
    EXR layer}, named `names`) and writes them to `output` in format `fmt`. `state` goes
    running -> done | cancelled | failed."""

    def __init__(self, jid: str, session: ServiceSession, files: dict[int, str],
                 layers: dict[int, str], names: dict[int, str], output: str, fmt: str,
                 params: ShapeParams, is_exr: bool = True, cached=None,
                 on_fitted: Callable | None = None) -> None:
        super().__init__(jid, f"mattetrack-shapes-{jid}")
        self.session_id = session.id
        self._shot_size = (session.shot.width, session.shot.height)
        self.files = files
        self.layers = layers
        self.names = names
        self.output = output
        self.format = fmt
        self.params = params
        self.is_exr = is_exr
        self.stage = "outlines"
        self.done = 0
        self.total = len(files)
        self.result: dict = {}
        # A document fitted before to the same mattes and settings (another format asked for):
        # written again without fitting. on_fitted(doc) keeps a new one for the next export.
        self.cached = cached
        self.on_fitted = on_fitted

    def status(self) -> dict:
        frames = sorted(self.files)
        out = {"job": self.id, "kind": "shapes", "session": self.session_id,
               "state": self.state, "stage": self.stage, "done": self.done, "total": self.total,
               "output": self.output, "format": self.format, "first": frames[0],
               "last": frames[-1],
               "layers": [{"object": o, "name": self.names[o], "layer": layer}
                          for o, layer in self.layers.items()], **self.result}
        if self.error is not None:
            out["error"] = self.error
        return out

    # -- the worker thread ---------------------------------------------------------------------
    def _progress(self, stage: str, done: int, total: int) -> None:
        self._check_cancel()
        self.stage, self.done, self.total = stage, done, total or len(self.files)
        self._emit({"stage": stage, "done": self.done, "total": self.total})

    def _run(self) -> None:
        self._guarded(self._fit_and_write)
        self.ended = time.monotonic()
        end = {"state": self.state, "done": self.done, "total": self.total, **self.result}
        self._emit(end if self.error is None else {**end, "error": self.error})

    def _fit_and_write(self) -> None:
        from mattetrack.shapes import shapes_from_mattes
        from mattetrack.shapes.formats import save_shapes
        from mattetrack.shapes.source import MatteSequence

        width, height = self._shot_size
        mattes = MatteSequence(self.files, list(self.layers.values()), width, height,
                               self.is_exr)
        names = {self.layers[o]: self.names[o] for o in self.layers}
        doc = self.cached
        if doc is None:
            doc = shapes_from_mattes(iter(mattes), names, width, height, self.params,
                                     self._progress, len(self.files))
            self._check_cancel()
            if self.on_fitted is not None:
                self.on_fitted(doc)
        else:
            self._progress("fitting", 1, 1)
        save_shapes(doc, Path(self.output), self.format, self.files, self.is_exr)
        frames = sorted(self.files)
        self.result = {"objects": len(doc.objects),
                       "shapes": sum(len(o.shapes) for o in doc.objects),
                       "frames": [frames[0], frames[-1]],
                       "refitted": self.cached is None}
