"""User-facing errors.

Every error a user can cause (bad files, bad arguments) is a `MatteTrackError` whose message is one
line naming the file or argument at fault. The CLI prints it and exits with status 2; anything else
escaping is a bug.
"""


class MatteTrackError(Exception):
    """An error the user can act on; `str(err)` is a single line."""

    def __init__(self, message: str) -> None:
        # Collapse newlines so that messages from libraries (OIIO, OCIO) stay on one line.
        super().__init__(" ".join(str(message).split()))


class InputError(MatteTrackError):
    """Bad input: an unreadable or damaged file, a malformed argument, a prompt out of range."""
