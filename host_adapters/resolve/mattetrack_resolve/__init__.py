"""MatteTrack for DaVinci Resolve: the logic behind the Workspace > Scripts entries.

Standard library only and Python 3.6 syntax: Resolve before 21.1 runs scripts with whatever
Python the user installed. `plates` holds pure conversions (Resolve paths and frame numbers to
the service's), `actions` the two actions, taking the `resolve` object so tests drive them with
a stand-in, `host` the few calls that need Resolve's own globals (`resolve`, `fusion`, `bmd`).
"""

__version__ = "0.1.0"
