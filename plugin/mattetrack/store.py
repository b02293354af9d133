"""ResultStore: per-object, per-frame coverage on disk, written atomically.

Layout under the store's root::

    store.json            {"version": 1, "width": W, "height": H, "objects": {"1": {"name": "dog"}}}
    <object id>/<frame>.png   16-bit grey PNG, coverage * 65535 (quantisation error < 1e-5)

Every file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a half-written result and a later run can pick up what is there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from mattetrack.errors import MatteTrackError

_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (atomic on POSIX)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ResultStore:
    """Coverage results of one shot on disk. Coverage arrays are (H, W) float32 in [0, 1]."""

    def __init__(self, root: str | os.PathLike[str], width: int, height: int) -> None:
        self.root = Path(root)
        self.width = width
        self.height = height
        self._names: dict[int, str] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            manifest = self.root / "store.json"
            if manifest.exists():
                self._load(manifest)
            else:
                self._save()
        except OSError as err:
            raise MatteTrackError(
                f"{self.root}: cannot use as a result store ({err.strerror})"
            ) from err

    def _load(self, manifest: Path) -> None:
        try:
            meta = json.loads(manifest.read_text())
            size = (int(meta["width"]), int(meta["height"]))
            names = {int(k): str(v["name"]) for k, v in meta["objects"].items()}
        except (ValueError, KeyError, TypeError) as err:
            raise MatteTrackError(f"{manifest}: not a MatteTrack result store ({err})") from err
        if size != (self.width, self.height):
            raise MatteTrackError(
                f"{self.root}: holds results for a {size[0]}x{size[1]} shot, "
                f"this one is {self.width}x{self.height}"
            )
        self._names = names

    def _save(self) -> None:
        meta = {
            "version": _VERSION,
            "width": self.width,
            "height": self.height,
            "objects": {str(k): {"name": v} for k, v in sorted(self._names.items())},
        }
        atomic_write_bytes(self.root / "store.json", json.dumps(meta, indent=1).encode())

    @property
    def objects(self) -> dict[int, str]:
        """{object id: name} of the objects the store has seen."""
        return dict(self._names)

    def set_object(self, obj_id: int, name: str) -> None:
        if self._names.get(obj_id) != name:
            self._names[obj_id] = name
            self._save()

    def remove_object(self, obj_id: int) -> None:
        """Forget an object and delete its results."""
        folder = self.root / str(obj_id)
        if folder.is_dir():
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
        if self._names.pop(obj_id, None) is not None:
            self._save()

    def _path(self, obj_id: int, frame: int) -> Path:
        return self.root / str(obj_id) / f"{frame}.png"

    def put(self, obj_id: int, frame: int, coverage: np.ndarray) -> None:
        """Store (H, W) float32 coverage of an object on a frame."""
        if coverage.shape != (self.height, self.width):
            raise ValueError(
                f"coverage is {coverage.shape}, the store holds {self.height}x{self.width}"
            )
        q = np.rint(np.clip(coverage, 0.0, 1.0) * 65535.0).astype(np.uint16)
        # Fastest PNG compression: mattes are mostly flat, so level 1 already shrinks them ~50x.
        ok, buf = cv2.imencode(".png", q, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise MatteTrackError(f"{self._path(obj_id, frame)}: PNG encoding failed")
        path = self._path(obj_id, frame)
        path.parent.mkdir(exist_ok=True)
        atomic_write_bytes(path, buf.tobytes())

    def get(self, obj_id: int, frame: int) -> np.ndarray | None:
        """(H, W) float32 coverage, or None when the store has none for that object and frame."""
        path = self._path(obj_id, frame)
        if not path.exists():
            return None
        q = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if q is None or q.shape != (self.height, self.width):
            raise MatteTrackError(f"{path}: damaged result file; delete it to recompute")
        return q.astype(np.float32) / 65535.0

    def frames(self, obj_id: int) -> list[int]:
        """Frames that have a stored result for the object, ascending."""
        folder = self.root / str(obj_id)
        if not folder.is_dir():
            return []
        return sorted(int(p.stem) for p in folder.glob("*.png") if p.stem.lstrip("-").isdigit())
