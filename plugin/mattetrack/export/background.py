"""`BackgroundWriter`: output files written on one worker thread while the engine computes.

A bounded FIFO queue between the producer (the propagation loop) and one writer thread: files are
written in submission order, the producer blocks when `depth` jobs are waiting (so memory is
bounded by the queue depth, never by shot length), and the first failure stops the writer and
comes back to the producer as the writer's own one-line MatteTrackError naming the file.

Each job writes atomically (temporary name + rename, see `export.exr` / `export.png`), so a
failure or Ctrl-C leaves finished files as they are and no temporary file behind. When the
producer fails (a bad frame, Ctrl-C), the frames it already handed over are still written (at most
`depth` + 1); a second Ctrl-C during that drops them (`abort()`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType

from mattetrack.errors import MatteTrackError

Job = Callable[[], object]
_STOP = None  # queue sentinel: no more jobs


class BackgroundWriter:
    """Runs submitted write jobs in order on one thread; at most `depth` wait in the queue.

    Use as a context manager: a clean exit waits for every job and raises the first error; an
    exit by an exception still writes the queued jobs, then lets that exception through.
    `seconds` is the time spent inside jobs (the write stage).
    """

    def __init__(self, depth: int = 4) -> None:
        if depth < 1:
            raise ValueError(f"writer queue depth must be >= 1, got {depth}")
        self.depth = depth
        self._queue: queue.Queue[tuple[str, Job] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abort = threading.Event()
        self.seconds = 0.0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="mattetrack-write", daemon=True)
        self._thread.start()

    def submit(self, path: str, job: Job) -> None:
        """Queue `job` (writes `path`); blocks while the queue is full. Raises the writer's
        first error, if any, instead of queueing more work after it."""
        self._raise_error()
        while True:
            try:
                self._queue.put((path, job), timeout=0.1)
                return
            except queue.Full:
                # The writer may have failed while we waited for room: stop waiting then.
                self._raise_error()

    def close(self) -> None:
        """Wait for every queued job; raise the first error."""
        self._put_stop()
        self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Drop the jobs still queued, wait for the one being written, stop the thread."""
        self._abort.set()
        self._drain()
        self._put_stop()
        self._thread.join()

    def _put_stop(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set() or self._error is not None:
                    self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._abort.is_set() or self._error is not None:
                continue  # after a failure or an abort: take jobs off the queue, write nothing
            path, job = item
            started = time.perf_counter()
            try:
                job()
            except MatteTrackError as err:
                self._error = err
            except BaseException as err:
                self._error = MatteTrackError(f"{path}: cannot write ({type(err).__name__}: "
                                              f"{str(err).splitlines()[0] if str(err) else ''})")
            self.seconds += time.perf_counter() - started
            self.written += self._error is None

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            # Keep what was computed before the failure; the writer's own errors are secondary.
            self._put_stop()
            self._thread.join()
        except BaseException:  # a second Ctrl-C: stop now
            self.abort()
            raise
