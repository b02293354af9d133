"""A farm worker's engine, loaded once per worker session and used by every task it runs.

OpenJD runs a job's tasks on a worker inside a session; the bundle's step environment starts
this worker when the session begins (`mattetrack farm-worker start`, its onEnter) and stops it
when it ends (onExit). The worker is a process of its own (its own process session, so the
environment's action can return) listening on a Unix socket in the session's working folder.
Each task (`mattetrack farm-run`) sends it the `track` arguments, and the worker runs them
in-process with the engine it loaded at the first task, streaming the task's output lines back
(the farm reads `openjd_progress:` and `openjd_status:` from them) and then its exit status.
Where no worker answers (Windows, a worker that died), a task runs in its own process.

Messages: one JSON line each way per request ({"argv": [...]} in; {"out": "line"} ... then
{"rc": N} back; {"stop": true} ends the worker).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

START_TIMEOUT_S = 60.0


class _LineSender(io.TextIOBase):
    """A text stream whose complete lines go to the client as {"out": line} messages."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.partial += text
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            _send(self.conn, {"out": line})
        return len(text)

    def flush(self) -> None:
        pass

    def close_line(self) -> None:
        if self.partial:
            _send(self.conn, {"out": self.partial})
            self.partial = ""


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


def serve(path: str, run: Callable[[list[str]], int]) -> None:
    """Answer requests on the Unix socket `path` until told to stop: run(argv) for each, its
    printed lines streamed back, then its status."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound under another name and renamed once listening: `path` appearing is what clients
    # (`start`, `request`) wait for, and a connect between bind and listen is refused.
    # (A short name beside it: a Unix socket's path is limited to about 100 bytes.)
    binding = os.path.join(os.path.dirname(path), f".w{os.getpid()}")
    server.bind(binding)
    server.listen(4)
    os.replace(binding, path)
    try:
        while True:
            conn, _ = server.accept()
            with conn, conn.makefile("r", encoding="utf-8") as lines:
                request = json.loads(lines.readline() or "{}")
                if request.get("stop"):
                    _send(conn, {"rc": 0})
                    return
                out = _LineSender(conn)
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    try:
                        rc = run(list(request.get("argv", [])))
                    except SystemExit as err:  # argparse's refusal: its status
                        rc = err.code if isinstance(err.code, int) else 2
                    except Exception as err:  # a task's failure is its status, not ours
                        print(f"mattetrack: error: {err}")
                        rc = 1
                out.close_line()
                _send(conn, {"rc": rc})
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def request(path: str, message: dict, on_line: Callable[[str], None]) -> int | None:
    """Send `message` to the worker at `path`; each output line to `on_line`; its status, or
    None when no worker answers there."""
    if not hasattr(socket, "AF_UNIX") or not os.path.exists(path):
        return None
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return None
    with conn, conn.makefile("r", encoding="utf-8") as lines:
        _send(conn, message)
        for line in lines:
            reply = json.loads(line)
            if "rc" in reply:
                return int(reply["rc"])
            on_line(reply["out"])
    return 1  # the worker went away mid-task


def start(path: str, command: Sequence[str]) -> None:
    """Start `command` (which serves on `path`) in a process session of its own and wait until
    it answers; an OSError if it does not within START_TIMEOUT_S."""
    log = open(path + ".log", "ab")  # noqa: SIM115 -- the child's, kept open by it
    proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise OSError(f"{path}: the worker exited {proc.returncode} (see {path}.log)")
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise OSError(f"{path}: the worker did not start within {START_TIMEOUT_S:.0f} s")


def stop(path: str) -> bool:
    """Ask the worker at `path` to end; whether one was there."""
    return request(path, {"stop": True}, lambda line: None) is not None


def default_socket(folder: str) -> str:
    """The worker's socket in the session's working folder."""
    return os.path.join(folder, "mattetrack-worker.sock")


def relay(line: str) -> None:
    print(line, flush=True)


def python_command() -> list[str]:
    """How to run this MatteTrack again: this interpreter, as `python -m mattetrack`."""
    return [sys.executable, "-m", "mattetrack"]
