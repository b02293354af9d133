"""`mattetrack serve`: a local HTTP + JSON service over the core, standard library only.

Host adapters (Nuke, Blender, Resolve) and the browser UI drive sessions through it: open a
plate, add objects, click, look at small PNG previews, propagate into EXR mattes. Frames travel
as file paths on shared storage; only previews travel over the socket.

Modules: `errors` (ApiError), `auth` (token file, roots), `state` (sessions), `jobs`
(propagation jobs), `preview` (overlay PNGs), `api` (the route table and its handlers),
`openapi` (the schema, built from the route table), `server` (the HTTP server), `browser` (the
browser UI's static files in `static/`, and its URL).
"""

from mattetrack.service.server import ServiceServer, make_server

__all__ = ["ServiceServer", "make_server"]
