"""Lazy references from the tables (engines, output kinds, shape formats) to their code.

A table row names its implementation as `"module:attribute"`, imported only when the row is used,
so listing the choices (the CLI's help, the service's OpenAPI) imports no engine, writer or
toolkit.
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(ref: str) -> Any:
    """The object `"package.module:name"` refers to."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
