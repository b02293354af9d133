"""`ApiError`: a request the service refuses, with its HTTP status and a one-line message."""

from __future__ import annotations


class ApiError(Exception):
    """Answered as `{"error": message}` with `status` (400, 401, 403, 404, 405, 409, 413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = status
