"""The one pipeline from a session to files (export/pipeline.py): every check runs before any
engine call or write, then frames flow to the writer; `track` and the service both run it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mattetrack.cli import main
from mattetrack.engines.classic import ClassicEngine
from mattetrack.errors import InputError
from mattetrack.export.frames import WriteOptions
from mattetrack.export.pipeline import MatteRequest, plan_mattes, run_mattes
from mattetrack.session import Session
from mattetrack.shot import Shot
from mattetrack.shot.mask import read_mask
from mattetrack.synthetic import SyntheticSource

W, H, N = 96, 64, 6


class CountingEngine(ClassicEngine):
    """The classic engine, counting the calls that would be work."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def select(self, image, prompts, context=()):
        self.calls += 1
        return super().select(image, prompts, context)

    def propagate(self, source, keyframes, frames, bases=None, memo=None):
        self.calls += 1
        return super().propagate(source, keyframes, frames)


@pytest.fixture
def plate(tmp_path) -> tuple[str, str]:
    """(plate pattern of N PNG frames, a mask file of frame 0)."""
    source = SyntheticSource.render(n_frames=N, width=W, height=H, seed=5, motion_blur_samples=1)
    (tmp_path / "plate").mkdir()
    (tmp_path / "masks").mkdir()
    for f in source.frames:
        rgb = np.rint(source.image(f) * 255).astype(np.uint8)
        Image.fromarray(rgb).save(tmp_path / "plate" / f"p.{f:04d}.png")
    mask = tmp_path / "masks" / "m.0000.png"
    Image.fromarray(((source.truth(0) >= 0.5) * 255).astype(np.uint8)).save(mask)
    return str(tmp_path / "plate" / "p.####.png"), str(mask)


def _session(pattern: str, mask: str, objects: int = 1) -> tuple[Session, CountingEngine]:
    shot = Shot.open(pattern)
    engine = CountingEngine()
    session = Session(shot, engine)
    coverage = read_mask(mask, W, H)
    for i in range(objects):
        obj = session.add_object(f"o{i}")
        session.add_mask(obj, 0, coverage, source=mask)
    return session, engine


@pytest.mark.parametrize("case, field, needle", [
    ("png-256-objects", "output", "at most 255 objects"),
    ("over-the-mask", "output", "would overwrite the input mask"),
    ("over-the-plate", "output", "would overwrite the plate"),
    ("merge-a-png-plate", "merge", "is not an EXR file"),
    ("cryptomatte-to-png", "cryptomatte", "needs EXR output"),
    ("roto-to-png", "roto_channels", "needs EXR output"),
    ("object-without-prompts", None, "has no prompts"),
])
def test_checks_run_before_any_work(plate, tmp_path, case, field, needle):
    pattern, mask = plate
    out = str(tmp_path / "out" / "m.####.png")
    request = MatteRequest(out)
    session, engine = _session(pattern, mask, 256 if case == "png-256-objects" else 1)
    if case == "over-the-mask":
        request = MatteRequest(str(Path(mask).parent / "m.####.png"))
    elif case == "over-the-plate":
        request = MatteRequest(pattern)
    elif case == "merge-a-png-plate":
        request = MatteRequest(str(tmp_path / "out" / "m.####.exr"), WriteOptions(merge=True))
    elif case == "cryptomatte-to-png":
        request = MatteRequest(out, cryptomatte=True)
    elif case == "roto-to-png":
        request = MatteRequest(out, roto_channels=True)
    elif case == "object-without-prompts":
        session.add_object("empty")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(InputError) as info:
        plan_mattes(session, request)
    assert info.value.field == field and needle in str(info.value)
    assert "\n" not in str(info.value)
    assert engine.calls == 0  # nothing computed
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, inputs untouched
    session.shot.close()


def test_track_refuses_to_overwrite_its_input_mask(plate, capsys):
    """The CLI runs the same checks: one line naming -o, exit 2, the mask file as it was."""
    pattern, mask = plate
    before = Path(mask).read_bytes()
    target = str(Path(mask).parent / "m.####.png")
    assert main(["track", pattern, "--mask", f"0:{mask}", "-o", target, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mattetrack: error: -o {target!r}: would overwrite the input mask")
    assert err.count("\n") == 1
    assert Path(mask).read_bytes() == before


def test_run_writes_every_frame_then_cancel_stops_after_the_frame_in_progress(plate, tmp_path):
    pattern, mask = plate
    session, _ = _session(pattern, mask)
    plan = plan_mattes(session, MatteRequest(str(tmp_path / "all" / "m.####.png")))
    written: list[int] = []
    lock = threading.Lock()

    def done(frame: int) -> None:
        with lock:
            written.append(frame)

    result = run_mattes(session, plan, on_written=done)
    assert not result.cancelled and result.frames == N
    assert sorted(written) == list(range(N))
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        f"m.{f:04d}.png" for f in range(N)]

    cancel = threading.Event()
    plan = plan_mattes(session, MatteRequest(str(tmp_path / "part" / "m.####.png")))
    result = run_mattes(session, plan, cancel=cancel, on_submitted=lambda frame: cancel.set())
    assert result.cancelled and result.frames == 1
    files = list((tmp_path / "part").iterdir())
    assert [p.name for p in files] == ["m.0000.png"]
    assert np.asarray(Image.open(files[0])).shape == (H, W)  # whole
    session.shot.close()


def test_an_object_removed_after_planning_is_an_error_not_a_mixed_output(plate, tmp_path):
    """A plan names its objects: the run propagates exactly those, and one removed since (a
    service request between the plan and the job's first step) ends the run with a one-line
    error before any file is written."""
    pattern, mask = plate
    session, _ = _session(pattern, mask, objects=2)
    plan = plan_mattes(session, MatteRequest(str(tmp_path / "gone" / "m.####.png")))
    first = session.objects[0].id
    session.remove_object(first)
    with pytest.raises(InputError, match=f"no object with id {first}"):
        run_mattes(session, plan)
    assert list((tmp_path / "gone").iterdir()) == []
    session.shot.close()
