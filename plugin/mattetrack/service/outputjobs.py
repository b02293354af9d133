"""Jobs that write an edit's outputs for a session: `mattetrack composite`, `cuts` and
`remove`, each on a background thread, with progress ({frame?, done, total}) and cancel like
the other jobs (`jobs.py`). A cancelled composite or removal keeps the sequence frames it wrote
(each whole: a rerun resumes after them) and no movie; a cancelled cut list writes nothing.
"""

from __future__ import annotations

import time

from mattetrack.service.jobs import BackgroundJob
from mattetrack.service.state import ServiceSession


class _FramesJob(BackgroundJob):
    """A job writing a file (or movie frame) per frame of the session's propagated mattes
    `files` ({frame: matte file}) of the objects `layers` ({object id: EXR layer}, named
    `names`) to `output`; `_write` does the work, calling `_frame` after each frame."""

    kind = ""

    def __init__(self, jid: str, session: ServiceSession, files: dict[int, str],
                 layers: dict[int, str], names: dict[int, str], output: str,
                 is_exr: bool) -> None:
        super().__init__(jid, f"mattetrack-{self.kind}-{jid}")
        self.session_id = session.id
        self.shot = session.shot
        self.files, self.layers, self.names = files, layers, names
        self.output, self.is_exr = output, is_exr
        self.done = 0
        self.total = len(files)
        self.written = 0
        self.result: dict = {}  # what a finished job adds to its status and last event

    def status(self) -> dict:
        frames = sorted(self.files)
        out = {"job": self.id, "kind": self.kind, "session": self.session_id,
               "state": self.state, "done": self.done, "total": self.total,
               "output": self.output, "first": frames[0], "last": frames[-1],
               "layers": [{"object": o, "name": self.names[o], "layer": layer}
                          for o, layer in self.layers.items()]}
        if self.state == "done":
            out["written"] = self.written
            out.update(self.result)
        if self.error is not None:
            out["error"] = self.error
        return out

    def _mattes(self):
        from mattetrack.shapes.source import MatteSequence

        return MatteSequence(self.files, list(self.layers.values()), self.shot.width,
                             self.shot.height, self.is_exr)

    def _frame(self, frame: int, written: bool) -> None:
        self.done += 1
        self.written += int(written)
        self._emit({"frame": frame, "done": self.done, "total": self.total})
        self._check_cancel()

    def _run(self) -> None:
        self._guarded(self._write)
        self.ended = time.monotonic()
        end = {"state": self.state, "done": self.done, "total": self.total}
        if self.state == "done":
            end.update(self.result)
        self._emit(end if self.error is None else {**end, "error": self.error})

    def _write(self) -> None:
        raise NotImplementedError


class CompositeJob(_FramesJob):
    """The objects over `background` (a colour or picture; None: the objects alone)."""

    kind = "composite"

    def __init__(self, jid: str, session: ServiceSession, files: dict[int, str],
                 layers: dict[int, str], names: dict[int, str], output: str,
                 background: str | None, decontaminate: bool, is_exr: bool,
                 fps: float | None = None) -> None:
        super().__init__(jid, session, files, layers, names, output, is_exr)
        self.background = background
        self.decontaminate = decontaminate
        self.fps = fps

    def status(self) -> dict:
        return {**super().status(), "foreground_only": self.background is None}

    def _write(self) -> None:
        from mattetrack.composite.background import open_background
        from mattetrack.composite.run import CompositeSettings, write_composite

        shot = self.shot
        mattes = self._mattes()
        background = None if self.background is None else open_background(self.background,
                                                                           shot.config)
        try:
            settings = CompositeSettings(tuple(self.layers.values()), background,
                                         self.decontaminate)
            write_composite(self.output, shot, mattes, sorted(self.files), settings,
                            self.fps, on_frame=self._frame)
        finally:
            if background is not None:
                background.close()


class CutsJob(BackgroundJob):
    """The shot boundaries of the session's frames, kept with the session (`boundaries`: the
    browser UI's timeline strip shows them) and written to `output` (.otio, .edl, .json) when
    one is given."""

    def __init__(self, jid: str, session: ServiceSession, output: str | None) -> None:
        super().__init__(jid, f"mattetrack-cuts-{jid}")
        self.session = session
        self.session_id = session.id
        self.shot = session.shot
        self.output = output
        self.done = 0
        self.total = len(session.shot.frames)
        self.result: dict = {}

    def status(self) -> dict:
        frames = self.shot.frames
        out = {"job": self.id, "kind": "cuts", "session": self.session_id, "state": self.state,
               "done": self.done, "total": self.total, "output": self.output,
               "first": frames[0], "last": frames[-1], "layers": [], **self.result}
        if self.error is not None:
            out["error"] = self.error
        return out

    def _progress(self, done: int) -> None:
        self._check_cancel()
        self.done = done
        if done % 10 == 0 or done == self.total:
            self._emit({"done": done, "total": self.total})

    def _run(self) -> None:
        from mattetrack.cutlist import find_boundaries, shot_ranges, write_cut_list

        def work() -> None:
            if self.output is None:
                cuts = find_boundaries(self.shot, progress=self._progress)
                ranges = shot_ranges(self.shot.frames, cuts)
            else:
                cuts, ranges = write_cut_list(self.shot, self.output, progress=self._progress)
            self.session.boundaries = list(cuts)
            self.result = {"cuts": cuts, "shots": [list(r) for r in ranges]}

        self._guarded(work)
        self.session = None  # a finished job must not keep an unloaded session in memory
        self.ended = time.monotonic()
        end = {"state": self.state, "done": self.done, "total": self.total, **self.result}
        self._emit(end if self.error is None else {**end, "error": self.error})


class RemoveJob(_FramesJob):
    """The plate with the objects removed (`mattetrack remove`); `merge`: the clean plate as a
    layer of a copy of the plate; `foreground`: the EXR layers of the objects kept in front
    (`remove --foreground`)."""

    kind = "remove"

    def __init__(self, jid: str, session: ServiceSession, files: dict[int, str],
                 layers: dict[int, str], names: dict[int, str], output: str, grow: int,
                 merge: bool, is_exr: bool, report: str | None = None,
                 foreground: tuple[str, ...] = ()) -> None:
        super().__init__(jid, session, files, layers, names, output, is_exr)
        self.grow, self.merge, self.report = grow, merge, report
        self.foreground = foreground

    def _mattes(self):
        from mattetrack.shapes.source import MatteSequence

        return MatteSequence(self.files, [*self.layers.values(), *self.foreground],
                             self.shot.width, self.shot.height, self.is_exr)

    def _write(self) -> None:
        from mattetrack.removal.run import RemovalSettings, clean_layer, write_removed

        names = list(self.layers.values())
        frames = sorted(self.files)
        layer = clean_layer(names) if self.merge else None
        written = write_removed(self.output, self.shot, self._mattes(), frames, frames,
                                RemovalSettings(tuple(names), self.grow,
                                                foreground=self.foreground), self._frame, layer,
                                report=self.report)
        self.result = {"paint": written.report["objects"][0]["suggested"]}
