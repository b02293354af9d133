"""Segmentation engines. `get_engine(name)` returns a ready engine."""

from __future__ import annotations

from mattetrack.engines.base import Coverages, Engine, FrameSource
from mattetrack.errors import InputError

ENGINES = ("classic",)


def get_engine(name: str = "classic", model: str | None = None) -> Engine:
    """The engine called `name` (`--engine`); `model` is a weights path or id for deep engines."""
    if name == "classic":
        from mattetrack.engines.classic import ClassicEngine

        return ClassicEngine()
    raise InputError(f"--engine {name!r}: unknown engine (choose from {', '.join(ENGINES)})")


__all__ = ["Coverages", "Engine", "FrameSource", "get_engine", "ENGINES"]
