"""The farm worker's socket protocol: a task's output lines come back as it prints them, then
its status (an argparse refusal's too); a stop ends the worker; no worker is `None`."""

from __future__ import annotations

import sys
import threading

from mattetrack.farm import worker


def test_requests_stream_lines_and_statuses_then_stop(tmp_path):
    path = str(tmp_path / "w.sock")
    calls = []

    def run(argv: list[str]) -> int:
        calls.append(argv)
        if argv == ["refuse"]:
            raise SystemExit(2)
        if argv == ["fail"]:
            raise RuntimeError("broken")
        print("openjd_progress: 50.0")
        print("no newline at the end", end="")
        print("to stderr", file=sys.stderr)
        return 3

    thread = threading.Thread(target=worker.serve, args=(path, run), daemon=True)
    thread.start()
    for _ in range(200):
        if (tmp_path / "w.sock").exists():
            break
        thread.join(0.01)
    lines: list[str] = []
    assert worker.request(path, {"argv": ["track", "x"]}, lines.append) == 3
    assert lines == ["openjd_progress: 50.0", "no newline at the endto stderr"]
    assert worker.request(path, {"argv": ["refuse"]}, lines.append) == 2
    errors: list[str] = []
    assert worker.request(path, {"argv": ["fail"]}, errors.append) == 1
    assert errors == ["mattetrack: error: broken"]
    assert calls == [["track", "x"], ["refuse"], ["fail"]]
    assert worker.stop(path)
    thread.join(5)
    assert not thread.is_alive() and not (tmp_path / "w.sock").exists()
    assert worker.request(path, {"argv": []}, lines.append) is None  # nobody there
    assert not worker.stop(path)
