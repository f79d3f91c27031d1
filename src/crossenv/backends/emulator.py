"""The emulator: host programs under qemu, native ones directly.

binfmt_misc is not assumed, so tools that run what a cross build made need a
program to run it with: CMake >= 4.1 (policy CMP0190) runs even the Python
interpreter through ``CMAKE_CROSSCOMPILING_EMULATOR`` when cross-compiling, and
automake's ``make check`` runs tests through ``LOG_COMPILER``. qemu would fail on
cross-python (a native program), so the emulator is a small ``/bin/sh`` script
(``templates/emulator.sh``) that runs host ELF programs under qemu and everything
else (scripts, native tools) directly. This generator is the one that writes it;
the table tells the others (cmake, autotools) where it is.
"""

from __future__ import annotations

import sys

from .. import quoting, templates
from ..host import HostDescription
from ._protocol import EXECUTABLE, Files, Inputs, Place
from ._shared import EMULATOR_NAME, qemu_command


def _native_elf_machine() -> bytes:
    """e_machine (2 bytes, as stored) of this machine's programs, read from our python."""
    try:
        with open(sys.executable, "rb") as fh:
            head = fh.read(20)
        return head[18:20]
    except OSError:
        return b""


def render(host: HostDescription) -> str | None:
    """The script, or None when host programs cannot run here (no qemu, no libc)."""
    qemu = qemu_command(host)
    if not qemu:
        return None
    native = " ".join(f"{byte:02x}" for byte in _native_elf_machine())
    return templates.fill("emulator.sh", native=native,
                          qemu=templates.Raw(quoting.shell_join(qemu)))


def files(target: Inputs, place: Place) -> Files:
    text = render(target.host)
    return {EMULATOR_NAME: (text, EXECUTABLE)} if text is not None else {}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """None: the generators that run host programs name the script themselves."""
    return {}
