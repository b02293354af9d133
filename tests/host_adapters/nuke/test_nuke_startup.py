"""Nuke's entry files (host_adapters/nuke/init.py and menu.py) with the stand-in: init.py only
adds the client's folder to the plug-in path, menu.py adds the commands, and neither ever
raises: not without the client, not without a working `nuke`."""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import nuke_standin
import pytest

REPO = Path(__file__).resolve().parents[3]
ADAPTER = REPO / "host_adapters" / "nuke"
CLIENT = REPO / "host_adapters" / "client"


@pytest.fixture
def adapter_on_path(monkeypatch):
    """Runs an adapter folder's entry file as Nuke does: the folder first on sys.path, the
    `mattetrack_nuke` package imported afresh from it."""

    def run(folder: Path, entry: str, nuke) -> None:
        monkeypatch.syspath_prepend(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "mattetrack_nuke"]:
            monkeypatch.delitem(sys.modules, name)
        if nuke is None:
            monkeypatch.delitem(sys.modules, "nuke", raising=False)
        else:
            monkeypatch.setitem(sys.modules, "nuke", nuke)
        runpy.run_path(str(folder / entry), run_name="__main__")

    yield run
    for name in [m for m in sys.modules if m.split(".")[0] == "mattetrack_nuke"]:
        del sys.modules[name]  # the next test imports the real tree again


def test_init_adds_the_client_folder(adapter_on_path, monkeypatch):
    monkeypatch.delenv("MATTETRACK_CLIENT_PATH", raising=False)
    nuke = nuke_standin.make()
    adapter_on_path(ADAPTER, "init.py", nuke)
    assert nuke.plugin_paths == [str(CLIENT.resolve())]
    assert nuke.menus == {} and nuke.created == []  # render-safe: no UI, no nodes
    # Already there (a second init, or the site's own init.py): not added again.
    adapter_on_path(ADAPTER, "init.py", nuke)
    assert nuke.plugin_paths == [str(CLIENT.resolve())]


def test_init_follows_an_install_elsewhere_and_never_raises(adapter_on_path, monkeypatch,
                                                            tmp_path, capsys):
    # An install that copied the adapter alone: no client beside it.
    copy = tmp_path / "nuke_plugins" / "mattetrack"
    shutil.copytree(ADAPTER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.delenv("MATTETRACK_CLIENT_PATH", raising=False)
    nuke = nuke_standin.make()
    adapter_on_path(copy, "init.py", nuke)
    assert nuke.plugin_paths == []
    # ... told where the client is.
    elsewhere = tmp_path / "site" / "client"
    elsewhere.mkdir(parents=True)
    shutil.copy(CLIENT / "mattetrack_client.py", elsewhere)
    monkeypatch.setenv("MATTETRACK_CLIENT_PATH", str(elsewhere))
    adapter_on_path(copy, "init.py", nuke)
    assert nuke.plugin_paths == [str(elsewhere.resolve())]
    # No usable `nuke` at all (a broken install): printed, not raised.
    adapter_on_path(copy, "init.py", None)
    broken = nuke_standin.make()
    broken.pluginAddPath = None  # calling it raises TypeError
    adapter_on_path(copy, "init.py", broken)
    assert "Traceback" in capsys.readouterr().err


def test_menu_adds_the_commands(adapter_on_path, plate, monkeypatch):
    monkeypatch.syspath_prepend(str(CLIENT))
    nuke = nuke_standin.make()
    adapter_on_path(ADAPTER, "menu.py", nuke)
    commands = nuke.menus["Nuke"].commands
    assert set(commands) == {"MatteTrack/MatteTrack", "MatteTrack/Import Roto Shapes..."}
    command, shortcut = commands["MatteTrack/MatteTrack"]
    assert shortcut == "ctrl+alt+m"
    assert "MatteTrack" in nuke.menus["Nodes"].menus["MatteTrack"].commands
    read = nuke.nodes.Read(file=plate, first=1001, last=1008)
    read._format = nuke_standin.Format(320, 180)
    read.setSelected(True)
    node = command()
    assert node.Class() == "NoOp" and node.input(0) is read and node.panel_shown
    assert "Add +" in node["mt_add_positive"].label()


def test_menu_never_raises(adapter_on_path, tmp_path, capsys, monkeypatch):
    copy = tmp_path / "adapter"
    shutil.copytree(ADAPTER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # Only the copy: other tests put the real adapter folder on sys.path.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p).resolve() != ADAPTER])
    broken = nuke_standin.make()
    broken.menu = None
    for nuke in (None, broken):  # no nuke; a nuke whose menu() fails
        adapter_on_path(copy, "menu.py", nuke)
        assert "Traceback" in capsys.readouterr().err
    shutil.rmtree(copy / "mattetrack_nuke")  # a half-copied install
    adapter_on_path(copy, "menu.py", nuke_standin.make())
    assert "No module named 'mattetrack_nuke'" in capsys.readouterr().err
