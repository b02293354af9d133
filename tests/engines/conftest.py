"""Fixtures of the engine tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def track_steps(monkeypatch) -> dict[str, int]:
    """{"n": classic track steps taken since the test began (or since it reset "n")}."""
    from mattetrack.engines.classic import propagate as propagate_module

    steps = {"n": 0}
    real = propagate_module.track_step

    def counting(*args, **kwargs):
        steps["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(propagate_module, "track_step", counting)
    return steps
