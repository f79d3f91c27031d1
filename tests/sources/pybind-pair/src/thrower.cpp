#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <vector>

#include "boom.h"

namespace py = pybind11;

static int boom(int code) {
    if (code < 0) throw std::out_of_range("negative code");
    throw Boom("boom " + std::to_string(code), code);
}

PYBIND11_MODULE(_thrower, m) {
    m.def("boom", &boom, "throws Boom (a C++ exception) or std::out_of_range");
    m.def("boom_fn", [] { return py::capsule(reinterpret_cast<void *>(&boom), BOOM_CAPSULE); });
    m.def("shared_count", &shared_count);
    m.def("words", [](const std::vector<std::string> &w) {
        std::string all;
        for (const auto &s : w) all += s + ";";
        return all;
    });
}
