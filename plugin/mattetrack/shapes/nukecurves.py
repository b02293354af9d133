"""A Roto node's own shapes in Nuke's script text: the `curves` knob, written and read back.

Nuke 7+ serialises a Roto node's shapes as a tree of brace groups (Foundry's NDK guide, "Roto
serialisation format"; the structure below is the one Nuke itself saves, checked against public
Nuke-saved scripts, docs/CONVENTIONS.md "Nuke"):

    {{v x3f99999a} {f 0} {n {layer Root {f 512} {t CX CY} {a}
      {curvegroup NAME 512 bezier {{cc {f 8192} {p POINTS}} {cc {f 8192} {p FEATHER}}}
       {tx FRAME PX PY} {a ATTRIBUTES}} ...}}}

- Numbers are decimal or `x` + a float32's bits in hex; we write hex, so values are exact.
- POINTS: three vectors per control point, left tangent, centre, right tangent; tangents are
  relative to the centre; pixels, origin bottom-left (y up). A vector is `{X Y}` where each is a
  constant or an animation curve `{{FRAME VALUE} {FRAME VALUE} ...}`: a key per frame.
- FEATHER: the same tangents and a zero offset for the centre (no feather).
- `{tx FRAME PX PY}`: the shape's transform pivot (the centroid), not a movement.
- ATTRIBUTES (floats): `tt 4` a Bezier; `ltt 4` with `ltn FIRST ltm LAST` a frame-range lifetime
  (shapes that are not there for the whole shot); `bm` the blending mode (holes: minus).

The whole value is written on one line: Nuke does not mind, and a script parser that reads
knobs line by line (nkparser) then gets it whole.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

import numpy as np

from mattetrack.errors import InputError
from mattetrack.framerange import consecutive_runs
from mattetrack.shapes.document import ShapeObject
from mattetrack.shapes.hosts import to_nuke

# Blending mode "minus" for holes. Not verified in a Nuke (none can be installed where
# MatteTrack is built); the adapter's API path uses the same number
# (host_adapters/nuke/mattetrack_nuke/roto.py, _MINUS).
MINUS = 1
BEZIER_TOOL = 4  # the shape's `tt` attribute: drawn with the Bezier tool
FRAME_RANGE = 4  # lifetime type `ltt`: frame range


def nuke_float(value: float) -> str:
    """A float as Nuke writes it: `0`, or `x` + its float32 bits in hex."""
    f = float(np.float32(value))
    if f == 0.0 or not np.isfinite(f):
        return "0"
    return f"x{struct.unpack('<I', struct.pack('<f', f))[0]:08x}"


def _curve(frames: list[int], values: np.ndarray) -> str:
    return "{" + " ".join(f"{{{nuke_float(f)} {nuke_float(v)}}}"
                          for f, v in zip(frames, values, strict=True)) + "}"


def _vector(frames: list[int], xs: np.ndarray, ys: np.ndarray) -> str:
    return f"{{{_curve(frames, xs)} {_curve(frames, ys)}}}"


def curvegroups(obj: ShapeObject, height: int, first: int, last: int) -> list[str]:
    """One `{curvegroup ...}` per shape and run of consecutive frames of `obj`; the shot is
    first..last (a shape on fewer frames gets a frame-range lifetime)."""
    out = []
    for shape in obj.shapes:
        for run in consecutive_runs(shape.frames):
            keyed = np.stack([to_nuke(shape.frames[f], height) for f in run])  # (t, n, 6)
            points, feather = [], []
            for i in range(keyed.shape[1]):
                left = _vector(run, keyed[:, i, 2], keyed[:, i, 3])
                centre = _vector(run, keyed[:, i, 0], keyed[:, i, 1])
                right = _vector(run, keyed[:, i, 4], keyed[:, i, 5])
                points += [left, centre, right]
                feather += [left, "{0 0}", right]
            name = f"{'hole' if shape.hole else 'shape'}{len(out) + 1}"
            pivot = keyed[0, :, :2].mean(axis=0)
            attrs = [f"tt {nuke_float(BEZIER_TOOL)}", f"ltn {nuke_float(run[0])}",
                     f"ltm {nuke_float(run[-1])}"]
            if run[0] > first or run[-1] < last:
                attrs.append(f"ltt {nuke_float(FRAME_RANGE)}")
            if shape.hole:
                attrs.append(f"bm {nuke_float(MINUS)}")
            out.append(
                f"{{curvegroup {name} 512 bezier "
                f"{{{{cc {{f 8192}} {{p {' '.join(points)}}}}} "
                f"{{cc {{f 8192}} {{p {' '.join(feather)}}}}}}} "
                f"{{tx {nuke_float(run[0])} {nuke_float(pivot[0])} {nuke_float(pivot[1])}}} "
                f"{{a {' '.join(attrs)}}}}}")
    return out


def curves_knob(obj: ShapeObject, width: int, height: int, first: int, last: int) -> str:
    """The value of a Roto node's `curves` knob holding `obj`'s shapes, keyed on their frames."""
    groups = " ".join(curvegroups(obj, height, first, last))
    root = (f"{{layer Root {{f 512}} {{t {nuke_float(width / 2)} {nuke_float(height / 2)}}} "
            f"{{a}}{' ' + groups if groups else ''}}}")
    return f"{{{{v x3f99999a}} {{f 0}} {{n {root}}}}}"


# -- reading -----------------------------------------------------------------------------------
_TOKEN = re.compile(r"\{|\}|\"(?:[^\"\\]|\\.)*\"|[^\s{}]+")


def _tree(text: str) -> list:
    """Nested lists of the brace groups of `text`, words as strings."""
    stack: list[list] = [[]]
    for tok in _TOKEN.findall(text):
        if tok == "{":
            stack.append([])
        elif tok == "}":
            if len(stack) == 1:
                raise ValueError("unbalanced }")
            group = stack.pop()
            stack[-1].append(group)
        else:
            stack[-1].append(tok.strip('"'))
    if len(stack) != 1:
        raise ValueError("unclosed {")
    return stack[0]


def _number(tok: str) -> float:
    if tok.startswith("x") and len(tok) <= 9:
        return struct.unpack("<f", struct.pack("<I", int(tok[1:], 16)))[0]
    return float(tok)


def _values(component) -> dict[int, float] | float:
    """A vector component: a constant, or {frame: value} from an animation curve."""
    if isinstance(component, str):
        return _number(component)
    return {round(_number(key[0])): _number(key[1]) for key in component}


@dataclass
class NukeShape:
    """A curvegroup read back: keys {frame: (n, 6) rows in Nuke's convention: centre x, y,
    left tangent dx, dy, right tangent dx, dy}, its attributes."""

    name: str
    keys: dict[int, np.ndarray] = field(default_factory=dict)
    attributes: dict[str, float] = field(default_factory=dict)

    @property
    def hole(self) -> bool:
        return self.attributes.get("bm") == MINUS


def _points(entries: list, name: str) -> dict[int, np.ndarray]:
    """The keys of a `{p ...}` or `{px FRAME ...}` list (its words after p / px)."""
    if entries and entries[0] == "px":
        frame = round(_number(entries[1]))
        vectors = entries[2:]
        flat = [[_number(v) for v in vec] for vec in vectors]
        if len(flat) % 3:
            raise ValueError(f"{name}: not whole (tangent, centre, tangent) triples")
        rows = np.array(flat).reshape(-1, 3, 2)
        return {frame: np.concatenate([rows[:, 1], rows[:, 0], rows[:, 2]], axis=1)}
    vectors = entries[1:]
    if len(vectors) % 3:
        raise ValueError(f"{name}: not whole (tangent, centre, tangent) triples")
    comps = [[_values(c) for c in vec] for vec in vectors]
    frames = sorted({f for vec in comps for c in vec if isinstance(c, dict) for f in c})
    out = {}
    for f in frames:
        values = [[c[f] if isinstance(c, dict) else c for c in vec] for vec in comps]
        rows = np.array(values, np.float64).reshape(-1, 3, 2)
        out[f] = np.concatenate([rows[:, 1], rows[:, 0], rows[:, 2]], axis=1)
    return out


def read_curves(text: str) -> list[NukeShape]:
    """The Bezier shapes of a Roto node's `curves` knob value (as `curves_knob` writes it, or
    Nuke saves a static one), in order; InputError when it is not one."""
    try:
        tree = _tree(text)
        found: list[NukeShape] = []

        def walk(group: list) -> None:
            if group and group[0] == "curvegroup":
                shape = NukeShape(str(group[1]))
                cc = next(g for g in group if isinstance(g, list) and g
                          and isinstance(g[0], list) and g[0] and g[0][0] == "cc")[0]
                points = next(g for g in cc if isinstance(g, list) and g
                              and g[0] in ("p", "px"))
                shape.keys = _points(points, shape.name)
                for g in group:
                    if isinstance(g, list) and g and g[0] == "a":
                        shape.attributes = {str(k): _number(v)
                                            for k, v in zip(g[1::2], g[2::2], strict=False)}
                found.append(shape)
                return
            for g in group:
                if isinstance(g, list):
                    walk(g)

        walk(tree)
    except (ValueError, IndexError, StopIteration, struct.error, TypeError) as err:
        raise InputError(f"curves: not a Roto curves value ({err})") from None
    return found


def from_nuke(rows: np.ndarray, height: int) -> np.ndarray:
    """Inverse of `hosts.to_nuke`: (n, 6) Nuke rows -> our (n, 6) x, y, lx, ly, rx, ry."""
    x, y = rows[:, 0], height - rows[:, 1]
    return np.stack([x, y, x + rows[:, 2], y - rows[:, 3], x + rows[:, 4], y - rows[:, 5]],
                    axis=1)
