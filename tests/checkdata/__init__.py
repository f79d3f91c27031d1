"""Build real ELF files with real (cross) compilers and zip them into real wheels.

The wheel checker's tests must see what a broken cross build really produces, so
nothing here fakes an ELF header: every ``.so`` comes out of a compiler.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from packaging.tags import parse_tag

from helpers import require  # the one skip helper: fails in CI

HERE = Path(__file__).parent

# platform-tag arch -> Debian cross compiler (and the Debian package that provides it)
COMPILERS = {
    "x86_64": ("gcc", "gcc"),
    "aarch64": ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    "armv7l": ("arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
    "s390x": ("s390x-linux-gnu-gcc", "gcc-s390x-linux-gnu"),
    "ppc64le": ("powerpc64le-linux-gnu-gcc", "gcc-powerpc64le-linux-gnu"),
}
MULTIARCH = {
    "x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu",
    "armv7l": "arm-linux-gnueabihf", "s390x": "s390x-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
}


def compiler(arch: str) -> str:
    """The compiler for ``arch``; skips (fails in CI) naming the missing Debian package."""
    cc, package = COMPILERS[arch]
    require(shutil.which(cc), f"{cc} not found: apt-get install {package} "
            "(listed in .ci/apt-packages.txt)")
    return cc


def compile_so(cc: str, out: Path, source: str, *flags: str) -> bytes:
    """Compile ``source`` (a file name in this directory) into the shared object ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(HERE / source), *flags],
                   check=True, capture_output=True, text=True)
    return out.read_bytes()


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def make_wheel(dest: Path, tag: str, files: dict[str, bytes], *, name: str = "demo",
               version: str = "1.0", wheel_tags: list[str] | None = None,
               record: str | None = None, unlisted: dict[str, bytes] | None = None) -> Path:
    """Write ``name-version-TAG.whl`` with a correct RECORD unless told otherwise.

    ``wheel_tags`` overrides the WHEEL file's Tag lines, ``record`` replaces RECORD's
    text, and ``unlisted`` adds files that RECORD does not mention.
    """
    dist = f"{name}-{version}.dist-info"
    members = dict(files)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    members[f"{dist}/METADATA"] = metadata.encode()
    lines = [str(t) for t in sorted(parse_tag(tag), key=str)] if wheel_tags is None else wheel_tags
    members[f"{dist}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: crossenv-tests\n"
                                "Root-Is-Purelib: false\n"
                                + "".join(f"Tag: {t}\n" for t in lines)).encode()
    if record is None:
        record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in members.items())
        record += f"{dist}/RECORD,,\n"
    members[f"{dist}/RECORD"] = record.encode()
    members.update(unlisted or {})
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def edit_headers(wheel: Path, local: int, central: int, edit: Callable[[int], int]) -> bytearray:
    """Apply *edit* to the byte at offset *local* of every local file header and at
    *central* of every central directory header; return the archive's new bytes."""
    data = bytearray(wheel.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset] = edit(data[at + offset])
            at = data.find(signature, at + 4)
    return data


def flip_flag(wheel: Path, bit: int) -> None:
    """Set a general-purpose flag bit in every local and central header."""
    wheel.write_bytes(bytes(edit_headers(wheel, 6, 8, lambda byte: byte | bit)))
