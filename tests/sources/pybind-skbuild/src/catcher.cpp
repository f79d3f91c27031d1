#include <pybind11/pybind11.h>

#include "boom.h"

namespace py = pybind11;

// a C++ call into _thrower, whose Boom this module catches by type
static int catch_boom(py::capsule fn, int code) {
    auto call = reinterpret_cast<boom_fn>(fn.get_pointer());
    try {
        call(code);
    } catch (const Boom &e) {
        return e.code;
    } catch (const std::out_of_range &) {
        return -1;
    }
    return 0;
}

PYBIND11_MODULE(_catcher, m) {
    // a translator for every module of this pybind11 ABI: _thrower's Boom becomes BoomError
    py::register_exception<Boom>(m, "BoomError", PyExc_RuntimeError);
    m.def("catch_boom", &catch_boom);
    m.def("shared_count", &shared_count);
}
