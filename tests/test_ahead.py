"""`ahead`: a generator run on a thread of its own, a bounded number of items before its
consumer (the removal's fill ahead of its temporal pass)."""

from __future__ import annotations

import threading

import pytest

from mattetrack.ahead import ahead


def test_the_items_come_in_order_made_while_the_one_before_is_consumed() -> None:
    made_next = threading.Event()
    made: list[int] = []

    def items():
        for k in range(6):
            made.append(k)
            if k == 3:
                made_next.set()
            yield k

    out = []
    for k in ahead(items(), depth=1):
        if k == 2:
            # item 3 is made on the other thread while this one is held (a plain generator
            # would wait here for ever: nothing else makes it)
            assert made_next.wait(timeout=10.0)
        out.append(k)
    assert out == list(range(6))


def test_it_runs_no_more_than_depth_items_ahead() -> None:
    made: list[int] = []
    consumed = 0
    gate = threading.Semaphore(0)

    def items():
        for k in range(50):
            made.append(k)
            yield k
            gate.release()

    stream = ahead(items(), depth=2)
    for k in stream:
        consumed += 1
        if k == 10:
            break
        gate.acquire(timeout=10.0)  # the producer has handed this one over and gone on
        # the one held here, `depth` in the queue and the one being made
        assert len(made) <= consumed + 2 + 1
    stream.close()
    assert len(made) <= consumed + 2 + 1


def test_an_error_made_ahead_is_raised_where_its_item_would_have_come() -> None:
    def items():
        yield 1
        yield 2
        raise OSError("plate.0003.exr: truncated")

    got = []
    with pytest.raises(OSError, match="plate.0003.exr"):
        for k in ahead(items(), depth=3):
            got.append(k)
    assert got == [1, 2]


def test_leaving_early_stops_the_thread_and_closes_the_generator() -> None:
    stopped = threading.Event()

    def items():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            stopped.set()

    before = threading.active_count()
    stream = ahead(items(), depth=2, name="mattetrack-test-ahead")
    assert next(stream) == 0
    stream.close()
    assert not any(t.name == "mattetrack-test-ahead" for t in threading.enumerate())
    assert threading.active_count() == before
    assert stopped.is_set()  # the generator was closed, not left for the collector
