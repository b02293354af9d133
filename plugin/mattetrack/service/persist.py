"""Sessions saved on disk, so that no work is lost to a page reload, a closed tab or a service
restart: <sessions>/<sid>/session.json (written atomically after every change) holds how the
plate was opened, the objects with their prompts (exact float32 values, so the restored prompts
have the same result keys and nothing is recomputed), the edit counts and the mattes shown;
mask prompts sit beside it as .npy (exact float32), and results/ is the session's result store
(selections, propagated results and the bases corrections are made on).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write_bytes
from mattetrack.errors import InputError, MatteTrackError
from mattetrack.prompts import FramePrompts, Stroke
from mattetrack.service.state import Export, ImportedMattes, ServiceSession

SESSION_FILE = "session.json"
RESULTS = "results"
FORMAT = 1


def record(session: ServiceSession) -> dict:
    """What `save` writes: the session as GET /v1/sessions/{sid} describes it, and what it
    takes to open it again."""
    core = session.core
    export = session.export
    out = session.describe()
    out.update({
        "format": FORMAT,
        "opened": session.opened,
        "edits": {str(o): n for o, n in session.edits.items()},
        "saved_prompts": {str(o.id): [_prompts_record(f, o.prompts[f]) for f in o.keyframes]
                          for o in core.objects},
        "export": None if export is None else {
            "text": export.text, "layers": {str(o): v for o, v in export.layers.items()},
            "edits": {str(o): n for o, n in export.edits.items()},
            "frames": sorted(export.frames), "is_exr": export.is_exr,
            "imported": export.imported},
        "imported": None if session.imported is None else {
            "text": session.imported.text,
            "layers": {str(o): v for o, v in session.imported.layers.items()}},
    })
    out["job"] = None  # jobs do not outlive the process
    return out


def _prompts_record(frame: int, p: FramePrompts) -> dict:
    # Python floats of float32 values read back as the same float32: the same prompt keys.
    return {"frame": frame, "points": p.points.tolist(), "labels": p.labels.tolist(),
            "box": None if p.box is None else list(p.box),
            "strokes": [{"points": s.points.tolist(), "positive": s.positive,
                         "width": s.width} for s in p.strokes],
            "mask": p.mask is not None}


def _mask_file(folder: Path, obj_id: int, frame: int) -> Path:
    return folder / "masks" / f"{obj_id}_{frame}.npy"


def save(session: ServiceSession) -> None:
    """Write the session's record (and any mask prompt not on disk yet); nothing without a
    folder. A failure to save is reported and the session goes on in memory."""
    folder = session.folder
    if folder is None:
        return
    try:
        for obj in session.core.objects:
            for f in obj.keyframes:
                mask = obj.prompts[f].mask
                path = _mask_file(folder, obj.id, f)
                if mask is not None and not path.exists():
                    path.parent.mkdir(exist_ok=True)
                    buf = io.BytesIO()
                    np.save(buf, np.ascontiguousarray(mask, np.float32))
                    atomic_write_bytes(path, buf.getvalue())
        atomic_write_bytes(folder / SESSION_FILE,
                           json.dumps(record(session), separators=(",", ":")).encode())
    except OSError as err:
        print(f"mattetrack serve: cannot save session {session.id} in {folder} "
              f"({err.strerror})", file=sys.stderr)


def forget_mask(session: ServiceSession, obj_id: int, frame: int | None = None) -> None:
    """Delete saved mask prompts of an object (one frame, or all) when they are cleared."""
    if session.folder is None:
        return
    folder = session.folder / "masks"
    pattern = f"{obj_id}_{'*' if frame is None else frame}.npy"
    for path in folder.glob(pattern) if folder.is_dir() else []:
        path.unlink(missing_ok=True)


def read_records(root: Path) -> Iterator[tuple[Path, dict]]:
    """(folder, record) of every saved session under `root`; unreadable ones are reported and
    left alone (never deleted: they may be a newer version's)."""
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        path = folder / SESSION_FILE
        if not path.is_file():
            continue
        try:
            rec = json.loads(path.read_text())
            if rec.get("format") != FORMAT or not isinstance(rec.get("session"), str):
                raise ValueError(f"format {rec.get('format')!r}, this version reads {FORMAT}")
        except (OSError, ValueError, AttributeError) as err:
            print(f"mattetrack serve: skipping saved session {path} ({err})", file=sys.stderr)
            continue
        yield folder, rec


def restore(folder: Path, rec: dict, make: callable) -> ServiceSession:
    """The saved session in `folder`, opened again: `make(sid, shot, store, opened)` builds
    the ServiceSession. Raises MatteTrackError (a plate gone, a changed size) for the caller
    to report."""
    from mattetrack.export.frames import MatteOutput
    from mattetrack.framerange import parse_range
    from mattetrack.shapes.source import open_mattes
    from mattetrack.shot import Shot
    from mattetrack.store import ResultStore

    opened = rec["opened"]
    shot = Shot.open(opened["plate"], colorspace=opened.get("colorspace"),
                     frame_range=parse_range(opened.get("range")),
                     frame_numbers=opened.get("frame_numbers") or "index")
    try:
        store = ResultStore(folder / RESULTS, shot.width, shot.height)
        session = make(rec["session"], shot, store, opened)
        session.folder = folder
        session.created = float(rec.get("created") or session.created)
        core = session.core
        saved = rec.get("saved_prompts", {})
        for o in rec["objects"]:
            obj_id = int(o["object"])
            core.add_object(o["name"], obj_id=obj_id)
            for p in saved.get(str(obj_id), []):
                frame = int(p["frame"])
                prompts = FramePrompts(
                    points=np.array(p["points"], np.float32).reshape(-1, 2),
                    labels=np.array(p["labels"], np.int8).reshape(-1),
                    box=None if p["box"] is None else tuple(float(v) for v in p["box"]),
                    strokes=[Stroke(np.array(s["points"], np.float32).reshape(-1, 2),
                                    bool(s["positive"]), float(s["width"]))
                             for s in p["strokes"]])
                if p.get("mask"):
                    prompts.mask = np.load(_mask_file(folder, obj_id, frame))
                core.set_prompts(obj_id, frame, prompts, where=f"{folder / SESSION_FILE}")
        core.adopt_bases()  # the bases corrections were made on, from the store
        session.edits = {int(k): int(v) for k, v in rec.get("edits", {}).items()}
        imp = rec.get("imported")
        if imp is not None:
            try:
                session.hold_imported(ImportedMattes(
                    imp["text"], open_mattes(imp["text"]),
                    {int(k): v for k, v in imp["layers"].items()}))
            except InputError as err:  # moved or deleted since: the objects hold nothing
                print(f"mattetrack serve: session {session.id}: the mattes it was opened on "
                      f"are gone ({err})", file=sys.stderr)
        ex = rec.get("export")
        if ex is not None:
            if ex["imported"]:
                files = {} if session.imported is None else session.imported.sequence.frames
                path = files.__getitem__
                frames = set(ex["frames"]) & set(files)
            else:
                path = MatteOutput(ex["text"], len(shot.frames)).path
                frames = {f for f in ex["frames"] if os.path.isfile(path(f))}  # still there
            if frames:
                session.export = Export(path, {int(k): v for k, v in ex["layers"].items()},
                                        {int(k): int(v) for k, v in ex["edits"].items()},
                                        frames, ex["text"], ex["is_exr"], ex["imported"])
    except (KeyError, TypeError, ValueError, OSError) as err:
        shot.close()
        raise MatteTrackError(f"{folder / SESSION_FILE}: cannot restore ({err})") from err
    except BaseException:
        shot.close()
        raise
    return session

