"""Lazy references from the tables (engines, output kinds, shape formats) to their code.

A table row names its implementation as `"module:attribute"`, imported only when the row is used,
so listing the choices (the CLI's help, the service's OpenAPI) imports no engine, writer or
toolkit.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any


@functools.cache  # writers are looked up once per frame: import and getattr only once
def resolve(ref: str) -> Any:
    """The object `"package.module:name"` refers to."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
