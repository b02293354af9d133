"""`mattetrack/_native.pyi` matches the built module: the same public functions and classes, and
for each function, constructor and class the same parameter names, order and defaults (read from
the signatures pybind11 writes into the docstrings), and the same attributes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from mattetrack import _native

STUB = Path(_native.__file__).resolve().parent / "_native.pyi"
if not STUB.is_file():  # an editable install keeps the module and the stub apart
    STUB = Path(__file__).resolve().parents[2] / "plugin" / "mattetrack" / "_native.pyi"


def _split_top(text: str) -> list[str]:
    """`text` split at commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:])
    return parts


def _bound_params(obj: object) -> list[tuple[str, object]]:
    """[(name, default or inspect.Parameter.empty)] from pybind11's docstring signature."""
    first = inspect.getdoc(obj).splitlines()[0]
    inner = first[first.index("(") + 1:first.rindex(") ->")]
    params = []
    for part in _split_top(inner):
        name, _, rest = part.partition(":")
        default = inspect.Parameter.empty
        if "=" in rest:
            default = ast.literal_eval(rest.rsplit("=", 1)[1].strip())
        params.append((name.strip(), default))
    return [p for p in params if p[0] != "self"]


def _stub_params(node: ast.FunctionDef) -> list[tuple[str, object]]:
    args = node.args.args
    defaults = [inspect.Parameter.empty] * (len(args) - len(node.args.defaults)) + [
        ast.literal_eval(d) for d in node.args.defaults]
    return [(a.arg, d) for a, d in zip(args, defaults, strict=True) if a.arg != "self"]


def _stub() -> tuple[dict[str, ast.FunctionDef], dict[str, ast.ClassDef]]:
    tree = ast.parse(STUB.read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    return functions, classes


def test_the_same_names():
    functions, classes = _stub()
    exported = {name for name in dir(_native) if not name.startswith("_")}
    assert set(functions) | set(classes) == exported
    assert {n for n in exported if inspect.isclass(getattr(_native, n))} == set(classes)


@pytest.mark.parametrize("name", sorted(_stub()[0]))
def test_function_signature(name):
    assert _stub_params(_stub()[0][name]) == _bound_params(getattr(_native, name))


@pytest.mark.parametrize("name", sorted(_stub()[1]))
def test_class_constructor_and_attributes(name):
    node = _stub()[1][name]
    cls = getattr(_native, name)
    methods = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
    assert _stub_params(methods["__init__"]) == _bound_params(cls.__init__)
    attributes = {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    bound = {k for k, v in vars(cls).items() if isinstance(v, property)}
    assert attributes == bound
