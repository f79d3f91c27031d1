from setuptools import Extension, setup

setup(name="bzuser", version="1.0",
      ext_modules=[Extension("bzuser", ["bzuser.c"], libraries=["bz2"])])
