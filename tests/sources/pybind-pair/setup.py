from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

setup(
    packages=["cxxpair"],
    package_dir={"": "src"},
    ext_modules=[
        Pybind11Extension("cxxpair._thrower", ["src/thrower.cpp"], include_dirs=["src"],
                          cxx_std=17),
        Pybind11Extension("cxxpair._catcher", ["src/catcher.cpp"], include_dirs=["src"],
                          cxx_std=17),
    ],
    cmdclass={"build_ext": build_ext},
)
