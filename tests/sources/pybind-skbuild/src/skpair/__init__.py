"""pybind11 modules from CMake: one throws, the other catches."""
