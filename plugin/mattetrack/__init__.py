"""MatteTrack: click an object, propagate its matte through the shot, export EXR mattes and roto."""

import os

# FFmpeg (inside OpenCV) prints its own lines ("moov atom not found") before our one-line
# error; quiet it (AV_LOG_QUIET) unless the user asked for its logs. Set before cv2 loads.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from mattetrack.errors import InputError, MatteTrackError

__version__ = "0.1.0"

__all__ = ["InputError", "MatteTrackError", "__version__"]
