"""The browser UI's side of the service: its static files (served without the token: they hold
no secrets) and the URL that opens it with the token in the fragment.

The token travels in the URL fragment (`/ui/#token=...`) because a fragment is never sent to the
server: it stays out of request lines, logs and `Referer` headers. The page moves it into
sessionStorage and drops it from the address bar.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The only kinds of file served; anything else in the folder stays private.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # module scripts need a JavaScript MIME type
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# No inline script or style, nothing from elsewhere; previews are shown as blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

UI_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}


def static_file(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of the static file called exactly `name`, or None.

    `name` is matched against the folder's listing, never joined into a path, so `..`, `/`,
    percent-escapes or links cannot reach anything else.
    """
    if not name:
        name = "index.html"
    try:
        listing = os.listdir(STATIC_DIR)
    except OSError:
        return None
    kind = CONTENT_TYPES.get(os.path.splitext(name)[1].lower())
    if kind is None or name not in listing:
        return None
    path = STATIC_DIR / name
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes(), kind


def ui_url(base_url: str, token: str, plate: str | None = None,
           frame_range: str | None = None, output: str | None = None,
           frame: int | None = None, mattes: str | None = None) -> str:
    """The UI's address on the service at `base_url` (e.g. http://127.0.0.1:8765, a trailing
    /v1 or / is dropped) with the token, and optionally a shot to open (and existing mattes
    to open on it), in the fragment."""
    base = base_url.rstrip("/")
    base = base.removesuffix("/v1")
    fields = {"token": token, "plate": plate, "range": frame_range, "mattes": mattes,
              "output": output, "frame": None if frame is None else str(frame)}
    return f"{base}/ui/#" + urlencode({k: v for k, v in fields.items() if v is not None})
