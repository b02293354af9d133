"""The `mattetrack` command's entry point, kept free of heavy imports so that signals are handled
from the first moment: SIGTERM (a farm's or a host's stop) and Ctrl-C end with one line and
exit status 143 / 130 even while numpy, OpenCV or torch are still being imported, and whatever
a run had started (temporary files, spill folders) is cleaned up on the way out.
"""

from __future__ import annotations

import signal
import sys

from mattetrack.errors import Terminated, interrupted_status, interruption


def _terminate(signum: int, frame) -> None:
    raise Terminated


def run() -> None:
    """Console-script entry: `mattetrack ...` and `python -m mattetrack ...`."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from mattetrack.cli import main

        if sys.argv[1:2] == ["serve"]:  # a service (and the browsers it starts) logs as is
            code = main()
        else:
            from mattetrack.nativelog import filtered_stderr

            with filtered_stderr():
                code = main()
    except BaseException as err:  # before main's own handler was in place
        signalled = interruption(err)
        if signalled is None:
            raise
        code, line = interrupted_status(signalled)
        print(f"mattetrack: {line}", file=sys.stderr)
    sys.exit(code)
