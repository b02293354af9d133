"""The `mattetrack` command's entry point, kept free of heavy imports so that signals are handled
from the first moment: SIGTERM (a farm's or a host's stop) and Ctrl-C end with one line and
exit status 143 / 130 even while numpy, OpenCV or torch are still being imported, and whatever
a run had started (temporary files, spill folders) is cleaned up on the way out.
"""

from __future__ import annotations

import os
import signal
import sys

from mattetrack.errors import Terminated, interrupted_status, interruption


def _terminate(signum: int, frame) -> None:
    raise Terminated


def run() -> None:
    """Console-script entry: `mattetrack ...` and `python -m mattetrack ...`."""
    signal.signal(signal.SIGTERM, _terminate)
    from mattetrack.memorytuning import keep_big_allocations

    keep_big_allocations()  # before numpy allocates a frame
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
    if code in (130, 143):
        # Stopped by a signal, everything already unwound: leave now. CPython remembers a Ctrl-C
        # that went through code run by PyRun_* (pybind11's py::exec in a native module's
        # initialisation) even when it was caught, and then ends its own exit by killing itself
        # with SIGINT: status -2 instead of 130, seen once in the tests at start-up.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if sys.argv[1:2] != ["serve"]:
        # Finished: run what was registered to run at exit (thread pools' joins, temporary
        # files' finalizers), then leave without tearing the interpreter down module by
        # module, which took 50 ms of every run (docs/tuning.md, "Speed: start-up and exit").
        import atexit
        import threading

        # As the interpreter's own shutdown does first: wait for threads that are not daemons
        # (a writer still finishing a file), then the exit handlers.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # as sys.exit prints a message
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)
