"""nanobind modules: one throws, the other catches."""
