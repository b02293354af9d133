// mattetrack._native: the pybind11 module. Each area binds itself from its own bind_<area>.cpp.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_exr(py::module_& m);
void bind_cryptomatte(py::module_& m);
void bind_raster(py::module_& m);
void bind_geodesic(py::module_& m);
void bind_guided(py::module_& m);
void bind_bezier(py::module_& m);
void bind_encode(py::module_& m);
void bind_spread(py::module_& m);
void bind_ecc(py::module_& m);
void bind_light(py::module_& m);

PYBIND11_MODULE(_native, m) {
    m.doc() = "MatteTrack native module (OpenEXR I/O and pixel loops); private, use mattetrack.export";
    bind_exr(m);
    bind_cryptomatte(m);
    bind_raster(m);
    bind_geodesic(m);
    bind_guided(m);
    bind_bezier(m);
    bind_encode(m);
    bind_spread(m);
    bind_ecc(m);
    bind_light(m);
}
