"""Shapes jobs (service/shapesjob.py): roto shapes fitted on a thread with progress, cancel and
the end state, on real EXR mattes written by the matte writer."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mattetrack.export.exr import write_matte_exr
from mattetrack.geometry import Box2i
from mattetrack.service.shapesjob import ShapesJob
from mattetrack.shapes import ShapeParams
from mattetrack.shapes.document import ShapeDocument
from mattetrack.shapes.raster import rasterise

W, H, FRAMES = 96, 64, 12


def _mattes(folder: Path) -> dict[int, str]:
    """A disc moving right, one EXR per frame (layer `blob`)."""
    ys, xs = np.mgrid[0:H, 0:W]
    files = {}
    box = Box2i(0, 0, W - 1, H - 1)
    for f in range(FRAMES):
        cov = np.clip(16.5 - np.hypot(xs + 0.5 - 30 - 3 * f, ys + 0.5 - 32), 0, 1)
        path = folder / f"m.{f:04d}.exr"
        write_matte_exr(path, {"blob.A": cov.astype(np.float32)}, box, box)
        files[f] = str(path)
    return files


def _session() -> SimpleNamespace:
    return SimpleNamespace(id="s1", shot=SimpleNamespace(width=W, height=H))


def _job(tmp_path: Path, cls=ShapesJob, fmt: str = "json") -> tuple[ShapesJob, Path]:
    out = tmp_path / ("roto.json" if fmt == "json" else "roto.nk")
    job = cls("j1", _session(), _mattes(tmp_path), {1: "blob"}, {1: "dog"}, str(out), fmt,
              ShapeParams())
    return job, out


def test_a_shapes_job_reports_each_stage_and_writes_the_shapes(tmp_path: Path):
    job, out = _job(tmp_path)
    job.start()
    events = list(e for e in job.events(keepalive=5) if e is not None)
    job.wait()
    end = events[-1]
    assert end == {"state": "done", "done": FRAMES, "total": FRAMES, "objects": 1, "shapes": 1,
                   "frames": [0, FRAMES - 1], "refitted": True}
    outlines = [e for e in events if e.get("stage") == "outlines"]
    fitting = [e for e in events if e.get("stage") == "fitting"]
    assert [e["done"] for e in outlines] == list(range(1, FRAMES + 1))
    assert all(e["total"] == FRAMES for e in outlines)
    assert fitting and fitting[-1]["done"] == fitting[-1]["total"] == FRAMES  # 1 shape x 12
    assert events.index(outlines[-1]) < events.index(fitting[0])
    status = job.status()
    assert status["kind"] == "shapes" and status["state"] == "done"
    assert status["output"] == str(out) and status["layers"] == [
        {"object": 1, "name": "dog", "layer": "blob"}]
    doc = ShapeDocument.load(out)
    assert doc.objects[0].name == "dog" and sorted(doc.mattes) == list(range(FRAMES))
    assert rasterise(doc.objects[0], 5, W, H).sum() > 700  # the disc, 855 px


class _Held(ShapesJob):
    """Stops at its first fitting step until let go: a cancel lands mid-job, every time."""

    reached = threading.Event()
    go = threading.Event()

    def _progress(self, stage: str, done: int, total: int) -> None:
        if stage == "fitting" and not self.go.is_set():
            self.reached.set()
            self.go.wait(10)
        super()._progress(stage, done, total)


def test_a_cancelled_shapes_job_writes_nothing(tmp_path: Path):
    job, out = _job(tmp_path, _Held)
    job.start()
    assert _Held.reached.wait(10)
    assert job.running and job.status()["stage"] == "outlines"
    job.cancel()
    _Held.go.set()
    job.wait(10)
    assert job.state == "cancelled" and not job.running and job.ended is not None
    assert not out.exists()
    assert list(job.events(keepalive=1))[-1]["state"] == "cancelled"


def test_a_failed_write_is_the_jobs_one_line_error(tmp_path: Path):
    job, out = _job(tmp_path)
    job.output = str(tmp_path / "gone" / "roto.json")  # its folder was removed meanwhile
    job.start()
    job.wait(10)
    assert job.state == "failed"
    assert "gone" in job.error and "\n" not in job.error


def test_a_fit_kept_from_before_is_written_without_fitting(tmp_path: Path):
    """The document handed back by on_fitted, given to the next job as `cached`: that job writes
    it in another format at once (no outlines stage, `refitted` false)."""
    kept = []
    first, _ = _job(tmp_path)
    first.on_fitted = kept.append
    first.start()
    first.wait(10)
    assert first.state == "done" and len(kept) == 1
    again = ShapesJob("j2", _session(), first.files, {1: "blob"}, {1: "dog"},
                      str(tmp_path / "roto.nk"), "nuke", ShapeParams(), cached=kept[0])
    again.start()
    events = [e for e in again.events(keepalive=5) if e is not None]
    assert not any(e.get("stage") == "outlines" for e in events)
    assert events[-1]["state"] == "done" and events[-1]["refitted"] is False
    assert (tmp_path / "roto.nk").is_file() and events[-1]["shapes"] == 1
