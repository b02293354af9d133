"""The OpenAPI 3.1 document of the service, built from the route table (`api.ROUTES`), so that
every served endpoint is described and nothing else is."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mattetrack import __version__
from mattetrack.service.routing import Route

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}

# Answers any endpoint can give besides its own.
COMMON = {
    "401": "missing or wrong bearer token",
    "405": "method not allowed on this path",
    "413": "request body over 1 MiB",
    "500": "internal error (one line; details in the server's log)",
}


def _operation(route: Route) -> dict:
    op: dict = {"summary": route.summary,
                "operationId": route.handler.__name__,
                "responses": {}}
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"\{(\w+)\}", route.path)]
    params += [{"name": name, "in": "query", "required": required, "description": doc,
                "schema": schema} for name, (schema, required, doc) in route.query.items()]
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": route.body}}}
    for status, (description, schema, media) in sorted(route.responses.items()):
        if schema is None and media == "application/json":
            schema = {"$ref": "#/components/schemas/Error"}
        op["responses"][str(status)] = {"description": description,
                                        "content": {media: {"schema": schema or {}}}}
    for status, description in COMMON.items():
        op["responses"].setdefault(status, {"description": description, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    return op


def build_openapi(routes: Sequence[Route]) -> dict:
    """The document as a dict (serialise with json.dumps)."""
    paths: dict[str, dict] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "MatteTrack local service", "version": __version__,
                 "description": "Local HTTP + JSON service of MatteTrack (`mattetrack serve`). "
                 "Every request needs `Authorization: Bearer <token>` (the token file in the "
                 "user's config folder); every path must lie under the roots the service was "
                 "started with. Coordinates are display-window pixels, origin top-left."},
        "servers": [{"url": "http://127.0.0.1:8765"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
