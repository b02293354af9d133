"""One writer per output: a second `mattetrack track` (or a service job) on outputs another run
is writing is refused in one line (exit 2, or 409 from the service) and writes nothing; the
lock of a run that is gone is taken over."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mattetrack import cli
from mattetrack.export.outputlock import lock_path

N_FRAMES = 30


@pytest.fixture(scope="module")
def shot(png_plate) -> Path:
    return png_plate(N_FRAMES, 480, 270, seed=4)


def _args(plate: Path, out: str) -> list[str]:
    return ["track", str(plate / "p.####.png"), "-o", out, "--mask",
            f"1001:{plate / 'mask.png'}", "-q"]


def _fake_lock(pattern: str, pid: int, host: str | None = None) -> Path:
    path = lock_path(pattern)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid,
                                "started": time.time()}))
    return path


def test_a_second_run_on_the_same_outputs_is_refused(shot, tmp_path):
    plate = shot
    out = str(tmp_path / "out" / "m.####.exr")
    first = subprocess.Popen([sys.executable, "-m", "mattetrack", *_args(plate, out)],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not lock_path(out).exists():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    second = subprocess.run([sys.executable, "-m", "mattetrack", *_args(plate, out)],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert f"another mattetrack run (pid {first.pid} on" in second.stderr
    assert first.wait(120) == 0, first.stderr.read()
    assert not lock_path(out).exists()  # released at the end
    assert len(list((tmp_path / "out").glob("m.*.exr"))) == N_FRAMES


def test_a_live_lock_is_respected_and_a_dead_one_taken_over(shot, tmp_path, capsys):
    plate = shot
    out = str(tmp_path / "out" / "m.####.png")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _fake_lock(out, sleeper.pid)
        assert cli.main(_args(plate, out)) == 2
        assert f"pid {sleeper.pid}" in capsys.readouterr().err
        assert not list((tmp_path / "out").glob("m.*.png"))  # nothing written
        _fake_lock(out, sleeper.pid, host="another-host.example")  # a farm node's: respected
        assert cli.main(_args(plate, out)) == 2
    finally:
        sleeper.kill()
        sleeper.wait()
    _fake_lock(out, sleeper.pid)  # its process is gone: a killed run's lock
    assert cli.main(_args(plate, out)) == 0
    assert not lock_path(out).exists()
    lock_path(out).write_text("{half a lo")  # unreadable: a writer killed mid-write
    assert cli.main(_args(plate, out)) == 0


def test_the_service_answers_409_while_another_run_writes_the_output(client, plate,
                                                                    service_root):
    from mattetrack.synthetic import click_point

    root, truth = service_root
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": 1001, "points": [list(click_point(truth[0]))]})
    out = str(root / "locked" / "m.####.exr")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _fake_lock(out, sleeper.pid)
        status, body = client.call("POST", f"/v1/sessions/{sid}/propagate", {"output": out})
        assert status == 409 and f"pid {sleeper.pid}" in body["error"], body
    finally:
        sleeper.kill()
        sleeper.wait()
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": out}, 202)["job"]
    deadline = time.monotonic() + 120
    while client.ok("GET", f"/v1/jobs/{job}")["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.ok("GET", f"/v1/jobs/{job}")["state"] == "done"
    assert not lock_path(out).exists()
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_two_runs_never_share_a_store(shot, tmp_path, capsys):
    store = tmp_path / "store"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.mkdir()
        (store / ".mattetrack-lock").write_text(json.dumps(
            {"host": socket.gethostname(), "pid": sleeper.pid, "started": time.time()}))
        args = [*_args(shot, str(tmp_path / "a" / "m.####.png")), "--store", str(store)]
        assert cli.main(args) == 2
        err = capsys.readouterr().err
        assert f"pid {sleeper.pid}" in err and "is using this store" in err and "--store" in err
    finally:
        sleeper.kill()
        sleeper.wait()
    assert cli.main(args) == 0  # its process gone: taken over, and released at the end
    assert not (store / ".mattetrack-lock").exists()


def test_runs_over_parts_of_a_shot_lock_their_frames_only(tmp_path):
    """A farm job's tasks (`track --frames A-B`) write the same pattern side by side: disjoint
    ranges coexist; an overlapping range, or a whole run, is refused while one is held, and a
    range is refused while a whole run holds the pattern."""
    from mattetrack.errors import InputError
    from mattetrack.export.outputlock import OutputLock

    out = str(tmp_path / "m.####.exr")
    with OutputLock(out, frames=(1001, 1010)), OutputLock(out, frames=(1011, 1020)):
        assert lock_path(out, (1001, 1010)).exists() and not lock_path(out).exists()
        for frames in ((1005, 1015), (1020, 1030), None):
            with pytest.raises(InputError, match="another mattetrack run") as err:
                OutputLock(out, frames=frames).acquire()
            assert ".mattetrack-lock" in str(err.value)
            # The refused run leaves no lock of its own behind.
            assert not lock_path(out, frames).exists() or frames == (1001, 1010)
        assert OutputLock(out).holder() is not None  # the service's check sees a task
    assert not list(tmp_path.iterdir())
    with OutputLock(out):
        with pytest.raises(InputError, match="another mattetrack run"):
            OutputLock(out, frames=(1001, 1010)).acquire()
        assert not lock_path(out, (1001, 1010)).exists()
    # A range lock whose run is gone is taken over, as a whole one is.
    gone = lock_path(out, (1001, 1010))
    gone.write_text(json.dumps({"host": socket.gethostname(), "pid": 2**22 + 7,
                                "started": time.time()}))
    with OutputLock(out):
        pass
    with OutputLock(out, frames=(1001, 1010)):
        pass
    assert not list(tmp_path.iterdir())


def test_another_hosts_lock_is_taken_over_once_it_stops_beating(shot, tmp_path, monkeypatch):
    """A farm node that died mid-task leaves its lock; its process cannot be looked at from
    here, but a live holder touches its lock every HEARTBEAT_S: one untouched for STALE_S is
    taken over (the farm's retry on another worker runs), a touched one is respected."""
    import os

    from mattetrack.errors import InputError
    from mattetrack.export import outputlock
    from mattetrack.export.outputlock import OutputLock

    out = str(tmp_path / "out" / "m.####.png")
    lock = _fake_lock(out, 4242, host="another-host.example")
    assert cli.main(_args(shot, out)) == 2  # just touched: a live node's run
    old = time.time() - outputlock.STALE_S - 5
    os.utime(lock, (old, old))
    assert cli.main(_args(shot, out)) == 0  # untouched too long: its node died
    assert not lock.exists()
    # The holder's heartbeat (made quick here): its lock keeps being touched while held.
    monkeypatch.setattr(outputlock, "HEARTBEAT_S", 0.02)
    with OutputLock(out, frames=(1001, 1010)) as held:
        os.utime(held.path, (old, old))
        deadline = time.monotonic() + 5
        while held.path.stat().st_mtime < time.time() - 60:
            assert time.monotonic() < deadline, "the lock was not touched"
            time.sleep(0.01)
        # and a second run is refused while it is held.
        with pytest.raises(InputError, match="another mattetrack run"):
            OutputLock(out).acquire()
    assert not held.path.exists()
