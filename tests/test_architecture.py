"""The layers of docs/ARCHITECTURE.md, checked on the source: which package may import which, no
import cycles, and no host or GUI toolkit anywhere in the core. Every import counts, including
those inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "mattetrack"

# Layer of each top-level module or subpackage: a module may import its own layer and lower ones.
LAYERS = {
    # 0: leaves shared by everything
    "errors": 0, "framerange": 0, "framepattern": 0, "geometry": 0, "lru": 0, "tables": 0,
    "prompts": 0, "_native": 0, "__init__": 0, "color": 0, "colorlut": 0, "cuts": 0,
    "synthetic": 0, "resultkeys": 0, "atomicfile": 0, "pngcodec": 0, "covcodec": 0, "flowcodec": 0,
    "ahead": 0, "nativelog": 0, "colorencode": 0, "stagetimes": 0, "memorytuning": 0,
    # 1: plates in (OpenImageIO, OpenColorIO), engines (no plate, file or front end of their own)
    "shot": 1, "engines": 1,
    # 2: the explicit state of a shot's work
    "session": 2, "store": 2, "memo": 2, "evaluation": 2, "report": 2,
    # 3: files out (mattes, Cryptomatte, merge, the pipeline; roto shapes)
    "export": 3, "shapes": 3, "cutlist": 3, "composite": 3, "removal": 3,
    # 4: front ends
    "review": 3, "service": 4, "farm": 4, "cli": 5, "entry": 5, "__main__": 5,
}
# Run inside a host's own Python, never imported by the core.
HOST_SCRIPTS = "hostscripts"
FORBIDDEN = ("bpy", "nuke", "DaVinciResolveScript", "fusionscript", "PySide2", "PySide6", "PyQt5",
             "PyQt6", "tkinter", "hiero")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every module name `name` imports (absolute; relative ones resolved)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for target in _imports(name, path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # A module's own packages are imported before it anyway: not a dependency.
            if target and target != name and not name.startswith(target + "."):
                deps.add(target)
        graph[name] = deps
    return graph


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    areas = {_area(m) for m in _modules()} - {HOST_SCRIPTS}
    assert areas <= set(LAYERS), areas - set(LAYERS)


def test_layers_only_import_downwards():
    wrong = []
    for module, deps in _graph().items():
        if _area(module) == HOST_SCRIPTS:
            continue
        for dep in deps:
            if _area(dep) == HOST_SCRIPTS:
                wrong.append(f"{module} imports the host script {dep}")
            elif LAYERS[_area(dep)] > LAYERS[_area(module)]:
                wrong.append(f"{module} (layer {LAYERS[_area(module)]}) imports {dep} "
                             f"(layer {LAYERS[_area(dep)]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [node, dep]))
            elif dep not in state:
                visit(dep, stack + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "\n".join(cycles)


def test_core_never_imports_a_host_or_gui_toolkit():
    wrong = []
    for name, path in _modules().items():
        if _area(name) == HOST_SCRIPTS:
            continue
        for target in _imports(name, path):
            if target.split(".")[0] in FORBIDDEN:
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong


def test_no_caller_names_an_engine():
    """Engines are rows of one table: outside engines/ no code holds an engine's name (so none
    compares one)."""
    from mattetrack.engines import ENGINES

    wrong = []
    for name, path in _modules().items():
        if _area(name) == "engines":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ENGINES:
                wrong.append(f"{name}:{node.lineno} {node.value!r}")
    assert not wrong, wrong
