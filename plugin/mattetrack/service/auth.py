"""The service's two guards: the bearer token (a file in the user's config folder) and the roots
(the only folders whose files a request may name).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from mattetrack.errors import InputError
from mattetrack.service.errors import ApiError


def config_dir() -> Path:
    """`$MATTETRACK_CONFIG`, else `$XDG_CONFIG_HOME/mattetrack`, else `~/.config/mattetrack`."""
    if os.environ.get("MATTETRACK_CONFIG"):
        return Path(os.environ["MATTETRACK_CONFIG"])
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "mattetrack"


def default_token_path() -> Path:
    return config_dir() / "token"


def load_or_create_token(path: str | os.PathLike[str] | None = None) -> tuple[str, Path]:
    """(token, its file). A missing file is created: 32 random url-safe bytes, mode 0600 in a
    0700 folder, written under a temporary name and linked into place (so two servers starting
    at once agree on one token). A file others can read is refused, as ssh refuses keys."""
    path = Path(path) if path is not None else default_token_path()
    token = _read_token(path)
    if token is not None:
        return token, path
    folder = path.parent
    try:
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True)
            os.chmod(folder, 0o700)
        tmp = folder / f".{path.name}.tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
            os.link(tmp, path)  # fails if another server made one meanwhile: use that one
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        raise InputError(f"--token-file {path}: cannot create it ({err.strerror})") from None
    token = _read_token(path)
    if token is None:
        raise InputError(f"--token-file {path}: the token file is empty")
    return token, path


def _read_token(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"--token-file {path}: cannot read it ({err})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"--token-file {path}: readable by other users; chmod 600 it")
    return text or None


def token_matches(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `Bearer <token>` (constant-time compare)."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class Roots:
    """The folders a request may read and write under, resolved once at start."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        if not paths:
            raise InputError("--root: give at least one folder the service may use")
        self.paths: list[str] = []
        for p in paths:
            real = os.path.realpath(p)
            if not os.path.isdir(real):
                raise InputError(f"--root {os.fspath(p)!r}: not a folder")
            self.paths.append(real)

    def check(self, path: str, field: str) -> str:
        """The real path of `path` (symlinks and `..` resolved) when it lies under a root.

        Raises ApiError 400 for a relative path (the server's working folder means nothing to a
        client) and 403 for a path outside every root.
        """
        if "\0" in path or len(path) > 4096:
            raise ApiError(400, f"{field}: not a path (a NUL byte, or over 4096 characters)")
        if not os.path.isabs(path):
            raise ApiError(400, f"{field}: {path!r} is not an absolute path")
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep)
                   for root in self.paths):
            raise ApiError(403, f"{field}: {path} is outside the service's roots")
        return real
