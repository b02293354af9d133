"""MatteTrack for Blender (standard library + bpy only): a Blender 4.2+ extension that talks to
`mattetrack serve`.

- `logic`: pure mappings (paths, frames, coordinates), no bpy;
- `mask` (the core's `plugin/mattetrack/hostscripts/blender_mask.py`, copied into the zip):
  roto shapes as an animated Mask datablock, built from the plan that the core writes
  (`mattetrack.shapes.blender.mask_plan`); also runnable as a script that saves a `.blend`;
- `props`, `operators`, `compositor`, `panel`: the add-on (preferences, scene state, the
  sidebar panel in the Movie Clip and Image editors, clicks, preview, propagation, import,
  compositor nodes).

This file imports nothing from Blender at import time, so `logic` can be imported on its own
(tests, scripts); the add-on's modules load in `register()`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

_CLIENT = "mattetrack_client"
_MODULES = ("props", "operators", "panel")


# Modules that build_extension.py copies into the extension (one copy in git each): name in the
# extension -> where a checkout has it, relative to the repository.
_BUNDLED = {
    _CLIENT: ("host_adapters", "client", "mattetrack_client.py"),
    "mask": ("plugin", "mattetrack", "hostscripts", "blender_mask.py"),
}


def bundled(name: str) -> ModuleType:
    """A module the extension zip carries (`mattetrack_client`, `mask`): the copy inside the
    installed extension, else (a checkout) the one file in the repository."""
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError:
        pass
    qualified = f"{__package__}.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    here = os.path.dirname(os.path.realpath(__file__))
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(here))), *_BUNDLED[name])
    if not os.path.isfile(path):
        raise ImportError(f"MatteTrack: {name}.py is neither in the extension nor at {path}; "
                          "install the zip that build_extension.py makes")
    spec = importlib.util.spec_from_file_location(qualified, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


def client_module() -> ModuleType:
    """The service client (`bundled(mattetrack_client)`)."""
    return bundled(_CLIENT)


def _submodules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.{m}") for m in _MODULES]


def register() -> None:
    for module in _submodules():
        module.register()


def unregister() -> None:
    for module in reversed(_submodules()):
        module.unregister()
