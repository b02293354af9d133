"""MatteTrack's service client for host adapters (Nuke, Blender, Resolve): standard library only,
Python 3.6+, one file.

Every host talks to `mattetrack serve` through this module; hosts add its folder to `sys.path`
(Nuke's init.py, the Resolve script) or ship a copy inside their package (the Blender extension's
build). Coordinates are the service's: display-window pixels, origin top-left, x right, y down.

    client = Client()                       # $MATTETRACK_URL or http://127.0.0.1:8765, token file
    sid = client.open_session("/shots/a/plate.####.exr")["session"]
    oid = client.add_object(sid, "dog")["object"]
    client.add_prompts(sid, oid, 1001, points=[(420, 260)])
    png = client.preview(sid, 1001, max_side=960)
    run = Propagation(client, sid, "/shots/a/mattes/m.####.exr")   # a background thread
    while run.poll()["state"] == "running": ...                     # never blocks the host
"""

import contextlib
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8765"


class AdapterError(Exception):
    """A refusal the artist can act on, in one line: the one error type every host adapter
    raises for it and reports (each host through its one decorator or entry point), never a
    traceback."""


class ServiceError(AdapterError):
    """A refusal or failure of the service: `status` is the HTTP status (0: the service could
    not be reached), the message is the service's one-line error."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def config_dir():
    """`$MATTETRACK_CONFIG`, else `$XDG_CONFIG_HOME/mattetrack`, else `~/.config/mattetrack`
    (the same search as the service's, mattetrack.service.auth.config_dir)."""
    if os.environ.get("MATTETRACK_CONFIG"):
        return os.environ["MATTETRACK_CONFIG"]
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(xdg, "mattetrack")


def read_token(path=None):
    """The token in `path` (default: `token` in `config_dir()`)."""
    path = path or os.path.join(config_dir(), "token")
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as err:
        raise ServiceError(0, f"cannot read the MatteTrack token {path} ({err.strerror}); "
                           "start `mattetrack serve` once to create it") from None
    if not token:
        raise ServiceError(0, f"the MatteTrack token file {path} is empty")
    return token


class Client:
    """JSON calls to the service. Methods return the parsed reply (PNG bytes for `preview`) and
    raise ServiceError with the service's one-line message. Safe to share between threads: each
    call opens its own connection."""

    def __init__(self, url=None, token=None, token_file=None, timeout=60.0):
        self.url = (url or os.environ.get("MATTETRACK_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else read_token(token_file)
        self.timeout = timeout

    # -- transport --------------------------------------------------------------------------
    def _open(self, method, path, body=None, query=None, timeout=None):
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(
                {k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            raise ServiceError(err.code, _error_text(err)) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ServiceError(0, f"MatteTrack service at {self.url} not reachable ({reason}); "
                               "is `mattetrack serve` running?") from None

    def call(self, method, path, body=None, query=None, timeout=None):
        """One request; the parsed JSON reply, or the raw bytes of any other content type."""
        with self._open(method, path, body, query, timeout) as resp:
            payload = resp.read()
            if resp.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(payload.decode("utf-8"))
            return payload

    # -- endpoints (see /v1/openapi.json) ---------------------------------------------------
    def health(self):
        return self.call("GET", "/v1/health")

    def open_session(self, plate, colorspace=None, frame_range=None):
        """{session, frames: [first, last], width, height}."""
        body = {"plate": plate}
        if colorspace:
            body["colorspace"] = colorspace
        if frame_range:
            body["range"] = frame_range
        return self.call("POST", "/v1/sessions", body)

    def sessions(self):
        """Every open session, each as `session()` describes it."""
        return self.call("GET", "/v1/sessions")["sessions"]

    def session(self, sid):
        """{session, plate, frames, width, height, objects: [{object, name, keyframes}], job}."""
        return self.call("GET", "/v1/sessions/" + sid)

    def close_session(self, sid):
        return self.call("DELETE", "/v1/sessions/" + sid)

    def add_object(self, sid, name=None):
        """{object, name} (the service makes the name unique and EXR-safe)."""
        return self.call("POST", f"/v1/sessions/{sid}/objects",
                         {} if name is None else {"name": name})

    def remove_object(self, sid, oid):
        return self.call("DELETE", f"/v1/sessions/{sid}/objects/{oid}")

    def add_prompts(self, sid, oid, frame, points=(), negative=(), box=None, mask=None,
                    strokes=()):
        """Adds prompts on `frame` (it becomes a keyframe; on a frame with a propagated matte
        they correct it); {object, keyframes}. strokes: painted lines, each (points,
        positive, width px)."""
        body = {"frame": int(frame)}
        if strokes:
            body["strokes"] = [{"points": [[float(x), float(y)] for x, y in pts],
                                "positive": bool(positive), "width": float(width)}
                               for pts, positive, width in strokes]
        if points:
            body["points"] = [[float(x), float(y)] for x, y in points]
        if negative:
            body["negative"] = [[float(x), float(y)] for x, y in negative]
        if box is not None:
            body["box"] = [float(v) for v in box]
        if mask is not None:
            body["mask"] = mask
        return self.call("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts", body)

    def clear_prompts(self, sid, oid, frame=None):
        return self.call("DELETE", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                         query={"frame": frame})

    def preview(self, sid, frame, obj=None, max_side=None, window=None):
        """PNG bytes: the frame with the objects' mattes (or selections) overlaid; window
        "data": the frame's data window alone, as Blender shows an EXR."""
        return self.call("GET", f"/v1/sessions/{sid}/preview",
                         query={"frame": frame, "object": obj, "max_side": max_side,
                                "window": window})

    def plate_window(self, sid, frame):
        """{frame, display: [width, height], data: [x, y, width, height]}: the frame's data
        window from the display window's top-left corner."""
        return self.call("GET", f"/v1/sessions/{sid}/window", query={"frame": frame})

    def propagate(self, sid, output, frame_range=None, cryptomatte=False, window=None):
        """Starts propagation writing EXR mattes to `output` (a pattern); {job, total}.
        window: "display" for files Blender places right (it ignores a data window's offset),
        default: the plate's data window."""
        body = {"output": output, "cryptomatte": bool(cryptomatte)}
        if window:
            body["window"] = window
        if frame_range:
            body["range"] = frame_range
        return self.call("POST", f"/v1/sessions/{sid}/propagate", body)

    def send_to_farm(self, sid, output, job, frames_per_task=0, cryptomatte=False,
                     submit=False, frame_range=None):
        """Writes the session as a farm job bundle in folder `job` whose tasks write `output`
        (an EXR pattern), and with `submit` hands it to `deadline bundle submit`; {job_dir,
        tasks, frames, last_step, run (the `openjd run` command), submitted, submit_error?,
        warnings}."""
        body = {"output": output, "job": job, "frames_per_task": int(frames_per_task),
                "cryptomatte": bool(cryptomatte), "submit": bool(submit)}
        if frame_range:
            body["range"] = frame_range
        # The service reads every frame once to find the shot's cuts (~17 ms a 1080p frame,
        # more for 4K EXRs): longer than any other call.
        return self.call("POST", f"/v1/sessions/{sid}/farm", body, timeout=max(self.timeout, 900))

    def report(self, sid):
        """Where the session's mattes are weak: {frames: [first, last], objects: [{name,
        confidence: {"<frame>": c}, suggested: [frame, ...]}]} (as `track --report`)."""
        return self.call("GET", f"/v1/sessions/{sid}/report")

    def job(self, jid):
        """{job, session, state: running|done|cancelled|failed, done, total, output (the
        pattern), first, last, layers: [{object, name, layer}] (an object's matte is EXR
        channel `<layer>.A`), error?}."""
        return self.call("GET", "/v1/jobs/" + jid)

    def cancel(self, jid):
        return self.call("POST", f"/v1/jobs/{jid}/cancel")

    def events(self, jid):
        """The job's progress events as they come ({frame, done, total}, ..., then one with
        `state`); a generator reading the service's NDJSON stream."""
        with self._open("GET", f"/v1/jobs/{jid}/events", timeout=None) as resp:
            for line in resp:
                if line.strip():
                    event = json.loads(line.decode("utf-8"))
                    yield event
                    if "state" in event:
                        return

    def start_shapes(self, sid, output, fmt="json", tolerance=None, min_area=None):
        """Starts a job fitting roto shapes to the session's propagated mattes and writing them
        to `output` (`fmt`: json, nuke, fusion or blender-plan); {job, kind, total}. Follow it
        with `ShapesExport` (a thread) or `job()`."""
        body = {"output": output, "format": fmt}
        if tolerance is not None:
            body["tolerance"] = float(tolerance)
        if min_area is not None:
            body["min_area"] = float(min_area)
        return self.call("POST", f"/v1/sessions/{sid}/shapes", body)

    def start_composite(self, sid, output, background=None, foreground_only=False,
                        objects=None, decontaminate=None, fps=None):
        """Starts a job putting the session's propagated objects over `background` (#RRGGBB or
        a picture), or writing them alone (`foreground_only`, premultiplied RGBA), to `output`
        (.exr/.png/.tif pattern or a .mov: ProRes 4444); {job, kind, total}."""
        body = {"output": output}
        if foreground_only:
            body["foreground_only"] = True
        else:
            body["background"] = background
        if objects is not None:
            body["objects"] = list(objects)
        if decontaminate is not None:
            body["decontaminate"] = bool(decontaminate)
        if fps:
            body["fps"] = float(fps)
        return self.call("POST", f"/v1/sessions/{sid}/composite", body)

    def start_remove(self, sid, output, objects=None, grow=None, merge=False, foreground=None):
        """Starts a job writing the plate with the session's propagated objects removed to
        `output` (a frame pattern; `merge`: the clean plate as a layer of EXR copies);
        `foreground`: names of objects kept in front of the background (`remove
        --foreground`; the objects removed then default to the others); {job, kind, total}."""
        body = self._removal({"output": output, "merge": bool(merge)}, objects, foreground)
        if grow is not None:
            body["grow"] = int(grow)
        return self.call("POST", f"/v1/sessions/{sid}/remove", body)

    def send_removal_to_farm(self, sid, output, job, frames_per_task=None, submit=False,
                             foreground=None):
        """Writes the removal of the session's propagated objects to `output` (a frame
        pattern) as a farm job bundle in folder `job` (as `mattetrack remove --job`), and with
        `submit` hands it to `deadline bundle submit`; `foreground` as `start_remove`'s;
        {job_dir, tasks, frames, last_step, run, submitted, submit_error?, warnings}."""
        body = self._removal({"output": output, "job": job, "submit": bool(submit)}, None,
                             foreground)
        if frames_per_task is not None:
            body["frames_per_task"] = int(frames_per_task)
        return self.call("POST", f"/v1/sessions/{sid}/farm-remove", body)

    @staticmethod
    def _removal(body, objects, foreground):
        """A removal's body with its objects (None: the service's default, every object not in
        the foreground) and foreground."""
        if foreground:
            body["foreground"] = list(foreground)
        if objects is not None:
            body["objects"] = list(objects)
        return body

    def start_cuts(self, sid, output):
        """Starts a job writing the shot boundaries of the session's frames to `output` (.otio,
        .edl or .json); its end status has `cuts` and `shots`. {job, kind, total}."""
        return self.call("POST", f"/v1/sessions/{sid}/cuts", {"output": output})

    def wait_job(self, jid, timeout=None, poll=0.5, on_status=None):
        """Polls job `jid` until it ends (never on a host's UI thread); its end status.
        on_status(status) after each poll; ServiceError when `timeout` seconds pass."""
        started = time.monotonic()
        while True:
            status = self.job(jid)
            if on_status is not None:
                on_status(status)
            if status["state"] != "running":
                return status
            if timeout is not None and time.monotonic() - started > timeout:
                raise ServiceError(0, f"job {jid} still running after {timeout:g} s")
            time.sleep(poll)

    def export_shapes(self, sid, output, fmt="json", tolerance=None, min_area=None):
        """`start_shapes`, then waits for the job's end (call it on a thread, never a host's UI
        thread; `ShapesExport` follows it for a UI): {output, format, objects, shapes, frames,
        ...}; ServiceError if it failed or was cancelled."""
        run = ShapesExport(self, sid, output, fmt, tolerance, min_area)
        status = run.wait()
        if status["state"] != "done":
            raise ServiceError(0, status["error"] or f"shapes job {status['state']}")
        return status["result"]


def farm_job_folder(output):
    """Where a host puts a farm job bundle: `<output dir>/farm_job`, beside the mattes."""
    return os.path.join(os.path.dirname(output), "farm_job")


def farm_summary(reply):
    """One line for a host's status after Send to farm (the service's reply)."""
    text = (f"farm job: {reply['tasks']} task(s) over {reply['frames']} frame(s) in "
            f"{reply['job_dir']}; ")
    if reply.get("submitted"):
        return text + "submitted to Deadline Cloud"
    if reply.get("submit_error"):
        return text + "not submitted: " + reply["submit_error"]
    return text + "run it with " + reply["run"]


def _error_text(err):
    try:
        return json.loads(err.read().decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError):
        return f"HTTP {err.code} {err.reason}"


class _FollowedJob:
    """A service job followed on a background thread (`_follow`), so a host's UI thread only
    ever polls: `poll()` a snapshot of its status (a lock and a dict copy), `cancel()` asks the
    service to stop it, `wait()` blocks until the end (for scripts and tests)."""

    def __init__(self, client, job, status, thread_name):
        self.client = client
        self.job = job
        self._lock = threading.Lock()
        self._status = status
        self._thread = threading.Thread(target=self._follow, name=thread_name, daemon=True)
        self._thread.start()

    def poll(self):
        with self._lock:
            return dict(self._status)

    def cancel(self):
        # It may have finished meanwhile, or the service gone away: poll() tells.
        with contextlib.suppress(ServiceError):
            self.client.cancel(self.job)

    def wait(self, timeout=None):
        self._thread.join(timeout)
        return self.poll()

    def _update(self, **changes):
        with self._lock:
            self._status.update(changes)

    def _follow(self):
        raise NotImplementedError


class Propagation(_FollowedJob):
    """A propagation followed on a background thread, so a host's UI thread only ever polls.

    `poll()` returns a snapshot {state, done, total, frame, error, suggested}; suggested: once
    done, {object name: [frame, ...]} where a correction would help most, best first (the
    session's report; {} if it could not be read); `cancel()` asks the service to stop after
    the frame in progress; `wait()` blocks until the end (for scripts and tests).
    """

    def __init__(self, client, sid, output, frame_range=None, cryptomatte=False, window=None):
        self.sid = sid
        self.output = output
        started = client.propagate(sid, output, frame_range, cryptomatte, window)
        super().__init__(client, started["job"],
                         {"state": "running", "done": 0, "total": started["total"],
                          "frame": None, "error": None, "suggested": {}}, "mattetrack-follow")

    def _suggestions(self):
        """{object name: suggested frames} from the session's report ({} if unreadable)."""
        try:
            report = self.client.report(self.sid)
            return {o["name"]: list(o["suggested"]) for o in report["objects"]}
        except (ServiceError, OSError, ValueError, KeyError, TypeError):
            return {}

    def _follow(self):
        try:
            for event in self.client.events(self.job):
                if "state" in event:
                    done = event["state"] == "done"
                    # Suggestions first: a host that sees "done" finds them there.
                    self._update(suggested=self._suggestions() if done else {})
                    self._update(state=event["state"], done=event["done"],
                                 error=event.get("error"))
                    return
                self._update(done=event["done"], frame=event["frame"])
            broke = "the progress stream ended early"
        except (ServiceError, OSError, ValueError) as err:  # socket.timeout is an OSError
            broke = str(err)
        # The stream broke (a proxy, a timeout): follow the job's state by polling instead.
        while True:
            try:
                status = self.client.job(self.job)
            except ServiceError:
                self._update(state="failed", error=broke)
                return
            self._update(done=status["done"])
            if status["state"] != "running":
                if status["state"] == "done":
                    self._update(suggested=self._suggestions())
                self._update(state=status["state"], error=status.get("error"))
                return
            time.sleep(0.25)


class ShapesExport(_FollowedJob):
    """A shapes export followed on a background thread, like `Propagation`: `poll()` returns
    {state, stage ("outlines", then "fitting"), done, total, error, result}; result, once done:
    the job's status (output, format, objects, shapes, frames); `cancel()` stops it (nothing is
    written); `wait()` blocks until the end."""

    def __init__(self, client, sid, output, fmt="json", tolerance=None, min_area=None):
        started = client.start_shapes(sid, output, fmt, tolerance, min_area)
        super().__init__(client, started["job"],
                         {"state": "running", "stage": "outlines", "done": 0,
                          "total": started["total"], "error": None, "result": None},
                         "mattetrack-shapes")

    def _follow(self):
        # Polls the job's status (short calls; a fit may sit on one stage for a while).
        while True:
            try:
                status = self.client.job(self.job)
            except ServiceError as err:
                self._update(state="failed", error=str(err))
                return
            self._update(stage=status.get("stage", "fitting"), done=status["done"],
                         total=status["total"])
            if status["state"] != "running":
                self._update(state=status["state"], error=status.get("error"),
                             result=status if status["state"] == "done" else None)
                return
            time.sleep(0.2)
