// Cryptomatte ids for Python: the writer ranks coverage itself (mattes.cpp); Python needs the ids
// for the manifest and the header key.
#include <pybind11/pybind11.h>

#include <string>

#include "cryptomatte.hpp"

void bind_cryptomatte(pybind11::module_& m) {
    using namespace mattetrack;
    m.def("murmur3_32", [](const std::string& data) { return murmur3_32(data); }, pybind11::arg("data"),
          "MurmurHash3 x86_32, seed 0, of `data` (bytes or a str, taken as UTF-8).");
    m.def("cryptomatte_bits", &cryptomatte_bits, pybind11::arg("hash"),
          "The hash as Cryptomatte stores it: bit 23 flipped when the exponent bits are all 0 or 1.");
}
