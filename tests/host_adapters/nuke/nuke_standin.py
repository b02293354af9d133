"""A stand-in for Nuke's `nuke` module (none can be installed here): records the calls the
MatteTrack adapter makes, with the signatures of Foundry's Python API documentation, and keeps
what they build so a test can read the result back."""

from __future__ import annotations

import types


class AnimCurve2D:
    """A control point's centre or tangent: position keys per frame."""

    def __init__(self) -> None:
        self.keys: dict[int, tuple[float, float]] = {}

    def addPositionKey(self, frame: int, xy: tuple[float, float]) -> None:  # noqa: N802
        assert isinstance(frame, int) and len(xy) == 2
        self.keys[frame] = (float(xy[0]), float(xy[1]))


class ShapeControlPoint:
    def __init__(self, x: float, y: float) -> None:
        self.initial = (x, y)
        self.center, self.leftTangent, self.rightTangent = (  # noqa: N815
            AnimCurve2D(), AnimCurve2D(), AnimCurve2D())


class Attributes:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def set(self, name: str, value: object) -> None:
        self.values[name] = value


class Shape(list):
    def __init__(self, curves: CurvesKnob) -> None:
        super().__init__()
        assert isinstance(curves, CurvesKnob)
        self.name = ""
        self.attributes = Attributes()

    def append(self, point: ShapeControlPoint) -> None:
        assert isinstance(point, ShapeControlPoint)
        super().append(point)

    def getAttributes(self) -> Attributes:  # noqa: N802
        return self.attributes


class Layer(list):
    pass


class CurvesKnob:
    def __init__(self) -> None:
        self.rootLayer = Layer()  # noqa: N815
        self.changes = 0

    def changed(self) -> None:
        self.changes += 1


class Knob:
    def __init__(self, value: object = None) -> None:
        self._value = value

    def setValue(self, value: object) -> None:  # noqa: N802
        self._value = value

    def value(self) -> object:
        return self._value


class Node:
    def __init__(self, cls: str, **knobs: object) -> None:
        self.cls = cls
        self.knobs: dict[str, object] = {"curves": CurvesKnob(), "format": Knob()}
        self.knobs.update({k: Knob(v) for k, v in knobs.items()})

    def __getitem__(self, name: str):
        return self.knobs[name]

    def name(self) -> str:
        return self.knobs["name"].value()


def make() -> types.ModuleType:
    """A fresh `nuke` module; `nuke.created` lists the nodes made, `nuke.formats` the formats."""
    nuke = types.ModuleType("nuke")
    nuke.rotopaint = types.SimpleNamespace(Shape=Shape, ShapeControlPoint=ShapeControlPoint,
                                           Layer=Layer)
    nuke.created = []
    nuke.formats = []

    def roto(**knobs: object) -> Node:
        node = Node("Roto", **knobs)
        nuke.created.append(node)
        return node

    def add_format(text: str) -> str:
        nuke.formats.append(text)
        return text

    nuke.nodes = types.SimpleNamespace(Roto=roto)
    nuke.addFormat = add_format
    return nuke
