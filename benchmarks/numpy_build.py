"""numpy build time: cross (crossenv) vs native, same sdist, same run, same parallelism.

    python benchmarks/numpy_build.py [--arch arm64] [--sdist numpy-X.tar.gz] [--jobs 2]

Prints both wall times and the ratio cross/native (goal: <= 1.15). Both builds
use pip's build isolation and the same ninja job count (``-Ccompile-args=-jN``),
one after the other so they do not compete for the CPU. The build requirements
are installed in both (pip's isolated environments), so that cost is included.

A fully emulated build (the host's python, gcc and ninja under qemu-user) is not
attempted: the provisioned sysroot carries no compiler, and qemu-user runs a C
compiler several times slower than native, making a numpy build take well over
an hour on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _build import clean_environ, timed


def _sdist(spec: str, work: Path) -> Path:
    if Path(spec).is_file():
        return Path(spec).absolute()
    # --no-binary numpy only: the build requirements (meson-python...) come as wheels
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                    "numpy", spec, "-d", str(work)], check=True, stdout=subprocess.DEVNULL)
    (found,) = work.glob("numpy-*.tar.gz")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="arm64", help="Debian architecture of the host")
    parser.add_argument("--sdist", default="numpy==2.3.5", help="an sdist file or requirement")
    parser.add_argument("--jobs", type=int, default=2, help="ninja jobs for both builds")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)

    from crossenv import provision

    work = Path(tempfile.mkdtemp(prefix="crossenv-bench-"))
    try:
        sdist = _sdist(args.sdist, work)
        host_python = provision.provision_debian(args.arch).python
        env = work / "env"
        environ = clean_environ()
        subprocess.run([sys.executable, "-m", "crossenv", str(host_python), str(env)],
                       check=True, env=environ)
        native = work / "native"
        subprocess.run([sys.executable, "-m", "venv", str(native)], check=True)
        flags = ["--no-deps", "--no-cache-dir", f"-Ccompile-args=-j{args.jobs}", str(sdist)]

        native_time = timed([str(native / "bin" / "python"), "-m", "pip", "wheel", *flags,
                             "-w", str(work / "native-wheel")], work / "native.log", environ)
        cross_time = timed([str(env / "bin" / "cross-pip"), "wheel", *flags,
                            "-w", str(work / "cross-wheel")], work / "cross.log", environ)
        (cross_wheel,) = (work / "cross-wheel").glob("*.whl")
        print(f"sdist:   {sdist.name}")
        print(f"native:  {native_time:7.1f} s  (x86_64 wheel, -j{args.jobs})")
        print(f"cross:   {cross_time:7.1f} s  ({cross_wheel.name})")
        print(f"ratio:   {cross_time / native_time:7.2f}x  (goal <= 1.15x)")
        print("emulated: not run (no compiler in the sysroot; qemu-user compiles are "
              "several times slower, over an hour for numpy on 2 cores)")
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
