"""Propagation jobs: a session's objects propagated through frames on a background thread, each
frame's mattes written as EXR by the same writer and channel names as `mattetrack track`.

Progress is a list of events (one per frame written, then one with the end state) that any
number of `/events` streams follow. A cancel stops after the frame being computed; frames
already handed to the writer are still written whole (every write is atomic).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import traceback
from collections.abc import Iterator

from mattetrack.errors import MatteTrackError
from mattetrack.export.frames import WriteOptions, write_matte_frame
from mattetrack.service.state import Export, ServiceSession

# The `track` defaults the service writes with: matte-only files, half floats, ZIP.
_WRITE_OPTIONS = WriteOptions()
WRITE_QUEUE = 4  # frames waiting for the writer at most (bounds memory)


class PropagationJob:
    """Propagates `session` through `frames`, writing to `output` (a `MatteOutput`).

    `layers`: {object id: EXR layer}, `crypto`: a Cryptomatte or None. `state` goes running ->
    done | cancelled | failed.
    """

    def __init__(self, jid: str, session: ServiceSession, frames: list[int], output,  # noqa: ANN001
                 layers: dict[int, str], crypto) -> None:  # noqa: ANN001
        self.id = jid
        self.session = session
        self.frames = frames
        self.output = output
        self.layers = layers
        # Names now, for the status: an object may be renamed or removed while the job runs.
        self.names = {o.id: o.name for o in session.core.objects}
        self.crypto = crypto
        self.state = "running"
        self.error: str | None = None
        self.done = 0
        self.started = time.time()
        self.ended: float | None = None  # time.monotonic() at the end (the registry prunes)
        self._events: list[dict] = []
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mattetrack-job-{jid}",
                                        daemon=True)

    @property
    def total(self) -> int:
        return len(self.frames)

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

    def status(self) -> dict:
        out = {"job": self.id, "session": self.session.id, "state": self.state,
               "done": self.done, "total": self.total, "output": self.output.text,
               "first": self.frames[0], "last": self.frames[-1],
               "layers": [{"object": o, "name": self.names[o], "layer": layer}
                          for o, layer in self.layers.items()]}
        if self.error is not None:
            out["error"] = self.error
        return out

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

    # -- the worker thread ---------------------------------------------------------------------
    def _emit(self, event: dict) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def _write(self, export: Export, frame: int, channels: list[str], mattes: list) -> None:  # noqa: ANN001
        """One frame's EXR (atomic), then its progress event."""
        write_matte_frame(_WRITE_OPTIONS, self.output, self.session.shot, frame, channels, mattes,
                     self.crypto)
        with self.session.lock:
            export.frames.add(frame)
        self.done += 1
        self._emit({"frame": frame, "done": self.done, "total": self.total})

    def _run(self) -> None:
        from mattetrack.export.background import BackgroundWriter
        from mattetrack.export.channels import matte_channel

        session = self.session
        try:
            with session.lock:
                obj_ids = [o.id for o in session.core.objects]
                export = Export(self.output.path, dict(self.layers),
                                {o: session.edits.get(o, 0) for o in obj_ids})
                session.export = export
                frames = session.core.propagate(self.frames)
                with session.engine_gate:  # the first step reads the objects and keyframes
                    item = next(frames, None)
            channels = [matte_channel(self.layers[o]) for o in obj_ids]
            with BackgroundWriter(WRITE_QUEUE) as writer:
                try:
                    while item is not None:
                        frame, coverages = item
                        writer.submit(self.output.path(frame), functools.partial(
                            self._write, export, frame, channels, [coverages[o] for o in obj_ids]))
                        if self._cancel.is_set():
                            break
                        with session.engine_gate:
                            item = next(frames, None)
                finally:
                    frames.close()
            self.state = "cancelled" if self._cancel.is_set() and self.done < self.total \
                else "done"
        except MatteTrackError as err:
            self.state, self.error = "failed", str(err)
        except Exception as err:  # noqa: BLE001 (a bug: logged here, one line to the client)
            print(f"mattetrack serve: job {self.id} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            first = str(err).splitlines()[0] if str(err) else ""
            self.state, self.error = "failed", f"internal error ({type(err).__name__}: {first})"
        self.ended = time.monotonic()
        end = {"state": self.state, "done": self.done, "total": self.total}
        self._emit(end if self.error is None else {**end, "error": self.error})
