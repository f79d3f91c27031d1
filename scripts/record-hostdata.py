#!/usr/bin/env python3
"""Record real Debian host data for crossenv's unit tests.

Unit tests of host detection and sysconfigdata generation need genuine
``_sysconfigdata_*.py`` files from foreign architectures, plus facts to check them
against. Provisioning a sysroot per test run would make unit tests slow and
network-bound, so this script records them once into ``tests/data/hostdata``:

    tests/data/hostdata/<debian-arch>/_sysconfigdata__<multiarch>.py   (verbatim copy)
    tests/data/hostdata/<debian-arch>/manifest.json

The sysconfigdata file is data: it is copied, hashed and (as a fallback only) read
with ``ast.literal_eval``; it is never executed on the build machine. The facts come
from running the real host python under qemu-user when qemu is available, and every
fact says how it was obtained.

Usage: scripts/record-hostdata.py [--out DIR] [--python X.Y --release SUITE] [ARCH ...]
(default: bookworm's python3.11 for all five arches; ``--python 3.15 --release sid``
records sid's python3.15 into tests/data/hostdata-3.15, with its extension suffixes)
"""

from __future__ import annotations

import argparse
import ast
import datetime
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from crossenv import provision, releases

ARCHES = ("arm64", "armhf", "s390x", "ppc64el", "i386")
PYTHON = "python3.11"
# Debian ships the real file in libpython3.X-minimal; libpython3.X-stdlib only adds a
# _sysconfigdata__linux_<multiarch>.py symlink to it.
PACKAGE = f"lib{PYTHON}-minimal"
RELEASE: str | None = None  # the build machine's own release

# Printed by the host python under qemu; uses only modules in python3.X-minimal.
_PROBE = """
import os, struct, sys, sysconfig
v = sysconfig.get_config_var
print(repr({
    "uname_m": os.uname().machine,
    "byteorder": sys.byteorder,
    "pointer_size": struct.calcsize("P"),
    "maxsize": sys.maxsize,
    "EXT_SUFFIX": v("EXT_SUFFIX"),
    "SOABI": v("SOABI"),
    "MULTIARCH": v("MULTIARCH"),
    "HOST_GNU_TYPE": v("HOST_GNU_TYPE"),
    "platform": sysconfig.get_platform(),
    "sysconfigdata_name": sysconfig._get_sysconfigdata_name(),
    "version": sys.version.split()[0],
    "cache_tag": sys.implementation.cache_tag,
    "SOABI_PLATFORM": v("SOABI_PLATFORM"),
    "EXTENSION_SUFFIXES": __import__("importlib.machinery").machinery.EXTENSION_SUFFIXES,
}))
"""

# Used only when qemu cannot run the host python.
_UNAME_M = {"arm64": "aarch64", "armhf": "armv7l", "s390x": "s390x", "ppc64el": "ppc64le",
            "i386": "i686"}


def _elf_facts(executable: Path) -> dict[str, Any]:
    """Byte order and pointer size from the ELF header (EI_CLASS, EI_DATA)."""
    header = executable.read_bytes()[:6]
    return {"byteorder": {1: "little", 2: "big"}[header[5]],
            "pointer_size": {1: 4, 2: 8}[header[4]]}


def _static_vars(sysconfigdata: Path) -> dict[str, Any]:
    """The build_time_vars dict, read as a literal (never executed)."""
    tree = ast.parse(sysconfigdata.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "build_time_vars":
            return dict(ast.literal_eval(node.value))
    raise SystemExit(f"{sysconfigdata}: no build_time_vars literal")


def _qemu_facts(arch: str, root: Path, python: Path) -> tuple[dict[str, Any], str] | None:
    qemu = provision.find_qemu(arch)
    if qemu is None:
        return None
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             check=False).stdout.split("\n")[0].strip()
    proc = subprocess.run([qemu, "-L", str(root), str(python), "-I", "-c", _PROBE],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"{arch}: host python failed under qemu: {proc.stderr.strip()}", file=sys.stderr)
        return None
    return ast.literal_eval(proc.stdout.strip()), f"{Path(qemu).name} ({version})"


def record(arch: str, out: Path) -> Path:
    """Download the host python for ``arch``, probe it and write ``out/<arch>``."""
    info = provision.debian_arch(arch)
    with tempfile.TemporaryDirectory(prefix=f"hostdata-{arch}-") as tmp:
        work = Path(tmp)
        release = releases.by_suite(RELEASE) if RELEASE else None
        apt = provision.Apt(arch, work / "apt", release)
        skipped = apt.update()
        # The interpreter's closure is small and lets qemu run it for the facts.
        debs = apt.download(apt.closure([f"{PYTHON}-minimal", PACKAGE]), work / "debs")
        root = work / "root"
        root.mkdir()
        for deb in debs:
            provision.extract_deb(deb, root)
        provision.merge_usr(root)  # trixie on: /lib is base-files' link, not unpacked
        provision.relativize_symlinks(root)
        versions = dict(provision.deb_name_version(d) for d in debs)
        name = f"_sysconfigdata__{info.multiarch}.py"
        source = root / "usr" / "lib" / PYTHON / name
        if not source.is_file():
            raise SystemExit(f"{arch}: {PACKAGE} has no {source.relative_to(root)}")
        dest = out / info.debian
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copyfile(source, dest / name)

        static = _static_vars(source)
        facts: dict[str, Any] = {
            "EXT_SUFFIX": static.get("EXT_SUFFIX"), "SOABI": static.get("SOABI"),
            "MULTIARCH": static.get("MULTIARCH"), "HOST_GNU_TYPE": static.get("HOST_GNU_TYPE"),
            "uname_m": _UNAME_M.get(info.debian), **_elf_facts(root / "usr" / "bin" / PYTHON),
        }
        how = {**dict.fromkeys(("EXT_SUFFIX", "SOABI", "MULTIARCH", "HOST_GNU_TYPE"),
                               "build_time_vars of the recorded file, via ast.literal_eval"),
               "uname_m": "table in scripts/record-hostdata.py",
               "byteorder": "ELF header of usr/bin/" + PYTHON,
               "pointer_size": "ELF header of usr/bin/" + PYTHON}
        probed = _qemu_facts(info.debian, root, root / "usr" / "bin" / PYTHON)
        if probed is not None:
            values, qemu = probed
            for key, value in values.items():
                if key in facts and facts[key] != value:
                    raise SystemExit(f"{arch}: {key} is {value!r} under qemu but {facts[key]!r} "
                                     "statically; check the recording")
                facts[key] = value
                how[key] = f"host {PYTHON} run under {qemu}"
        manifest = {
            "debian_arch": info.debian,
            "multiarch": info.multiarch,
            "codename": RELEASE or provision.os_codename(),
            "package": PACKAGE,
            "version": versions[PACKAGE],
            "file": name,
            "installed_path": f"/usr/lib/{PYTHON}/{name}",
            "sha256": hashlib.sha256((dest / name).read_bytes()).hexdigest(),
            "facts": facts,
            # method -> the facts it produced (checked against the static values above)
            "how": {method: sorted(k for k in how if how[k] == method)
                    for method in sorted(set(how.values()))},
            "notes": ("uname_m is what qemu-user reports; a real armhf userland on an arm64 "
                      "kernel may report armv8l instead of armv7l")
            if info.debian == "armhf" else "",
            "incomplete_package_lists": bool(skipped),
            "recorded": datetime.date.today().isoformat(),
            "recorded_by": "scripts/record-hostdata.py",
        }
        (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                            encoding="utf-8")
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: tests/data/hostdata, or "
                        "tests/data/hostdata-X.Y for another --python")
    parser.add_argument("--python", default="3.11", help="the host CPython X.Y")
    parser.add_argument("--release", help="the Debian release (default: this machine's)")
    parser.add_argument("arches", nargs="*", default=list(ARCHES))
    args = parser.parse_args()
    global PYTHON, PACKAGE, RELEASE
    PYTHON, RELEASE = f"python{args.python}", args.release
    PACKAGE = f"lib{PYTHON}-minimal"
    data = Path(__file__).resolve().parent.parent / "tests" / "data"
    out = args.out or data / ("hostdata" if args.python == "3.11" else f"hostdata-{args.python}")
    for arch in args.arches:
        print(record(arch, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
