"""Plug-in paths for Nuke's init.py: where the service client (`mattetrack_client.py`) is.
Standard library; nothing here touches the UI, so it is safe in render-only sessions."""

from __future__ import annotations

import os

CLIENT_MODULE = "mattetrack_client.py"


def adapter_folder():
    """The real folder of the Nuke adapter (the parent of this package), links resolved."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def client_folder(environ=None, adapter=None):
    """The folder holding mattetrack_client.py: `$MATTETRACK_CLIENT_PATH` (an install that copies
    files elsewhere), else `client/` beside the adapter in the MatteTrack tree
    (host_adapters/client), else `client/` inside the adapter folder; None when none has it."""
    environ = os.environ if environ is None else environ
    adapter = adapter or adapter_folder()
    candidates = []
    if environ.get("MATTETRACK_CLIENT_PATH"):
        candidates.append(environ["MATTETRACK_CLIENT_PATH"])
    candidates += [os.path.join(os.path.dirname(adapter), "client"),
                   os.path.join(adapter, "client")]
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, CLIENT_MODULE)):
            return os.path.realpath(folder)
    return None


def add_plugin_paths(nuke, environ=None, adapter=None):
    """`nuke.pluginAddPath` for the client's folder (it also goes on sys.path); returns the
    folder, or None when it is nowhere (the node then says so when used). The adapter's own
    folder is not added: Nuke runs this from it, so it is on the plug-in path already, and
    adding it again under another name would run its menu.py twice."""
    folder = client_folder(environ, adapter)
    if folder is None:
        return None
    try:
        known = [os.path.realpath(p) for p in nuke.pluginPath()]
    except Exception:
        known = []
    if folder not in known:
        nuke.pluginAddPath(folder)
    return folder
