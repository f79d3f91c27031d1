"""The user-facing commands in ``ENV/bin``.

They are tiny ``/bin/sh`` scripts rather than symlinks: a venv interpreter finds
its ``pyvenv.cfg`` from the path it was started as, and ``/bin/sh`` shebangs
have no length limit problem for very long ENV paths.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from . import quoting, templates
from .model import Layout


def env_lines(env_vars: Sequence[tuple[str, str, str]]) -> str:
    """Shell for crossenv 1.x's ``--env`` forms: ``=``, ``?=``, ``+=`` and ``:=``."""
    lines = []
    for name, op, value in env_vars:
        quoted = quoting.shell(value)
        if op == "=":
            lines.append(f"{name}={quoted}; export {name}")
        elif op == "?=":
            lines.append(f'[ -n "${{{name}+set}}" ] || {{ {name}={quoted}; export {name}; }}')
        elif op == "+=":
            lines.append(f'{name}="${{{name}-}}"{quoted}; export {name}')
        elif op == ":=":
            lines.append(f'{name}="${{{name}:+${name}:}}"{quoted}; export {name}')
        else:
            raise ValueError(f"unknown --env operator {op!r}")
    return "".join(line + "\n" for line in lines)



#: the host python under qemu (crossenv.backends.hostpython); its launcher is only written when
#: qemu-user and the host interpreter were found at creation
_HOST_PYTHON = """#!/bin/sh
launcher={launcher}
if [ ! -x "$launcher" ]; then
    echo "host-python: no host python in {env} (qemu-user or the sysroot's interpreter \
was missing when it was made); install qemu-user-static and recreate it" >&2
    exit 2
fi
exec "$launcher" "$@"
"""


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def write_scripts(
    bin_dir: Path,
    *,
    env_dir: Path,
    cross_python: Path,
    build_python: Path,
    with_build_pip: bool,
    with_cross_pip: bool,
    prompt: str,
    env_vars: Sequence[tuple[str, str, str]] = (),
    version: str | None = None,
) -> list[str]:
    """Write ENV/bin; paths given are the *final* ones (the env may be built elsewhere).

    ``version`` is the host's (and build interpreter's) X.Y, not crossenv's own.
    """
    version = version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    bin_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    cross_env = env_lines(env_vars)

    def script(name: str, python: Path, args: str = "", env: str = "") -> None:
        command = f"{quoting.shell(str(python))} {args}".rstrip()
        _write(bin_dir / name, templates.fill("exec.sh", env=templates.Raw(env),
                                              command=templates.Raw(command)))
        written.append(name)

    for suffix in ("", "3", version):
        script(f"cross-python{suffix}", cross_python, env=cross_env)
        script(f"build-python{suffix}", build_python)
        script(f"python{suffix}", cross_python, env=cross_env)
        if with_cross_pip:
            script(f"cross-pip{suffix}", cross_python, "-m pip ", env=cross_env)
            script(f"pip{suffix}", cross_python, "-m pip ", env=cross_env)
        if with_build_pip:
            script(f"build-pip{suffix}", build_python, "-m pip ")
    cross_layout = Layout(env=env_dir, cross=cross_python.parent.parent, python_version=version)
    expose = cross_layout.cross_site / "_crossenv_expose.py"
    script("cross-expose", build_python,
           f"{quoting.shell(str(expose))} {quoting.shell(str(env_dir))} ")
    host_python = cross_layout.crossenv_dir / "host-python" / "bin" / "python"
    _write(bin_dir / "host-python", _HOST_PYTHON.format(
        launcher=quoting.shell(str(host_python)), env=quoting.shell(str(env_dir))))
    written.append("host-python")
    cross_bin = cross_python.parent
    activate = templates.fill(
        "activate.sh",
        bin_dir=str(bin_dir_final(env_dir)),
        cross_bin=str(cross_bin),
        build_bin=str(build_python.parent),
        cross_prefix=str(cross_bin.parent),
        env_dir=str(env_dir),
        prompt=f"({prompt}) ",
    )
    (bin_dir / "activate").write_text(activate, encoding="utf-8")
    written.append("activate")
    return written


def bin_dir_final(env_dir: Path) -> Path:
    return env_dir / "bin"


def relocate_text_files(directory: Path, old: str, new: str) -> int:
    """Rewrite *old* to *new* in the scripts under *directory* (shebangs after a rename)."""
    count = 0
    if not directory.is_dir():
        return 0
    old_b, new_b = old.encode(), new.encode()
    for entry in os.scandir(directory):
        if not entry.is_file(follow_symlinks=False):
            continue
        path = Path(entry.path)
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:1024] or old_b not in data:
            continue
        path.write_bytes(data.replace(old_b, new_b))
        count += 1
    return count
