"""`python -m mattetrack` runs the command line."""

import sys

from mattetrack.cli import main

sys.exit(main())
