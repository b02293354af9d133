"""How a shot splits into farm tasks: at keyframes for engines whose tracks restart there, in
chunks of consecutive frames, and not at all for engines whose memory holds every keyframe."""

from __future__ import annotations

import pytest

from mattetrack.errors import InputError
from mattetrack.farm.plan import bounding_cuts, spans, tasks

FRAMES = list(range(1001, 1031))


def test_spans_begin_at_each_keyframe():
    got = spans(FRAMES, {1001, 1011, 1021}, span_results=True)
    assert [(s[0], s[-1]) for s in got] == [(1001, 1010), (1011, 1020), (1021, 1030)]
    # Frames before the first keyframe are tracked backwards from it: a span of their own.
    got = spans(FRAMES, {1005, 1020}, span_results=True)
    assert [(s[0], s[-1]) for s in got] == [(1001, 1004), (1005, 1019), (1020, 1030)]
    # Keyframes outside the frames (a --range) do not split them.
    assert spans(FRAMES, {990, 1040}, span_results=True) == [FRAMES]


def test_engines_that_attend_to_every_keyframe_get_one_span():
    assert spans(FRAMES, {1001, 1011, 1021}, span_results=False) == [FRAMES]


def test_tasks_cut_long_spans_into_chunks_and_cover_every_frame_once():
    got = tasks(FRAMES, {1001, 1011, 1021}, True, frames_per_task=4)
    assert got == [(1001, 1004), (1005, 1008), (1009, 1010), (1011, 1014), (1015, 1018),
                   (1019, 1020), (1021, 1024), (1025, 1028), (1029, 1030)]
    covered = [f for a, b in got for f in FRAMES if a <= f <= b]
    assert covered == FRAMES
    assert tasks(FRAMES, {1001}, True) == [(1001, 1030)]
    # The SAM 2 family remembers the whole track: its one task is never cut.
    assert tasks(FRAMES, {1001, 1011}, False, frames_per_task=10) == [(1001, 1030)]
    with pytest.raises(InputError, match="frames-per-task"):
        tasks(FRAMES, {1001}, True, frames_per_task=-1)


def test_cuts_split_for_every_engine_that_reports_them():
    assert tasks(FRAMES, {1001, 1020}, True, cuts=[1011]) == [
        (1001, 1010), (1011, 1019), (1020, 1030)]
    # A cut on a keyframe is one split; chunks restart at the cut.
    assert tasks(FRAMES, {1001, 1011}, True, 6, cuts=[1011]) == [
        (1001, 1006), (1007, 1010), (1011, 1016), (1017, 1022), (1023, 1028), (1029, 1030)]
    # Without span results (no engine of that kind stops at cuts yet) a cut still splits.
    assert tasks(FRAMES, {1001}, False, cuts=[1011]) == [(1001, 1010), (1011, 1030)]


def test_a_task_is_told_the_cuts_around_it():
    cuts = [1005, 1011, 1020]
    assert bounding_cuts(cuts, 1011, 1015) == [1011, 1020]
    assert bounding_cuts(cuts, 1012, 1019) == [1011, 1020]
    assert bounding_cuts(cuts, 1001, 1004) == [1005]
    assert bounding_cuts(cuts, 1020, 1030) == [1020]
    assert bounding_cuts([], 1001, 1030) == []
