// Geodesic distance on an image grid: the cheapest path from seed pixels, where each step costs
// the mean of its two pixels' costs times its length (1, or sqrt 2 diagonally). Raster scans
// (Toivanen, 1996): each row is updated from its neighbour row (vertical and diagonal steps), then
// swept along itself both ways; four such sweeps (down, up, and the same along columns) make a
// pass, repeated until paths that turn several times have settled. No GIL needed.
#pragma once

namespace mattetrack {

// cost: (height, width) float32, finite and > 0. dist: (height, width) float32, 0 at the seeds
// and +inf elsewhere on entry, the distances on return. passes >= 1.
void geodesic_distance(const float* cost, float* dist, int height, int width, int passes);

}  // namespace mattetrack
