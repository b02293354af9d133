"""Sessions the service holds: each wraps a core `Session` on an opened `Shot` with a lock, and
remembers where its last propagation wrote mattes (previews read them back from there)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mattetrack.engines import Engine
from mattetrack.prompts import FramePrompts
from mattetrack.service.errors import ApiError
from mattetrack.session import Session
from mattetrack.store import ResultStore

if TYPE_CHECKING:
    from mattetrack.shot import Shot


class Job(Protocol):
    """What sessions and the registry need of a job (`jobs.Job` is one); jobs build
    on sessions, not the other way round."""

    id: str
    ended: float | None  # time.monotonic() at the end, None while running

    @property
    def running(self) -> bool: ...

    def cancel(self) -> None: ...

    def wait(self, timeout: float | None = None) -> None: ...


@dataclass
class Export:
    """Mattes a propagation wrote: the frame -> file mapping, each object's EXR layer, and each
    object's edit count when it started (a later edit makes that object's mattes stale)."""

    path: Callable[[int], str]  # frame -> output file (MatteOutput.path)
    layers: dict[int, str]
    edits: dict[int, int]
    frames: set[int] = field(default_factory=set)  # frames whose file is completely written


class ServiceSession:
    """One shot being worked on. `lock` guards the core session's state; `engine_gate` is held
    around engine calls (a real lock for the deep engines, which share one model and an
    embedding cache; nothing for the stateless classic engine)."""

    def __init__(self, sid: str, shot: Shot, engine: Engine,
                 engine_gate: contextlib.AbstractContextManager,
                 store: ResultStore | None = None) -> None:
        self.id = sid
        self.shot = shot
        # With a store, a propagation after an edit recomputes only the spans it changed, and
        # prompts on a propagated frame correct the matte shown there.
        self.core = Session(shot, engine, store)
        self.engine_gate = engine_gate
        self.lock = threading.RLock()
        self.edits: dict[int, int] = {}  # object id -> prompt edits so far
        self.export: Export | None = None
        self.job: Job | None = None

    def edited(self, obj_id: int) -> None:
        """Note that an object's prompts changed (its propagated mattes are stale now)."""
        self.edits[obj_id] = self.edits.get(obj_id, 0) + 1

    def select(self, obj_id: int, frame: int) -> np.ndarray:
        """(H, W) float32 selection of an object on one of its keyframes (cached by the core)."""
        with self.lock, self.engine_gate:
            return self.core.select(obj_id, frame)

    def exported_layers(self, frame: int, obj_ids: list[int]) -> tuple[str, dict[int, str]] | None:
        """(file, {object id: layer}) of the up-to-date propagated mattes of `frame`, if any."""
        export = self.export
        if export is None or frame not in export.frames:
            return None
        layers = {o: export.layers[o] for o in obj_ids
                  if o in export.layers and export.edits.get(o) == self.edits.get(o, 0)}
        return (export.path(frame), layers) if layers else None

    def describe(self) -> dict:
        shot = self.shot
        return {
            "session": self.id,
            "plate": shot.path,
            "frames": [shot.frames[0], shot.frames[-1]],
            "width": shot.width,
            "height": shot.height,
            "objects": [{"object": o.id, "name": o.name, "keyframes": o.keyframes,
                         "prompts": [_prompts_json(f, o.prompts[f]) for f in o.keyframes]}
                        for o in self.core.objects],
            "job": self.job.id if self.job is not None else None,
        }


def _prompts_json(frame: int, p: FramePrompts) -> dict:
    """One keyframe's prompts as the service takes them (a mask only as a flag: it is pixels).
    Points are held as float32: given back to 1/1000 px, so 94.7 reads back as 94.7."""
    pts = [[round(x, 3), round(y, 3)] for x, y in p.points.tolist()]
    return {"frame": frame,
            "points": [xy for xy, label in zip(pts, p.labels.tolist(), strict=True) if label],
            "negative": [xy for xy, label in zip(pts, p.labels.tolist(), strict=True) if not label],
            "box": list(p.box) if p.box is not None else None,
            "strokes": [{"points": [[round(x, 3), round(y, 3)] for x, y in s.points.tolist()],
                         "positive": s.positive, "width": s.width} for s in p.strokes],
            "mask": p.mask is not None,
            "corrects": p.base is not None}


class Registry:
    """Sessions and jobs by id, shared by every request thread."""

    JOB_TTL = 3600.0  # seconds a finished job's state stays available
    MAX_JOBS = 256  # jobs kept at most (running ones and each session's last are never dropped)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[str, ServiceSession] = {}
        self.jobs: dict[str, Job] = {}

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def add_session(self, session: ServiceSession) -> None:
        with self._lock:
            self.sessions[session.id] = session

    def _find(self, table: dict, key: str, kind: str, remove: bool = False):
        with self._lock:
            found = table.pop(key, None) if remove else table.get(key)
        if found is None:
            raise ApiError(404, f"no {kind} {key!r}")
        return found

    def all_sessions(self) -> list[ServiceSession]:
        with self._lock:
            return list(self.sessions.values())

    def session(self, sid: str) -> ServiceSession:
        return self._find(self.sessions, sid, "session")

    def pop_session(self, sid: str) -> ServiceSession:
        return self._find(self.sessions, sid, "session", remove=True)

    def add_job(self, job: Job) -> None:
        with self._lock:
            self._prune(time.monotonic())
            self.jobs[job.id] = job

    def _prune(self, now: float) -> None:
        """Forget finished jobs after `JOB_TTL` seconds, and the oldest beyond `MAX_JOBS`, except
        each session's last job (its mattes back previews and shapes export)."""
        current = {s.job.id for s in self.sessions.values() if s.job is not None}
        ended = sorted((j.ended, jid) for jid, j in self.jobs.items()
                       if j.ended is not None and jid not in current)
        excess = len(self.jobs) + 1 - self.MAX_JOBS
        for i, (when, jid) in enumerate(ended):
            if i < excess or now - when > self.JOB_TTL:
                del self.jobs[jid]

    def job(self, jid: str) -> Job:
        return self._find(self.jobs, jid, "job")

    def close_session(self, session: ServiceSession) -> None:
        """Stop its job (after the frame in progress) and release the shot's readers; its
        finished jobs stay until pruned (a client may still ask how one ended)."""
        job = session.job
        if job is not None:
            job.cancel()
            job.wait()
        session.shot.close()
        store = session.core.store
        if store is not None:  # the service's own scratch results: gone with the session
            shutil.rmtree(store.root, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for session in sessions:
            self.close_session(session)
