// The removal fill's alignment for Python (mattetrack.removal.fill._Aligner): the arrays are
// checked with the GIL held, then the work runs without it (the fill gathers both ways in two
// threads).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "common.hpp"
#include "ecc.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Bytes = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

std::optional<std::pair<double, double>> ecc_shift_py(const Floats& tmpl, const Floats& image,
                                                      const Bytes& tmpl_mask,
                                                      const Bytes& image_mask, double dx,
                                                      double dy, bool smooth, int steps,
                                                      double eps) {
    if (tmpl.ndim() != 2) value_error("ecc_shift: template must be (h, w) float32");
    const int64_t h = tmpl.shape(0), w = tmpl.shape(1);
    for (const py::array* a : {static_cast<const py::array*>(&image),
                               static_cast<const py::array*>(&tmpl_mask),
                               static_cast<const py::array*>(&image_mask)}) {
        if (a->ndim() != 2 || a->shape(0) != h || a->shape(1) != w) {
            value_error("ecc_shift: image and both masks must be (h, w) as the template");
        }
    }
    if (h < 1 || w < 1 || h > kMaxSide || w > kMaxSide) value_error("ecc_shift: size out of range");
    if (steps < 1 || steps > 1000) value_error("ecc_shift: steps must be 1 to 1000");
    if (!std::isfinite(dx) || !std::isfinite(dy) || std::fabs(dx) > 1e6 || std::fabs(dy) > 1e6) {
        value_error("ecc_shift: the start must be finite and within 1e6 px");
    }
    if (!(eps >= 0.0)) value_error("ecc_shift: eps must be >= 0");
    EccStatus status;
    {
        py::gil_scoped_release release;
        status = ecc_translation(tmpl.data(), image.data(), tmpl_mask.data(), image_mask.data(),
                                 h, w, smooth, steps, eps, dx, dy);
    }
    if (status != EccStatus::ok) return std::nullopt;
    return std::make_pair(dx, dy);
}

}  // namespace

void bind_ecc(py::module_& m) {
    m.def("ecc_shift", &ecc_shift_py, py::arg("template"), py::arg("image"),
          py::arg("template_mask"), py::arg("image_mask"), py::arg("dx"), py::arg("dy"),
          py::arg("smooth"), py::arg("steps"), py::arg("eps"),
          "The shift (dx, dy) px taking image (h, w) float32 onto template (h, w) float32, "
          "image(x + dx, y + dy) ~ template(x, y), where both masks (h, w) uint8 allow: ECC "
          "(translation) from the start (dx, dy), at most `steps` iterations, stopped when the "
          "correlation changes by less than eps; OpenCV 5.1's findTransformECCWithMask with "
          "gaussFiltSize 3 where smooth (both images smoothed, the masks eroded), else 1, on the "
          "template mask's pixels only. None where it does not converge or no pixel is usable.");
}
