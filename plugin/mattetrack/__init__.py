"""MatteTrack: click an object, propagate its matte through the shot, export EXR mattes and roto."""

from mattetrack.errors import InputError, MatteTrackError

__version__ = "0.1.0"

__all__ = ["InputError", "MatteTrackError", "__version__"]
