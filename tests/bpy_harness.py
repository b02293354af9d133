"""The Python with real bpy (5.0.1, its own venv) that the Blender tests run scripts in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV_BPY = "MATTETRACK_BPY_PYTHON"


def bpy_python() -> str:
    """$MATTETRACK_BPY_PYTHON (set by `make test`), else the venv `make test` builds."""
    exe = os.environ.get(ENV_BPY) or str(REPO / "build" / "bpyvenv" / "bin" / "python")
    if not os.environ.get(ENV_BPY) and not Path(exe).is_file():
        pytest.skip(f"no Python with bpy: run `make test` (it builds build/bpyvenv with "
                    f"bpy==5.0.1) or set {ENV_BPY}")
    return exe
