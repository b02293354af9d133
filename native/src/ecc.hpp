// The removal fill's alignment (mattetrack.removal.fill._Aligner): the shift that lines a
// candidate frame up with the frame being filled on a band around the hole, by ECC (Evangelidis &
// Psarakis 2008, translation only). OpenCV's findTransformECCWithMask did this on the band's whole
// box: a dozen full-image passes an iteration (warps, masked statistics, Jacobians) where the band
// is a third of the box or less, and it was a third of the fill's time. Here the same steps run on
// the band's pixels only, as OpenCV 5.1 takes them: both images smoothed by its 3x3 Gaussian
// (reflect-101 borders) and each mask eroded by the 3x3 px around it (its blur kept only where it
// stays >= 0.95), or neither; central-difference gradients of the input; the input's mask sampled
// nearest, the image and its gradients bilinearly with zero outside; the ECC Gauss-Newton step
// with its illumination factor lambda; the stop when the correlation changes by less than `eps`.
// No GIL needed.
#pragma once

#include <cstdint>

namespace mattetrack {

// Why an alignment gave no shift.
enum class EccStatus { ok, too_few, no_convergence };

// The translation (dx, dy) (px, in and out: the start, then the result) that best maps the
// (h, w) float32 `image` onto the (h, w) `tmpl` where both masks (uint8, non-zero: usable) allow:
// image(x + dx, y + dy) ~ tmpl(x, y). smooth: OpenCV's gaussFiltSize 3 (both images smoothed,
// the masks eroded), else its 1 (neither). `steps` iterations at most (>= 1); `eps`: the stop on
// the correlation's change. no_convergence where the correlation is not a number or ECC's
// lambda's denominator is <= 0 (OpenCV raises there), too_few where no pixel is usable.
EccStatus ecc_translation(const float* tmpl, const float* image, const uint8_t* tmpl_mask,
                          const uint8_t* image_mask, int64_t h, int64_t w, bool smooth,
                          int steps, double eps, double& dx, double& dy);

}  // namespace mattetrack
