"""Reading plates: `Shot` (frames on demand, display-referred RGB), `read_mask` (prompt masks)."""

from mattetrack.shot.mask import read_mask
from mattetrack.shot.shot import Shot

__all__ = ["Shot", "read_mask"]
