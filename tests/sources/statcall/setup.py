from setuptools import Extension, setup

setup(packages=["statcall"], package_dir={"": "src"},
      ext_modules=[Extension("statcall._stat", ["src/statcall/_stat.c"])])
