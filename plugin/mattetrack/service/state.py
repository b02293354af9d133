"""Sessions the service holds: each wraps a core `Session` on an opened `Shot` with a lock, and
remembers where its last propagation wrote mattes (previews read them back from there)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mattetrack.engines import Engine
from mattetrack.errors import MatteTrackError
from mattetrack.prompts import FramePrompts
from mattetrack.service.errors import ApiError
from mattetrack.session import HeldMattes, Session
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
    """Mattes the session shows: those its last propagation wrote, or mattes it was opened on
    (`imported`: from `mattetrack track`, a farm job, another session). The frame -> file
    mapping, each object's layer, and each object's edit count when they were made (a later
    edit makes that object's mattes stale: still shown, marked out of date)."""

    path: Callable[[int], str]  # frame -> file (MatteOutput.path)
    layers: dict[int, str]
    edits: dict[int, int]
    frames: set[int] = field(default_factory=set)  # frames whose file is completely written
    text: str = ""  # the pattern (or file, or folder) as given: what the session saves
    is_exr: bool = True  # else one grey matte per file (PNG, TIFF)
    imported: bool = False

    def stale(self, edits: dict[int, int]) -> set[int]:
        """Objects whose prompts changed since these mattes were made."""
        return {o for o in self.layers if self.edits.get(o) != edits.get(o, 0)}


class ImportedMattes:
    """Mattes a session was opened on (`track`'s, a farm job's, another session's): the
    sequence and each object's layer. Each object holds its mattes (`Session.hold`): passed
    through by propagation until it gets prompts. Read a frame at a time, all layers at once
    (the last frame is kept: the objects of a frame are asked for one after another)."""

    def __init__(self, text: str, sequence, layers: dict[int, str]) -> None:
        self.text = text
        self.sequence = sequence  # shapes.source.MatteSequence
        self.layers = layers
        self._lock = threading.Lock()
        self._frame: int | None = None
        self._read: dict[str, np.ndarray] = {}

    def coverage(self, obj_id: int, frame: int) -> np.ndarray | None:
        """(H, W) float32 coverage of an object on `frame`, None where no file has it."""
        if frame not in self.sequence.frames:
            return None
        with self._lock:
            if self._frame != frame:
                self._read, self._frame = self.sequence.read(frame), frame
            return self._read[self.layers[obj_id]]

    def key(self, frame: int) -> str:
        """What decides a frame's imported mattes: its file's path, size and time."""
        from mattetrack.resultkeys import digest

        path = self.sequence.frames.get(frame)
        if path is None:
            return "none"
        st = os.stat(path)
        return digest(path, st.st_size, st.st_mtime_ns)

    def held(self, obj_id: int) -> HeldMattes:
        return HeldMattes(lambda f: self.coverage(obj_id, f), self.key)


class ServiceSession:
    """One shot being worked on. `lock` guards the core session's state; `engine_gate` is held
    around engine calls (a real lock for the deep engines, which share one model and an
    embedding cache; nothing for the stateless classic engine)."""

    def __init__(self, sid: str, shot: Shot, engine: Engine,
                 engine_gate: contextlib.AbstractContextManager,
                 store: ResultStore | None = None, opened: dict | None = None) -> None:
        self.id = sid
        self.shot = shot
        # How the shot was opened ({plate, colorspace, range}: what a restart opens again).
        self.opened = opened or {"plate": shot.path}
        self.folder: Path | None = None  # where the session is saved (persist.py), if anywhere
        self.used = time.monotonic()  # last request (idle sessions are unloaded)
        self.created = time.time()  # sessions are listed oldest first
        self._described: dict | None = None
        # With a store, a propagation after an edit recomputes only the spans it changed, and
        # prompts on a propagated frame correct the matte shown there.
        self.core = Session(shot, engine, store)
        self.engine_gate = engine_gate
        self.lock = threading.RLock()
        self.edits: dict[int, int] = {}  # object id -> prompt edits so far
        self.export: Export | None = None
        # The mattes shown before the running (or last) propagation started: frames it has not
        # written (yet) still show them, out of date, rather than nothing.
        self.previous: Export | None = None
        self.imported: ImportedMattes | None = None
        self.job: Job | None = None  # the last propagation
        self.export_job: Job | None = None  # the last shapes export
        # (what it was fitted to, the shape document): another format of the same fit
        self.shapes_cache: tuple | None = None
        # (background text, composite.background.Background) of the composite preview
        self.preview_background: tuple | None = None
        # Where new shots begin in the session's frames, once a cuts job found them.
        self.boundaries: list[int] | None = None

    def edited(self, obj_id: int) -> None:
        """Note that an object's prompts changed (its propagated mattes are stale now)."""
        self.edits[obj_id] = self.edits.get(obj_id, 0) + 1

    def select(self, obj_id: int, frame: int) -> np.ndarray:
        """(H, W) float32 selection of an object on one of its keyframes (cached by the core)."""
        with self.lock, self.engine_gate:
            return self.core.select(obj_id, frame)

    def exported_layers(self, frame: int,
                        obj_ids: list[int]) -> tuple[str, dict[int, str], set[int]] | None:
        """(file, {object id: layer}, stale object ids) of the mattes shown on `frame`: up to
        date, or stale (prompts changed since: shown until a propagation replaces them)."""
        export = self._showing(frame)
        if export is None:
            return None
        layers = {o: export.layers[o] for o in obj_ids if o in export.layers}
        if not layers:
            return None
        stale = export.stale(self.edits) if export is self.export else set(layers)
        return export.path(frame), layers, stale & set(layers)

    def _showing(self, frame: int) -> Export | None:
        for export in (self.export, self.previous):
            if export is not None and frame in export.frames:
                return export
        return None

    def start_export(self, export: Export) -> None:
        """A propagation starts writing `export`: it is what the session shows from now on;
        the mattes shown so far stay on the frames it has not written yet."""
        if self.export is not None and self.export.frames:
            self.previous = self.export
        self.export = export

    def read_exported(self, frame: int, layers: dict[int, str]) -> dict[int, np.ndarray]:
        """{object id: (H, W) float32 coverage} of the shown mattes' `layers` on `frame`."""
        from mattetrack.shapes.source import MatteSequence

        export = self._showing(frame)
        assert export is not None
        shot = self.shot
        read = MatteSequence({frame: export.path(frame)}, list(layers.values()), shot.width,
                             shot.height, export.is_exr).read(frame)
        return {o: read[layer] for o, layer in layers.items()}

    def hold_imported(self, imported: ImportedMattes) -> None:
        """Open the session on existing mattes: each of their objects holds its own."""
        self.imported = imported
        for obj_id in imported.layers:
            self.core.hold(obj_id, imported.held(obj_id))

    def seed_result(self, obj_id: int, frame: int) -> None:
        """Put the imported matte of `frame` into the store as the object's result there (when
        it has none), so that prompts on the frame correct it (`Session.adopt_bases`) like a
        propagated one."""
        store, imported = self.core.store, self.imported
        if (store is None or imported is None or obj_id not in imported.layers
                or store.lookup(obj_id, frame) is not None):
            return
        coverage = imported.coverage(obj_id, frame)
        if coverage is not None:
            store.put(obj_id, frame, coverage, key="imported")

    def description(self) -> dict:
        """`describe()`, without waiting behind a selection or a propagation step that holds the
        lock: then the last description made (reads never wait on the engine)."""
        if self.lock.acquire(timeout=0.05):
            try:
                return self.describe()
            finally:
                self.lock.release()
        last = self._described
        if last is not None:
            return last
        with self.lock:
            return self.describe()

    def describe(self) -> dict:
        shot = self.shot
        export = self.export
        stale = export.stale(self.edits) if export is not None else set()
        out = {
            "session": self.id,
            "plate": shot.path,
            "frames": [shot.frames[0], shot.frames[-1]],
            "width": shot.width,
            "height": shot.height,
            "fps": shot_fps(shot),
            "objects": [{"object": o.id, "name": o.name, "keyframes": o.keyframes,
                         "prompts": [_prompts_json(f, o.prompts[f]) for f in o.keyframes],
                         "stale": o.id in stale}
                        for o in self.core.objects],
            "job": self.job.id if self.job is not None else None,
            "boundaries": self.boundaries,
            "mattes": None if export is None else {
                "output": export.text, "imported": export.imported,
                "frames": sorted(export.frames)},
            "created": round(self.created, 3),
            "loaded": True,
        }
        self._described = out
        return out


def shot_fps(shot: Shot) -> float:
    """The shot's frame rate (a movie's; 24 for sequences, the usual film rate, which
    sequences do not carry)."""
    rate = getattr(shot, "fps", None)
    try:
        rate = float(rate) if rate else 24.0
    except (TypeError, ValueError):
        rate = 24.0
    return rate if 0 < rate < 1000 else 24.0


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
    """Sessions and jobs by id, shared by every request thread.

    A session is loaded (a `ServiceSession` with its shot open) or saved only (its folder and
    record, `persist.py`): `session(sid)` loads a saved one on demand with `load`, and idle
    ones are unloaded (`unload_idle`), which frees their memory and keeps their work.
    """

    JOB_TTL = 3600.0  # seconds a finished job's state stays available
    MAX_JOBS = 256  # jobs kept at most (running ones and each session's last are never dropped)

    def __init__(self, load: Callable[[Path, dict], ServiceSession] | None = None,
                 save: Callable[[ServiceSession], None] | None = None,
                 record: Callable[[ServiceSession], dict] | None = None) -> None:
        """load, save, record: `persist.restore` (bound), `persist.save`, `persist.record`
        (given, not imported: persist builds on this module)."""
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()  # one session loaded at a time (opens a shot)
        self._load, self._save, self._record = load, save, record
        self.sessions: dict[str, ServiceSession] = {}
        self.saved: dict[str, tuple[Path, dict]] = {}  # sid -> (folder, record), not loaded
        self.jobs: dict[str, Job] = {}

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def add_session(self, session: ServiceSession) -> None:
        with self._lock:
            self.sessions[session.id] = session

    def add_saved(self, folder: Path, record: dict) -> None:
        with self._lock:
            if record["session"] not in self.sessions:
                self.saved[record["session"]] = (folder, record)

    def _find(self, table: dict, key: str, kind: str, remove: bool = False):
        with self._lock:
            found = table.pop(key, None) if remove else table.get(key)
        if found is None:
            raise ApiError(404, f"no {kind} {key!r}")
        return found

    def all_sessions(self) -> list[ServiceSession]:
        with self._lock:
            return list(self.sessions.values())

    def descriptions(self) -> list[dict]:
        """Every session, loaded or saved only (as GET /v1/sessions/{sid}, with `loaded`)."""
        with self._lock:
            loaded = list(self.sessions.values())
            saved = [rec for _, rec in self.saved.values()]
        out = [session.description() for session in loaded]
        keys = ("session", "plate", "frames", "width", "height", "fps", "objects", "mattes",
                "created")
        out += [{**{k: rec.get(k) for k in keys}, "job": None, "loaded": False} for rec in saved]
        return sorted(out, key=lambda d: d["created"] or 0.0)

    def find(self, opened: dict) -> str | None:
        """The id of a session (loaded or saved) that opened the same plate the same way."""
        with self._lock:
            for session in self.sessions.values():
                if session.opened == opened:
                    return session.id
            for sid, (_, rec) in self.saved.items():
                if rec.get("opened") == opened:
                    return sid
        return None

    def session(self, sid: str) -> ServiceSession:
        """A session by id, loading a saved one (a 409 when its plate cannot be opened)."""
        with self._lock:
            session = self.sessions.get(sid)
        if session is None:
            with self._load_lock:
                with self._lock:
                    session = self.sessions.get(sid)
                    saved = self.saved.get(sid) if session is None else None
                if session is None:
                    if saved is None or self._load is None:
                        raise ApiError(404, f"no session {sid!r}")
                    try:
                        session = self._load(*saved)
                    except MatteTrackError as err:
                        raise ApiError(409, f"session {sid}: {err}") from None
                    with self._lock:
                        self.saved.pop(sid, None)
                        self.sessions[sid] = session
        session.used = time.monotonic()
        return session

    def pop_session(self, sid: str) -> ServiceSession | Path:
        """Remove a session: the loaded one, or the folder of a saved one."""
        with self._lock:
            session = self.sessions.pop(sid, None)
            saved = self.saved.pop(sid, None) if session is None else None
        if session is not None:
            return session
        if saved is not None:
            return saved[0]
        raise ApiError(404, f"no session {sid!r}")

    def unload(self, session: ServiceSession) -> bool:
        """Save a loaded session, close its shot and keep only its record; False (nothing
        done) while it is busy (a request holds it, a job runs)."""
        if not session.lock.acquire(blocking=False):
            return False
        try:
            if any(j is not None and j.running for j in (session.job, session.export_job)):
                return False
            if self._save is not None:
                self._save(session)
            with self._lock:
                if self.sessions.get(session.id) is not session:
                    return False
                del self.sessions[session.id]
                if session.folder is not None and self._record is not None:
                    self.saved[session.id] = (session.folder, self._record(session))
            session.shot.close()
            return True
        finally:
            session.lock.release()

    def unload_idle(self, idle: float) -> list[str]:
        """Unload sessions unused for `idle` seconds; their ids."""
        now = time.monotonic()
        return [s.id for s in self.all_sessions() if now - s.used > idle and self.unload(s)]

    def add_job(self, job: Job) -> None:
        with self._lock:
            self._prune(time.monotonic())
            self.jobs[job.id] = job

    def _prune(self, now: float) -> None:
        """Forget finished jobs after `JOB_TTL` seconds, and the oldest beyond `MAX_JOBS`, except
        each session's last job (its mattes back previews and shapes export)."""
        current = {j.id for s in self.sessions.values() for j in (s.job, s.export_job)
                   if j is not None}
        ended = sorted((j.ended, jid) for jid, j in self.jobs.items()
                       if j.ended is not None and jid not in current)
        excess = len(self.jobs) + 1 - self.MAX_JOBS
        for i, (when, jid) in enumerate(ended):
            if i < excess or now - when > self.JOB_TTL:
                del self.jobs[jid]

    def job(self, jid: str) -> Job:
        return self._find(self.jobs, jid, "job")

    def close_session(self, session: ServiceSession | Path) -> None:
        """Delete a popped session for good: stop its job (after the frame in progress),
        release the shot's readers, delete its folder (results, saved prompts); its finished
        jobs stay until pruned (a client may still ask how one ended)."""
        if isinstance(session, Path):
            shutil.rmtree(session, ignore_errors=True)
            return
        for job in (session.job, session.export_job):
            if job is not None:
                job.cancel()
                job.wait()
        session.shot.close()
        if session.folder is not None:
            shutil.rmtree(session.folder, ignore_errors=True)

    def close(self) -> None:
        """At shutdown: every loaded session saved and closed (their jobs stopped first)."""
        for session in self.all_sessions():
            for job in (session.job, session.export_job):
                if job is not None:
                    job.cancel()
                    job.wait()
            with session.lock:
                if self._save is not None:
                    self._save(session)
                session.shot.close()
        with self._lock:
            self.sessions.clear()
