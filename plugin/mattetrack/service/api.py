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

from mattetrack import __version__
from mattetrack.engines import Engine
from mattetrack.errors import InputError
from mattetrack.export.kinds import COMPRESSIONS, DEFAULT_COMPRESSION, OUTPUT_KINDS, output_kind
from mattetrack.framerange import parse_range
from mattetrack.service.auth import Roots
from mattetrack.service.errors import ApiError
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

# -- schema pieces of the answers ----------------------------------------------------------------
PROMPTS_INFO = obj(("frame", "points", "negative", "box", "mask"), frame=INT,
                   points={"type": "array", "items": POINT},
                   negative={"type": "array", "items": POINT},
                   box={"type": ["array", "null"], "items": NUM},
                   mask={"type": "boolean", "description": "whether a mask prompt is set"})
OBJECT_INFO = obj(("object", "name", "keyframes", "prompts"), object=INT, name=STR,
                  keyframes={"type": "array", "items": INT},
                  prompts={"type": "array", "items": PROMPTS_INFO})
SESSION_INFO = obj(("session", "plate", "frames", "width", "height", "objects"),
                   session=STR, plate=STR, frames={**POINT, "items": INT}, width=INT, height=INT,
                   objects={"type": "array", "items": OBJECT_INFO},
                   job={"type": ["string", "null"]})
JOB_STATUS = obj(("job", "session", "state", "done", "total", "output", "first", "last",
                  "layers"), job=STR, session=STR,
                 state={"enum": ["running", "done", "cancelled", "failed"]}, done=INT, total=INT,
                 output={**STR, "description": "the EXR pattern, as given"},
                 first={**INT, "description": "first frame of the job"},
                 last={**INT, "description": "last frame of the job"},
                 layers={"type": "array", "description": "each object's EXR layer: its matte "
                         "is channel <layer>.A", "items": obj(("object", "name", "layer"),
                                                            object=INT, name=STR, layer=STR)},
                 computed={**INT, "description": "object-frames the engine computed"},
                 reused={**INT, "description": "object-frames taken from the session's results "
                         "(unchanged since its last propagation)"},
                 error=STR)


class Service:
    """The state behind the endpoints: one engine, the roots, sessions and jobs."""

    MAX_BODY = 1 << 20  # bytes of JSON a request may send

    def __init__(self, engine: Engine, engine_name: str, roots: Roots) -> None:
        import tempfile

        from mattetrack.engines import engine_spec

        # Each session's result store (what its propagations computed, keyed by what made it).
        self.store_root = tempfile.mkdtemp(prefix="mattetrack-service-")
        self.engine = engine
        self.engine_name = engine_name
        self.engine_spec = engine_spec(engine_name)
        self.roots = roots
        self.registry = Registry()
        # An engine that shares state between calls (a model and its embedding cache) gets one
        # call at a time; one that keeps none (`concurrent`) runs its calls side by side.
        self._engine_lock = threading.Lock()
        self._compiled = [(r, r.regex) for r in ROUTES]
        # Warming the engine for the frame on screen (see `prepare_soon`): one at a time, and
        # only the most recent request runs (a scrub through 50 frames warms the last one).
        self._warm = ThreadPoolExecutor(1, thread_name_prefix="mattetrack-prepare")
        self._warm_latest: object = None

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

        self._warm.shutdown(cancel_futures=True)
        self.registry.close()
        shutil.rmtree(self.store_root, ignore_errors=True)


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
    frame_range = parse_range(_get(req.body, "range", str))
    shot = Shot.open(plate, colorspace=colorspace, frame_range=frame_range)
    try:
        # A frame file may itself be a link out of the roots.
        for f in ([] if shot.is_movie else shot.frames):
            service.roots.check(shot.file(f), "plate")
        from mattetrack.store import ResultStore

        sid = service.registry.new_id()
        store = ResultStore(os.path.join(service.store_root, sid), shot.width, shot.height)
        session = ServiceSession(sid, shot, service.engine, service.engine_gate(), store)
    except BaseException:
        shot.close()
        raise
    service.registry.add_session(session)
    return json_reply({"session": session.id, "frames": [shot.frames[0], shot.frames[-1]],
                       "width": shot.width, "height": shot.height}, 201)


def list_sessions(service: Service, req: Request) -> Reply:
    sessions = []
    for session in service.registry.all_sessions():
        with session.lock:
            sessions.append(session.describe())
    return json_reply({"sessions": sessions})


def get_session(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    with session.lock:
        return json_reply(session.describe())


def delete_session(service: Service, req: Request) -> Reply:
    session = service.registry.pop_session(req.params["sid"])
    service.registry.close_session(session)
    return json_reply({"deleted": session.id})


def add_object(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    name = _get(req.body, "name", str)
    with session.lock:
        obj_id = session.core.add_object(name)
        return json_reply({"object": obj_id, "name": session.core.object(obj_id).name}, 201)


def delete_object(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        session.core.remove_object(obj_id)
        session.edited(obj_id)
    return json_reply({"deleted": obj_id})


def add_prompts(service: Service, req: Request) -> Reply:
    import numpy as np

    from mattetrack.prompts import FramePrompts, Stroke
    from mattetrack.shot.mask import read_mask

    session = service.registry.session(req.params["sid"])
    body = req.body
    frame = _get(body, "frame", int, required=True)
    points = _points(body, "points")
    negative = _points(body, "negative")
    box = _get(body, "box", list, what="[x0, y0, x1, y1]")
    box = _numbers(box, 4, "box") if box is not None else None
    mask_path = _get(body, "mask", str)
    strokes = _strokes(body)
    if not (points or negative or box or mask_path or strokes):
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
        # Checked all together first, so a bad prompt adds nothing.
        trial = FramePrompts(box=tuple(box) if box else None)
        for x, y in points:
            trial.add_point(x, y, True)
        for x, y in negative:
            trial.add_point(x, y, False)
        trial.strokes = [Stroke(np.array(pts, np.float32), positive, width)
                         for pts, positive, width in strokes]
        trial.validate(shot.width, shot.height, "prompts")
        for x, y in points:
            core.add_point(obj_id, frame, x, y, positive=True, where="points")
        for x, y in negative:
            core.add_point(obj_id, frame, x, y, positive=False, where="negative")
        if box is not None:
            core.add_box(obj_id, frame, tuple(box))
        for pts, positive, width in strokes:
            core.add_stroke(obj_id, frame, np.array(pts, np.float32), positive, width,
                            where="strokes")
        if mask is not None:
            core.add_mask(obj_id, frame, mask, source=mask_file)  # never an output
        core.adopt_bases()  # prompts on a propagated frame correct the matte shown there
        session.edited(obj_id)
        return json_reply({"object": obj_id, "keyframes": core.keyframes(obj_id)})


def clear_prompts(service: Service, req: Request) -> Reply:
    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    with session.lock:
        obj_id = _object_id(session, req.params["oid"])
        if frame is not None:
            session.shot.check_frame(frame)
        session.core.clear_prompts(obj_id, frame)
        session.edited(obj_id)
        return json_reply({"object": obj_id, "keyframes": session.core.keyframes(obj_id)})


def preview(service: Service, req: Request) -> Reply:
    from mattetrack.service.preview import render_preview
    from mattetrack.shapes.source import MatteSequence

    session = service.registry.session(req.params["sid"])
    frame = _int_param(req.query.get("frame"), "frame")
    if frame is None:
        raise ApiError(400, "frame: required")
    max_side = _int_param(req.query.get("max_side"), "max_side")
    if max_side is not None and max_side < 16:
        raise ApiError(400, f"max_side: expected at least 16, got {max_side}")
    shot = session.shot
    with session.lock:
        shot.check_frame(frame)
        if "object" in req.query:
            obj_ids = [_object_id(session, req.query["object"])]
        else:
            obj_ids = [o.id for o in session.core.objects]
        exported = session.exported_layers(frame, obj_ids)
        mattes = {}
        if exported is not None:  # what propagation wrote for this frame
            path, layers = exported
            read = MatteSequence({frame: path}, list(layers.values()), shot.width, shot.height,
                                 True).read(frame)
            mattes = {o: read[layer] for o, layer in layers.items()}
        problems = []
        for obj_id in obj_ids:  # else the selection on a keyframe
            if obj_id not in mattes and frame in session.core.keyframes(obj_id):
                problem = session.core.prompt_problem(obj_id, frame)
                if problem is not None:  # the frame without it, and why (the UI says it)
                    problems.append(problem)
                    continue
                mattes[obj_id] = session.select(obj_id, frame)
        if len(mattes) < len(obj_ids) or not obj_ids:  # a frame still to be clicked on
            service.prepare_soon(session, frame)
    headers = {PREVIEW_PROBLEM: quote("; ".join(problems))} if problems else {}
    return Reply(200, render_preview(shot.image(frame), mattes, max_side), "image/png",
                 headers=headers)


def propagate(service: Service, req: Request) -> Reply:
    from mattetrack.export.frames import WriteOptions
    from mattetrack.export.pipeline import MatteRequest, plan_mattes
    from mattetrack.service.jobs import PropagationJob

    session = service.registry.session(req.params["sid"])
    text = _get(req.body, "output", str, required=True)
    cryptomatte = _get(req.body, "cryptomatte", bool) or False
    compression = _get(req.body, "compression", str) or DEFAULT_COMPRESSION
    if compression not in COMPRESSIONS:
        raise ApiError(400, f"compression: expected one of {', '.join(COMPRESSIONS)}, "
                       f"got {compression!r}")
    frame_range = parse_range(_get(req.body, "range", str))
    shot = session.shot
    frames = [f for f in shot.frames
              if frame_range is None or frame_range[0] <= f <= frame_range[1]]
    if not frames:
        raise ApiError(400, f"range: no frame of the shot ({shot.frames[0]}-{shot.frames[-1]}) "
                       "is in it")
    real = service.roots.check(text, "output")
    # Hosts read each object's matte back as channel <layer>.A: only layered kinds will do.
    kind = output_kind(os.path.splitext(real)[1])
    if kind is None or not kind.layered:
        layered = " or ".join(k.name.upper() for k in OUTPUT_KINDS.values() if k.layered)
        raise ApiError(400, f"output: {text!r} must be an {layered} pattern such as "
                       "mattes.####.exr")
    request = MatteRequest(real, WriteOptions(compression=compression), cryptomatte=cryptomatte)
    with session.lock:
        if session.job is not None and session.job.running:
            raise ApiError(409, f"session {session.id}: job {session.job.id} is still running")
        plan = plan_mattes(session.core, request, frames)
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


def export_shapes(service: Service, req: Request) -> Reply:
    from pathlib import Path

    from mattetrack.shapes import ShapeParams, shapes_from_mattes
    from mattetrack.shapes.formats import save_shapes
    from mattetrack.shapes.source import MatteSequence

    session = service.registry.session(req.params["sid"])
    text = _get(req.body, "output", str, required=True)
    fmt = _get(req.body, "format", str) or DEFAULT_SHAPE_FORMAT
    formats = service_formats()
    if fmt not in formats:
        raise ApiError(400, f"format: expected one of {', '.join(formats)}, got {fmt!r}")
    tolerance = _get(req.body, "tolerance", (int, float), what="a number")
    if tolerance is not None and not (0 < tolerance < math.inf):
        raise ApiError(400, f"tolerance: expected a number > 0, got {tolerance}")
    real = service.roots.check(text, "output")
    suffix = formats[fmt].suffix
    if not real.lower().endswith(suffix):
        raise ApiError(400, f"output: the {fmt} output must end in {suffix}")
    if not os.path.isdir(os.path.dirname(real)):
        raise ApiError(400, f"output: folder {os.path.dirname(real)} does not exist")
    shot = session.shot
    with session.lock:
        job, export = session.job, session.export
        if job is None or export is None or not export.frames:
            raise ApiError(409, f"session {session.id}: no propagated mattes yet; propagate "
                           "first")
        if job.running:
            raise ApiError(409, f"session {session.id}: job {job.id} is still running")
        current = {o.id: o.name for o in session.core.objects}
        layers = {o: layer for o, layer in export.layers.items()
                  if o in current and export.edits.get(o) == session.edits.get(o, 0)}
        if not layers:
            raise ApiError(409, "the propagated mattes are out of date (prompts changed since); "
                           "propagate again")
        files = {f: export.path(f) for f in sorted(export.frames)}
    if any(files[f] == real for f in files):
        raise ApiError(400, f"output: would overwrite the mattes {real}")
    mattes = MatteSequence(files, list(layers.values()), shot.width, shot.height, True)
    params = ShapeParams() if tolerance is None else ShapeParams(tolerance=float(tolerance))
    doc = shapes_from_mattes(iter(mattes), {layers[o]: current[o] for o in layers},
                             shot.width, shot.height, params)
    if session.job is not job:  # a propagation started while fitting: its files may be mixed
        raise ApiError(409, f"session {session.id}: a propagation started during the export; "
                       "export again when it ends")
    save_shapes(doc, Path(real), fmt, files, True)
    return json_reply({"output": real, "format": fmt, "objects": len(doc.objects),
                       "shapes": sum(len(o.shapes) for o in doc.objects),
                       "frames": [min(files), max(files)]})


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
          "root) as a new session",
          body=obj(("plate",), plate={**STR, "examples": ["/shots/a/plate.####.exr"]},
                   colorspace=STR, range=RANGE),
          responses={**json_ok("the session", obj(("session", "frames", "width", "height"),
                                                   session=STR, frames={**POINT, "items": INT},
                                                   width=INT, height=INT), 201),
                     **_BAD, 403: ("the plate is outside the roots", None, "application/json")}),
    Route("GET", "/v1/sessions", list_sessions, "Every open session (as GET /v1/sessions/{sid})",
          responses=json_ok("the sessions", obj(("sessions",), sessions={
              "type": "array", "items": SESSION_INFO}))),
    Route("GET", _SID, get_session, "A session: its shot, objects and their keyframes",
          responses={**json_ok("the session", SESSION_INFO), **_NOT_FOUND}),
    Route("DELETE", _SID, delete_session, "Close a session (its running job is cancelled)",
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
    Route("DELETE", _OID + "/prompts", clear_prompts,
          "Remove an object's prompts on one frame, or on every frame without `frame`",
          query={"frame": (INT, False, "the frame (default: all)")},
          responses={**json_ok("the object's keyframes", obj(("object", "keyframes"),
                                                              object=INT, keyframes={
                                                                  "type": "array", "items": INT})),
                     **_BAD, **_NOT_FOUND}),
    Route("GET", _SID + "/preview", preview,
          "A frame as an 8-bit PNG with each object's matte as a coloured overlay: its "
          "propagated matte where one is written and up to date, else its selection on its "
          "keyframes. An object whose prompts there cannot select anything (all negative, "
          "nothing to refine) is left out, and the header " + PREVIEW_PROBLEM + " says why "
          "(percent-encoded UTF-8)",
          query={"frame": (INT, True, "the frame"),
                 "object": (INT, False, "only this object"),
                 "max_side": ({**INT, "minimum": 16}, False, "longer side at most, px")},
          responses={200: ("the preview", {"type": "string", "contentMediaType": "image/png"},
                           "image/png"), **_BAD, **_NOT_FOUND}),
    Route("POST", _SID + "/propagate", propagate,
          "Propagate every object through the shot on a background job, writing EXR mattes as "
          "`mattetrack track` does (one float16 `<object>.A` channel per object, ZIP)",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/mattes/m.####.exr"]},
                   cryptomatte={"type": "boolean"}, range=RANGE,
                   compression={"enum": list(COMPRESSIONS), "default": DEFAULT_COMPRESSION,
                                "description": "; ".join(f"{c.name}: {c.description}"
                                                         for c in COMPRESSIONS.values())}),
          responses={**json_ok("the job started", obj(("job", "total"), job=STR, total=INT),
                                202), **_BAD, **_NOT_FOUND,
                     403: ("the output is outside the roots", None, "application/json"),
                     409: ("a job is already running on the session", None,
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
          "Fit editable roto shapes (closed Beziers, one point count per shape through the shot) "
          "to the session's propagated mattes and write them: `json` (the shapes schema), "
          "`nuke` (a .nk with a Read, channel copies and Roto nodes, plus its .roto.json plan), "
          "`fusion` (a .setting of PolylineMasks) or `blender-plan` (the Mask plan the Blender "
          "extension builds)",
          body=obj(("output",), output={**STR, "examples": ["/shots/a/roto/shapes.json"]},
                   format={"enum": list(service_formats()), "default": DEFAULT_SHAPE_FORMAT,
                           "description": "; ".join(f"{f.name} ({f.suffix}): {f.description}"
                                                    for f in service_formats().values())},
                   tolerance={**NUM, "exclusiveMinimum": 0,
                              "description": "px the shapes may stray from the mattes "
                              "(default 0.75)"}),
          responses={**json_ok("the shapes written", obj(
              ("output", "format", "objects", "shapes", "frames"), output=STR, format=STR,
              objects=INT, shapes=INT, frames={**POINT, "items": INT})), **_BAD, **_NOT_FOUND,
              403: ("the output is outside the roots", None, "application/json"),
              409: ("no finished, up-to-date propagation to fit", None, "application/json")}),
    Route("GET", "/v1/jobs/{jid}", job_status, "A job's state and progress",
          responses={**json_ok("the job", JOB_STATUS), **_NOT_FOUND}),
    Route("GET", "/v1/jobs/{jid}/events", job_events,
          "Progress as NDJSON, streamed: one line per frame written ({frame, done, total}), "
          "then one with the end state ({state, done, total, error?})",
          responses={200: ("the event stream", {"type": "string"}, "application/x-ndjson"),
                     **_NOT_FOUND}),
    Route("POST", "/v1/jobs/{jid}/cancel", cancel_job,
          "Stop a job after the frame in progress (written files stay, each whole)",
          responses={**json_ok("the job", JOB_STATUS, 202), **_NOT_FOUND}),
]
