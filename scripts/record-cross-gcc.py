#!/usr/bin/env python3
"""Record which GNU cross compiler packages Debian bookworm and trixie have.

crossenv's missing-compiler hint names a Debian package (``gcc-arm-linux-gnueabihf``)
derived from the architecture table (crossenv.arches.debian_gcc_package). A unit test
checks every row against this recording, so that a hint never names a package that
does not exist (it once said ``gcc-armv8l-linux-gnueabihf``). The package lists come
from apt, with private state, through the machine's configured sources retargeted to
each release (crossenv.apt): no archive host is written down here.

    tests/data/debian-cross-gcc.txt   "<release> <build-arch> <package>" per line

Usage: scripts/record-cross-gcc.py [--out FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from crossenv import apt, releases

SUITES = ("bookworm", "trixie")
#: build machines: amd64, and arm64 (where gcc-x86_64-linux-gnu exists)
BUILD_ARCHES = ("amd64", "arm64")
#: the unversioned ones (gcc-arm-linux-gnueabihf, not gcc-12-... or gcc-multilib-...)
_CROSS = re.compile(r"(gcc|g\+\+)-(?![0-9]|multilib-)[a-z0-9-]+-linux-[a-z0-9]+")


def record(suite: str, build: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="crossenv-record-") as tmp:
        client = apt.Apt(build, Path(tmp), releases.by_suite(suite))
        client.update()
        names = client.run("apt-cache", "pkgnames").split()
    return sorted(name for name in names if _CROSS.fullmatch(name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent
                        / "tests" / "data" / "debian-cross-gcc.txt")
    args = parser.parse_args()
    lines = ["# Debian's cross compiler packages, recorded by scripts/record-cross-gcc.py",
             "# <release> <build machine's Debian arch> <package>"]
    for suite in SUITES:
        for build in BUILD_ARCHES:
            lines += [f"{suite} {build} {name}" for name in record(suite, build)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(lines) - 2} packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
