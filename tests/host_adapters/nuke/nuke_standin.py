"""A stand-in for Nuke's `nuke` module (none can be installed here): records the calls the
MatteTrack adapter makes, with the signatures of Foundry's Python API documentation, and keeps
what they build so a test can read the result back.

Threads as in Nuke: knobs and nodes may only be touched on the main thread (every knob and node
method asserts it); `executeInMainThread` queues a call, and the test's `pump()` runs the queue
on the main thread, as Nuke's event loop would."""

from __future__ import annotations

import collections
import threading
import types

# Knob flags (values as in Nuke's Python API).
INVISIBLE = 0x0000000000000400
STARTLINE = 0x0000000000001000
NO_ANIMATION = 0x0000000000000100


# Every knob or node touched off the main thread, (thread name, where): a test asserts it stays
# empty even where the adapter catches the AssertionError below.
VIOLATIONS: list[tuple[str, str]] = []


def _main(where: str = "") -> None:
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        VIOLATIONS.append((thread.name, where))
        raise AssertionError(f"{where or 'a knob or node'} touched off the main thread "
                             "(use nuke.executeInMainThread)")


class AnimCurve2D:
    """A control point's centre or tangent: position keys per frame."""

    def __init__(self) -> None:
        self.keys: dict[int, tuple[float, float]] = {}

    def addPositionKey(self, frame: int, xy: tuple[float, float]) -> None:
        assert isinstance(frame, int) and len(xy) == 2
        self.keys[frame] = (float(xy[0]), float(xy[1]))


class ShapeControlPoint:
    def __init__(self, x: float, y: float) -> None:
        self.initial = (x, y)
        self.center, self.leftTangent, self.rightTangent = (
            AnimCurve2D(), AnimCurve2D(), AnimCurve2D())


class Attributes:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def set(self, name: str, value: object) -> None:
        self.values[name] = value

    def getValue(self, time: float, name: str) -> float:
        """AnimAttributes.getValue(time, name): KeyError-like failure for an absent name."""
        if name not in self.values:
            raise ValueError(f"no attribute {name!r}")
        return float(self.values[name])


class CVec3:
    def __init__(self, x: float, y: float, z: float = 0.0) -> None:
        self.x, self.y, self.z = float(x), float(y), float(z)


class AnimControlPoint:
    """A paint stroke's point: a position per frame (here one for all frames)."""

    def __init__(self, x: float, y: float) -> None:
        self.xy = (float(x), float(y))

    def getPosition(self, time: float) -> CVec3:
        assert isinstance(time, (int, float))
        return CVec3(*self.xy)




class _Element(list):
    """A curves knob element made of control points of one class (`POINT`), with attributes."""

    POINT: type

    def __init__(self, curves: CurvesKnob) -> None:
        super().__init__()
        assert isinstance(curves, CurvesKnob)
        self.name = ""
        self.attributes = Attributes()

    def append(self, point: object) -> None:
        assert isinstance(point, self.POINT)
        super().append(point)

    def getAttributes(self) -> Attributes:
        return self.attributes


class Shape(_Element):
    POINT = ShapeControlPoint


class Stroke(_Element):
    """A paint stroke: a sequence of AnimControlPoint (brush size: attribute `bs`)."""

    POINT = AnimControlPoint


class Layer(list):
    def remove(self, index: int) -> None:  # Nuke's takes the element's index
        assert isinstance(index, int), "Layer.remove takes an index"
        del self[index]


class CurvesKnob:
    def __init__(self) -> None:
        self.rootLayer = Layer()
        self.changes = 0

    def changed(self) -> None:
        self.changes += 1


# -- knobs ------------------------------------------------------------------------------------
class Knob:
    def __init__(self, value: object = None) -> None:
        self._value = value
        self._name = ""
        self._label = ""
        self.flags = 0
        self.node = None

    def setValue(self, value: object) -> bool:
        _main()
        self._value = value
        return True

    def value(self) -> object:
        _main()
        return self._value

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def setTooltip(self, text: str) -> None:
        assert isinstance(text, str)
        self.tooltip = text

    def setFlag(self, flag: int) -> None:
        self.flags |= flag

    def clearFlag(self, flag: int) -> None:
        self.flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self.flags & flag)

    def setVisible(self, visible: bool) -> None:
        if visible:
            self.clearFlag(INVISIBLE)
        else:
            self.setFlag(INVISIBLE)


class _Named(Knob):
    def __init__(self, name: str, label: str | None = None, value: object = None) -> None:
        super().__init__(value)
        assert isinstance(name, str) and name, name
        self._name, self._label = name, label if label is not None else name


class Tab_Knob(_Named):
    pass


class String_Knob(_Named):
    def __init__(self, name: str, label: str | None = None, value: str = "") -> None:
        super().__init__(name, label, value)

    def setValue(self, value: object) -> bool:
        assert isinstance(value, str), value
        return super().setValue(value)

    def getText(self) -> str:
        return self.value()


class File_Knob(String_Knob):
    pass


class Multiline_Eval_String_Knob(String_Knob):
    pass


class Text_Knob(String_Knob):
    pass


class Boolean_Knob(_Named):
    def __init__(self, name: str, label: str | None = None, value: bool = False) -> None:
        super().__init__(name, label, bool(value))


class Int_Knob(_Named):
    def __init__(self, name: str, label: str | None = None, value: int = 0) -> None:
        super().__init__(name, label, int(value))


class XY_Knob(_Named):
    """Two numbers; `value()` is [x, y], `value(i)` one of them (Array_Knob's signatures)."""

    def __init__(self, name: str, label: str | None = None) -> None:
        super().__init__(name, label, [0.0, 0.0])

    def setValue(self, value: object, index: int | None = None) -> bool:
        _main()
        if index is None and isinstance(value, (list, tuple)):
            self._value = [float(value[0]), float(value[1])]
        else:
            self._value[index or 0] = float(value)
        return True

    def value(self, index: int | None = None) -> object:
        _main()
        return list(self._value) if index is None else self._value[index]

    def x(self) -> float:
        return self.value(0)

    def y(self) -> float:
        return self.value(1)


class Enumeration_Knob(_Named):
    """A menu: `value()` is the chosen item's text, `setValue` takes the text or an index."""

    def __init__(self, name: str, label: str, items: list) -> None:
        super().__init__(name, label, 0)
        self._items = [str(i) for i in items]

    def values(self) -> list[str]:
        _main()
        return list(self._items)

    def setValues(self, items: list) -> None:
        _main()
        self._items = [str(i) for i in items]
        self._value = min(self._value, max(len(self._items) - 1, 0))

    def setValue(self, value: object) -> bool:
        _main()
        if isinstance(value, str):
            if value not in self._items:
                return False
            value = self._items.index(value)
        assert isinstance(value, int)
        self._value = value
        return True

    def value(self) -> str:
        _main()
        return self._items[self._value] if self._items else ""

    def getValue(self) -> int:
        _main()
        return self._value


class PyScript_Knob(_Named):
    """A button; `execute()` runs its command as Nuke does, with `nuke` imported and
    `nuke.thisNode()` the knob's node."""

    def __init__(self, name: str, label: str | None = None, command: str = "") -> None:
        super().__init__(name, label, command)

    def execute(self) -> None:
        import sys

        nuke = sys.modules["nuke"]
        nuke._this.append(self.node)
        try:
            exec(self._value, {"nuke": nuke})
        finally:
            nuke._this.pop()


# -- nodes ------------------------------------------------------------------------------------
class Format:
    def __init__(self, width: int, height: int, name: str = "") -> None:
        self._w, self._h, self._name = width, height, name

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name

    def pixelAspect(self) -> float:
        return 1.0


# The knobs each class may be created with through nuke.nodes (a typo fails the test, as it
# does in Nuke); user knobs come with addKnob.
CLASS_KNOBS = {
    "Read": {"file", "first", "last", "origfirst", "origlast", "raw", "on_error", "colorspace",
             "name", "label", "xpos", "ypos", "reload"},
    "Copy": {"from0", "to0", "from1", "to1", "name", "label", "xpos", "ypos"},
    "NoOp": {"name", "label", "xpos", "ypos", "knobChanged"},
    "Roto": {"name", "label", "output", "xpos", "ypos"},
    "RotoPaint": {"name", "label", "output", "xpos", "ypos"},
}


class Node:
    def __init__(self, cls: str, **knobs: object) -> None:
        self.cls = cls
        self.knobs: dict[str, object] = {"curves": CurvesKnob(), "format": Knob()}
        self.knobs.update({k: Knob(v) for k, v in knobs.items()})
        self._inputs: dict[int, Node] = {}
        self._format = None
        self._xy = [0, 0]
        self.selected = False

    def __getitem__(self, name: str):
        _main(f"knob {name}")
        return self.knobs[name]

    def knob(self, name: str):
        _main(f"knob {name}")
        return self.knobs.get(name)

    def addKnob(self, knob: Knob) -> None:
        _main()
        assert knob.name() not in self.knobs, f"{self.name()} already has a knob {knob.name()}"
        knob.node = self
        self.knobs[knob.name()] = knob

    def name(self) -> str:
        return self.knobs["name"].value()

    def fullName(self) -> str:
        return self.name()

    def setName(self, name: str, uncollide: bool = True) -> None:
        self.knobs["name"].setValue(name)

    def Class(self) -> str:
        return self.cls

    def input(self, i: int):
        _main()
        return self._inputs.get(i)

    def setInput(self, i: int, node: Node | None) -> bool:
        _main()
        self._inputs[i] = node
        return True

    def inputs(self) -> int:
        return max(self._inputs, default=-1) + 1

    def format(self) -> Format:
        _main()
        return self._format

    def width(self) -> int:
        return self.format().width()

    def height(self) -> int:
        return self.format().height()

    def firstFrame(self) -> int:
        return int(self.knobs["first"].value())

    def lastFrame(self) -> int:
        return int(self.knobs["last"].value())

    def xpos(self) -> int:
        return self._xy[0]

    def ypos(self) -> int:
        return self._xy[1]

    def setXYpos(self, x: int, y: int) -> None:
        self._xy = [int(x), int(y)]

    def showControlPanel(self) -> None:
        self.panel_shown = True

    def setSelected(self, selected: bool) -> None:
        self.selected = bool(selected)

    def isSelected(self) -> bool:
        return self.selected


class ProgressTask:
    """Records what it is told; reports cancelled once `isCancelled` has been asked
    `cancel_after` times (never when None)."""

    cancel_after: int | None = None

    def __init__(self, title: str) -> None:
        self.title = title
        self.progress: list[int] = []
        self.messages: list[str] = []
        self.asked = 0
        self.thread = threading.current_thread()

    def setProgress(self, percent: int) -> None:
        assert isinstance(percent, int) and 0 <= percent <= 100, percent
        self.progress.append(percent)

    def setMessage(self, text: str) -> None:
        assert isinstance(text, str)
        self.messages.append(text)

    def isCancelled(self) -> bool:
        self.asked += 1
        return self.cancel_after is not None and self.asked > self.cancel_after


class Menu:
    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, tuple[object, str | None]] = {}
        self.menus: dict[str, Menu] = {}

    def addCommand(self, name: str, command: object = None, shortcut: str | None = None,
                   icon: str = "", tooltip: str = "", index: int = -1) -> None:
        self.commands[name] = (command, shortcut)

    def addMenu(self, name: str, icon: str = "", tooltip: str = "", index: int = -1) -> Menu:
        return self.menus.setdefault(name, Menu(name))


def make() -> types.ModuleType:
    """A fresh `nuke` module. What it keeps: `created` (nodes made), `formats`, `layers`,
    `plugin_paths`, `menus`, `messages`, `tasks` (ProgressTasks), `main_calls` (each call
    queued through executeInMainThread: (call, args, caller thread)). `pump()` runs the
    queued calls on the main thread; `frame(f)` sets the current frame."""
    nuke = types.ModuleType("nuke")
    nuke.rotopaint = types.SimpleNamespace(Shape=Shape, ShapeControlPoint=ShapeControlPoint,
                                           Layer=Layer, Stroke=Stroke,
                                           AnimControlPoint=AnimControlPoint)
    nuke.created = []
    nuke.formats = []
    nuke.layers_added = []
    nuke.plugin_paths = []
    nuke.menus = {}
    nuke.messages = []
    nuke.tasks = []
    nuke.main_calls = []
    nuke._queue = collections.deque()
    nuke._this = []
    nuke._frame = [1]
    nuke.INVISIBLE, nuke.STARTLINE, nuke.NO_ANIMATION = INVISIBLE, STARTLINE, NO_ANIMATION
    nuke.GUI = True
    nuke.env = {"gui": True, "NukeVersionMajor": 15}
    for knob in (Tab_Knob, String_Knob, File_Knob, Multiline_Eval_String_Knob, Text_Knob,
                 Boolean_Knob, Int_Knob, XY_Knob, Enumeration_Knob, PyScript_Knob):
        setattr(nuke, knob.__name__, knob)
    nuke.Format = Format

    def node_factory(cls: str):
        def create(**knobs: object) -> Node:
            _main()
            allowed = CLASS_KNOBS.get(cls)
            assert allowed is None or set(knobs) <= allowed, (cls, set(knobs) - allowed)
            name = knobs.pop("name", None) or f"{cls}{len(nuke.created) + 1}"
            node = Node(cls, name=name, **knobs)
            if cls == "Read":
                for k, v in (("file", ""), ("first", 1), ("last", 1), ("raw", False),
                             ("on_error", "error"), ("origfirst", 1), ("origlast", 1)):
                    node.knobs.setdefault(k, Knob(v))
                node.knobs.setdefault("reload", PyScript_Knob("reload", "reload", "pass"))
            if cls == "Copy":
                node.knobs.setdefault("from0", Knob("rgba.alpha"))
                node.knobs.setdefault("to0", Knob("rgba.alpha"))
            nuke.created.append(node)
            return node
        return create

    nuke.nodes = types.SimpleNamespace(**{c: node_factory(c)
                                          for c in ("Roto", "RotoPaint", "Read", "Copy", "NoOp",
                                                    "Group")})

    def add_format(text: str) -> str:
        nuke.formats.append(text)
        return text

    nuke.addFormat = add_format

    def all_nodes(filter: str | None = None) -> list:
        return [n for n in nuke.created if filter is None or n.Class() == filter]

    def selected_nodes(filter: str | None = None) -> list:
        return [n for n in all_nodes(filter) if n.isSelected()]

    def selected_node() -> Node:
        found = selected_nodes()
        if not found:
            raise ValueError("no node selected")
        return found[-1]

    def to_node(name: str):
        return next((n for n in nuke.created if n.name() == name), None)

    def this_node() -> Node:
        assert nuke._this, "nuke.thisNode() outside a knob's script"
        return nuke._this[-1]

    def frame(f: int | None = None) -> int:
        if f is not None:
            nuke._frame[0] = int(f)
        return nuke._frame[0]

    def execute_in_main_thread(call, args=(), kwargs=None) -> None:
        assert callable(call) and isinstance(args, (tuple, list)), (call, args)
        nuke.main_calls.append((call, tuple(args), threading.current_thread()))
        nuke._queue.append((call, tuple(args), dict(kwargs or {})))

    def pump() -> int:
        """Runs the queued main-thread calls (on this, the main, thread); how many ran."""
        _main()
        n = 0
        while nuke._queue:
            call, args, kwargs = nuke._queue.popleft()
            call(*args, **kwargs)
            n += 1
        return n

    def progress_task(title: str) -> ProgressTask:
        task = ProgressTask(title)
        nuke.tasks.append(task)
        return task

    def menu(name: str) -> Menu:
        return nuke.menus.setdefault(name, Menu(name))

    def filename(node: Node, type: int | None = None) -> str:
        _main()
        return node["file"].value()

    def layer(name: str, channels: list) -> None:
        nuke.layers_added.append((name, list(channels)))

    def message(text: str) -> None:
        nuke.messages.append(text)

    nuke.allNodes, nuke.selectedNodes, nuke.selectedNode = all_nodes, selected_nodes, selected_node
    nuke.toNode, nuke.thisNode, nuke.frame = to_node, this_node, frame
    nuke.executeInMainThread, nuke.pump = execute_in_main_thread, pump
    nuke.ProgressTask, nuke.menu, nuke.filename = progress_task, menu, filename
    nuke.Layer, nuke.layers = layer, lambda: ["rgba", "rgb", "alpha"] + [
        n for n, _ in nuke.layers_added]
    nuke.message = message
    nuke.pluginAddPath = lambda path, addToSysPath=True: nuke.plugin_paths.append(path)
    nuke.pluginPath = lambda: list(nuke.plugin_paths)
    return nuke
