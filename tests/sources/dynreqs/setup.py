from setuptools import Extension, setup

setup(packages=["dynreqs"], ext_modules=[Extension("dynreqs._word", ["dynreqs/_word.c"])])
