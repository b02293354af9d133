"""Propagation jobs: a session's objects propagated through frames on a background thread, each
frame's mattes written as EXR by the same writer and channel names as `mattetrack track`.

The work is the shared pipeline's (`export.pipeline`), as `mattetrack track` runs it.
Progress is a list of events (one per frame written, then one with the end state) that any
number of `/events` streams follow. A cancel stops after the frame being computed; frames
already handed to the writer are still written whole (every write is atomic).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator

from mattetrack.errors import MatteTrackError
from mattetrack.export.pipeline import MattePlan
from mattetrack.service.errors import service_message
from mattetrack.service.persist import save
from mattetrack.service.state import Export, ServiceSession


class BackgroundJob:
    """What every job shares: `_run` on a thread of its own, `state` (running -> done |
    cancelled | failed), `error`, a cancel flag, and the list of progress events that any number
    of `/events` streams follow (the last one carries `state`)."""

    def __init__(self, jid: str, thread_name: str) -> None:
        self.id = jid
        self.state = "running"
        self.error: str | None = None
        self.started = time.time()
        self.ended: float | None = None  # time.monotonic() at the end (the registry prunes)
        self._events: list[dict] = []
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def events(self, keepalive: float = 10.0) -> Iterator[dict | None]:
        """Every event so far, then new ones as they come, ending with the end state; yields
        None after `keepalive` seconds without one (a stream may use it to notice a closed
        client)."""
        seen = 0
        while True:
            with self._changed:
                if seen == len(self._events):
                    self._changed.wait(keepalive)
                new = self._events[seen:]
            if not new:
                yield None
                continue
            seen += len(new)
            for event in new:
                yield event
                if "state" in event:
                    return

    def _emit(self, event: dict) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def _run(self) -> None:
        raise NotImplementedError

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run `work` and set the end state: done, cancelled (it raised `Cancelled`), or failed
        with a one-line error (an unexpected one's traceback to the service's stderr)."""
        try:
            work()
            self.state = "done"
        except Cancelled:
            self.state = "cancelled"
        except MatteTrackError as err:
            self.state, self.error = "failed", service_message(err)
        except OSError as err:  # a disk full, a folder that cannot be written
            self.state = "failed"
            self.error = f"{err.filename or 'writing'}: {err.strerror or err}"
        except Exception as err:
            print(f"mattetrack serve: job {self.id} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            first = str(err).splitlines()[0] if str(err) else ""
            self.state, self.error = "failed", f"internal error ({type(err).__name__}: {first})"

    def _check_cancel(self) -> None:
        """Raise `Cancelled` once the job is cancelled (from a progress callback)."""
        if self._cancel.is_set():
            raise Cancelled


class Cancelled(Exception):
    """Raised from a job's progress callback when the job is cancelled."""


class PropagationJob(BackgroundJob):
    """Runs the pipeline for `session` with a checked `plan` (`export.pipeline.plan_mattes`) on
    a thread. `state` goes running -> done | cancelled | failed.
    """

    def __init__(self, jid: str, session: ServiceSession, plan: MattePlan) -> None:
        super().__init__(jid, f"mattetrack-job-{jid}")
        # Let go once the job ends: a finished job outlives an unloaded session in the
        # registry, and must not keep its shot and results in memory.
        self.session: ServiceSession | None = session
        self.session_id = session.id
        self.plan = plan
        self.frames = plan.frames
        self.output = plan.output
        self.layers = plan.layers
        # Names now, for the status: an object may be renamed or removed while the job runs.
        self.names = {o.id: o.name for o in session.core.objects}
        self._counts = None  # the RunCounts of the session's propagation, once it ended
        self.done = 0

    @property
    def total(self) -> int:
        return len(self.frames)

    def status(self) -> dict:
        out = {"job": self.id, "kind": "propagation", "session": self.session_id,
               "state": self.state,
               "done": self.done, "total": self.total, "output": self.output.text,
               "first": self.frames[0], "last": self.frames[-1],
               "layers": [{"object": o, "name": self.names[o], "layer": layer}
                          for o, layer in self.layers.items()]}
        session = self.session
        counts = self._counts if self._counts is not None else (
            session.core.last_run if session is not None and session.job is self else None)
        if counts is not None:
            # Object-frames the engine computed / took from the session's store: an edit
            # re-propagates only the spans it changed.
            out["computed"], out["reused"] = counts.computed, counts.reused
        if self.error is not None:
            out["error"] = self.error
        return out

    # -- the worker thread ---------------------------------------------------------------------
    def _written(self, export: Export, frame: int) -> None:
        """A frame's EXR is complete (on the writer thread): record it, then its event."""
        with self.session.lock:
            export.frames.add(frame)
        self.done += 1
        self._emit({"frame": frame, "done": self.done, "total": self.total})

    @contextlib.contextmanager
    def _step(self, first: bool, started: list[Export]) -> Iterator[None]:
        """Held around each engine step: the engine gate; on the first step (which reads the
        objects and keyframes) also the session's lock, and the export record is made then, so
        it names exactly the prompts being propagated."""
        session = self.session
        with contextlib.ExitStack() as stack:
            if first:
                stack.enter_context(session.lock)
                export = Export(self.plan.output.path, dict(self.plan.layers),
                                {o: session.edits.get(o, 0) for o in self.plan.layers},
                                text=self.plan.output.text)
                session.start_export(export)
                started.append(export)
            stack.enter_context(session.engine_gate)
            yield

    def _run(self) -> None:
        from mattetrack.export.pipeline import run_mattes

        started: list[Export] = []

        def work() -> None:
            result = run_mattes(
                self.session.core, self.plan, cancel=self._cancel,
                on_written=lambda frame: self._written(started[0], frame),
                step_guard=lambda first: self._step(first, started))
            if result.cancelled:
                raise Cancelled

        self._guarded(work)
        session = self.session
        self._counts = session.core.last_run
        with session.lock:
            save(session)  # the mattes it shows now
        self.ended = time.monotonic()
        end = {"state": self.state, "done": self.done, "total": self.total}
        self.session = None
        self._emit(end if self.error is None else {**end, "error": self.error})
