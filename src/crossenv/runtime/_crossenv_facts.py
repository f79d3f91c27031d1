"""crossenv runtime: the host's byte order and pointer size, for build hooks only.

setup.py files choose ``-DWORDS_BIGENDIAN`` from ``sys.byteorder`` and 32/64-bit code
from ``sys.maxsize > 2**32`` or ``struct.calcsize("P")``; cross-python is a native
interpreter, so they would describe the build machine and the wheel would be silently
wrong (an s390x wheel compiled as little-endian). These facts also describe the running
interpreter, which pip, Cython and the build requirements rely on, so the host's answer
is given only in a process that runs a build backend's hooks (``_hook_process`` in
``_crossenv_shim``: pyproject_hooks' ``_in_process.py``, which pip and pypa/build start,
or ``cross-python setup.py``), never in pip, the REPL or ``cross-python -c``. Each fact,
and why, is listed in docs/how-it-works.rst ("Runtime facts"). Stdlib only.
"""

import struct
import sys

import _crossenv_config as _C

#: native struct codes whose size is the pointer size on Linux (LP64 and ILP32)
_POINTER_CODES = frozenset("PnNlL")


def _calcsize(real, size):
    def calcsize(fmt):
        text = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else fmt
        body = text[1:] if text[:1] == "@" else text
        if isinstance(body, str) and body.strip() in _POINTER_CODES:
            return size
        return real(fmt)

    calcsize.__doc__ = real.__doc__
    return calcsize


def apply():
    """Give this hook process the host's ``sys.byteorder``, ``sys.maxsize`` and
    native pointer-sized ``struct.calcsize``."""
    byteorder, bits = _C.BYTEORDER, _C.POINTER_BITS
    real_bits = struct.calcsize("P") * 8
    if (byteorder != sys.byteorder or bits != real_bits) and "ctypes" not in sys.modules:
        # ctypes reads both facts once, at import: its Big/LittleEndianStructure take the
        # real byte order and its size check (py_object against calcsize("P")) the real
        # pointer size; imported after the patch, `import ctypes` fails on a 32-bit host
        try:  # noqa: SIM105  (no contextlib import in the runtime)
            import ctypes  # noqa: F401
        except ImportError:  # a Python built without _ctypes
            pass
    sys.byteorder = byteorder
    sys.maxsize = 2 ** (bits - 1) - 1
    struct.calcsize = _calcsize(struct.calcsize, bits // 8)
