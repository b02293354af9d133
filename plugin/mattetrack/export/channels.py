"""EXR layer names for object mattes (docs/ARCHITECTURE.md, "Channel names in EXR output").

Object `dog` becomes channel `dog.A`: Nuke shows layer `dog` with an alpha channel, Blender pass
`dog`. Names are sanitised to `[A-Za-z_][A-Za-z0-9_]*`, kept unique, and a name that the plate
already uses as a layer gets a `matte_` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_INVALID = re.compile(r"[^A-Za-z0-9_]")

# Layer names hosts give to channels of their own: Nuke shows the unlayered R, G, B, A of every
# EXR as layer `rgba`, so an object named "rgba" would land on the plate's own alpha there.
HOST_LAYERS = frozenset({"rgba"})


def sanitize_layer_name(name: str) -> str:
    """`name` with characters outside [A-Za-z0-9_] replaced by `_`, never starting with a digit."""
    clean = _INVALID.sub("_", name.strip()) or "object"
    return f"_{clean}" if clean[0].isdigit() else clean


def layer_names(names: Sequence[str], reserved: Iterable[str] = ()) -> list[str]:
    """Unique, sanitised layer names for objects, in order.

    reserved: layer names already present in the plate (for merged output); a clash with one of
    them or with a host's own layer (HOST_LAYERS) gets the `matte_` prefix, and any remaining
    clash a numeric suffix (`dog_2`).
    """
    plate = {r.lower() for r in reserved} | HOST_LAYERS
    taken = set(plate)
    out: list[str] = []
    for name in names:
        layer = sanitize_layer_name(name)
        if layer.lower() in plate:
            layer = f"matte_{layer}"
        base, n = layer, 1
        while layer.lower() in taken:
            n += 1
            layer = f"{base}_{n}"
        taken.add(layer.lower())
        out.append(layer)
    return out


def matte_channel(layer: str) -> str:
    """The coverage channel of a layer: `<layer>.A`."""
    return f"{layer}.A"
