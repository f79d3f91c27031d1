"""A console script, a ``#!python`` script and a module: what a distribution's
``pip install --root DESTDIR --prefix /usr`` writes for the device."""

import platform
import sys


def main() -> None:
    print(sys.executable, platform.machine())
