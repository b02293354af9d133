"""User-facing errors.

Every error a user can cause (bad files, bad arguments) is a `MatteTrackError` whose message is one
line naming the file or argument at fault. The CLI prints it and exits with status 2; the service
answers it with 400; anything else escaping is a bug.

An error about one input field carries that field's name (`range`, `output`, `mask` ...) and its
message without it; each front end spells the field its own way when it shows the error: the CLI
as its option (`--range`, `-o`), the service as its JSON field (`range`, `output`).
"""

from __future__ import annotations

# Fields the command line spells other than `--<field>`.
CLI_SPELLING = {"output": "-o", "frame_range": "--range"}


def cli_option(field: str) -> str:
    """How the command line names a field: `range` -> `--range`, `output` -> `-o`."""
    return CLI_SPELLING.get(field, "--" + field.replace("_", "-"))


class MatteTrackError(Exception):
    """An error the user can act on; `str(err)` is a single line (the command line's wording).

    field: the input field the error is about, or None; `detail` is then the message without
    it, and `render(name)` puts the field's name as a front end spells it in front.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        # Collapse newlines so that messages from libraries (OIIO, OCIO) stay on one line.
        self.detail = " ".join(str(message).split())
        self.field = field
        super().__init__(self.render())

    def render(self, name: str | None = None) -> str:
        """The one-line message with the field spelled `name` (default: the CLI's option)."""
        if self.field is None:
            return self.detail
        name = name if name is not None else cli_option(self.field)
        # "--merge: needs EXR output" vs "--range 'x': expected A-B"
        return f"{name}{'' if self.detail.startswith(':') else ' '}{self.detail}"


class InputError(MatteTrackError):
    """Bad input: an unreadable or damaged file, a malformed argument, a prompt out of range."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the same
    clean-up runs (writers finish the frame in hand; temporary files and spills go)."""


def interrupted_status(err: KeyboardInterrupt) -> tuple[int, str]:
    """(exit status, one line) for a run stopped by a signal: 143 for SIGTERM, 130 for Ctrl-C."""
    if isinstance(err, Terminated):
        return 143, "terminated (SIGTERM); finished frames are kept"
    return 130, "interrupted; finished frames are kept"


def interruption(err: BaseException) -> KeyboardInterrupt | None:
    """The signal behind `err`: itself, or the cause of an error it became (a native module
    interrupted while importing reports ImportError "initialization failed"); None if none."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None

