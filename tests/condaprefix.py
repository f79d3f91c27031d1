"""Conda-style prefixes made from Debian parts, for conda-forge's cross-python steps.

conda-build gives a recipe two prefixes: ``PREFIX``, the host's (aarch64 python,
its sysconfigdata named ``_sysconfigdata_aarch64_conda_linux_gnu``, headers in
``include/python3.X``), and ``BUILD_PREFIX``, the build machine's (a python with
crossenv and the build tools; ``bin/python`` a relative link to ``python3.X``). These
are made here from a ``crossenv provision`` sysroot and the build interpreter:

* PREFIX: the sysroot's ``python3.X`` binary, its ``lib-dynload`` and headers (Debian's
  multiarch ``pyconfig.h`` moved to where conda has it), the build interpreter's
  pure-Python standard library (conda's host and build pythons are the same vanilla
  CPython; Debian's patches its install schemes) and Debian's sysconfigdata with its
  ``/usr`` paths moved to PREFIX, as conda relocates its files;
* BUILD_PREFIX: a venv of the build interpreter with ``bin/python -> python3.X`` as in
  conda, crossenv importable (a .pth to the running test environment: the crossenv
  under test) and the build tools installed with pip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

CONDA_DATA = "_sysconfigdata_{machine}_conda_linux_gnu"


def host_prefix(sysroot: Path, dest: Path, version: str, multiarch: str,
                machine: str) -> Path:
    """A conda-style host PREFIX at *dest*; its sysconfigdata file."""
    usr, dest = Path(sysroot) / "usr", Path(dest).absolute()
    lib = dest / "lib" / f"python{version}"
    (dest / "bin").mkdir(parents=True)
    (dest / "conda-meta").mkdir()  # what makes a directory a conda environment
    (dest / "conda-meta" / "history").write_text("")
    shutil.copy2(usr / "bin" / f"python{version}", dest / "bin" / f"python{version}")
    for name in ("python", "python3"):
        (dest / "bin" / name).symlink_to(f"python{version}")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(stdlib, lib, symlinks=True, ignore=shutil.ignore_patterns(
        "site-packages", "lib-dynload", "__pycache__", "test", "idlelib", "tkinter",
        "_sysconfigdata_*", "config-*"))
    shutil.copytree(usr / "lib" / f"python{version}" / "lib-dynload", lib / "lib-dynload")
    (lib / "site-packages").mkdir()
    include = dest / "include" / f"python{version}"
    shutil.copytree(usr / "include" / f"python{version}", include)
    shutil.copy2(usr / "include" / multiarch / f"python{version}" / "pyconfig.h",
                 include / "pyconfig.h")
    debian = usr / "lib" / f"python{version}" / f"_sysconfigdata__linux_{multiarch}.py"
    text = debian.read_text()
    text = re.sub(r"(?<=['\s=])/usr(?=[/'\s])", str(dest), text)
    text = text.replace(f"{dest}/include/{multiarch}/python{version}",
                        f"{dest}/include/python{version}")
    text = text.replace(f"{dest}/lib/{multiarch}", f"{dest}/lib")
    data = lib / (CONDA_DATA.format(machine=machine) + ".py")
    data.write_text(text)
    shutil.copy2(data, lib / debian.name)  # conda ships more than one; the script keeps one
    return data


def build_prefix(dest: Path, *requirements: str) -> Path:
    """A conda-style BUILD_PREFIX at *dest* whose python imports crossenv."""
    dest = Path(dest).absolute()
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    subprocess.run([str(base), "-m", "venv", str(dest)], check=True, capture_output=True)
    bindir = dest / "bin"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for name in ("python", version):
        (bindir / name).unlink()
    (bindir / version).symlink_to(base)
    (bindir / "python").symlink_to(version)
    if requirements:
        subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", *requirements], check=True)
    site = dest / "lib" / version / "site-packages"
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site / "zz_crossenv_under_test.pth").write_text(  # with the editable install's finder
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in here) + "\n")
    return dest


_SHIM = """#include <unistd.h>
int main(int argc, char **argv) {
    (void)argc;
    execv(CROSS_PYTHON, argv);  /* argv unchanged: argv[0] is the name it was run by */
    return 127;
}
"""


def python_shim(build: Path, compiler: str = "gcc") -> Path:
    """``BUILD_PREFIX/bin/cross_python_shim``: a native program that execs
    ``BUILD_PREFIX/venv/bin/cross-python`` with its own argv (a script cannot be the
    interpreter of another script on macOS, hence a binary in conda-forge's package)."""
    source = build / "shim.c"
    source.write_text(_SHIM)
    target = build / "bin" / "cross_python_shim"
    define = '-DCROSS_PYTHON="%s"' % (build / "venv" / "bin" / "cross-python")
    subprocess.run([compiler, define, str(source), "-o", str(target)], check=True)
    source.unlink()
    return target


def meson_cross_file(build: Path, cpu: str, triplet: str) -> Path:
    """``BUILD_PREFIX/meson_cross_file.txt`` as conda-forge's compiler activation writes
    it for a cross build; [binaries] last, where the cross-python activation appends
    ``python = '$PREFIX/bin/python'``."""
    path = build / "meson_cross_file.txt"
    path.write_text(f"[host_machine]\nsystem = 'linux'\ncpu_family = '{cpu}'\n"
                    f"cpu = '{cpu}'\nendian = 'little'\n\n[binaries]\n"
                    f"c = '{triplet}-gcc'\ncpp = '{triplet}-g++'\nar = '{triplet}-ar'\n"
                    f"strip = '{triplet}-strip'\n")
    return path
