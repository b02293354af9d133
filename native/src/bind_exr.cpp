// EXR matte writing through the OpenEXR C++ library.
#include <pybind11/pybind11.h>

#include <OpenEXR/ImfVersion.h>
#include <OpenEXR/OpenEXRConfig.h>

namespace py = pybind11;

void bind_exr(py::module_& m) {
    m.def("openexr_version", []() { return std::string(OPENEXR_VERSION_STRING); },
          "Version of the OpenEXR library the module was built against.");
}
