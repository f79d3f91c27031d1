#include <nanobind/nanobind.h>

#include "boom.h"

namespace nb = nanobind;

// a C++ call into _thrower, whose Boom this module catches by type
static int catch_boom(nb::capsule fn, int code) {
    auto call = reinterpret_cast<boom_fn>(fn.data());
    try {
        call(code);
    } catch (const Boom &e) {
        return e.code;
    } catch (const std::out_of_range &) {
        return -1;
    }
    return 0;
}

NB_MODULE(_catcher, m) {
    // a translator for every module of this nanobind ABI: _thrower's Boom becomes BoomError
    nb::exception<Boom>(m, "BoomError", PyExc_RuntimeError);
    m.def("catch_boom", &catch_boom);
    m.def("shared_count", &shared_count);
}
