# A crossenv 1.x style package: plain setup.py, a C extension and a Cython one
# (Cython comes from build-pip + cross-expose, as 1.x users set it up).
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    name="hello-crossenv",
    version="1.0",
    packages=["hello"],
    ext_modules=[
        Extension("hello._chello", ["hello/_chello.c"]),
        *cythonize([Extension("hello._cyhello", ["hello/_cyhello.pyx"])]),
    ],
)
