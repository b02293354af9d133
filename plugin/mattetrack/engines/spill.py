"""A private on-disk spill for per-frame arrays between an engine's two propagation sweeps.

Both engines run a backward sweep before results can be yielded in ascending order (see
`sweeps.py`); what the backward sweep produces waits here, on disk, not in memory, and each
array is removed as it is taken back, so memory and disk stay flat whatever the shot length.

Codecs, per array: `coverage` for coverage in [0, 1] (`covcodec`: 1/65535 steps, LZ4, small
for mattes and ~0.5 ms to write at 854x480), or a NumPy dtype name (`float32` for flows,
`float16` for logits and carried changes, `float64` for scalars).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import owned_prefix, remove_dead_folders
from mattetrack.covcodec import decode_coverage, encode_coverage

_swept = False


class Spill:
    """Arrays by (frame position, name) in a private temporary folder; `close()` removes it."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 prefix: str = "mattetrack-spill-") -> None:
        global _swept
        if not _swept:  # once per process: spills of runs killed before they removed theirs
            remove_dead_folders(prefix, root)
            _swept = True
        self.path = tempfile.mkdtemp(prefix=owned_prefix(prefix), dir=root)

    def _file(self, position: int, name: str, codec: str) -> str:
        suffix = "cov" if codec == "coverage" else "npy"
        return os.path.join(self.path, f"{position:08d}_{name}.{suffix}")

    def put(self, position: int, name: str, array: np.ndarray, codec: str = "float16") -> None:
        """Store `array` for frame position `position` under `name`; `codec` as above (the same
        one must be given to `take`)."""
        path = self._file(position, name, codec)
        if codec == "coverage":
            with open(path, "wb") as f:
                f.write(encode_coverage(array))
        else:
            np.save(path, np.asarray(array).astype(codec))

    def take(self, position: int, name: str, codec: str = "float16") -> np.ndarray | None:
        """The stored array as float32 (float64 for a float64 codec), removed from the spill;
        None when there is none."""
        path = self._file(position, name, codec)
        if not os.path.exists(path):
            return None
        if codec == "coverage":
            with open(path, "rb") as f:
                out = decode_coverage(f.read())
        else:
            out = np.load(path)
            out = out if out.dtype == np.float64 else out.astype(np.float32)
        os.remove(path)
        return out

    def drop(self, position: int, name: str, codec: str = "float16") -> None:
        """Remove an array nobody will take (no-op when there is none)."""
        Path(self._file(position, name, codec)).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
