"""`MatteTrack.py` (host_adapters/resolve) importing, against a real service and a stand-in of the
Resolve scripting API: after a propagation through the service on the test plate, the mattes
come into the "MatteTrack" bin as one sequence (exactly the frames written) and are attached as
clip mattes or laid on the track above the clip; refusals are one line and import nothing."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import resolve_standin as rs
from service_harness import FIRST, N_FRAMES

HOST_ADAPTERS = Path(__file__).resolve().parents[3] / "host_adapters"
sys.path[:0] = [str(HOST_ADAPTERS / "resolve"), str(HOST_ADAPTERS / "client")]
from mattetrack_resolve import actions, host  # noqa: E402

LAST = FIRST + N_FRAMES - 1
IMPORTS = "MediaPool.ImportMedia"
MATTES = "MediaStorage.AddClipMattesToMediaPool"
APPENDS = "MediaPool.AppendToTimeline"


@pytest.fixture
def service_env(server, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "token").write_text(server[1])
    monkeypatch.setenv("MATTETRACK_URL", server[0])
    monkeypatch.setenv("MATTETRACK_CONFIG", str(config))
    monkeypatch.delenv("MATTETRACK_RESOLVE_ACTION", raising=False)


def plate_clip(plate: str):
    return lambda resolve: rs.sequence_item(resolve, plate.replace("####", "%04d"), FIRST, LAST)


def matte_bin(resolve):
    [folder] = [f for f in resolve.project.media_pool.root.GetSubFolderList()
                if f.GetName() == "MatteTrack"]
    return folder


def test_import_script_attaches_clip_mattes(propagated, service_env, plate, tmp_path, capsys,
                                            monkeypatch):
    _, output, _ = propagated
    monkeypatch.setenv("MATTETRACK_RESOLVE_ACTION", "clip-matte")
    resolve = rs.with_clip(plate_clip(plate))
    utility = tmp_path / "Fusion" / "Scripts" / "Utility"
    utility.mkdir(parents=True)
    entry = utility / "MatteTrack.py"
    entry.symlink_to(HOST_ADAPTERS / "resolve" / "MatteTrack.py")
    runpy.run_path(str(entry), {"resolve": resolve})

    printf = output.replace("####", "%04d")
    assert resolve.called(IMPORTS) == [([{"FilePath": printf, "StartIndex": FIRST,
                                          "EndIndex": LAST}],)]
    [clip] = matte_bin(resolve).GetClipList()
    assert clip.GetClipProperty("File Path") == output.replace("####", f"[{FIRST}-{LAST}]")
    assert clip.GetClipProperty("Frames") == str(N_FRAMES)
    # The artist's current bin is left as it was.
    assert resolve.project.media_pool.GetCurrentFolder() is resolve.project.media_pool.root
    media = resolve.project.timeline.current.GetMediaPoolItem()
    paths = [output.replace("####", f"{f:04d}") for f in range(FIRST, LAST + 1)]
    assert resolve.called(MATTES) == [(media, paths)]
    assert resolve.project.media_pool.GetClipMatteList(media) == paths
    assert resolve.called(APPENDS) == []
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "clip mattes" in out

    # A second import reuses the bin.
    actions.import_mattes(resolve, mode="clip-matte")
    assert len(resolve.called("MediaPool.AddSubFolder")) == 1
    assert len(matte_bin(resolve).GetClipList()) == 2


@pytest.mark.parametrize(("convention", "legacy"), [("absolute", False), ("offset", True)])
def test_track_mode_adds_a_track_and_lines_up_with_the_clip(propagated, service_env, plate,
                                                            monkeypatch, convention, legacy):
    monkeypatch.setenv("MATTETRACK_RESOLVE_ACTION", "track")
    resolve = rs.with_clip(plate_clip(plate), record_offset=37, offset=1, count=5,
                           convention=convention, legacy=legacy)
    item = resolve.project.timeline.current
    summary = actions.run(namespace={"resolve": resolve})  # the action from the environment
    assert summary["mode"] == "track" and summary["frames"] == [FIRST, LAST]
    assert resolve.called("Timeline.AddTrack") == [("video",)]
    [(infos,)] = resolve.called(APPENDS)
    [info] = infos
    assert info["trackIndex"] == 2 and info["recordFrame"] == item.GetStart()
    assert info["mediaPoolItem"] is matte_bin(resolve).GetClipList()[0]
    [laid] = resolve.project.timeline.GetItemListInTrack("video", 2)
    assert laid.GetStart() == item.GetStart() and laid.GetDuration() == 5
    assert laid.file_frames() == item.file_frames() == (FIRST + 1, FIRST + 5)
    assert resolve.called(MATTES) == []


@pytest.mark.parametrize(("above", "track", "adds"), [
    ("free", 2, 0),  # an empty track above: used as it is
    ("taken", 3, 1),  # something there over the clip's frames: a new track
    ("elsewhere", 2, 0),  # something there, but after the clip
])
def test_track_mode_picks_a_free_track(propagated, service_env, plate, above, track, adds):
    resolve = rs.with_clip(plate_clip(plate), record_offset=0, offset=0, count=N_FRAMES,
                           tracks=2)
    timeline = resolve.project.timeline
    other = rs.movie_item(resolve, "/elsewhere/other.mov", 500)
    if above == "taken":
        timeline.place(other, 2, timeline.start + 3, 0, 100)
    elif above == "elsewhere":
        timeline.place(other, 2, timeline.start + N_FRAMES, 0, 100)
    summary = actions.import_mattes(resolve, mode="track")
    assert summary["track"] == track and len(resolve.called("Timeline.AddTrack")) == adds
    assert summary["item"].file_frames() == (FIRST, LAST)


def test_no_session_on_the_plate_imports_nothing(propagated, service_env, service_root,
                                                 capsys):
    other = str(service_root[0] / "elsewhere" / "shot.%04d.exr")
    resolve = rs.with_clip(lambda r: rs.sequence_item(r, other, 1, 50))
    assert actions.run("clip-matte", {"resolve": resolve}) is None
    out = capsys.readouterr().out
    assert out == (f"MatteTrack: no MatteTrack session on {other.replace('%04d', '####')}; "
                   "run MatteTrack and choose Open in browser first\n")
    assert resolve.calls == []


class FakeClient:
    """A service with one session on `plate` whose last job is in `state`."""

    def __init__(self, plate, state, job="j1", error=None):
        self.plate, self.state, self.jid, self.error = plate, state, job, error

    def sessions(self):
        return [{"session": "s1", "plate": self.plate, "frames": [FIRST, LAST], "objects": [],
                 "job": self.jid}]

    def job(self, jid):
        status = {"job": jid, "session": "s1", "state": self.state, "done": 3,
                  "total": N_FRAMES, "output": "/nowhere/m.####.exr"}
        if self.error:
            status["error"] = self.error
        return status

    def events(self, jid):
        raise AssertionError("a job that is not done has nothing to import")


@pytest.mark.parametrize(("state", "job", "error", "says"), [
    ("running", "j1", None, "is still running (3/8 frames); import when it is done"),
    ("failed", "j1", "frame 1004: disk full", "failed: frame 1004: disk full; nothing imported"),
    ("cancelled", "j1", None, "cancelled; nothing imported"),
    ("done", None, None, "has not propagated yet; propagate in the browser first"),
])
def test_unfinished_job_imports_nothing(plate, state, job, error, says):
    resolve = rs.with_clip(plate_clip(plate))
    with pytest.raises(actions.AdapterError) as err:
        actions.import_mattes(resolve, FakeClient(plate, state, job, error), mode="track")
    message = str(err.value)
    assert message.startswith("MatteTrack: ") and message.endswith(says)
    assert "\n" not in message
    assert resolve.calls == []


class FakeDispatcher:
    """Fusion's UIManager dispatcher, enough for host.py's windows: RunLoop 'presses' the
    control named `press` (its Clicked handler, or the window's Close)."""

    def __init__(self, press, ticked=(), typed=""):
        self.press, self.handlers, self.shown, self.ticked = press, {}, [], set(ticked)
        self.typed = typed

    def AddWindow(self, props, layout):  # Fusion's method names
        dispatcher = self

        class Events:
            def __getattr__(self, control):
                return dispatcher.handlers.setdefault(control, SimpleNamespace())

        self.shown.append(props["ID"])
        return SimpleNamespace(On=Events(), Show=lambda: None, Hide=lambda: None,
                               Find=lambda i: SimpleNamespace(Checked=i in self.ticked,
                                                              Text=self.typed))

    def RunLoop(self):
        slot = self.handlers[self.press]
        (getattr(slot, "Clicked", None) or slot.Close)(None)

    def ExitLoop(self):
        pass


def fusion_ui(press, ticked=(), typed=""):
    ui = SimpleNamespace(**{n: (lambda *a, **k: a) for n in ("VGroup", "HGroup", "Label",
                                                               "Button", "CheckBox",
                                                               "LineEdit")})
    dispatcher = FakeDispatcher(press, ticked, typed)
    return {"fusion": SimpleNamespace(UIManager=ui),
            "bmd": SimpleNamespace(UIDispatcher=lambda ui: dispatcher)}, dispatcher


@pytest.mark.parametrize(("env", "press", "want"), [
    (None, "Open", "open"),
    (None, "ClipMatte", "clip-matte"),
    (None, "Track", "track"),
    (None, "MatteTrackAction", None),  # the window closed: do nothing
    ("track", "ClipMatte", "track"),  # the environment decides, no window
    (" Clip-Matte ", "Open", "clip-matte"),  # case and spaces do not matter
    ("open", "Track", "open"),
    ("import", "Track", "track"),  # an unknown value is ignored: the window asks
])
def test_ask_action(monkeypatch, env, press, want):
    if env is None:
        monkeypatch.delenv("MATTETRACK_RESOLVE_ACTION", raising=False)
    else:
        monkeypatch.setenv("MATTETRACK_RESOLVE_ACTION", env)
    namespace, dispatcher = fusion_ui(press)
    assert host.ask_action(namespace) == want
    asked = host.env_action() is None
    assert dispatcher.shown == (["MatteTrackAction"] if asked else [])


@pytest.mark.parametrize(("env", "want"), [
    (None, "open"), ("", "open"), ("bogus", "open"), ("track", "track"),
    ("clip-matte", "clip-matte"), ("OPEN", "open")])
def test_ask_action_without_a_ui(monkeypatch, env, want):
    """No UIManager (the stand-in, external scripting): the environment, else "open"."""
    if env is None:
        monkeypatch.delenv("MATTETRACK_RESOLVE_ACTION", raising=False)
    else:
        monkeypatch.setenv("MATTETRACK_RESOLVE_ACTION", env)
    assert host.ask_action({}) == want
    assert host.ask_action({"resolve": rs.with_clip(plate_clip("/s/p.####.exr"))}) == want


@pytest.mark.parametrize(("env", "press", "ticked", "want"), [
    (None, "OK", {"InFront1"}, ("actor",)),
    (None, "OK", {"InFront0", "InFront1"}, ("boom", "actor")),
    (None, "OK", set(), ()),
    (None, "MatteTrackInFront", {"InFront1"}, None),  # the window closed: do nothing
    ("actor", "OK", set(), ("actor",)),  # the environment decides, no window
    (" none ", "OK", {"InFront0"}, ()),
    ("", "OK", {"InFront0"}, ()),
])
def test_ask_in_front(monkeypatch, env, press, ticked, want):
    """Clean plate asks which objects stay in front (kept, and kept out of the fill)."""
    if env is None:
        monkeypatch.delenv("MATTETRACK_RESOLVE_IN_FRONT", raising=False)
    else:
        monkeypatch.setenv("MATTETRACK_RESOLVE_IN_FRONT", env)
    namespace, dispatcher = fusion_ui(press, ticked)
    assert host.ask_in_front(["boom", "actor"], namespace) == want
    assert dispatcher.shown == (["MatteTrackInFront"] if env is None else [])


@pytest.mark.parametrize(("press", "typed", "want"), [
    ("OK", " #00ff00 ", "#00ff00"),
    ("OK", "", host.DEFAULT_BACKGROUND),
    ("MatteTrackBackground", "#00ff00", None),  # the window closed: do nothing
])
def test_ask_background(monkeypatch, press, typed, want):
    monkeypatch.delenv("MATTETRACK_RESOLVE_BACKGROUND", raising=False)
    namespace, dispatcher = fusion_ui(press, typed=typed)
    assert host.ask_background(namespace) == want
    assert dispatcher.shown == ["MatteTrackBackground"]
    assert host.ask_background({}) == host.DEFAULT_BACKGROUND  # no UI


def test_one_object_is_removed_without_asking(monkeypatch):
    monkeypatch.delenv("MATTETRACK_RESOLVE_IN_FRONT", raising=False)
    namespace, dispatcher = fusion_ui("OK", {"InFront0"})
    assert host.ask_in_front(["boom"], namespace) == ()
    assert host.ask_in_front(["boom", "actor"], {}) == ()  # no UI: none in front
    assert dispatcher.shown == []


def test_closing_the_window_does_nothing(monkeypatch, plate, capsys):
    monkeypatch.delenv("MATTETRACK_RESOLVE_ACTION", raising=False)
    resolve = rs.with_clip(plate_clip(plate))
    namespace, dispatcher = fusion_ui("MatteTrackAction")
    assert actions.run(namespace={"resolve": resolve, **namespace}) is None
    assert dispatcher.shown == ["MatteTrackAction"]
    assert resolve.calls == [] and capsys.readouterr().out == ""


def test_unknown_action_is_one_line(plate, capsys):
    resolve = rs.with_clip(plate_clip(plate))
    assert actions.run("import", {"resolve": resolve}) is None
    assert capsys.readouterr().out == ("MatteTrack: unknown action 'import' (use open, "
                                       "clip-matte, track, composite, foreground, clean, cuts)\n")
    assert resolve.calls == []


def test_messages_show_in_a_window_too(capsys):
    namespace, dispatcher = fusion_ui("OK")
    host.show_message("MatteTrack: hello", namespace)
    assert capsys.readouterr().out == "MatteTrack: hello\n"
    assert dispatcher.shown == ["MatteTrackMessage"]
