"""crossenv's steps as a Python API: provision, create, build, repair, check, test.

``crossenv buildwheel`` is written on these six functions and nothing else, so a CI
system or another tool (the role cibuildwheel's maintainers asked for in their issue
598) can run the same steps in its own order. Stability promise (docs/api.rst): the
names, parameters and return types below keep working through every 2.x release;
new parameters are keyword-only with defaults, and every failure a user can cause is a
:class:`crossenv.errors.CrossenvError` subclass defined here or in crossenv.errors.

Each step logs the programs it runs and their output to ``log`` (a text file) when
given, so parallel builds keep one log each and the terminal stays readable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, overload

from . import __version__, buildenvs
from .buildenvs import SharedBuildEnvs
from .cache import user_cache
from .envrecord import Env, EnvRecord
from .errors import CrossenvError, ToolchainError
from .manylinux import Glibc
from .model import Layout
from .provision import Sysroot
from .request import CreateRequest
from .target import Target
from .target import resolve as resolve_target

if TYPE_CHECKING:
    from .symbols import Excess

__all__ = ["BuildError", "CheckError", "CreateRequest", "Env", "Glibc", "PolicyError",
           "Target", "TestError", "build", "check", "create", "provision", "repair", "test"]


class BuildError(CrossenvError):
    """The front-end failed or made no (or a pure-Python) wheel."""


class PolicyError(CrossenvError):
    """A wheel needs newer symbol versions than the requested manylinux policy allows;
    ``excesses`` lists them (:class:`crossenv.symbols.Excess`)."""

    excesses: Sequence[Excess] = ()


class CheckError(CrossenvError):
    """``crossenv check`` found problems in a wheel (wrong architecture, suffix, tags ...)."""


class TestError(CrossenvError):
    """The wheel's tests failed under qemu, or their requirements could not be installed."""

    __test__ = False  # not a pytest test class


def _run(argv: Sequence[str], *, log: TextIO | None, cwd: Path | None = None,
         env: Mapping[str, str] | None = None) -> int:
    """Run a program with its output in ``log`` (or inherited); its exit status."""
    if log is not None:
        log.write(f"$ {' '.join(map(str, argv))}\n")
        log.flush()
    started = time.monotonic()
    try:
        proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=dict(env) if env else None,
                              stdout=log, stderr=subprocess.STDOUT if log else None,
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise BuildError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    if log is not None:  # each program's seconds: where an identifier's time goes
        log.write(f"[exit status {proc.returncode}, {time.monotonic() - started:.1f} s]\n")
        log.flush()
    return proc.returncode


def provision(arch: str, python: str, *, packages: Sequence[str] = ()) -> Sysroot:
    """A cached Debian sysroot of ``arch`` with CPython ``python`` (X.Y), its headers and
    common -dev libraries, plus ``packages`` (Debian names). A sysroot with extra packages
    is kept apart from the shared one, keyed by the package set, its files shared with
    the shared one by hard links. The returned root never changes (a refresh makes a
    new one)."""
    from . import provision as provision_mod

    # provision_debian keys the cached sysroot by the package set (default_dest)
    debian = provision_mod.debian_arch(arch).debian or arch
    return provision_mod.provision_debian(debian, None, list(packages), python=python)


def _code_digest() -> str:
    """A digest of crossenv's own files: a cached environment holds files its generators
    wrote (the compiler wrappers, the shim), so code that changed without a new version
    number (a source checkout) must not reuse one made by the old code."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _env_key(sysroot: Sysroot, toolchain: str, glibc: str | None,
             env_vars: Sequence[tuple[str, str, str]], build_python: str | None,
             compiler_launcher: Sequence[str] = (), cxx_manylinux: str | None = None,
             other: Mapping[str, str] | None = None) -> str:
    manifest = sysroot.root / ".crossenv-sysroot.json"
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else 0
    facts = [__version__, _code_digest(), str(sysroot.root), stamp, str(sysroot.python),
             toolchain, glibc, [list(v) for v in env_vars], build_python,
             list(compiler_launcher), cxx_manylinux]
    if other:  # the rest of a request, where it is not the default
        facts.append(dict(sorted(other.items())))
    text = json.dumps(facts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cached_env(request: CreateRequest) -> Path:
    """Where a cached environment of *request* (``env=None``) lives: under a key of
    everything it depends on (see :func:`_env_key`)."""
    sysroot = request.host
    assert not isinstance(sysroot, (str, Path))  # CreateRequest refuses a cached env otherwise
    keyed = {"host", "env", "clear", "toolchain", "env_vars", "build_python",
             "compiler_launcher", "cxx_manylinux"}
    other = {f.name: repr(getattr(request, f.name)) for f in dataclasses.fields(request)
             if f.name not in keyed and getattr(request, f.name) != f.default}
    if len(request.manylinux) <= 1:  # one level is keyed as the glibc
        other.pop("manylinux", None)
    key = _env_key(sysroot, request.toolchain, request.glibc.manylinux if request.glibc else None,
                   request.env_vars, request.build_python, request.compiler_launcher,
                   request.cxx_manylinux.manylinux if request.cxx_manylinux else None, other)
    return user_cache("buildwheel-envs") / f"{sysroot.arch}-{sysroot.python.name}-{key}"


@overload
def create(request: CreateRequest, /) -> Env: ...


@overload
def create(sysroot: Sysroot, env: Path | None = None, *, toolchain: str = "gnu",
           glibc: str | None = None, env_vars: Sequence[tuple[str, str, str]] = (),
           build_python: str | None = None, compiler_launcher: Sequence[str] = (),
           cxx_manylinux: str | None = None) -> Path: ...


def create(request: CreateRequest | Sysroot, env: Path | None = None, *,
           toolchain: str = "gnu", glibc: str | None = None,
           env_vars: Sequence[tuple[str, str, str]] = (), build_python: str | None = None,
           compiler_launcher: Sequence[str] = (),
           cxx_manylinux: str | None = None) -> Env | Path:
    """Make the environment *request* asks for and return its :class:`Env`: the one
    creation sequence, behind ``crossenv HOST_PYTHON ENV`` and ``crossenv buildwheel`` too.

    The request's target (host, toolchain, tags, build interpreter) is resolved once
    (:func:`crossenv.target.resolve`), then ENV is made (:func:`crossenv.create.create`).
    Without ``request.env`` the environment lives in the user cache under a key of
    everything it depends on (crossenv's version and code, the sysroot and its manifest,
    the toolchain, the glibc levels, the variables, the build interpreter, the launcher),
    and an existing one is reused.

    The keyword form ``create(sysroot, env=None, *, toolchain="gnu", glibc=None,
    env_vars=(), build_python=None, compiler_launcher=(), cxx_manylinux=None) -> Path``
    (crossenv 2.0's, see docs/api.rst) builds that request and returns the directory.
    """
    if isinstance(request, CreateRequest):
        if env is not None:
            raise TypeError("create(request) takes the environment from request.env")
        return _create(request)
    try:
        levels = {name: Glibc.parse(value) for name, value in
                  (("glibc", glibc), ("cxx_manylinux", cxx_manylinux)) if value}
    except ValueError as exc:
        raise ToolchainError(str(exc)) from None
    made = _create(CreateRequest(
        host=request, env=Path(env) if env is not None else None, clear="both",
        toolchain=toolchain, manylinux=(levels["glibc"],) if "glibc" in levels else (),
        env_vars=tuple(tuple(v) for v in env_vars),  # type: ignore[misc]
        build_python=build_python, compiler_launcher=tuple(compiler_launcher),
        cxx_manylinux=levels.get("cxx_manylinux")))
    return made.path


def _create(request: CreateRequest) -> Env:
    from .create import create as create_env

    if request.env is not None:
        target = resolve_target(request)
        layout = create_env(Path(request.env), target, request)
        return dataclasses.replace(Env.open(layout.env), target=target)
    import filelock

    env = _cached_env(request)
    with filelock.FileLock(str(env.parent / f".{env.name}.lock")):
        if not EnvRecord.exists(env):
            target = resolve_target(request)
            create_env(env, target, request)
            return dataclasses.replace(Env.open(env), target=target)
    return Env.open(env)


def _scripts(env: Path | Env) -> Layout:
    """ENV's scripts (bin/cross-pip ...) without reading its record: build and test only
    run them."""
    return env.layout if isinstance(env, Env) else Layout(env=Path(env),
                                                          cross=Path(env) / "cross")


def _frontend_argv(env: Path | Env, frontend: str, args: Sequence[str], project: Path,
                   out: Path, settings: Sequence[tuple[str, str]]) -> list[str]:
    if frontend == "pip":
        return [str(_scripts(env).script("cross-pip")), "wheel", "--no-deps", "-w", str(out),
                *args, *[f"--config-settings={k}={v}" for k, v in settings], str(project)]
    argv = [str(_scripts(env).script("cross-python")), "-m", "build", "--wheel", "--outdir",
            str(out)]
    if frontend == "build[uv]":
        argv += ["--installer", "uv"]
    return [*argv, *args, *[f"-C{k}={v}" for k, v in settings], str(project)]


def _find_uv(env: Path | Env, environ: Mapping[str, str], log: TextIO | None = None) -> Path:
    """uv on PATH, beside the interpreter running crossenv, or the uv package's; else
    the env's own, installed once into its build venv by build-pip (uv is a native
    program: PyPI's wheel for the build machine), as pypa/build is installed for
    ``build``. A cached environment keeps it for every later identifier."""
    found = shutil.which("uv", path=environ.get("PATH"))
    if found is None:
        found = shutil.which("uv", path=str(Path(sys.executable).parent))
    if found is None:
        try:
            from uv import find_uv_bin  # the uv package's own locator
            found = find_uv_bin()
        except (ImportError, FileNotFoundError):
            return _env_uv(env, environ, log)
    return Path(found)


def _env_uv(env: Path | Env, environ: Mapping[str, str], log: TextIO | None) -> Path:
    """``ENV/build/bin/uv``, installed by build-pip when missing (under the env's lock)."""
    import filelock

    bindir = _scripts(env).build / "bin"
    with filelock.FileLock(str(Path(env) / ".uv.lock")):
        found = shutil.which("uv", path=str(bindir))
        if found is None:
            pip = [_scripts(env).script("build-pip"), "install", "--quiet", "uv"]
            if _run(pip, log=log, env=environ) != 0 or not (bindir / "uv").is_file():
                raise BuildError("build-frontend build[uv] needs uv and build-pip could not "
                                 "install it from PyPI (see the log); put uv on PATH "
                                 "(pip install uv)")
            found = str(bindir / "uv")
    return Path(found)


def _has_pypa_build(env: Path | Env) -> bool:
    """pypa/build 1.x or newer already in ENV/cross (a cached environment keeps it): a
    second ``cross-pip install`` of it costs a pip start per identifier for nothing."""
    from packaging.version import InvalidVersion, Version

    for info in _scripts(env).cross_site.glob("build-*.dist-info"):
        try:
            if Version(info.name[len("build-"):-len(".dist-info")]) >= Version("1"):
                return True
        except InvalidVersion:
            continue
    return False


def build(env: Path | Env, project: Path, out_dir: Path, *, frontend: str = "pip",
          frontend_args: Sequence[str] = (), config_settings: Sequence[tuple[str, str]] = (),
          environ: Mapping[str, str] | None = None, log: TextIO | None = None,
          shared: SharedBuildEnvs | None = None) -> Path:
    """Build one host wheel of ``project`` (a directory) with build isolation on.

    ``frontend`` is ``pip`` (cross-pip wheel), ``build`` (cross-python -m build) or
    ``build[uv]`` (the same with uv installing the build requirements). Returns the
    wheel; a front-end failure, no wheel or a pure-Python wheel is a BuildError.
    With ``shared`` (a :class:`crossenv.buildenvs.SharedBuildEnvs`), the build uses the
    run's venv of the same requirements instead of making its own.
    """
    environ = dict(os.environ if environ is None else environ)
    if frontend not in ("pip", "build", "build[uv]"):
        raise BuildError(f"unknown front-end {frontend!r}: use pip, build or build[uv]")
    sharing = shared is not None and buildenvs.applies(frontend, frontend_args)
    if frontend == "build[uv]":
        uv = _find_uv(env, environ, log)
        environ["PATH"] = os.pathsep.join([str(uv.parent), environ.get("PATH", "")])
    # pypa/build runs the build, or asks the backend for its requirements (sharing)
    if (frontend != "pip" or sharing) and not _has_pypa_build(env) and _run(
            [_scripts(env).script("cross-pip"), "install", "--quiet", "build>=1"], log=log,
            env=environ) != 0:
        raise BuildError("cannot install pypa/build into the cross environment")
    with tempfile.TemporaryDirectory(prefix="crossenv-build-") as tmp:
        out = Path(tmp)
        args, runs = list(frontend_args), frontend
        if shared is not None and sharing:
            try:  # pypa/build without arguments of the user's: built with its answer
                prepared = shared.environ(
                    _scripts(env), Path(project), settings=dict(config_settings),
                    installer="uv" if frontend == "build[uv]" else "pip", environ=environ,
                    run=_run, log=log, outdir=None if frontend == "pip" or args else out)
            except buildenvs.SharedEnvError as exc:
                raise BuildError(str(exc)) from None
            if prepared is not None:  # the installer has done its work: no --installer
                environ, runs = prepared, "pip" if frontend == "pip" else "build"
                args = [*buildenvs.NO_ISOLATION[runs], *args]
        argv = _frontend_argv(env, runs, args, Path(project), out, config_settings)
        if not any(out.glob("*.whl")) and _run(argv, log=log, env=environ) != 0:
            raise BuildError(f"{frontend} failed to build {project}")
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"{frontend} made {len(wheels)} wheels from {project}, not one")
        if wheels[0].name.endswith("-none-any.whl"):
            raise BuildError(f"{wheels[0].name} is a pure-Python wheel: nothing was compiled "
                             "for the host (crossenv buildwheel is for extension modules)")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(str(wheels[0]), str(out_dir / wheels[0].name)))


def repair(wheel: Path, env: Path | Env, out_dir: Path, *, plat: str,
           glibc: Glibc | tuple[int, int] | None = None) -> Path:
    """Make ``wheel`` a ``plat`` wheel (``manylinux_2_28_aarch64``) with auditwheel, its
    libraries resolved in the env's sysroot. With ``glibc`` the wheel's symbol versions
    are checked against that policy first: a PolicyError names each symbol too new."""
    from .policy import parse_platform
    from .repair import repair_wheel
    from .symbols import excesses, glibc_first_versions

    record = Env.open(env).record
    sysroot, multiarch = record.sysroot, record.multiarch
    platform = parse_platform(plat)
    if glibc is not None and platform is not None:
        # the sysroot's glibc says which glibc an unversioned reference needs
        root = Path(sysroot) if sysroot else None
        too_new = excesses(wheel, platform.arch, glibc, None if root is None else (
            lambda: glibc_first_versions(root, multiarch or "")))
        if too_new:
            shown = "; ".join(e.describe() for e in too_new[:4])
            more = f" (and {len(too_new) - 4} more)" if len(too_new) > 4 else ""
            error = PolicyError(f"{wheel.name} is not {plat}: {shown}{more}; choose a newer "
                                "manylinux image, avoid those symbols, or build with the zig "
                                "toolchain ([tool.crossenv.buildwheel] toolchain = \"zig\")")
            error.excesses = too_new
            raise error
    if sysroot is None:
        raise CheckError(f"{env} records no sysroot; create it from a provisioned sysroot")
    return repair_wheel(wheel, out_dir=out_dir, sysroot=sysroot, multiarch=multiarch, plat=plat)


def check(wheel: Path, env: Path | Env, *, imports: bool = False) -> None:
    """``crossenv check`` against the env's host (with *imports*, ``--import`` too: every
    extension module imported under qemu); CheckError naming the first problems."""
    from .check import check_wheel

    problems = check_wheel(wheel, env=env, imports=imports)
    if problems:
        shown = "; ".join(f"{p.member or '(wheel)'}: [{p.code}] {p.message}"
                          for p in problems[:3])
        raise CheckError(f"{wheel.name}: {shown}")


@dataclasses.dataclass(frozen=True)
class TestSpec:
    """What ``test`` runs: cibuildwheel's test-* options, already split into argv lists."""

    __test__ = False

    commands: Sequence[Sequence[str]]
    requires: Sequence[str] = ()
    extras: Sequence[str] = ()
    sources: Sequence[str] = ()
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict)


def test(env: Path | Env, wheel: Path, spec: TestSpec, *, project: Path,
         log: TextIO | None = None) -> float:
    """Install ``wheel`` (with extras) and the test requirements into a fresh host
    directory and run each command under qemu. ``python``/``python3`` mean the host
    python and ``pytest`` its ``python -m pytest``; ``{project}`` and ``{package}`` are
    replaced by ``project``. The commands run in a fresh directory holding only the
    ``sources`` (as in cibuildwheel), so the source tree is not what gets imported.
    Returns the seconds the commands took (the rest of the step is installing)."""
    from .testcmd import host_argv

    with tempfile.TemporaryDirectory(prefix="crossenv-test-") as tmp:
        site, cwd = Path(tmp) / "site", Path(tmp) / "cwd"
        cwd.mkdir()
        for source in spec.sources:
            _copy_source(Path(project), source, cwd)
        sites = _test_sites(env, wheel, spec, site, project=Path(project), log=log)
        commands_s = 0.0
        for command in spec.commands:
            argv, environ = host_argv(env, command, project=Path(project), site=site,
                                      behind=sites[1:], environment=spec.environ)
            started = time.monotonic()
            status = _run(argv, log=log, cwd=cwd, env=environ)
            commands_s += time.monotonic() - started
            if status != 0:
                raise TestError(f"test command failed under qemu: {' '.join(command)}")
        return commands_s


def _test_sites(env: Path | Env, wheel: Path, spec: TestSpec, site: Path, *, project: Path,
                log: TextIO | None) -> list[Path]:
    """Install the wheel and what its test needs; the directories for PYTHONPATH, the
    wheel's first. The requirements come from the day's kept set when they can
    (:mod:`crossenv.testdeps`), and the wheel is unpacked in-process beside them."""
    from . import testdeps, wheelinstall

    target = f"{wheel}[{','.join(spec.extras)}]" if spec.extras else str(wheel)

    def pip_install(directory: Path) -> None:
        # A requirement without a wheel for the host is built from its sdist by cross-pip,
        # in this environment; pip keeps the wheel in the env's cache (PIP_CACHE_DIR,
        # keyed by the host's tags and libc), so the next run installs it at once.
        pip = [_scripts(env).script("cross-pip"), "install", "--quiet", "--target", directory,
               target, *spec.requires]
        if _run(pip, log=log, cwd=project) != 0:  # "-r requirements/test.txt"
            raise TestError(f"cross-pip could not install {wheel.name} and the test "
                            f"requirements ({' '.join(spec.requires) or 'none'}) for the host "
                            "(see the log)")

    name = testdeps.key(Path(env.path if isinstance(env, Env) else env), wheel, spec.requires,
                        spec.extras)
    if name is None:
        pip_install(site)
        return [site]
    root = user_cache("test-deps")
    hit = (root / name).is_dir()
    deps = testdeps.kept(root, name, wheel, pip_install)
    if log is not None:
        log.write(f"test requirements: {'kept' if hit else 'installed and kept'} in {deps}\n")
    try:
        wheelinstall.install(wheel, site, interpreter=str(site.parent / "host" / "bin" / "python"),
                             python_version=Env.open(env).layout.python_version)
    except wheelinstall.WheelInstallError as exc:
        raise TestError(str(exc)) from None
    return [site, deps]


def _copy_source(project: Path, source: str, cwd: Path) -> None:
    path = (project / source).resolve()
    if not path.is_relative_to(project.resolve()) or not path.exists():
        raise TestError(f"test-sources {source!r} is not a path inside the project")
    dest = cwd / path.relative_to(project.resolve())
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, dest, symlinks=True)
    else:
        shutil.copy2(path, dest)
