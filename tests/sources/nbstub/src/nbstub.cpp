// One nanobind module whose .pyi nanobind_add_stub writes by importing it during the build.
#include <nanobind/nanobind.h>
#include <cstdint>

namespace nb = nanobind;

NB_MODULE(_nbstub, m) {
    m.def("add", [](std::int64_t a, std::int64_t b) { return a + b; }, nb::arg("a"), nb::arg("b"),
          "Add two integers on the host.");
    m.def("pointer_bits", []() { return static_cast<int>(8 * sizeof(void *)); });
}
