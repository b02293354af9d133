// Bezier fitting for Python (mattetrack.shapes.bezier): arrays are checked with the GIL held,
// then every segment is fitted without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>
#include <utility>

#include "bezier.hpp"
#include "common.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Indices = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

std::pair<py::array_t<double>, py::array_t<double>> fit_bezier_segments_py(
    const Doubles& poly, const Indices& knots, const Doubles& leave, const Doubles& arrive,
    int newton) {
    const std::string what = "fit_bezier_segments: ";
    if (poly.ndim() != 2 || poly.shape(1) != 2 || poly.shape(0) < 2) {
        value_error(what + "poly is not (n, 2) with n >= 2");
    }
    const int64_t n = poly.shape(0);
    if (knots.ndim() != 1 || knots.shape(0) < 1) value_error(what + "knots is not (k,), k >= 1");
    const int64_t k = knots.shape(0);
    for (const Doubles* t : {&leave, &arrive}) {
        if (t->ndim() != 2 || t->shape(0) != k || t->shape(1) != 2) {
            value_error(what + "tangents are not (k, 2) with k = " + std::to_string(k));
        }
    }
    if (newton < 0 || newton > 100) value_error(what + "newton must be in [0, 100]");
    const double* xy = poly.data();
    for (int64_t i = 0; i < 2 * n; ++i) {
        if (!std::isfinite(xy[i]) || std::abs(xy[i]) > double(kMaxCoordinate)) {
            value_error(what + "poly has a non-finite or out-of-range coordinate");
        }
    }
    const int64_t* idx = knots.data();
    for (int64_t i = 0; i < k; ++i) {
        if (idx[i] < 0 || idx[i] >= n) {
            value_error(what + "knot " + std::to_string(i) + " is not an index of poly");
        }
    }
    for (const Doubles* t : {&leave, &arrive}) {
        for (int64_t i = 0; i < 2 * k; ++i) {
            if (!std::isfinite(t->data()[i])) value_error(what + "a tangent is not finite");
        }
    }
    py::array_t<double> rows({k, int64_t(6)});
    py::array_t<double> dist(n);
    const BezierFitInput in{xy, n, idx, k, leave.data(), arrive.data(), newton};
    double* rows_out = rows.mutable_data();
    double* dist_out = dist.mutable_data();
    Failure failure = [&] {
        py::gil_scoped_release release;
        return capture("fit_bezier_segments",
                       [&] { fit_bezier_segments(in, rows_out, dist_out); });
    }();
    if (failure) raise(failure);
    return {rows, dist};
}

}  // namespace

void bind_bezier(py::module_& m) {
    m.def("fit_bezier_segments", &fit_bezier_segments_py, py::arg("poly"), py::arg("knots"),
          py::arg("leave"), py::arg("arrive"), py::arg("newton") = 2,
          "Cubic Bezier segments between consecutive `knots` (k,) of closed polyline `poly` "
          "(n, 2) px, leaving knot i along leave[i] and arriving along arrive[i] ((k, 2) unit "
          "vectors): ((k, 6) rows x, y, lx, ly, rx, ry absolute, (n,) each point's distance "
          "from its segment, px).");
}
