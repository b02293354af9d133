// The guided filter's per-pixel arithmetic for Python (mattetrack.engines.classic.refine): the
// arrays are checked with the GIL held, then the loops run without it, so the edge threads of a
// run overlap the tracking instead of queueing for the interpreter.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <tuple>

#include "common.hpp"
#include "guided.hpp"

namespace {

namespace py = pybind11;
using namespace mattetrack;

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

// (h, w, 3) or (h, w) float32 of the given size; `what` names it in the error.
void check_plane(const Floats& x, int64_t h, int64_t w, int channels, const char* what) {
    const bool ok = channels == 1
                        ? (x.ndim() == 2 && x.shape(0) == h && x.shape(1) == w)
                        : (x.ndim() == 3 && x.shape(0) == h && x.shape(1) == w &&
                           x.shape(2) == channels);
    if (!ok) {
        value_error(std::string("guided filter: ") + what + " must be (" + std::to_string(h) +
                    ", " + std::to_string(w) + (channels == 1 ? "" : ", 3") +
                    ") float32");
    }
}

std::tuple<int64_t, int64_t> guide_size(const Floats& guide) {
    if (guide.ndim() != 3 || guide.shape(2) != 3 || guide.shape(0) < 1 || guide.shape(1) < 1 ||
        guide.shape(0) > kMaxSide || guide.shape(1) > kMaxSide) {
        value_error("guided filter: the guide must be a (h, w, 3) float32 image");
    }
    return {guide.shape(0), guide.shape(1)};
}

py::tuple guided_products_py(const Floats& guide, const Floats& src) {
    const auto [h, w] = guide_size(guide);
    check_plane(src, h, w, 1, "src");
    py::array_t<float> gp({h, w, int64_t(3)}), lo({h, w, int64_t(3)}), hi({h, w, int64_t(3)});
    const float *g = guide.data(), *p = src.data();
    float *o_gp = gp.mutable_data(), *o_lo = lo.mutable_data(), *o_hi = hi.mutable_data();
    {
        py::gil_scoped_release release;
        guided_products(g, p, h * w, o_gp, o_lo, o_hi);
    }
    return py::make_tuple(gp, lo, hi);
}

py::tuple guided_solve_py(const Floats& mean_i, const Floats& mean_p, const Floats& mean_gp,
                          const Floats& mean_lo, const Floats& mean_hi, float eps) {
    const auto [h, w] = guide_size(mean_i);
    check_plane(mean_p, h, w, 1, "mean_p");
    check_plane(mean_gp, h, w, 3, "mean_gp");
    check_plane(mean_lo, h, w, 3, "mean_lo");
    check_plane(mean_hi, h, w, 3, "mean_hi");
    if (!(eps > 0.0f)) value_error("guided filter: eps must be > 0");
    py::array_t<float> a({h, w, int64_t(3)}), b({h, w});
    const float *mi = mean_i.data(), *mp = mean_p.data(), *mg = mean_gp.data(),
                *ml = mean_lo.data(), *mh = mean_hi.data();
    float *oa = a.mutable_data(), *ob = b.mutable_data();
    {
        py::gil_scoped_release release;
        guided_solve(mi, mp, mg, ml, mh, h * w, eps, oa, ob);
    }
    return py::make_tuple(a, b);
}

}  // namespace

void bind_guided(py::module_& m) {
    m.def("guided_products", &guided_products_py, py::arg("guide"), py::arg("src"),
          "The guided filter's products before averaging, for guide (h, w, 3) and src (h, w) "
          "float32: (guide * src, [r*r, r*g, r*b], [g*g, g*b, b*b]), each (h, w, 3) float32.");
    m.def("guided_solve", &guided_solve_py, py::arg("mean_i"), py::arg("mean_p"),
          py::arg("mean_gp"), py::arg("mean_lo"), py::arg("mean_hi"), py::arg("eps"),
          "The guided filter's coefficients (a (h, w, 3), b (h, w) float32, before their own "
          "averaging) from the box means of the guide (h, w, 3), the source (h, w) and "
          "guided_products' three outputs (h, w, 3); eps > 0 regularises the guide's "
          "covariance.");
}
