"""The service's endpoints: one route table (method, path, handler and the schema pieces that
`openapi.py` publishes, so the document cannot drift from what is served) and the handlers.

Handlers take a `Request` and return a `Reply`; they raise ApiError for refusals and let the
core's InputError through (answered 400). Paths in requests go through `Roots.check` before any
file is opened.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import numpy as np

from mattetrack import __version__
from mattetrack.atomicfile import owned_prefix, remove_dead_folders
from mattetrack.engines import Engine
from mattetrack.errors import InputError
from mattetrack.export.kinds import COMPRESSIONS, DEFAULT_COMPRESSION, OUTPUT_KINDS, output_kind
from mattetrack.framerange import parse_range
from mattetrack.service.auth import Roots
from mattetrack.service.errors import ApiError
from mattetrack.service.persist import forget_mask, save
from mattetrack.service.routing import (
    INT,
    NUM,
    POINT,
    RANGE,
    STR,
    Reply,
    Request,
    Route,
    json_ok,
    json_reply,
    obj,
)
from mattetrack.service.state import Registry, ServiceSession
from mattetrack.shapes.formats import DEFAULT_SHAPE_FORMAT, service_formats

# A preview's header naming prompts that select nothing (the UI shows it).
PREVIEW_PROBLEM = "X-MatteTrack-Problem"
# A preview's header listing the objects whose shown mattes are out of date (ids, commas).
PREVIEW_STALE = "X-MatteTrack-Stale"
IDLE_CLOSE = 1800.0  # seconds before an unused session is unloaded (saved, memory freed)
# Limits of what one session holds: a selection's cost grows with its prompts, and a request
# of 60,000 points would hold the session for hours.
MAX_POINTS = 1000  # points (positive and negative) of one object on one frame
MAX_STROKES = 200  # strokes of one object on one frame
MAX_STROKE_POINTS = 10_000  # points of one stroke
MAX_OBJECTS = 1000  # objects in a session

# -- schema pieces of the answers ----------------------------------------------------------------
PROMPTS_INFO = obj(("frame", "points", "negative", "box", "mask"), frame=INT,
                   points={"type": "array", "items": POINT},
                   negative={"type": "array", "items": POINT},
                   box={"type": ["array", "null"], "items": NUM},
                   mask={"type": "boolean", "description": "whether a mask prompt is set"})
OBJECT_INFO = obj(("object", "name", "keyframes", "prompts"), object=INT, name=STR,
                  keyframes={"type": "array", "items": INT},
                  prompts={"type": "array", "items": PROMPTS_INFO},
                  stale={"type": "boolean", "description": "its shown mattes are out of date "
                         "(prompts changed since they were made)"})
SESSION_INFO = obj(("session", "plate", "frames", "width", "height", "objects"),
                   session=STR, plate=STR, frames={**POINT, "items": INT}, width=INT, height=INT,
                   fps={**NUM, "description": "the shot's frame rate (24 for sequences)"},
                   objects={"type": "array", "items": OBJECT_INFO},
                   job={"type": ["string", "null"]},
                   boundaries={"type": ["array", "null"], "items": INT, "description": "the "
                               "frames where a new shot begins (hard cuts, dissolves, fades), "
                               "once a cuts job found them"},
                   mattes={"type": ["object", "null"], "description": "the mattes shown: the "
                           "last propagation's output or the imported mattes, and their frames",
                           "properties": {"output": STR, "imported": {"type": "boolean"},
                                          "frames": {"type": "array", "items": INT}}},
                   created={**NUM, "description": "when it was opened (seconds since 1970)"},
                   loaded={"type": "boolean", "description": "in memory (else saved only: "
                           "loaded again by the next request that names it)"})
JOB_STATUS = obj(("job", "kind", "session", "state", "done", "total", "output", "first", "last",
                  "layers"), job=STR, session=STR,
                 kind={"enum": ["propagation", "shapes", "composite", "cuts", "remove"]},
                 state={"enum": ["running", "done", "cancelled", "failed"]}, done=INT, total=INT,
                 output={**STR, "description": "propagation: the EXR pattern, as given; shapes: "
                         "the shapes file"},
                 stage={"enum": ["outlines", "fitting"], "description": "shapes: frames "
                        "outlined, then shape-frames fitted (what done and total count)"},
                 format={**STR, "description": "shapes: the format written"},
                 objects={**INT, "description": "shapes, when done: objects written"},
                 shapes={**INT, "description": "shapes, when done: shapes written"},
                 refitted={"type": "boolean", "description": "shapes, when done: false when "
                           "the session's last fit to the same mattes and settings was reused"},
                 frames={**POINT, "items": INT, "description": "shapes, when done: first and "
                         "last frame"},
                 first={**INT, "description": "first frame of the job"},
                 last={**INT, "description": "last frame of the job"},
                 layers={"type": "array", "description": "each object's EXR layer: its matte "
                         "is channel <layer>.A", "items": obj(("object", "name", "layer"),
                                                            object=INT, name=STR, layer=STR)},
                 written={**INT, "description": "composite, when done: frames written (the "
                          "others were there already, the same)"},
                 foreground_only={"type": "boolean", "description": "composite: the objects "
                                  "alone"},
                 cuts={"type": "array", "items": INT, "description": "cuts, when done: the "
                       "frames where a new shot begins"},
                 shots={"type": "array", "items": POINT, "description": "cuts, when done: "
                        "[first, last] of each shot"},
                 paint={"type": "array", "items": INT, "description": "remove, when done: "
                        "the frames with most of the hole invented (no frame saw it), best "
                        "first: where paint starts"},
                 computed={**INT, "description": "object-frames the engine computed"},
                 reused={**INT, "description": "object-frames taken from the session's results "
                         "(unchanged since its last propagation)"},
                 error=STR)


class Service:
    """The state behind the endpoints: one engine, the roots, sessions and jobs."""

    MAX_BODY = 1 << 20  # bytes of JSON a request may send

    def __init__(self, engine: Engine, engine_name: str, roots: Roots,
                 sessions_dir: str | os.PathLike[str] | None = None,
                 idle_close: float = IDLE_CLOSE,
                 engine_options: dict[str, str | None] | None = None) -> None:
        import tempfile
        from pathlib import Path

        from mattetrack.engines import engine_spec
        from mattetrack.service import persist

        # Each session's folder: its saved record and its result store (what its propagations
        # computed, keyed by what made it). Without a folder given, a scratch one that goes
        # with the service.
        self.scratch = sessions_dir is None
        if self.scratch:  # scratch folders of services killed before they removed theirs
            remove_dead_folders("mattetrack-service-")
        self.sessions_dir = Path(tempfile.mkdtemp(prefix=owned_prefix("mattetrack-service-"))
                                 if sessions_dir is None else sessions_dir)
        try:
            self.sessions_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{self.sessions_dir}: cannot keep sessions there "
                             f"({err.strerror})", field="sessions") from None
        self.engine = engine
        self.engine_name = engine_name
        self.engine_spec = engine_spec(engine_name)
        # --model and --device as `serve` got them (a farm job's tasks load the same).
        self.engine_options = dict(engine_options or {})
        self.roots = roots
        self.registry = Registry(self._restore, persist.save, persist.record)
        for folder, rec in persist.read_records(self.sessions_dir):
            self.registry.add_saved(folder, rec)
        # An engine that shares state between calls (a model and its embedding cache) gets one
        # call at a time; one that keeps none (`concurrent`) runs its calls side by side.
        self._engine_lock = threading.Lock()
        self._compiled = [(r, r.regex) for r in ROUTES]
        # Warming the engine for the frame on screen (see `prepare_soon`): one at a time, and
        # only the most recent request runs (a scrub through 50 frames warms the last one).
        self._warm = ThreadPoolExecutor(1, thread_name_prefix="mattetrack-prepare")
        self._warm_latest: object = None
        # Sessions idle for `idle_close` seconds are unloaded (saved, shot closed): their
        # memory goes, their work stays and comes back on the next request.
        self.idle_close = idle_close
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="mattetrack-idle", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        while not self._stop.wait(min(60.0, max(0.05, self.idle_close / 4))):
            for sid in self.registry.unload_idle(self.idle_close):
                print(f"mattetrack serve: session {sid} idle, unloaded (saved)", file=sys.stderr)

    def new_session(self, shot, opened: dict) -> ServiceSession:
        """A new session on an opened shot, with its folder and result store."""
        from mattetrack.service import persist
        from mattetrack.store import ResultStore

        sid = self.registry.new_id()
        folder = self.sessions_dir / sid
        store = ResultStore(folder / persist.RESULTS, shot.width, shot.height)
        session = ServiceSession(sid, shot, self.engine, self.engine_gate(), store, opened)
        session.folder = folder
        return session

    def _restore(self, folder, rec: dict) -> ServiceSession:
        from mattetrack.service import persist

        session = persist.restore(folder, rec, lambda sid, shot, store, opened: ServiceSession(
            sid, shot, self.engine, self.engine_gate(), store, opened))
        for f in ([] if session.shot.is_movie else session.shot.frames):
            self.roots.check(session.shot.file(f), "plate")  # the roots may have changed
        return session

    def prepare_soon(self, session: ServiceSession, frame: int) -> None:
        """Have the engine precompute `frame`'s features in the background: an artist looking
        at a frame is about to click on it, and the click then finds them ready."""
        ticket = self._warm_latest = object()

        def warm() -> None:
            if self._warm_latest is not ticket:
                return  # a newer frame was asked for meanwhile
            try:
                image = session.shot.image(frame)
                with session.engine_gate:
                    session.core.engine.prepare(image)
            except Exception as err:
                print(f"mattetrack serve: warming frame {frame} failed ({err})", file=sys.stderr)

        self._warm.submit(warm)

    def engine_gate(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext() if self.engine_spec.concurrent else self._engine_lock

    def dispatch(self, method: str, path: str, query: dict[str, str], body: dict) -> Reply:
        allowed = []
        for route, regex in self._compiled:
            m = regex.match(path)
            if m is None:
                continue
            if route.method == method:
                return route.handler(self, Request(m.groupdict(), query, body))
            allowed.append(route.method)
        if allowed:
            raise ApiError(405, f"{method} {path}: not allowed (use {', '.join(allowed)})")
        raise ApiError(404, f"no endpoint {path}")

    def close(self) -> None:
        import shutil

        self._stop.set()
        self._warm.shutdown(cancel_futures=True)
        self.registry.close()
        if self.scratch:
            shutil.rmtree(self.sessions_dir, ignore_errors=True)


# -- field checks -----------------------------------------------------------------------------
def _get(body: dict, name: str, kind: type | tuple[type, ...], required: bool = False,
         what: str = "") -> object:
    """body[name] when it has type `kind` (bools are not numbers); None when absent."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"{name}: required")
        return None
    is_bool = isinstance(value, bool)
    if not isinstance(value, kind) or (is_bool and bool not in _tuple(kind)):
        raise ApiError(400, f"{name}: expected {what or _tuple(kind)[0].__name__}, "
                       f"got {json.dumps(value)[:60]}")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _numbers(value: object, n: int | None, name: str) -> list[float]:
    ok = isinstance(value, list) and (n is None or len(value) == n) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in value)
    if not ok:
        raise ApiError(400, f"{name}: expected {n or 'a list of'} finite numbers, "
                       f"got {json.dumps(value)[:60]}")
    return [float(v) for v in value]  # type: ignore[union-attr]


def _points(body: dict, name: str) -> list[list[float]]:
    value = _get(body, name, list, what="a list of [x, y]")
    return [_numbers(p, 2, f"{name}[{i}]") for i, p in enumerate(value or [])]


def _strokes(body: dict) -> list[tuple[list[list[float]], bool, float]]:
    """`strokes`: [{"points": [[x, y], ...], "positive": true, "width": 8}, ...] checked into
    (points, positive, width) triples."""
    from mattetrack.prompts import DEFAULT_STROKE_WIDTH

    value = _get(body, "strokes", list, what="a list of strokes")
    out = []
    for i, item in enumerate(value or []):
        name = f"strokes[{i}]"
        if not isinstance(item, dict):
            raise ApiError(400, f"{name}: expected an object with points, positive, width")
        pts = _points(item, "points")
        if not pts:
            raise ApiError(400, f"{name}.points: at least one [x, y]")
        positive = _get(item, "positive", bool)
        width = _get(item, "width", (int, float))
        width = DEFAULT_STROKE_WIDTH if width is None else float(width)
        if not (math.isfinite(width) and width > 0):
            raise ApiError(400, f"{name}.width: expected a number > 0, got {width:g}")
        out.append((pts, True if positive is None else positive, width))
    return out


def _body_prompts(body: dict):
    """The `points`, `negative`, `box` and `strokes` of a request body as one frame's
    `FramePrompts` (checked for types and the limits, not yet against the frame's size)."""
    import numpy as np

    from mattetrack.prompts import FramePrompts, Stroke

    box = _get(body, "box", list, what="[x0, y0, x1, y1]")
    prompts = FramePrompts(box=tuple(_numbers(box, 4, "box")) if box is not None else None)
    for name, positive in (("points", True), ("negative", False)):
        for x, y in _points(body, name):
            prompts.add_point(x, y, positive)
    prompts.strokes = [Stroke(np.array(pts, np.float32), positive, width)
                       for pts, positive, width in _strokes(body)]
    for i, stroke in enumerate(prompts.strokes):
        if len(stroke.points) > MAX_STROKE_POINTS:
            raise ApiError(400, f"strokes[{i}].points: {len(stroke.points)}; at most "
                           f"{MAX_STROKE_POINTS}")
    return prompts


def _check_counts(old, new) -> None:
    """Refuse prompts past the limits: `new` FramePrompts with what the frame already has
    (`old`, or None)."""
    points = len(new.points) + (0 if old is None else len(old.points))
    strokes = len(new.strokes) + (0 if old is None else len(old.strokes))
    if points > MAX_POINTS:
        raise ApiError(400, f"points: {points} on one frame for one object; at most "
                       f"{MAX_POINTS}")
    if strokes > MAX_STROKES:
        raise ApiError(400, f"strokes: {strokes} on one frame for one object; at most "
                       f"{MAX_STROKES}")


def _prompts_changed(session: ServiceSession, obj_id: int, frame: int) -> None:
    """After an object's prompts on `frame` changed: an imported matte there is what they
    correct, prompts on a propagated frame correct the matte shown there, the shown mattes of
    the object are out of date, and the session is saved."""
    session.seed_result(obj_id, frame)
    session.core.adopt_bases()
    session.edited(obj_id)
    save(session)


def _int_param(text: str | None, name: str, status: int = 400) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"-?\d{1,12}", text):
        raise ApiError(status, f"{name}: expected a whole number, got {text!r}")
    return int(text)


def _object_id(session: ServiceSession, text: str) -> int:
    obj_id = _int_param(text, "object", status=404)
    try:
        session.core.object(obj_id)
    except InputError:
        raise ApiError(404, f"no object {text!r} in session {session.id}") from None
    return obj_id




# -- handlers ---------------------------------------------------------------------------------
def health(service: Service, req: Request) -> Reply:
    return json_reply({"version": __version__, "engine": service.engine_name})


def formats(service: Service, req: Request) -> Reply:
    """The choices of the format tables, for clients' menus (the browser UI's shapes export)."""
    return json_reply({
        "shapes": [{"name": f.name, "suffix": f.suffix, "label": f.label}
                   for f in service_formats().values()],
        "default_shapes": DEFAULT_SHAPE_FORMAT,
        "compressions": [{"name": c.name, "description": c.description}
                         for c in COMPRESSIONS.values()],
        "default_compression": DEFAULT_COMPRESSION,
    })


def openapi_document(service: Service, req: Request) -> Reply:
    from mattetrack.service.openapi import build_openapi

    return json_reply(build_openapi(ROUTES))


def open_session(service: Service, req: Request) -> Reply:
    from mattetrack.shot import Shot

    plate = service.roots.check(_get(req.body, "plate", str, required=True), "plate")
    colorspace = _get(req.body, "colorspace", str)
    range_text = _get(req.body, "range", str)
    frame_range = parse_range(range_text)
    mattes = _get(req.body, "mattes", str)
    mattes = service.roots.check(mattes, "mattes") if mattes is not None else None
    numbers = _get(req.body, "frame_numbers", str) or "index"
    if numbers not in ("index", "timecode"):
        raise ApiError(400, f"frame_numbers: expected index or timecode, got {numbers!r}")
    opened = {"plate": plate, "colorspace": colorspace, "range": range_text, "mattes": mattes}
    if numbers != "index":  # sessions saved before the option have no such key
        opened["frame_numbers"] = numbers
    if _get(req.body, "reattach", bool):
        sid = service.registry.find(opened)
        if sid is not None:  # the session this plate was opened in: its work as it was left
            session = service.registry.session(sid)
            shot = session.shot
            return json_reply({"session": sid, "frames": [shot.frames[0], shot.frames[-1]],
                               "width": shot.width, "height": shot.height,
                               "reattached": True})
    shot = Shot.open(plate, colorspace=colorspace, frame_range=frame_range,
                     frame_numbers=numbers)
    try:
        # A frame file may itself be a link out of the roots.
        for f in ([] if shot.is_movie else shot.frames):
            service.roots.check(shot.file(f), "plate")
        session = service.new_session(shot, opened)
        if mattes is not None:
            _import_mattes(service, session, mattes)
        save(session)
    except BaseException:
        shot.close()
        raise
    service.registry.add_session(session)
    return json_reply({"session": session.id, "frames": [shot.frames[0], shot.frames[-1]],
                       "width": shot.width, "height": shot.height, "reattached": False}, 201)


def _import_mattes(service: Service, session: ServiceSession, text: str) -> None:
    """Open existing mattes (`track`'s, a farm job's, another session's) in a new session: an
    object per matte, shown read-only until an object is corrected (prompts on a frame correct
    the matte shown there)."""
    from mattetrack.service.state import Export, ImportedMattes
    from mattetrack.shapes.source import open_mattes

    seq = open_mattes(text)
    shot = session.shot
    for path in seq.frames.values():
        service.roots.check(path, "mattes")
    if (seq.width, seq.height) != (shot.width, shot.height):
        raise InputError(f"{text}: mattes of {seq.width}x{seq.height}, the plate is "
                         f"{shot.width}x{shot.height}: not this plate's", field="mattes")
    frames = set(seq.frames) & set(shot.frames)
    if not frames:
        raise InputError(f"{text}: no frame in common with the plate (frames "
                         f"{shot.frames[0]}-{shot.frames[-1]})", field="mattes")
    layers = {session.core.add_object(name): name for name in seq.objects}
    session.hold_imported(ImportedMattes(text, seq, layers))
    session.export = Export(seq.frames.__getitem__, layers, dict.fromkeys(layers, 0), frames,
                            text, seq.is_exr, imported=True)


def list_sessions(service: Service, req: Request) -> Reply:
    return json_reply({"sessions": service.registry.descriptions()})


def get_session(service: Service, req: Request) -> Reply:
    return json_reply(service.registry.session(req.params["sid"]).description())


def delete_session(service: Service, req: Request) -> Reply:
    session = service.registry.pop_session(req.params["sid"])
    service.registry.close_session(session)
    return json_reply({"deleted": req.params["sid"]})


def add_object(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    name = _get(req.body, "name", str)
    with session.lock:
        if len(session.core.objects) >= MAX_OBJECTS:
            raise ApiError(400, f"objects: the session has {MAX_OBJECTS}, the most it holds")
        obj_id = session.core.add_object(name)
        save(session)
        return json_reply({"object": obj_id, "name": session.core.object(obj_id).name}, 201)


def delete_object(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        session.core.remove_object(obj_id)
        session.edited(obj_id)
        forget_mask(session, obj_id)
        save(session)
    return json_reply({"deleted": obj_id})


def add_prompts(service: Service, req: Request) -> Reply:
    from mattetrack.shot.mask import read_mask

    session = service.registry.session(req.params["sid"])
    body = req.body
    frame = _get(body, "frame", int, required=True)
    new = _body_prompts(body)
    mask_path = _get(body, "mask", str)
    if new.empty and mask_path is None:
        raise ApiError(400, "prompts: give points, negative, strokes, box or mask")
    shot = session.shot
    mask = mask_file = None
    if mask_path is not None:
        mask_file = service.roots.check(mask_path, "mask")
        mask = read_mask(mask_file, shot.width, shot.height)
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        core = session.core
        shot.check_frame(frame)
        _check_counts(core.object(obj_id).prompts.get(frame), new)
        new.validate(shot.width, shot.height, "prompts")  # all at once: a bad one adds nothing
        for (x, y), label in zip(new.points.tolist(), new.labels.tolist(), strict=True):
            core.add_point(obj_id, frame, x, y, positive=bool(label),
                           where="points" if label else "negative")
        if new.box is not None:
            core.add_box(obj_id, frame, new.box)
        for stroke in new.strokes:
            core.add_stroke(obj_id, frame, stroke.points, stroke.positive, stroke.width,
                            where="strokes")
        if mask is not None:
            core.add_mask(obj_id, frame, mask, source=mask_file)  # never an output
            forget_mask(session, obj_id, frame)  # saved anew
        _prompts_changed(session, obj_id, frame)
        return json_reply({"object": obj_id, "keyframes": core.keyframes(obj_id)})


def set_prompts(service: Service, req: Request) -> Reply:
    """Replace an object's prompts on one frame (undo and redo, one point deleted): the same
    fields as adding, all of them at once; none clears the frame."""
    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    if frame is None:
        raise ApiError(400, "frame: required")
    prompts = _body_prompts(req.body)
    _check_counts(None, prompts)
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        core = session.core
        session.shot.check_frame(frame)
        old = core.object(obj_id).prompts.get(frame)
        if _get(req.body, "mask", bool) and old is not None:
            prompts.mask = old.mask  # kept: a mask travels as a file, not in this body
        core.set_prompts(obj_id, frame, prompts, where="prompts")
        if prompts.mask is None:
            forget_mask(session, obj_id, frame)
        _prompts_changed(session, obj_id, frame)
        return json_reply({"object": obj_id, "keyframes": core.keyframes(obj_id)})


def clear_prompts(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        if frame is not None:
            session.shot.check_frame(frame)
        session.core.clear_prompts(obj_id, frame)
        session.core.adopt_bases()  # forgets the cleared frames' bases
        session.edited(obj_id)
        forget_mask(session, obj_id, frame)
        save(session)
        return json_reply({"object": obj_id, "keyframes": session.core.keyframes(obj_id)})


def preview(service: Service, req: Request) -> Reply:
    from mattetrack.service.preview import FORMATS, TINT, VIEWS, render_preview

    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    if frame is None:
        raise ApiError(400, "frame: required")
    max_side = _int_param(req.query.get("max_side"), "max_side")
    if max_side is not None and max_side < 16:
        raise ApiError(400, f"max_side: expected at least 16, got {max_side}")
    view = req.query.get("view", "overlay")
    if view not in VIEWS:
        raise ApiError(400, f"view: expected one of {', '.join(VIEWS)}, got {view!r}")
    opacity = _unit_param(req.query.get("opacity"), "opacity", TINT)
    fmt = req.query.get("format", "png")
    if fmt not in FORMATS:
        raise ApiError(400, f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    window = req.query.get("window", "display")
    if window not in ("display", "data"):
        raise ApiError(400, f"window: expected display or data, got {window!r}")
    composite = _preview_composite(service, session, frame, req.query) \
        if view == "composite" else None
    shot = session.shot
    stale: set[int] = set()
    with session.lock:
        shot.check_frame(frame)
        if "object" in req.query:
            obj_ids = [_object_id(session, req.query["object"])]
        else:
            obj_ids = [o.id for o in session.core.objects]
        mattes = {}
        exported = session.exported_layers(frame, obj_ids)
        if exported is not None:  # what propagation wrote (or was imported) for this frame
            _, layers, stale = exported
            mattes = session.read_exported(frame, layers)
        problems = []
        for obj_id in obj_ids:  # a keyframe shows its selection: current, never stale
            if frame in session.core.keyframes(obj_id) and (
                    obj_id not in mattes or obj_id in stale):
                problem = session.core.prompt_problem(obj_id, frame)
                if problem is not None:  # the frame without it, and why (the UI says it)
                    problems.append(problem)
                    mattes.pop(obj_id, None)
                    continue
                mattes[obj_id] = session.select(obj_id, frame)
                stale.discard(obj_id)
        # A frame still to be clicked on (not one played or fetched ahead: warm=0).
        if (len(mattes) < len(obj_ids) or not obj_ids) and req.query.get("warm") != "0":
            service.prepare_soon(session, frame)
    headers = {PREVIEW_PROBLEM: quote("; ".join(problems))} if problems else {}
    if stale:
        headers[PREVIEW_STALE] = ",".join(str(o) for o in sorted(stale))
    image = shot.image(frame)
    if window == "data":  # as a host that shows an EXR's data window alone (Blender) shows it
        box = _data_box(shot, frame)
        image = _on_box(image, box)
        mattes = {o: _on_box(m, box) for o, m in mattes.items()}
    return Reply(200, render_preview(image, mattes, max_side, opacity=opacity,
                                     view=view, stale=stale, fmt=fmt, composite=composite),
                 FORMATS[fmt][0], headers=headers)


def _preview_composite(service: Service, session, frame: int, query: dict):
    """For the composite view: a function (display image, alpha) -> the composite over the
    `background` query (#RRGGBB, default black, or a picture under the roots; opened once per
    session and background)."""
    from mattetrack.composite.background import open_background
    from mattetrack.composite.display import composite_display

    text = query.get("background") or "#000000"
    if not text.startswith("#"):
        text = service.roots.check(text, "background")
    with session.lock:
        kept = session.preview_background
        if kept is None or kept[0] != text:
            background = open_background(text, session.shot.config)  # InputError: 400
            if kept is not None:
                kept[1].close()
            session.preview_background = kept = (text, background)
    index = session.shot.frames.index(frame)
    return lambda image, alpha: composite_display(image, alpha, kept[1], index,
                                                  session.shot.config)


def _data_box(shot, frame: int):
    """The frame's data window relative to the display window's corner (service pixels)."""
    data, display = shot.data_window(frame), shot.display_window
    return type(data)(data.xmin - display.xmin, data.ymin - display.ymin,
                      data.xmax - display.xmin, data.ymax - display.ymin)


def _on_box(pixels: np.ndarray, box) -> np.ndarray:
    """(H, W, ...) display-window pixels seen through `box` (display-relative, inclusive):
    (box height, box width, ...), zero where the box leaves the display window."""
    out = np.zeros((box.height, box.width, *pixels.shape[2:]), pixels.dtype)
    h, w = pixels.shape[:2]
    x0, y0 = max(box.xmin, 0), max(box.ymin, 0)
    x1, y1 = min(box.xmax + 1, w), min(box.ymax + 1, h)
    if x0 < x1 and y0 < y1:
        out[y0 - box.ymin:y1 - box.ymin, x0 - box.xmin:x1 - box.xmin] = pixels[y0:y1, x0:x1]
    return out


def plate_window(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    if frame is None:
        raise ApiError(400, "frame: required")
    shot = session.shot
    with session.lock:
        shot.check_frame(frame)
        box = _data_box(shot, frame)
    return json_reply({"frame": frame, "display": [shot.width, shot.height],
                       "data": [box.xmin, box.ymin, box.width, box.height]})


def _unit_param(text: str | None, name: str, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ApiError(400, f"{name}: expected a number from 0 to 1, got {text!r}")
    return value


def _compression(body: dict) -> str:
    """`compression`, checked against the table (default: the CLI's)."""
    compression = _get(body, "compression", str) or DEFAULT_COMPRESSION
    if compression not in COMPRESSIONS:
        raise ApiError(400, f"compression: expected one of {', '.join(COMPRESSIONS)}, "
                       f"got {compression!r}")
    return compression


def _range_frames(shot, body: dict) -> list[int]:
    """The shot's frames within `range` (all of them without one); 400 if none is."""
    frame_range = parse_range(_get(body, "range", str))
    frames = [f for f in shot.frames
              if frame_range is None or frame_range[0] <= f <= frame_range[1]]
    if not frames:
        raise ApiError(400, f"range: no frame of the shot ({shot.frames[0]}-{shot.frames[-1]}) "
                       "is in it")
    return frames


def _layered_output(service: Service, body: dict) -> str:
    """`output`, under the roots and of a layered kind (hosts read each object's matte back as
    channel <layer>.A); its real path."""
    text = _get(body, "output", str, required=True)
    real = service.roots.check(text, "output")
    kind = output_kind(os.path.splitext(real)[1])
    if kind is None or not kind.layered:
        layered = " or ".join(k.name.upper() for k in OUTPUT_KINDS.values() if k.layered)
        raise ApiError(400, f"output: {text!r} must be an {layered} pattern such as "
                       "mattes.####.exr")
    return real


def propagate(service: Service, req: Request) -> Reply:
    from mattetrack.export.frames import WINDOWS, WriteOptions
    from mattetrack.export.outputlock import OutputLock
    from mattetrack.export.pipeline import MatteRequest, plan_mattes
    from mattetrack.service.jobs import PropagationJob

    session = service.registry.session(req.params["sid"])
    cryptomatte = _get(req.body, "cryptomatte", bool) or False
    compression = _compression(req.body)
    frames = _range_frames(session.shot, req.body)
    real = _layered_output(service, req.body)
    window = _get(req.body, "window", str) or "data"
    if window not in WINDOWS:
        raise ApiError(400, f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
    request = MatteRequest(real, WriteOptions(compression=compression, window=window),
                           cryptomatte=cryptomatte)
    with session.lock:
        for running in (session.job, session.export_job):
            if running is not None and running.running:  # shapes read the mattes it would write
                raise ApiError(409, f"session {session.id}: job {running.id} is still running")
        plan = plan_mattes(session.core, request, frames)
        holder = OutputLock(real).holder()
        if holder is not None:  # another session's job, or a `track`, writes there now
            raise ApiError(409, f"output: {req.body['output']!r} is being written by another "
                           f"run (pid {holder['pid']} on {holder['host']}); wait for it to end")
        for f in frames:  # an existing file may be a link out of the roots
            service.roots.check(plan.output.path(f), "output")
        job = PropagationJob(service.registry.new_id(), session, plan)
        session.job = job
        service.registry.add_job(job)
        job.start()
    return json_reply({"job": job.id, "total": job.total}, 202)




def report(service: Service, req: Request) -> Reply:
    from mattetrack.report import build_report

    session = service.registry.session(req.params["sid"])
    with session.lock:
        export = session.export
        frames = sorted(export.frames) if export is not None and export.frames else []
        return json_reply(build_report(session.core, frames or session.shot.frames))


def farm_job(service: Service, req: Request) -> Reply:
    """Send to farm: the session's objects and prompts as a farm job bundle (as `mattetrack
    farm` writes one), and with `submit` handed to `deadline bundle submit`."""
    from mattetrack.farm import make_job, session_options, write_bundle

    session = service.registry.session(req.params["sid"])
    job_dir = service.roots.check(_get(req.body, "job", str, required=True), "job")
    per_task = _get(req.body, "frames_per_task", int) or 0
    if per_task < 0:
        raise ApiError(400, f"frames_per_task: expected 0 or more, got {per_task}")
    compression = _compression(req.body)
    report = _get(req.body, "report", str)
    report = service.roots.check(report, "report") if report else None
    if report is not None and not report.endswith(".json"):
        raise ApiError(400, "report: the report is JSON; give a name ending in .json")
    roto = _get(req.body, "roto_channels", bool) or False
    feather = _get(req.body, "roto_feather", (int, float), what="a number") or 0.0
    if not (0 <= feather < math.inf):
        raise ApiError(400, f"roto_feather: expected a number >= 0, got {feather}")
    real = _layered_output(service, req.body)
    frames = _range_frames(session.shot, req.body)
    opened = session.opened
    options = ["--compression", compression] + (["--cryptomatte"] if _get(
        req.body, "cryptomatte", bool) else [])
    for key, flag in (("colorspace", "--colorspace"), ("range", "--range")):
        if opened.get(key):
            options += [flag, str(opened[key])]
    options += ["--engine", service.engine_name]
    model, device = (service.engine_options.get(k) for k in ("model", "device"))
    if device:
        options += ["--device", device]
    with session.lock:
        prompts, masks, warnings = session_options(session.core)
        if "--object" not in prompts:
            raise ApiError(400, f"session {session.id}: no object has prompts yet")
        core = session.core
        # The cut signatures a propagation kept: a bundle after one reads no frame for them.
        memo = core.store.track_memo(core.plate_key) if core.store is not None else None
        job = make_job(core, opened["plate"], real, options + prompts,
                       service.engine_spec, mask_arrays=masks, frames=frames,
                       frames_per_task=per_task, model=model, device=device,
                       roto_feather=float(feather) if roto else None, report=report,
                       engine=core.engine, memo=memo)
    root = write_bundle(job, job_dir)
    reply = {"job_dir": str(root), "tasks": len(job.tasks), "frames": len(frames),
             "last_step": job.last_step, "warnings": warnings, "submitted": False,
             "run": f"openjd run {root / 'template.yaml'} --step {job.last_step} "
                    "--run-dependencies"}
    if _get(req.body, "submit", bool):
        _submitted(root, reply)
    return json_reply(reply)


def _submitted(root, reply: dict) -> None:
    """`deadline bundle submit` of the bundle at `root`: reply["submitted"], and what went
    wrong in reply["submit_error"] (the bundle stays written either way)."""
    import subprocess

    from mattetrack.farm import submit_command

    try:
        cmd = submit_command(root)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        reply["submitted"] = proc.returncode == 0
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
            reply["submit_error"] = f"deadline exited {proc.returncode}: {last[0]}"
    except InputError as err:
        reply["submit_error"] = err.detail.lstrip(": ")
    except (OSError, subprocess.TimeoutExpired) as err:
        reply["submit_error"] = f"deadline: {err}"


def export_shapes(service: Service, req: Request) -> Reply:
    from mattetrack.service.shapesjob import ShapesJob
    from mattetrack.shapes import ShapeParams

    session = service.registry.session(req.params["sid"])
    text = _get(req.body, "output", str, required=True)
    fmt = _get(req.body, "format", str) or DEFAULT_SHAPE_FORMAT
    formats = service_formats()
    if fmt not in formats:
        raise ApiError(400, f"format: expected one of {', '.join(formats)}, got {fmt!r}")
    params = ShapeParams()
    for key in ("tolerance", "min_area"):
        value = _get(req.body, key, (int, float), what="a number")
        if value is not None and not (0 < value < math.inf):
            raise ApiError(400, f"{key}: expected a number > 0, got {value}")
        if value is not None:
            setattr(params, key, float(value))
    real = _writable(service, text)
    suffix = formats[fmt].suffix
    if not real.lower().endswith(suffix):
        raise ApiError(400, f"output: the {fmt} output must end in {suffix}")
    with session.lock:
        export, files, layers, current = _propagated(session, real)
        names = {o: current[o] for o in layers}
        # The same mattes (this export object, its frames and layers, the objects' names) and
        # settings as the last fit: its document serves another format without fitting again.
        key = (export, tuple(files.items()), tuple(layers.items()), tuple(names.items()),
               tuple(sorted(vars(params).items())))
        cache = session.shapes_cache
        cached = cache[1] if cache is not None and _same_fit(cache[0], key) else None

        def keep(doc, session=session, key=key) -> None:
            session.shapes_cache = (key, doc)

        shapes = ShapesJob(service.registry.new_id(), session, files, layers, names, real, fmt,
                           params, export.is_exr, cached, keep)
        _start_export(service, session, shapes)
    return json_reply({"job": shapes.id, "kind": "shapes", "total": len(files)}, 202)


def _idle(session) -> None:
    """409 while a job of the session runs (hold the session's lock)."""
    for running in (session.job, session.export_job):
        if running is not None and running.running:
            raise ApiError(409, f"session {session.id}: job {running.id} is still running")


def _propagated(session, output: str) -> tuple:
    """(export, {frame: matte file}, {object id: layer} of the objects whose mattes are up to
    date, {object id: name} of the session's objects) of the session's finished propagation,
    for an export job writing `output` (never over a matte file); 409 when there is none or a
    job runs. Hold the session's lock."""
    export = session.export
    if export is None or not export.frames:
        raise ApiError(409, f"session {session.id}: no propagated mattes yet; propagate first")
    _idle(session)
    current = {o.id: o.name for o in session.core.objects}
    layers = {o: layer for o, layer in export.layers.items()
              if o in current and export.edits.get(o) == session.edits.get(o, 0)}
    if not layers:
        raise ApiError(409, "the propagated mattes are out of date (prompts changed since); "
                       "propagate again")
    files = {f: export.path(f) for f in sorted(export.frames)}
    if any(files[f] == output for f in files):
        raise ApiError(400, f"output: would overwrite the mattes {output}")
    return export, files, layers, current


def _start_export(service: Service, session, job) -> None:
    """Start `job` as the session's export job (one at a time), known to the registry."""
    session.export_job = job
    service.registry.add_job(job)
    job.start()


def _chosen(layers: dict[int, str], current: dict[int, str], wanted: list | None) -> dict:
    """The layers of the objects named in `wanted` (None: all); 400 naming one that has no
    up-to-date mattes."""
    if wanted is None:
        return layers
    unknown = [n for n in wanted if n not in {current[o] for o in layers}]
    if unknown or not wanted:
        raise ApiError(400, f"objects: {unknown[0] if unknown else 'none'!r} is not an object "
                       "with up-to-date mattes")
    return {o: layer for o, layer in layers.items() if current[o] in wanted}


def _writable(service: Service, text: str, field: str = "output") -> str:
    """The real path of output `text` (the request's `field`), under the roots, its folder
    existing."""
    real = service.roots.check(text, field)
    if not os.path.isdir(os.path.dirname(real)):
        raise ApiError(400, f"{field}: folder {os.path.dirname(real)} does not exist")
    return real


def composite(service: Service, req: Request) -> Reply:
    from mattetrack.composite.writers import composite_format
    from mattetrack.framepattern import FramePattern
    from mattetrack.service.outputjobs import CompositeJob

    session = service.registry.session(req.params["sid"])
    text = _get(req.body, "output", str, required=True)
    try:
        fmt = composite_format(text)
    except InputError as err:
        raise ApiError(400, "output: " + err.detail.lstrip(": ")) from None
    real = _writable(service, text)
    background = _get(req.body, "background", str)
    alone = bool(_get(req.body, "foreground_only", bool))
    if (background is None) == (not alone):
        raise ApiError(400, "background: give a background (#RRGGBB or a picture) or "
                       "foreground_only, not both")
    if background is not None and not background.startswith("#"):
        background = service.roots.check(background, "background")
    decontaminate = _get(req.body, "decontaminate", bool)
    wanted = _get(req.body, "objects", list, what="a list of object names")
    fps = _get(req.body, "fps", (int, float), what="a number")
    if fps is not None and not 0 < fps < 1000:
        raise ApiError(400, f"fps: expected a frame rate, got {fps}")
    with session.lock:
        export, files, layers, current = _propagated(session, real)
        layers = _chosen(layers, current, wanted)
        if not fmt.movie and len(files) > 1 and FramePattern.parse(real) is None:
            raise ApiError(400, f"output: {len(files)} frames need a frame pattern "
                           "(comp.####.exr)")
        names = {o: current[o] for o in layers}
        job = CompositeJob(service.registry.new_id(), session, files, layers, names, real,
                           None if alone else background,
                           True if decontaminate is None else decontaminate, export.is_exr,
                           None if fps is None else float(fps))
        _start_export(service, session, job)
    return json_reply({"job": job.id, "kind": "composite", "total": len(files)}, 202)


def _removal_request(service: Service, session, body: dict) -> tuple[str, int, bool, str | None]:
    """A removal's (output, grow, merge, report) from a request's body, checked."""
    from mattetrack.framepattern import FramePattern

    real = _writable(service, _get(body, "output", str, required=True))
    grow = _get(body, "grow", int)
    if grow is not None and not 0 <= grow <= 256:
        raise ApiError(400, f"grow: expected 0 to 256 px, got {grow}")
    merge = bool(_get(body, "merge", bool))
    report = _get(body, "report", str)
    if report is not None:
        if not report.lower().endswith(".json"):
            raise ApiError(400, "report: the report is JSON; give a name ending in .json")
        report = _writable(service, report, "report")
    shot = session.shot
    if shot.is_movie and not real.lower().endswith(".mov"):
        raise ApiError(400, "output: a movie plate's removal is a .mov (ProRes 4444)")
    if not shot.is_movie and FramePattern.parse(real) is None and len(shot.frames) > 1:
        raise ApiError(400, "output: give a frame pattern (clean.####.exr)")
    if merge and not real.lower().endswith(".exr"):
        raise ApiError(400, "output: merge writes EXR copies of an EXR plate")
    return real, 4 if grow is None else grow, merge, report


# A removal's `objects` and `foreground` in the API's description.
_REMOVED = {"type": "array", "items": {"type": "string"},
            "description": "names of the objects removed (default: all but the foreground)"}
_FOREGROUND = {"type": "array", "items": {"type": "string"},
               "description": "names (or EXR layers) of objects kept in front of the "
               "background (as `remove --foreground`): where another frame shows one of them, "
               "that frame is not taken as the background behind the removed objects"}


def _removal_objects(body: dict, layers: dict[int, str], current: dict[int, str]
                     ) -> tuple[dict[int, str], tuple[str, ...]]:
    """(the layers removed, the foreground's layers) of a removal request: `objects` (names;
    default: every object not in the foreground) and `foreground` (names of objects kept in
    front of the background, `remove --foreground`; an object's EXR layer name is taken too),
    none in both."""
    wanted = _get(body, "objects", list, what="a list of object names")
    front = _get(body, "foreground", list, what="a list of object names") or []
    by_layer = {layer: current[o] for o, layer in layers.items()}
    front = [n if n in current.values() else by_layer.get(n, n) for n in front]
    kept: dict[int, str] = {}
    if front:
        try:
            kept = _chosen(layers, current, front)
        except ApiError as err:
            raise ApiError(400, "foreground: " + str(err).removeprefix("objects: ")) from None
    if wanted is None and kept:
        removed = {o: layer for o, layer in layers.items() if o not in kept}
        if not removed:
            raise ApiError(400, "objects: none left to remove (every object is in the "
                           "foreground)")
    else:
        removed = _chosen(layers, current, wanted)
    both = [current[o] for o in kept if o in removed]
    if both:
        raise ApiError(400, f"foreground: {both[0]!r} is also removed (objects): an object is "
                       "either removed or kept in front")
    return removed, tuple(kept.values())


def remove_objects(service: Service, req: Request) -> Reply:
    from mattetrack.service.outputjobs import RemoveJob

    session = service.registry.session(req.params["sid"])
    real, grow, merge, report = _removal_request(service, session, req.body)
    with session.lock:
        export, files, layers, current = _propagated(session, real)
        removed, foreground = _removal_objects(req.body, layers, current)
        names = {o: current[o] for o in removed}
        job = RemoveJob(service.registry.new_id(), session, files, removed, names, real,
                        grow, merge, export.is_exr, report, foreground)
        _start_export(service, session, job)
    return json_reply({"job": job.id, "kind": "remove", "total": len(files)}, 202)


def farm_remove(service: Service, req: Request) -> Reply:
    """Send the removal to farm: `mattetrack remove --job` on the session's propagated mattes
    (the files its propagation wrote, or those it was opened on), and with `submit` handed
    to `deadline bundle submit`."""
    from mattetrack.farm import write_removal_bundle
    from mattetrack.farm.removejob import removal_job

    session = service.registry.session(req.params["sid"])
    job_dir = service.roots.check(_get(req.body, "job", str, required=True), "job")
    per_task = _get(req.body, "frames_per_task", int)
    if per_task is not None and per_task < 0:
        raise ApiError(400, f"frames_per_task: expected 0 or more, got {per_task}")
    real, grow, merge, report = _removal_request(service, session, req.body)
    shot = session.shot
    if shot.is_movie:
        raise ApiError(400, "job: a movie plate's clean plate is one .mov written in order by "
                       "one process; remove it here")
    with session.lock:
        export, files, layers, current = _propagated(session, real)
        removed, foreground = _removal_objects(req.body, layers, current)
        job = removal_job(session.opened["plate"], export.text, real, list(removed.values()),
                          sorted(files), (shot.width, shot.height), grow=grow, merge=merge,
                          colorspace=session.opened.get("colorspace"), per_task=per_task,
                          report=report, foreground=foreground)
    root = write_removal_bundle(job, job_dir)
    reply = {"job_dir": str(root), "tasks": len(job.tasks), "frames": len(files),
             "last_step": "Finish", "warnings": [], "submitted": False,
             "run": f"openjd run {root / 'template.yaml'} --step Finish --run-dependencies"}
    if _get(req.body, "submit", bool):
        _submitted(root, reply)
    return json_reply(reply)


def cut_list(service: Service, req: Request) -> Reply:
    from mattetrack.cutlist import cut_format
    from mattetrack.service.outputjobs import CutsJob

    session = service.registry.session(req.params["sid"])
    text = _get(req.body, "output", str)
    real = None
    if text is not None:
        try:
            cut_format(text)
        except InputError as err:
            raise ApiError(400, "output: " + err.detail.lstrip(": ")) from None
        real = _writable(service, text)
    with session.lock:
        if real is not None:  # a file written: one export at a time
            _idle(session)
        job = CutsJob(service.registry.new_id(), session, real)
        if real is not None:
            _start_export(service, session, job)
        else:  # found and kept with the session only: no export slot taken
            service.registry.add_job(job)
            job.start()
    return json_reply({"job": job.id, "kind": "cuts", "total": job.total}, 202)


def _same_fit(a: tuple, b: tuple) -> bool:
    """Whether two fit keys name the same mattes (the export object itself, not an equal one:
    a new propagation makes a new one) and the same settings."""
    return a[0] is b[0] and a[1:] == b[1:]


def job_status(service: Service, req: Request) -> Reply:
    return json_reply(service.registry.job(req.params["jid"]).status())


def job_events(service: Service, req: Request) -> Reply:
    job = service.registry.job(req.params["jid"])

    def lines() -> Iterator[bytes]:
        for event in job.events():
            if event is not None:
                yield (json.dumps(event) + "\n").encode()

    return Reply(200, content_type="application/x-ndjson", stream=lines())


def cancel_job(service: Service, req: Request) -> Reply:
    job = service.registry.job(req.params["jid"])
    job.cancel()
    return json_reply(job.status(), 202)


# -- the route table --------------------------------------------------------------------------
_SID = "/v1/sessions/{sid}"
_OID = _SID + "/objects/{oid}"
_NOT_FOUND = {404: ("unknown session, object or job", None, "application/json")}
_BAD = {400: ("malformed request or bad input", None, "application/json")}

ROUTES: list[Route] = [
    Route("GET", "/v1/health", health, "Version and engine of the service",
          responses=json_ok("the service is up", obj(("version", "engine"), version=STR,
                                                       engine=STR))),
    Route("GET", "/v1/formats", formats, "The output formats clients may offer (shape formats "
          "with their suffixes and menu labels, EXR compressions)",
          responses=json_ok("the formats", obj(
              ("shapes", "default_shapes", "compressions", "default_compression"),
              shapes={"type": "array", "items": obj(("name", "suffix", "label"), name=STR,
                                                    suffix=STR, label=STR)},
              default_shapes=STR,
              compressions={"type": "array", "items": obj(("name", "description"), name=STR,
                                                          description=STR)},
              default_compression=STR))),
    Route("GET", "/v1/openapi.json", openapi_document, "This OpenAPI 3.1 document",
          responses=json_ok("the document", {"type": "object"})),
    Route("POST", "/v1/sessions", open_session, "Open a plate (a path or frame pattern under a "
          "root) as a new session, saved on the server (it survives a restart); with `mattes`, "
          "on existing mattes (an object per matte, shown as they are until corrected); with "
          "`reattach`, the session that opened the same plate the same way, if there is one",
          body=obj(("plate",), plate={**STR, "examples": ["/shots/a/plate.####.exr"]},
                   colorspace=STR, range=RANGE,
                   mattes={**STR, "description": "existing mattes to open (a pattern, folder "
                           "or file: `track` output, EXR layers or grey images)",
                           "examples": ["/shots/a/mattes/m.####.exr"]},
                   reattach={"type": "boolean", "default": False},
                   frame_numbers={"enum": ["index", "timecode"], "default": "index",
                                  "description": "a movie's frame numbers: from 0, or its "
                                  "start timecode's frame count"}),
          responses={**json_ok("the session (200 when reattached)",
                               obj(("session", "frames", "width", "height"),
                                   session=STR, frames={**POINT, "items": INT},
                                   width=INT, height=INT, reattached={"type": "boolean"}), 201),
                     **_BAD, 403: ("the plate is outside the roots", None, "application/json")}),
    Route("GET", "/v1/sessions", list_sessions, "Every session, loaded or saved (as GET "
          "/v1/sessions/{sid})",
          responses=json_ok("the sessions", obj(("sessions",), sessions={
              "type": "array", "items": SESSION_INFO}))),
    Route("GET", _SID, get_session, "A session: its shot, objects and their keyframes",
          responses={**json_ok("the session", SESSION_INFO), **_NOT_FOUND}),
    Route("DELETE", _SID, delete_session, "Delete a session and its saved work (its running "
          "job is cancelled; written mattes stay)",
          responses={**json_ok("closed", obj(("deleted",), deleted=STR)), **_NOT_FOUND}),
    Route("POST", _SID + "/objects", add_object, "Add an object",
          body=obj(name=STR),
          responses={**json_ok("the new object", obj(("object", "name"), object=INT, name=STR),
                                201), **_BAD, **_NOT_FOUND}),
    Route("DELETE", _OID, delete_object, "Remove an object and its prompts",
          responses={**json_ok("removed", obj(("deleted",), deleted=INT)), **_NOT_FOUND}),
    Route("POST", _OID + "/prompts", add_prompts,
          "Add prompts for an object on a frame (display-window pixels, origin top-left, "
          "x right, y down); the frame becomes a keyframe. On a frame with a propagated matte "
          "the prompts correct that matte",
          body=obj(("frame",), frame=INT, points={"type": "array", "items": POINT},
                   negative={"type": "array", "items": POINT},
                   strokes={"type": "array", "description": "painted lines", "items": obj(
                       ("points",), points={"type": "array", "items": POINT, "minItems": 1},
                       positive={"type": "boolean", "default": True},
                       width={**NUM, "exclusiveMinimum": 0, "default": 8})},
                   box={"type": "array", "items": NUM, "minItems": 4, "maxItems": 4},
                   mask={**STR, "description": "a mask image under a root; >= 0.5 is the object"}),
          responses={**json_ok("the object's keyframes", obj(("object", "keyframes"),
                                                              object=INT, keyframes={
                                                                  "type": "array", "items": INT})),
                     **_BAD, **_NOT_FOUND,
                     403: ("the mask is outside the roots", None, "application/json")}),
    Route("PUT", _OID + "/prompts", set_prompts,
          "Replace an object's prompts on one frame (undo, redo, one point deleted); no prompt "
          "at all clears the frame. The matte a correction started from stays its base",
          query={"frame": (INT, True, "the frame")},
          body=obj(points={"type": "array", "items": POINT},
                   negative={"type": "array", "items": POINT},
                   strokes={"type": "array", "items": obj(
                       ("points",), points={"type": "array", "items": POINT, "minItems": 1},
                       positive={"type": "boolean", "default": True},
                       width={**NUM, "exclusiveMinimum": 0, "default": 8})},
                   box={"type": "array", "items": NUM, "minItems": 4, "maxItems": 4},
                   mask={"type": "boolean", "description": "keep the frame's mask prompt"}),
          responses={**json_ok("the object's keyframes", obj(("object", "keyframes"),
                                                              object=INT, keyframes={
                                                                  "type": "array", "items": INT})),
                     **_BAD, **_NOT_FOUND}),
    Route("DELETE", _OID + "/prompts", clear_prompts,
          "Remove an object's prompts on one frame, or on every frame without `frame`",
          query={"frame": (INT, False, "the frame (default: all)")},
          responses={**json_ok("the object's keyframes", obj(("object", "keyframes"),
                                                              object=INT, keyframes={
                                                                  "type": "array", "items": INT})),
                     **_BAD, **_NOT_FOUND}),
    Route("GET", _SID + "/preview", preview,
          "A frame as an 8-bit image with each object's matte: its selection on its keyframes, "
          "else its propagated (or imported) matte where there is one. Mattes made before the "
          "object's prompts last changed are shown striped, and listed (object ids) in the "
          "header " + PREVIEW_STALE + ". An object whose prompts there cannot select anything "
          "(all negative, nothing to refine) is left out, and the header " + PREVIEW_PROBLEM
          + " says why (percent-encoded UTF-8)",
          query={"frame": (INT, True, "the frame"),
                 "object": (INT, False, "only this object"),
                 "max_side": ({**INT, "minimum": 16}, False, "longer side at most, px"),
                 "view": ({"enum": ["overlay", "outline", "matte", "composite"],
                           "default": "overlay"},
                          False, "overlay: tint and outline; outline only; matte: the mattes "
                          "alone on black; composite: the objects over `background`, edge "
                          "colours estimated (as `mattetrack composite`)"),
                 "background": (STR, False, "composite view: #RRGGBB (default #000000), or an "
                                "image, sequence or movie under the roots (its n-th frame under "
                                "the shot's n-th)"),
                 "opacity": ({**NUM, "minimum": 0, "maximum": 1, "default": 0.5}, False,
                             "of the overlay's tint"),
                 "warm": ({"enum": [0, 1], "default": 1}, False, "0: do not precompute the "
                          "engine's features for this frame (it is played, not clicked on)"),
                 "format": ({"enum": ["png", "bmp"], "default": "png"}, False, "png, or bmp: "
                            "uncompressed, made ~30x faster at 1080p, for a client on the same "
                            "machine"),
                 "window": ({"enum": ["display", "data"], "default": "display"}, False,
                            "display: the display window; data: the frame's data window alone "
                            "(as Blender shows an EXR), black where it leaves the display "
                            "window")},
          responses={200: ("the preview (image/bmp with format=bmp)",
                           {"type": "string", "contentMediaType": "image/png"}, "image/png"),
                     **_BAD, **_NOT_FOUND}),
    Route("GET", _SID + "/window", plate_window,
          "A frame's windows: the display window's size and the data window (x, y from the "
          "display window's top-left corner, width, height; EXR plates may differ per frame)",
          query={"frame": (INT, True, "the frame")},
          responses={**json_ok("the windows", obj(("frame", "display", "data"), frame=INT,
                                                  display={**POINT, "items": INT},
                                                  data={"type": "array", "items": INT,
                                                        "minItems": 4, "maxItems": 4})),
                     **_BAD, **_NOT_FOUND}),
    Route("POST", _SID + "/propagate", propagate,
          "Propagate every object through the shot on a background job, writing EXR mattes as "
          "`mattetrack track` does (one float16 `<object>.A` channel per object, ZIP)",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/mattes/m.####.exr"]},
                   cryptomatte={"type": "boolean"}, range=RANGE,
                   window={"enum": ["data", "display"], "default": "data",
                           "description": "the EXR's data window: the plate's (Nuke) or its "
                           "display window (Blender ignores a data window's offset)"},
                   compression={"enum": list(COMPRESSIONS), "default": DEFAULT_COMPRESSION,
                                "description": "; ".join(f"{c.name}: {c.description}"
                                                         for c in COMPRESSIONS.values())}),
          responses={**json_ok("the job started", obj(("job", "total"), job=STR, total=INT),
                                202), **_BAD, **_NOT_FOUND,
                     403: ("the output is outside the roots", None, "application/json"),
                     409: ("a job is already running on the session, or another run "
                           "writes that output", None, "application/json")}),
    Route("POST", _SID + "/farm", farm_job,
          "Send to farm: write the session's objects and prompts as an Open Job Description job "
          "bundle (as `mattetrack farm`), split at the keyframes and at the shot cuts the "
          "engine finds (every frame read once); with `submit`, hand it to "
          "`deadline bundle submit` (the Deadline Cloud CLI, configured for the farm)",
          body=obj(("output", "job"), output={**STR, "examples": ["/shots/a/mattes/m.####.exr"]},
                   job={**STR, "description": "the bundle's folder",
                        "examples": ["/shots/a/farm/job"]},
                   frames_per_task={**INT, "minimum": 0}, cryptomatte={"type": "boolean"},
                   compression={"enum": list(COMPRESSIONS), "default": DEFAULT_COMPRESSION},
                   range=RANGE, roto_channels={"type": "boolean"},
                   roto_feather={**NUM, "minimum": 0}, report=STR, submit={"type": "boolean"}),
          responses={**json_ok("the bundle written", obj(
              ("job_dir", "tasks", "frames", "last_step", "warnings", "submitted", "run"),
              job_dir=STR, tasks=INT, frames=INT, last_step=STR, run=STR, submitted={
                  "type": "boolean"}, submit_error=STR,
              warnings={"type": "array", "items": STR})), **_BAD, **_NOT_FOUND,
              403: ("the output, job or report is outside the roots", None,
                    "application/json")}),
    Route("GET", _SID + "/report", report,
          "Where the mattes are weak: each object's per-frame confidence in [0, 1] from the "
          "last propagation and up to 10 frames to correct, best first (as `track --report`)",
          responses={**json_ok("the report", obj(
              ("frames", "objects"), frames={"type": "array", "items": INT},
              objects={"type": "array", "items": obj(
                  ("name", "confidence", "suggested"), name=STR,
                  confidence={"type": "object", "additionalProperties": NUM},
                  suggested={"type": "array", "items": INT})})), **_NOT_FOUND}),
    Route("POST", _SID + "/shapes", export_shapes,
          "Start a job fitting editable roto shapes (closed Beziers, one point count per shape "
          "through the shot) to the session's propagated mattes and writing them: `json` (the "
          "shapes schema), `nuke` (a .nk with a Read, channel copies and Roto nodes, plus its "
          ".roto.json plan), `fusion` (a .setting of PolylineMasks) or `blender-plan` (the Mask "
          "plan the Blender extension builds)",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/roto/shapes.json"]},
                   format={"enum": list(service_formats()), "default": DEFAULT_SHAPE_FORMAT,
                           "description": "; ".join(f"{f.name} ({f.suffix}): {f.description}"
                                                    for f in service_formats().values())},
                   tolerance={**NUM, "exclusiveMinimum": 0,
                              "description": "px the shapes may stray from the mattes "
                              "(default 0.75)"},
                   min_area={**NUM, "exclusiveMinimum": 0,
                             "description": "smallest piece and hole kept, square px (default "
                             "1/6400 of the frame)"}),
          responses={**json_ok("the shapes job, started: follow it at /v1/jobs/{job} (its end "
                               "status has objects, shapes and frames)",
                               obj(("job", "kind", "total"), job=STR, kind=STR, total=INT), 202),
                     **_BAD, **_NOT_FOUND,
              403: ("the output is outside the roots", None, "application/json"),
              409: ("no finished, up-to-date propagation to fit, or a job of the session "
                    "still running", None, "application/json")}),
    Route("POST", _SID + "/composite", composite,
          "Start a job putting the session's propagated mattes' objects over a new background "
          "(a colour or a picture under the roots), or writing them alone as premultiplied "
          "RGBA, edge colours estimated (as `mattetrack composite`)",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/comp/comp.####.exr",
                                                             "/shots/a/comp/dog.mov"],
                                        "description": "by suffix: .exr, .png, .tif (a "
                                        "frame pattern), .mov (ProRes 4444 with alpha)"},
                   background={**STR, "description": "#RRGGBB, or an image, sequence or "
                               "movie under the roots"},
                   foreground_only={"type": "boolean", "default": False},
                   decontaminate={"type": "boolean", "default": True},
                   objects={"type": "array", "items": STR,
                            "description": "names of the objects kept (default: all)"},
                   fps={**NUM, "exclusiveMinimum": 0, "description": "a movie's frame rate "
                        "(default: the plate movie's, else 24)"}),
          responses={**json_ok("the composite job, started: follow it at /v1/jobs/{job}",
                               obj(("job", "kind", "total"), job=STR, kind=STR, total=INT), 202),
                     **_BAD, **_NOT_FOUND,
              403: ("the output or background is outside the roots", None, "application/json"),
              409: ("no finished, up-to-date propagation, or a job of the session still "
                    "running", None, "application/json")}),
    Route("POST", _SID + "/remove", remove_objects,
          "Start a job writing the plate with the session's propagated objects removed (as "
          "`mattetrack remove`): copies of the plate files with the colour filled from the "
          "other frames, or with `merge` the clean plate as a layer <objects>_clean",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/clean/plate.####.exr"]},
                   objects=_REMOVED,
                   grow={**INT, "minimum": 0, "maximum": 256, "default": 4,
                         "description": "px the hole is grown past the matte"},
                   merge={"type": "boolean", "default": False},
                   foreground=_FOREGROUND,
                   report={**STR, "description": "where the clean plate needs paint (as "
                           "`remove --report`: per frame the share of the hole some frame "
                           "saw); the job's status says the frames to paint first (`paint`) "
                           "either way"}),
          responses={**json_ok("the removal job, started: follow it at /v1/jobs/{job}",
                               obj(("job", "kind", "total"), job=STR, kind=STR, total=INT), 202),
                     **_BAD, **_NOT_FOUND,
              403: ("the output is outside the roots", None, "application/json"),
              409: ("no finished, up-to-date propagation, or a job of the session still "
                    "running", None, "application/json")}),
    Route("POST", _SID + "/farm-remove", farm_remove,
          "Send the removal to farm: an Open Job Description job bundle that writes what "
          "`/remove` (`mattetrack remove`) would, from the session's propagated mattes (as "
          "`mattetrack remove --job`): a task per chunk of frames, then a last step for the "
          "report; with `submit`, handed to `deadline bundle submit`",
          body=obj(("output", "job"),
                   output={**STR, "examples": ["/shots/a/clean/plate.####.exr"]},
                   job={**STR, "description": "the bundle's folder",
                        "examples": ["/shots/a/farm/clean"]},
                   frames_per_task={**INT, "minimum": 0, "default": 24},
                   objects=_REMOVED,
                   grow={**INT, "minimum": 0, "maximum": 256, "default": 4},
                   merge={"type": "boolean", "default": False}, report=STR,
                   foreground=_FOREGROUND, submit={"type": "boolean"}),
          responses={**json_ok("the bundle written", obj(
              ("job_dir", "tasks", "frames", "last_step", "warnings", "submitted", "run"),
              job_dir=STR, tasks=INT, frames=INT, last_step=STR, run=STR, submitted={
                  "type": "boolean"}, submit_error=STR,
              warnings={"type": "array", "items": STR})), **_BAD, **_NOT_FOUND,
              403: ("the output or the bundle is outside the roots", None, "application/json"),
              409: ("no finished, up-to-date propagation, or a job of the session still "
                    "running", None, "application/json")}),
    Route("POST", _SID + "/cuts", cut_list,
          "Start a job finding the shot boundaries of the session's frames (hard cuts, "
          "dissolves, fades), kept with the session (its `boundaries`) and, given an output, "
          "written as .otio, .edl or .json (as `mattetrack cuts`)",
          body=obj((), output={**STR, "examples": ["/shots/reel/reel.otio"]}),
          responses={**json_ok("the cuts job, started: its end status has cuts and shots",
                               obj(("job", "kind", "total"), job=STR, kind=STR, total=INT), 202),
                     **_BAD, **_NOT_FOUND,
              403: ("the output is outside the roots", None, "application/json"),
              409: ("a job of the session still running", None, "application/json")}),
    Route("GET", "/v1/jobs/{jid}", job_status, "A job's state and progress",
          responses={**json_ok("the job", JOB_STATUS), **_NOT_FOUND}),
    Route("GET", "/v1/jobs/{jid}/events", job_events,
          "Progress as NDJSON, streamed: one line per step (a propagation: a frame written, "
          "{frame, done, total}; shapes: {stage, done, total}), then one with the end state "
          "({state, done, total, error?})",
          responses={200: ("the event stream", {"type": "string"}, "application/x-ndjson"),
                     **_NOT_FOUND}),
    Route("POST", "/v1/jobs/{jid}/cancel", cancel_job,
          "Stop a job after the frame in progress (written files stay, each whole; a shapes "
          "job writes nothing)",
          responses={**json_ok("the job", JOB_STATUS, 202), **_NOT_FOUND}),
]
