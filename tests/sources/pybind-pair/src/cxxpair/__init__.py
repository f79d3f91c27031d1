"""Two extension modules, each with its own copy of the C++ runtime's inline parts."""
