"""BackgroundWriter: order, the queue bound, errors naming the file, failures of the producer."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import MatteTrackError
from mattetrack.export.background import BackgroundWriter
from mattetrack.export.png import write_matte_png


def test_jobs_run_in_submission_order() -> None:
    done: list[int] = []
    with BackgroundWriter(depth=2) as writer:
        for i in range(50):
            writer.submit(f"f{i}", lambda i=i: done.append(i))
    assert done == list(range(50)) and writer.written == 50


def test_the_queue_is_bounded() -> None:
    gate = threading.Event()
    started = threading.Event()
    writer = BackgroundWriter(depth=2)

    def blocked() -> None:
        started.set()
        gate.wait()

    writer.submit("first", blocked)
    started.wait()  # the writer holds job 1; the queue takes 2 more, the next submit waits
    writer.submit("a", lambda: None)
    writer.submit("b", lambda: None)
    producer = threading.Thread(target=writer.submit, args=("c", lambda: None))
    producer.start()
    producer.join(0.3)
    assert producer.is_alive() and writer._queue.qsize() == 2
    gate.set()
    producer.join()
    writer.close()
    assert writer.written == 4


def test_the_first_error_names_the_file_and_stops_the_writes() -> None:
    done: list[str] = []

    def fail() -> None:
        raise MatteTrackError("out/0003.png: cannot write (No space left on device)")

    writer = BackgroundWriter(depth=8)
    writer.submit("out/0001.png", lambda: done.append("1"))
    writer.submit("out/0003.png", fail)
    writer.submit("out/0004.png", lambda: done.append("4"))
    with pytest.raises(MatteTrackError, match=r"^out/0003\.png: cannot write"):
        writer.close()
    assert done == ["1"]  # nothing written after the failure
    with pytest.raises(MatteTrackError, match="0003"):
        writer.submit("out/0005.png", lambda: None)  # later submits raise it too


def test_unexpected_errors_become_one_line_errors_naming_the_file() -> None:
    writer = BackgroundWriter()
    writer.submit("mattes.0007.exr", lambda: 1 / 0)
    with pytest.raises(MatteTrackError, match=r"^mattes\.0007\.exr: cannot write \(ZeroDivision"):
        writer.close()


@pytest.mark.parametrize("failure", [ValueError, KeyboardInterrupt])
def test_a_failing_producer_still_gets_its_queued_frames_written(
    tmp_path: Path, failure: type[BaseException]
) -> None:
    matte = np.full((4, 6), 0.5, np.float32)
    with pytest.raises(failure), BackgroundWriter(depth=4) as writer:
        for i in range(3):
            path = tmp_path / f"{i:04d}.png"
            writer.submit(str(path), lambda path=path: write_matte_png(path, [matte]))
        raise failure()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0000.png", "0001.png", "0002.png"]


def test_abort_drops_queued_jobs() -> None:
    gate, started = threading.Event(), threading.Event()
    done: list[int] = []
    writer = BackgroundWriter(depth=4)
    writer.submit("0", lambda: (started.set(), gate.wait(), done.append(0)))
    started.wait()
    for i in (1, 2, 3):
        writer.submit(str(i), lambda i=i: done.append(i))
    threading.Timer(0.05, gate.set).start()
    writer.abort()
    assert done == [0]  # the one in progress finishes, the queued ones are dropped


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        BackgroundWriter(depth=0)
