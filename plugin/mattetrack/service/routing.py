"""The pieces every endpoint is made of: a request, a reply, a route (method, path, handler and
the schema pieces that `openapi.py` publishes) and JSON Schema helpers. A leaf: the handlers
(`api.py`) and the OpenAPI document (`openapi.py`) both build on it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Request:
    params: dict[str, str]  # from the path template
    query: dict[str, str]
    body: dict


@dataclass
class Reply:
    """A response: `body` bytes, or `stream`, an iterator of byte chunks (sent chunked), and
    headers of its own (the UI's CSP, a redirect's Location)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    stream: Iterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: dict, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode())


# -- schema pieces (JSON Schema 2020-12, as OpenAPI 3.1 uses) --------------------------------------
INT = {"type": "integer"}
NUM = {"type": "number"}
STR = {"type": "string"}
POINT = {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}
RANGE = {"type": "string", "pattern": r"^-?\d+(-(-?\d+))?$", "examples": ["1001-1100"]}


def obj(required: tuple[str, ...] = (), **props: dict) -> dict:
    schema: dict = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


@dataclass(frozen=True)
class Route:
    """One endpoint. `responses`: {status: (description, JSON schema or None, media type)}."""

    method: str
    path: str  # /v1/... with {name} parameters
    handler: Callable[..., Reply]  # (Service, Request) -> Reply
    summary: str
    body: dict | None = None
    # {name: (schema, required, description)}
    query: dict[str, tuple[dict, bool, str]] = field(default_factory=dict)
    responses: dict[int, tuple[str, dict | None, str]] = field(default_factory=dict)

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
                          + "$")


def json_ok(description: str, schema: dict, status: int = 200) -> dict:
    return {status: (description, schema, "application/json")}
