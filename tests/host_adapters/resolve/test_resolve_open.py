"""`MatteTrack.py` (host_adapters/resolve) choosing "open" (the default without a UI), run as
Resolve runs it, from a symlink in a Scripts folder with `resolve` as a global (a stand-in),
against a real service: the browser UI's address it opens, and its one-line messages when it
cannot."""

from __future__ import annotations

import runpy
import sys
import urllib.parse
import webbrowser
from pathlib import Path

import pytest
import resolve_standin as rs

HOST_ADAPTERS = Path(__file__).resolve().parents[3] / "host_adapters"
sys.path[:0] = [str(HOST_ADAPTERS / "resolve"), str(HOST_ADAPTERS / "client")]
from mattetrack_resolve import actions  # noqa: E402


def script(tmp_path: Path, name: str = "MatteTrack.py") -> Path:
    """The entry script as installed: a symlink in <support>/Fusion/Scripts/Utility."""
    utility = tmp_path / "Fusion" / "Scripts" / "Utility"
    utility.mkdir(parents=True, exist_ok=True)
    link = utility / name
    if not link.exists():
        link.symlink_to(HOST_ADAPTERS / "resolve" / name)
    return link


@pytest.fixture
def service_env(server, tmp_path, monkeypatch):
    """$MATTETRACK_URL and a token file in $MATTETRACK_CONFIG for the `server` fixture."""
    url, token = server
    config = tmp_path / "config"
    config.mkdir()
    (config / "token").write_text(token + "\n")
    monkeypatch.setenv("MATTETRACK_URL", url)
    monkeypatch.setenv("MATTETRACK_CONFIG", str(config))
    monkeypatch.delenv("MATTETRACK_RESOLVE_ACTION", raising=False)  # no UI: "open"
    return url, token


@pytest.fixture
def opened(monkeypatch):
    """webbrowser.open, recorded instead of opening a browser."""
    urls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: urls.append(url) or True)
    return urls


def plate_clip(plate: str):
    """A media pool clip for the test plate (1001-1008) as Resolve lists it."""
    return lambda resolve: rs.sequence_item(resolve, plate.replace("####", "%04d"), 1001, 1008)


def fragment(url: str) -> dict[str, str]:
    head, _, frag = url.partition("#")
    parsed = urllib.parse.parse_qs(frag, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values())
    return {"head": head, **{k: v[0] for k, v in parsed.items()}}


@pytest.mark.parametrize("convention", ["absolute", "offset"])
def test_open_script_opens_the_ui_on_the_item(service_env, opened, plate, tmp_path, capsys,
                                              convention):
    url, token = service_env
    resolve = rs.with_clip(plate_clip(plate), offset=1, count=5, convention=convention)
    runpy.run_path(str(script(tmp_path)), {"resolve": resolve})
    assert len(opened) == 1
    got = fragment(opened[0])
    root = Path(plate).parent
    assert got == {"head": url + "/ui/", "token": token, "plate": plate, "range": "1002-1006",
                   "output": str(root / "mattetrack" / "plate_matte.####.exr")}
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "1002-1006" in out and "Traceback" not in out


def test_open_a_movie_keeps_its_path_and_zero_based_frames(service_env, opened, tmp_path):
    movie = str(tmp_path / "shots" / "A001 C002.mov")
    resolve = rs.with_clip(lambda r: rs.movie_item(r, movie, 240), offset=24, count=48)
    got = fragment(actions.open_ui(resolve))
    assert got["plate"] == movie and got["range"] == "24-71"
    assert got["output"] == str(tmp_path / "shots" / "mattetrack" / "A001_C002_matte.####.exr")


def test_service_down_is_one_line_and_opens_nothing(server, service_env, opened, plate,
                                                    tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MATTETRACK_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    resolve = rs.with_clip(plate_clip(plate))
    runpy.run_path(str(script(tmp_path)), {"resolve": resolve})
    captured = capsys.readouterr()
    assert opened == []
    lines = captured.out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("MatteTrack: ")
    assert "not reachable" in lines[0] and "mattetrack serve" in lines[0]
    assert "Traceback" not in captured.out + captured.err


def test_missing_token_is_one_line(service_env, opened, plate, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MATTETRACK_CONFIG", str(tmp_path / "nowhere"))
    actions.run("open", {"resolve": rs.with_clip(plate_clip(plate))})
    out = capsys.readouterr().out
    assert opened == [] and out.count("\n") == 1 and "token" in out


def test_no_clip_under_the_playhead(service_env, opened, plate, capsys):
    resolve = rs.with_clip(plate_clip(plate))
    resolve.project.timeline.current = None
    actions.run("open", {"resolve": resolve})
    assert opened == []
    assert capsys.readouterr().out == \
        "MatteTrack: no video clip under the playhead; park on the clip\n"


def test_script_finds_the_adapters_through_the_environment(service_env, opened, plate,
                                                           tmp_path, monkeypatch):
    """A copied (not linked) script finds host_adapters through $MATTETRACK_ADAPTERS."""
    utility = tmp_path / "Utility"
    utility.mkdir()
    copy = utility / "MatteTrack.py"
    copy.write_bytes((HOST_ADAPTERS / "resolve" / "MatteTrack.py").read_bytes())
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not p.startswith(str(HOST_ADAPTERS))])
    monkeypatch.delenv("MATTETRACK_ADAPTERS", raising=False)
    resolve = rs.with_clip(plate_clip(plate))
    runpy.run_path(str(copy), {"resolve": resolve})
    assert opened == []  # not found: a message, nothing opened
    monkeypatch.setenv("MATTETRACK_ADAPTERS", str(HOST_ADAPTERS))
    runpy.run_path(str(copy), {"resolve": resolve})
    assert len(opened) == 1 and str(HOST_ADAPTERS / "client") in sys.path
