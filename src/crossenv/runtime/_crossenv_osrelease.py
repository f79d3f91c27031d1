"""crossenv runtime: the ``distro`` package reads the sysroot's os-release.

Build scripts ask ``distro.id()`` (RobotPy, packages choosing a library layout) which
system they build for; in cross-python that is the host's, so ``distro``'s module-level
instance is replaced by one reading the sysroot (``LinuxDistribution(root_dir=...)``,
distro >= 1.7, which also skips ``lsb_release`` and ``uname``: both would describe the
build machine). ``UNIXCONFDIR`` set by the user wins (RobotPy points it at a fake
os-release). ``platform.freedesktop_os_release`` is handled with ``platform``'s other
patches. Loaded only when ``distro`` is imported. Stdlib only.
"""

import os
import sys


def patch_distro(module):
    """Hook for ``distro.distro`` (the module that holds ``_distro``)."""
    cls = getattr(module, "LinuxDistribution", None)
    if cls is None or not hasattr(module, "_distro"):
        return "_distro", "not found"
    sysroot = getattr(getattr(sys, "crossenv", None), "sysroot", None)
    if "UNIXCONFDIR" in os.environ or not sysroot:
        return None
    try:
        module._distro = cls(root_dir=sysroot)
    except TypeError as exc:  # distro < 1.7 has no root_dir
        return "LinuxDistribution", f"no root_dir argument ({exc})"
    return None
