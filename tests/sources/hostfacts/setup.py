"""Chooses macros from the running interpreter, as many setup.py files do (issue 21)."""
import struct
import sys

from setuptools import Extension, setup

macros = [("BUILT_BIG_ENDIAN", "1" if sys.byteorder == "big" else "0"),
          ("BUILT_64BIT", "1" if sys.maxsize > 2**32 else "0"),
          ("BUILT_POINTER", str(struct.calcsize("P")))]
setup(name="facts", version="1",
      ext_modules=[Extension("facts", ["facts.c"], define_macros=macros)])
