"""A temporary on-disk store for per-frame coverage between the two propagation sweeps.

The backward sweep produces coverage in descending frame order but results are yielded in
ascending order, so the backward track is spilled to disk (16-bit PNG: 1/65535 steps are finer
than any matte needs, and PNG is lossless and small for mattes) and read back by the forward sweep.
Memory stays constant whatever the shot length.

The backward sweep also spills the flows that the forward sweep will need (float16 at processing
resolution: 0.1 px steps at worst for motions under 100 px), so no flow is computed twice.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import cv2
import numpy as np


class CoverageSpill:
    """Coverage keyed by (frame position, object id) in a private temporary folder."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.path = tempfile.mkdtemp(prefix="mattetrack-spill-", dir=root)

    def _file(self, position: int, obj: int) -> str:
        return os.path.join(self.path, f"{position:08d}_{obj}.png")

    def put(self, position: int, obj: int, cov: np.ndarray, confidence: float = 1.0) -> None:
        """Store (h, w) float32 coverage in [0, 1] and the track's confidence in [0, 1]."""
        with open(self._file(position, obj) + ".conf", "w") as f:
            f.write(repr(float(confidence)))
        u16 = (np.clip(cov, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
        ok, data = cv2.imencode(".png", u16, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OSError(f"could not encode spilled coverage for {self.path}")
        data.tofile(self._file(position, obj))

    def take(self, position: int, obj: int) -> tuple[np.ndarray, float] | None:
        """The stored ((h, w) float32 coverage, confidence), removed from the store; or None."""
        name = self._file(position, obj)
        if not os.path.exists(name):
            return None
        u16 = cv2.imdecode(np.fromfile(name, np.uint8), cv2.IMREAD_UNCHANGED)
        with open(name + ".conf") as f:
            confidence = float(f.read())
        os.remove(name)
        os.remove(name + ".conf")
        return u16.astype(np.float32) / 65535.0, confidence

    def _flow_file(self, position: int, kind: str) -> str:
        return os.path.join(self.path, f"{position:08d}_{kind}.npy")

    def put_flow(self, position: int, kind: str, flow: np.ndarray) -> None:
        """Store a (h, w, 2) float32 flow of frame `position`; `kind` names which one."""
        np.save(self._flow_file(position, kind), flow.astype(np.float16))

    def take_flow(self, position: int, kind: str) -> np.ndarray | None:
        """The stored (h, w, 2) float32 flow, removed from the store; None if absent."""
        name = self._flow_file(position, kind)
        if not os.path.exists(name):
            return None
        flow = np.load(name).astype(np.float32)
        os.remove(name)
        return flow

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
