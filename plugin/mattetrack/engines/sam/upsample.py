"""Edge-aware upsampling of SAM 2 family mask logits to the plate (the Fast Guided Filter).

SAM 2, EdgeTAM and the SAM 3 tracker predict a 256 x 256 grid of mask logits over the frame
stretched to a square (a 1920 x 1080 plate is resized non-uniformly to 1024 x 1024 before the
model): one cell covers 7.5 x 4.2 plate pixels at 1080p. Upsampling the coverage bilinearly to the
plate blurs the edge over a cell and knows nothing of the plate. Here the coverage is
guided-filtered at a processing grid with the plate's aspect (long side `UpsampleParams.long_side`),
and the filter's local linear coefficients, which vary slowly, are upsampled instead of the
coverage and applied to the full-resolution plate, so the soft edge follows the plate's own edges.
Torch only, on whatever device the tensors are on: the same code runs on CUDA and on the CPU.
Fast Guided Filter: He & Sun, arXiv 1505.00996 (2015); guided filter: He, Sun & Tang (2010).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# The models' "object absent" logit; also what non-finite logits are clamped to.
NO_OBJ = -1024.0


@dataclass
class UpsampleParams:
    """Settings of `upsample_logits`.

    A finer grid and a smaller window keep more of the model's edge where it is right; a coarser
    one pulls a misplaced edge further towards the plate's but washes out thin parts. The
    measurements behind the defaults: docs/tuning.md, "Deep engines: plate-resolution coverage".
    """

    long_side: int = 1024  # processing grid long side (px), plate aspect kept, at most the plate's
    radius: int = 1  # guided-filter radius at the processing grid (px)
    eps: float = 1e-3  # guided-filter regulariser, guide units squared
    temperature: float = 1.0  # logits / temperature before the sigmoid (softness of non-edge areas)
    # Below this coverage over the whole reach of the filter an object is absent there: exactly 0
    # (and above 1 - dead exactly 1), so NO_OBJ logits and regions far from the object stay 0
    # instead of picking up a faint copy of the plate's texture through the filter.
    dead: float = 1e-4
    # Objects filtered together: on a GPU a batch saves kernel launches and `gpu_chunk` bounds
    # its (chunk, 4, h', w') temporaries; on the CPU one at a time stays in cache (docs/tuning.md).
    gpu_chunk: int = 8
    cpu_chunk: int = 1


def processing_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h', w'): the plate's (height, width) scaled to a long side of `long_side`, never larger."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _box_sum(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sum over the (2r+1)^2 window of (N, C, h, w), zero outside the frame. Shifted adds, one
    axis at a time: on the CPU 5-15x faster than avg_pool2d or a grouped conv2d at these sizes,
    and a handful of elementwise kernels on a GPU; the radius is small."""
    height, width = x.shape[-2:]
    xp = F.pad(x, (r, r, r, r))
    rows = xp[..., 0:width].clone()
    for d in range(1, 2 * r + 1):
        rows += xp[..., d : d + width]
    out = rows[..., 0:height, :].clone()
    for d in range(1, 2 * r + 1):
        out += rows[..., d : d + height, :]
    return out


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)^2 window inside the frame, per channel of (N, C, h, w): at the borders
    only the pixels that exist count (He et al.'s N = box(1) normalisation)."""
    height, width = x.shape[-2:]

    def count(n: int) -> torch.Tensor:
        i = torch.arange(n, device=x.device)
        return ((i + r + 1).clamp(max=n) - (i - r).clamp(min=0)).to(torch.float32)

    return _box_sum(x, r) / (count(height)[:, None] * count(width)[None, :])


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (N, C, h, w) -> (N, C, *size) on cv2.resize's pixel-centre grid (align_corners
    False), antialiased where it shrinks (torch's antialiased kernel is the plain bilinear one
    where it enlarges)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def _guide_statistics(
    guide: torch.Tensor, r: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """What the filter needs of the (1, 3, h, w) guide, shared by every object.

    Returns the guide centred on its frame mean (1, 3, h, w), its box means (1, 3, h, w), and the
    6 distinct entries (rr, rg, rb, gg, gb, bb) of the inverse of its windowed covariance + eps,
    each (1, 1, h, w).
    """
    # Centring keeps E[xy] - E[x]E[y] from cancelling away float32 digits on bright plates.
    g = guide - guide.mean(dim=(-2, -1), keepdim=True)
    c0, c1, c2 = g[:, 0:1], g[:, 1:2], g[:, 2:3]
    stats = _box(torch.cat([g, c0 * c0, c0 * c1, c0 * c2, c1 * c1, c1 * c2, c2 * c2], 1), r)
    m = stats[:, :3]
    m0, m1, m2 = m[:, 0:1], m[:, 1:2], m[:, 2:3]
    rr = stats[:, 3:4] - m0 * m0 + eps
    rg = stats[:, 4:5] - m0 * m1
    rb = stats[:, 5:6] - m0 * m2
    gg = stats[:, 6:7] - m1 * m1 + eps
    gb = stats[:, 7:8] - m1 * m2
    bb = stats[:, 8:9] - m2 * m2 + eps
    # Inverse of the symmetric 3x3 matrix by cofactors, vectorised over pixels. A covariance plus
    # eps I is positive definite, so det >= eps^3 > 0.
    i_rr = gg * bb - gb * gb
    i_rg = gb * rb - rg * bb
    i_rb = rg * gb - gg * rb
    i_gg = rr * bb - rb * rb
    i_gb = rb * rg - rr * gb
    i_bb = rr * gg - rg * rg
    inv_det = 1.0 / (rr * i_rr + rg * i_rg + rb * i_rb)
    inv = tuple(c * inv_det for c in (i_rr, i_rg, i_rb, i_gg, i_gb, i_bb))
    return g, m, inv


def _coefficients(
    guide_c: torch.Tensor,
    mean_i: torch.Tensor,
    inv: tuple[torch.Tensor, ...],
    p: torch.Tensor,
    r: int,
    dead: float,
) -> torch.Tensor:
    """Guided-filter coefficients of the (N, 1, h, w) coverages `p`, already box-averaged, as
    (N, 4, h, w): a_r, a_g, a_b (applying to the centred guide) and b; zero slopes where the
    coverage in reach is all below `dead` or all above 1 - `dead`."""
    stats = _box(torch.cat([p, guide_c * p], 1), r)  # mean_p, mean_ip
    mean_p = stats[:, 0:1]
    cov = stats[:, 1:4] - mean_i * mean_p
    c0, c1, c2 = cov[:, 0:1], cov[:, 1:2], cov[:, 2:3]
    i_rr, i_rg, i_rb, i_gg, i_gb, i_bb = inv
    a0 = i_rr * c0 + i_rg * c1 + i_rb * c2
    a1 = i_rg * c0 + i_gg * c1 + i_gb * c2
    a2 = i_rb * c0 + i_gb * c1 + i_bb * c2
    b = mean_p - (a0 * mean_i[:, 0:1] + a1 * mean_i[:, 1:2] + a2 * mean_i[:, 2:3])
    coeff = _box(torch.cat([a0, a1, a2, b], 1), r)
    # A cell's output reads p within 2r of it (two box passes). Where all of that is absent (or
    # all solid) the answer is exactly 0 (or 1): texture must not make coverage from nothing.
    # The counts of cells in reach that are not absent / not solid are sums of 0s and 1s: exact.
    live = _box_sum(torch.cat([p >= dead, p <= 1.0 - dead], 1).to(p.dtype), 2 * r)
    dead, solid = live[:, 0:1] == 0, live[:, 1:2] == 0
    coeff[:, :3].masked_fill_(dead | solid, 0.0)
    coeff[:, 3:4].masked_fill_(dead, 0.0).masked_fill_(solid, 1.0)
    return coeff


def upsample_logits(
    logits: torch.Tensor, image: torch.Tensor, params: UpsampleParams | None = None
) -> torch.Tensor:
    """Plate-resolution soft coverage that follows the plate's edges, from low-res mask logits.

    logits: (N, 1, h, w) or (N, h, w) logits, any float dtype, over the whole frame on the
    stretched square grid of the SAM 2 family (h = w = 256 there; any h, w work). NO_OBJ (-1024)
    everywhere gives exactly 0; NaN logits read as NO_OBJ. image: (3, H, W) float in [0, 1], the
    plate (display-referred), on the device to work on; NaN reads as 0, and infinities and other
    values outside [0, 1] are clipped. Returns (N, H, W) float32 coverage in [0, 1] on image's
    device: exactly 0 (1) wherever the coverage is below params.dead (above 1 - params.dead) over
    the filter's whole reach.
    """
    params = params or UpsampleParams()
    if logits.dim() == 3:
        logits = logits[:, None]
    if logits.dim() != 4 or logits.shape[1] != 1:
        raise ValueError(f"logits must be (N, 1, h, w) or (N, h, w), got {tuple(logits.shape)}")
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be (3, H, W), got {tuple(image.shape)}")
    if (params.radius < 1 or params.eps <= 0 or params.temperature <= 0 or params.long_side < 1
            or params.cpu_chunk < 1 or params.gpu_chunk < 1):
        raise ValueError(f"invalid {params}")
    device = image.device
    n, (height, width) = logits.shape[0], image.shape[1:]
    out = torch.empty((n, height, width), dtype=torch.float32, device=device)
    if n == 0:
        return out
    plate = torch.nan_to_num(image.to(torch.float32), nan=0.0, posinf=1.0, neginf=0.0)
    plate = plate.clamp_(0.0, 1.0)[None]  # nan_to_num made a copy: the caller's image is kept
    size = processing_size(height, width, params.long_side)
    # Antialiased bilinear (a tent over the footprint) rather than mode="area": the same scores,
    # under half the time (docs/tuning.md).
    guide = _resize(plate, size)
    guide_c, mean_i, inv = _guide_statistics(guide, params.radius, params.eps)
    centre = guide.mean(dim=(-2, -1), keepdim=True)  # (1, 3, 1, 1)
    logits = logits.to(device=device, dtype=torch.float32)
    logits = torch.nan_to_num(logits, nan=NO_OBJ, posinf=-NO_OBJ, neginf=NO_OBJ)
    logits = logits.clamp(NO_OBJ, -NO_OBJ)
    chunk = params.cpu_chunk if device.type == "cpu" else params.gpu_chunk
    for k0 in range(0, n, chunk):
        # The logits' grid maps linearly onto the frame on each axis, so resizing it straight to
        # the processing grid undoes the stretch to a square. Logits, not probabilities, are
        # interpolated: the 0.5 contour falls between cells where the model put it, and the
        # edge stays as sharp as the model made it.
        p = torch.sigmoid(_resize(logits[k0 : k0 + chunk], size) / params.temperature)
        coeff = _coefficients(guide_c, mean_i, inv, p, params.radius, params.dead)
        # The coefficients apply to the centred guide: fold the centring into b, so that the
        # full-resolution step reads the plate as it is (a = 0 leaves b exactly as it was).
        coeff[:, 3:4] -= (coeff[:, :3] * centre).sum(1, keepdim=True)
        # One object at a time at full resolution: 4 planes of H x W, not 4 N.
        for j in range(coeff.shape[0]):
            up = _resize(coeff[j : j + 1], (height, width))[0]
            q = torch.addcmul(up[3], up[0], plate[0, 0], out=out[k0 + j])
            q.addcmul_(up[1], plate[0, 1]).addcmul_(up[2], plate[0, 2]).clamp_(0.0, 1.0)
    return out
