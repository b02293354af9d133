"""MatteTrack for Blender (standard library + bpy only): a Blender 4.2+ extension that talks to
`mattetrack serve`.

- `logic`: pure mappings (paths, frames, coordinates), no bpy;
- `mask`: roto shapes as an animated Mask datablock, built from the plan that the core writes
  (`mattetrack.shapes.blender.mask_plan`); also runnable as a script that saves a `.blend`;
- `props`, `operators`, `compositor`, `panel`: the add-on (preferences, scene state, the
  sidebar panel in the Movie Clip and Image editors, clicks, preview, propagation, import,
  compositor nodes).

This file imports nothing from Blender at import time, so `mask` and `logic` can be imported on
their own (tests, scripts); the add-on's modules load in `register()`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

_CLIENT = "mattetrack_client"
_MODULES = ("props", "operators", "panel")


def client_module() -> ModuleType:
    """The service client: the copy that build_extension.py ships inside the extension, else (a
    checkout) host_adapters/client/mattetrack_client.py next to this package's real folder."""
    try:
        return importlib.import_module(f"{__package__}.{_CLIENT}")
    except ImportError:
        pass
    name = f"{__package__}.{_CLIENT}"
    if name in sys.modules:
        return sys.modules[name]
    here = os.path.dirname(os.path.realpath(__file__))
    path = os.path.join(os.path.dirname(os.path.dirname(here)), "client", _CLIENT + ".py")
    if not os.path.isfile(path):
        raise ImportError(f"MatteTrack: {_CLIENT}.py is neither in the extension nor at {path}; "
                          "install the zip that build_extension.py makes")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _submodules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.{m}") for m in _MODULES]


def register() -> None:
    for module in _submodules():
        module.register()


def unregister() -> None:
    for module in reversed(_submodules()):
        module.unregister()
