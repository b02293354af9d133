"""Submitting a bundle to AWS Deadline Cloud with its own command line (`pip install deadline`,
then `deadline config set` for the farm and queue): MatteTrack only builds the command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mattetrack.errors import InputError


def submit_command(bundle: str | os.PathLike[str]) -> list[str]:
    """`deadline bundle submit --yes DIR` (the farm, queue and credentials are the Deadline
    CLI's configuration); a one-line error when the `deadline` command is not installed."""
    exe = shutil.which("deadline")
    if exe is None:
        raise InputError(": the Deadline Cloud CLI is not installed (pip install deadline, then "
                         "`deadline config set defaults.farm_id ...`); the bundle is written, "
                         f"submit it later with `deadline bundle submit {bundle}`",
                         field="submit")
    return [exe, "bundle", "submit", "--yes", str(Path(bundle))]
