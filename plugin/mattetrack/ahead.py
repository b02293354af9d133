"""A generator run ahead of its consumer on a thread of its own, a bounded number of items ahead.

Two stages of a pipeline that each hold the GIL only part of the time (OpenCV and numpy let go
of it in their large operations) overlap so: the removal's fill of the next frames runs while
the temporal pass settles the frames before (`removal/run.py`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def ahead(items: Iterable[T], depth: int = 1, name: str = "mattetrack-ahead") -> Iterator[T]:
    """The items of `items`, in order, made on a thread at most `depth` items before the one
    consumed (memory: `depth` + 1 items more than the consumer holds). An exception raised
    making them is raised here, in the consumer, where its item would have come; closing this
    generator (or leaving a loop over it) stops the thread after the item it is making and
    closes `items` (a generator's `finally` runs then, not whenever it is collected)."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put((item, None)):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put((_END, error))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator left early lets go of what it holds now
                close()
        put((_END, None))

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item, error = buffer.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()
