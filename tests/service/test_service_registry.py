"""The registry forgets finished jobs (after JOB_TTL, and the oldest beyond MAX_JOBS) but never a
running one or a session's last job, whose mattes back previews and shapes export."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from mattetrack.service.errors import ApiError
from mattetrack.service.state import Registry


def _job(jid: str, ended: float | None) -> SimpleNamespace:
    return SimpleNamespace(id=jid, ended=ended)


def test_finished_jobs_are_pruned_oldest_first(monkeypatch):
    monkeypatch.setattr(Registry, "MAX_JOBS", 4)
    reg = Registry()
    now = time.monotonic()
    reg.add_job(_job("running", None))
    for i in range(3):
        reg.add_job(_job(f"old{i}", now - 100 + i))
    last_of_session = _job("kept", now - 200)  # the oldest, but a session's last job
    reg.add_job(last_of_session)
    reg.sessions["s"] = SimpleNamespace(id="s", job=None, export_job=last_of_session)
    assert set(reg.jobs) == {"running", "old1", "old2", "kept"}  # old0 made room
    reg.add_job(_job("new", None))
    assert set(reg.jobs) == {"running", "old2", "kept", "new"}
    with pytest.raises(ApiError) as err:
        reg.job("old1")
    assert err.value.status == 404


def test_finished_jobs_expire(monkeypatch):
    reg = Registry()
    now = time.monotonic()
    reg.add_job(_job("expired", now - Registry.JOB_TTL - 1))
    reg.add_job(_job("recent", now - 5))
    reg.add_job(_job("running", None))
    assert set(reg.jobs) == {"recent", "running"}
