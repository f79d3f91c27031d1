"""A C extension (_cmod) and a Cython one (_cymod).

CIBWDEMO_WRONG_ARCH=1 adds a library built with the *build machine's* gcc, the
mistake crossenv buildwheel must catch (tests/test_buildwheel.py).
"""

import os
import subprocess

from Cython.Build import cythonize
from setuptools import Extension, setup

package_data = {}
if os.environ.get("CIBWDEMO_WRONG_ARCH"):
    subprocess.run(["/usr/bin/x86_64-linux-gnu-gcc", "-shared", "-fPIC", "-o",
                    "src/cibwdemo/_wrong.so", "src/cibwdemo/wrong.c"], check=True)
    package_data = {"cibwdemo": ["_wrong.so"]}

setup(
    packages=["cibwdemo"],
    package_dir={"": "src"},
    package_data=package_data,
    ext_modules=[
        Extension("cibwdemo._cmod", ["src/cibwdemo/_cmod.c"]),
        *cythonize([Extension("cibwdemo._cymod", ["src/cibwdemo/_cymod.pyx"])],
                   language_level=3),
    ],
)
