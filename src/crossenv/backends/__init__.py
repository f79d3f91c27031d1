"""Backends: what each build system needs to target the host, in one place.

Two seams connect build systems to a cross environment:

* generators (:data:`TABLE`, one module each, the protocol in :mod:`._protocol`)
  return the files for ``ENV/cross/crossenv`` (a meson cross file, a CMake toolchain
  file, a PyO3 config) and the environment variables that point the tools at them;
  creation writes the files (:func:`write`), cross-python exports the variables (if
  unset) at start, and ``crossenv describe`` prints the same files for a host;
* :data:`IMPORT_HOOKS`: a module imported in cross-python is patched right after
  import by ``function(module)`` from a runtime file in the cross site-packages.
  Nothing is imported until the hooked module itself is, so start-up stays fast.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import shutil
from collections.abc import Iterable
from pathlib import Path

from .. import validate
from ..errors import EnvironmentCreationError
from ..host import HostDescription
from ..model import Layout, Options, Toolchain
from ._protocol import Copy, Directory, Generator, Inputs, Link, Output, Place
from ._shared import EMULATOR_NAME, wrapped

#: module name -> "runtime_module:function" (runtime modules live in crossenv/runtime/).
#: Each one is listed, with why it exists and what would replace it, in the "Patches"
#: section of docs/how-it-works.rst (tests/test_contracts.py checks the two agree), and
#: each has a contract test there against the real third-party module.
IMPORT_HOOKS: dict[str, str] = {
    # pypa/build: run the PEP 517 hooks with cross-python (public ProjectBuilder(runner=))
    "build": "_crossenv_frontends:patch_build",
    # built wheels: manylinux tag when the toolchain guarantees it (CROSSENV_WHEEL_PLATFORM);
    # wheel.bdist_wheel is the command old setuptools (< 70.1) registers
    "setuptools.command.bdist_wheel": "_crossenv_tags:patch_bdist_wheel",
    "wheel.bdist_wheel": "_crossenv_tags:patch_bdist_wheel",
    # build backends: meson-python gets the cross file; numpy reports the host's headers
    "mesonpy": "_crossenv_meson:patch_mesonpy",
    "numpy": "_crossenv_hostreqs:patch_numpy",
    # uv's interpreter query: its build venvs are made from ENV/cross/crossenv/uv-base
    "python.get_interpreter_info": "_crossenv_uv:patch_query",
    # setup.py probes of compiler.include_dirs/library_dirs: build-machine paths mapped
    "setuptools._distutils.ccompiler": "_crossenv_hostpaths:patch_ccompiler",
    "setuptools._distutils.compilers.C.base": "_crossenv_hostpaths:patch_compiler_base",
    "distutils.ccompiler": "_crossenv_hostpaths:patch_ccompiler",
    # pip install --root/--prefix outside ENV: host shebangs, DESTDIR-free byte-code
    "pip._internal.operations.install.wheel": "_crossenv_install:patch_pip_wheel",
    # the distro package answers from the sysroot's os-release
    "distro.distro": "_crossenv_osrelease:patch_distro",
}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One generator (``crossenv.backends.<name>``) and what the table gives it."""

    name: str
    #: its files name the guarded compiler wrappers (``compilerwrap``), when they are made
    guarded: bool = False


#: Every generator, in the order they run (their variables are exported in this order).
#: This table alone decides which generators name the guarded compilers (cross-python's
#: sysconfig does too: :func:`guarded`) and which writes the emulator (:data:`EMULATOR`).
TABLE: tuple[Entry, ...] = (
    Entry("emulator"),
    Entry("wheeltags"),
    Entry("meson", guarded=True),
    Entry("cmake", guarded=True),
    Entry("cargo"),
    Entry("hostreqs"),
    Entry("autotools"),
    Entry("compilerwrap"),
    Entry("pkgconfig"),
    Entry("dpkgarch"),
    Entry("uvbase"),
    Entry("configscripts"),
    Entry("hostpython"),
)
#: the generator that writes the emulator script; the others find it in ``Place.emulator``
EMULATOR = "emulator"
#: the generator that writes the guarded compiler wrappers
WRAPPERS = "compilerwrap"
#: what ``crossenv describe`` generates for a host (nothing that needs an environment)
DESCRIBE: tuple[str, ...] = ("emulator", "meson", "cmake", "cargo")
#: the generator modules, in table order
GENERATORS: tuple[str, ...] = tuple(f"{__name__}.{entry.name}" for entry in TABLE)


def module(name: str) -> Generator:
    """The generator module *name* (an :class:`Entry` name)."""
    found: Generator = importlib.import_module(f"{__name__}.{name}")
    return found


def guarded(chain: Toolchain, crossenv_dir: Path) -> Toolchain:
    """*chain* as the guarded generators (and cross-python's sysconfig) name it: the
    compiler wrappers in *crossenv_dir* instead of the compilers."""
    return wrapped(chain, crossenv_dir)


def generate(host: HostDescription, chain: Toolchain, options: Options, place: Place,
             names: Iterable[str] | None = None, *, written: bool = True) -> Output:
    """Run the generators of the table (those in *names*, if given) in table order.

    The guarded ones see the compiler wrappers when the wrapper generator runs too;
    the others, and all of them in ``crossenv describe``, see the real compilers.
    *written*: the files will be written to ``place.directory`` (else only printed, and
    no file names the emulator)."""
    wanted = None if names is None else set(names)
    unknown = (wanted or set()) - {entry.name for entry in TABLE}
    if unknown:
        raise ValueError(f"no generator named {', '.join(sorted(unknown))}")
    chosen = [entry for entry in TABLE if wanted is None or entry.name in wanted]
    with_wrappers = any(entry.name == WRAPPERS for entry in chosen)
    out = Output()
    for entry in chosen:
        generator = module(entry.name)
        compilers = (guarded(chain, place.directory) if entry.guarded and with_wrappers
                     else chain)
        target = Inputs(host=host, toolchain=chain, compilers=compilers, options=options)
        files = generator.files(target, place)
        twice = sorted(set(files) & set(out.files))
        if twice:
            raise ValueError(f"generator {entry.name} also writes {', '.join(twice)}")
        out.files.update(files)
        out.env.update(generator.env(target, place))
        check = getattr(generator, "check", None)
        if check is not None:
            out.checks.append(functools.partial(check, target=target, place=place))
        if entry.name == EMULATOR and files and written:
            place = dataclasses.replace(place, emulator=place.directory / EMULATOR_NAME)
    return out


def make(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
         options: Options, names: Iterable[str] | None = None) -> dict[str, str]:
    """Generate for the environment *layout* (final paths) and write the files into
    *directory* (the staged ``crossenv_dir``); return the variables cross-python exports."""
    place = Place(directory=layout.crossenv_dir, layout=layout, python=str(layout.cross_python))
    output = generate(host, chain, options, place, names)
    write(directory, output)
    return output.env


def write(directory: Path, output: Output) -> None:
    """Write what :func:`generate` returned under *directory* (the staged copy of
    ``place.directory``), then run the generators' checks of what was written.

    Every relative path is kept inside *directory* (:func:`crossenv.validate.inside`):
    some names come from host data. A kept cross env is regenerated in place, so an
    old link is replaced; anything else in the way of a link is an error."""
    for relpath, (content, mode) in output.files.items():
        path = validate.inside(directory, *relpath.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Directory):
            path.mkdir(exist_ok=True)
            continue
        if isinstance(content, Link):
            if path.is_symlink():
                path.unlink()
            elif path.exists():
                raise EnvironmentCreationError(f"{path} is in the way of a link crossenv "
                                               "makes; remove it")
            path.symlink_to(content.target)
            continue
        if path.is_symlink() or (isinstance(content, Copy) and path.exists()):
            path.unlink()
        if isinstance(content, Copy):
            shutil.copy2(content.source, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if mode & 0o111:
            path.chmod(path.stat().st_mode | (mode & 0o111))
    for check in output.checks:
        check(directory)


__all__ = [
    "DESCRIBE",
    "EMULATOR",
    "GENERATORS",
    "IMPORT_HOOKS",
    "TABLE",
    "Entry",
    "Generator",
    "Inputs",
    "Output",
    "Place",
    "generate",
    "guarded",
    "make",
    "module",
    "write",
]
