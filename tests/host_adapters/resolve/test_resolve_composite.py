"""`MatteTrack.py` (host_adapters/resolve): the composite and the object alone as ProRes 4444
on the track above the clip, and the clip's shots as an imported timeline, against a real
service and the stand-in of Resolve's scripting API."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
import resolve_standin as rs
from service_harness import FIRST, N_FRAMES, H, W

HOST_ADAPTERS = Path(__file__).resolve().parents[3] / "host_adapters"
sys.path[:0] = [str(HOST_ADAPTERS / "resolve"), str(HOST_ADAPTERS / "client")]
import mattetrack_client as mc  # noqa: E402
from mattetrack_resolve import actions  # noqa: E402

LAST = FIRST + N_FRAMES - 1


def _clip(resolve, plate):
    return rs.sequence_item(resolve, plate.replace("####", "%04d"), FIRST, LAST)


def _decode(path: str) -> list[np.ndarray]:
    with av.open(path) as container:
        return [f.to_ndarray(format="rgba64le").astype(np.float32) / 65535
                for f in container.decode(video=0)]


def test_the_object_alone_goes_on_the_track_above_premultiplied(propagated, plate):
    client, output, truths = propagated
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=20, offset=2, count=4)
    item = resolve.project.timeline.current
    summary = actions.composite(resolve, client, foreground_only=True)
    movie = summary["output"]
    assert movie == str(Path(output).parent / "plate_fg.mov")
    frames = _decode(movie)
    assert len(frames) == N_FRAMES and frames[0].shape == (H, W, 4)
    # its alpha is the propagated matte, near the truth
    hard = frames[3][..., 3] >= 0.5
    truth = truths[3] >= 0.5
    assert (hard & truth).sum() / (hard | truth).sum() >= 0.8
    clip = summary["clip"]
    assert ("MediaPoolItem.SetClipProperty", (clip, "Alpha Mode", "Premultiplied")) \
        in resolve.calls
    assert clip.GetClipProperty("Start TC") == rs.timecode(FIRST)  # the plate's frame numbers
    # on the track above, over the item's frames
    [laid] = resolve.project.timeline.GetItemListInTrack("video", 2)
    assert laid.GetStart() == item.GetStart() and laid.GetDuration() == 4
    assert laid.file_frames()[0] + FIRST == item.file_frames()[0]


def test_composite_over_a_colour(propagated, plate, monkeypatch):
    client, output, _ = propagated
    monkeypatch.setenv("MATTETRACK_URL", client.url)
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=0, offset=0,
                           count=N_FRAMES)
    summary = actions.composite(resolve, client, background="#ff0000")
    frames = _decode(summary["output"])
    corner = frames[0][0, 0]
    np.testing.assert_allclose(corner, [1.0, 0.0, 0.0, 1.0], atol=0.01)
    assert not resolve.called("MediaPoolItem.SetClipProperty")  # opaque: no alpha mode
    assert summary["track"] == 2


def test_shots_come_in_as_a_timeline(propagated, plate, service_root):
    client, _, _ = propagated
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=0, offset=1, count=6)
    summary = actions.cut_list(resolve, client)
    read = otio.adapters.read_from_file(summary["output"])
    assert [c.source_range.start_time.value for c in read.find_clips()] == [FIRST + 1]
    assert summary["shots"] == [[FIRST + 1, FIRST + 6]] and summary["cuts"] == []
    [(path, options)] = resolve.called("MediaPool.ImportTimelineFromFile")
    assert path == summary["output"] and options["timelineName"] == "plate shots"
    [timeline] = resolve.project.timelines
    assert [(c[2], c[3]) for c in timeline.otio_clips] == [(FIRST + 1, 6)]


def test_composite_before_propagating_is_one_line(server, service_root, plate, tmp_path):
    other = tmp_path / "other.%04d.exr"
    resolve = rs.with_clip(lambda r: rs.sequence_item(r, str(other), 1, 9))
    with pytest.raises(actions.AdapterError) as err:
        actions.composite(resolve, mc.Client(*server), foreground_only=True)
    assert "no MatteTrack session" in str(err.value) and "\n" not in str(err.value)
    assert resolve.calls == []


def test_the_script_runs_the_composite_with_the_background_from_the_environment(
        propagated, plate, server, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / "token").write_text(server[1])
    monkeypatch.setenv("MATTETRACK_URL", server[0])
    monkeypatch.setenv("MATTETRACK_CONFIG", str(config))
    monkeypatch.setenv("MATTETRACK_RESOLVE_ACTION", "composite")
    monkeypatch.setenv("MATTETRACK_RESOLVE_BACKGROUND", "#0000ff")
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=0, offset=0,
                           count=N_FRAMES)
    summary = actions.run(namespace={"resolve": resolve})
    assert summary is not None and summary["output"].endswith("plate_comp.mov")
    np.testing.assert_allclose(_decode(summary["output"])[0][0, 0], [0, 0, 1, 1], atol=0.01)
    assert "on video track 2" in capsys.readouterr().out


@pytest.mark.parametrize(("in_front", "says"), [
    (("ghost",), "ghost is not an object of the session"),
    (("blob",), "none left to remove"),  # the service's own refusal: the names reach it
])
def test_the_clean_plates_in_front_is_checked(propagated, plate, in_front, says):
    client, output, _ = propagated
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=5, offset=1, count=5)
    with pytest.raises(actions.AdapterError) as err:
        actions.clean_plate(resolve, client, in_front=in_front)
    assert says in str(err.value) and "\n" not in str(err.value)
    assert not resolve.project.timeline.GetItemListInTrack("video", 2)  # nothing laid


def test_the_clean_plate_goes_on_the_track_above(propagated, plate):
    client, output, truths = propagated
    resolve = rs.with_clip(lambda r: _clip(r, plate), record_offset=5, offset=1, count=5)
    item = resolve.project.timeline.current
    summary = actions.clean_plate(resolve, client)
    assert summary["output"] == str(Path(output).parent / "clean" / Path(plate).name)
    files = sorted((Path(output).parent / "clean").glob("plate.*.exr"))
    assert len(files) == N_FRAMES
    [laid] = resolve.project.timeline.GetItemListInTrack("video", 2)
    assert laid.GetStart() == item.GetStart() and laid.file_frames() == item.file_frames()
