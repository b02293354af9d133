// Merged plate copies: a plate EXR copied with matte channels (and a Cryptomatte) added, every
// original part, channel, attribute and bit kept. Runs without the GIL; throws Rejected.
#pragma once

#include <string>

#include "mattes.hpp"

namespace mattetrack {

// Copies `plate` to job.path with the job's channels added: into part `extend_part` when it is
// scanline, lossless and on the job's data window, else as a new part `part_name` (view `view`).
// part_named_cryptomatte: the Cryptomatte also under the type "<part name>.<type>" of the part
// holding it (Blender's layer names in a named part). on_display: every part whose data window
// is not its display window is moved onto it (decoded, zero outside its data window, cropped
// past it; scanline, full resolution only, a lossy codec replaced by ZIP): Blender then shows
// the plate where other readers do.
void run_merge(const std::string& plate, const MatteJob& job, const std::string& part_name,
               const std::string& view, int extend_part, bool part_named_cryptomatte = false,
               bool on_display = false);

}  // namespace mattetrack
