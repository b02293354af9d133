"""`python -m mattetrack` runs the command line."""

from mattetrack.entry import run

run()
