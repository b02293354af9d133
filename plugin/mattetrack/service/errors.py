"""`ApiError`: a request the service refuses, with its HTTP status and a one-line message; and
the core's errors as the service words them."""

from __future__ import annotations

from mattetrack.errors import MatteTrackError


class ApiError(Exception):
    """Answered as `{"error": message}` with `status` (400, 401, 403, 404, 405, 409, 413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = status


# Core fields the service's JSON spells otherwise (an object's name is `name` in its body).
SERVICE_SPELLING = {"object": "name"}


def service_message(err: MatteTrackError) -> str:
    """The core's one-line error with its field as the service's JSON names it."""
    return err.render(SERVICE_SPELLING.get(err.field, err.field) if err.field else None)
