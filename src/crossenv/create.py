"""Create ENV: a native build venv, a cross venv with the runtime shim, and ENV/bin.

Creation is all-or-nothing. Everything is built in a hidden sibling directory
and renamed into place at the end, under a lock, so an interrupted or failed
create leaves no ENV behind and two creates of the same ENV never interleave.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import py_compile
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from . import __version__, glue, hostconfig, scripts
from .errors import EnvironmentCreationError
from .host import HostDescription
from .toolchain import Toolchain

METADATA = "crossenv.json"


@dataclasses.dataclass
class Options:
    """What the command line decided; defaults are crossenv 1.x's."""

    clear: str | None = None  # None, "default", "cross", "build", "both"
    cross_prefix: Path | None = None
    system_site_packages: bool = False
    with_build_pip: bool = True
    with_cross_pip: bool = True
    config_vars: Mapping[str, str] = dataclasses.field(default_factory=dict)
    env_vars: Sequence[tuple[str, str, str]] = ()  # (name, operator, value)
    machine: str | None = None
    platform_tags: Sequence[str] = ()
    libc: tuple[str, str] | None = None
    prompt: str | None = None
    target_requirements: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where things live in a finished ENV (final paths, not the staging ones)."""

    env: Path
    cross: Path

    @property
    def bin(self) -> Path:
        return self.env / "bin"

    @property
    def build(self) -> Path:
        return self.env / "build"

    @property
    def build_python(self) -> Path:
        return self.build / "bin" / "python"

    @property
    def cross_python(self) -> Path:
        return self.cross / "bin" / "python"

    def site_packages(self, prefix: Path) -> Path:
        return prefix / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / \
            "site-packages"

    @property
    def cross_site(self) -> Path:
        return self.site_packages(self.cross)

    @property
    def crossenv_dir(self) -> Path:
        """Generated host files: sysconfigdata, include overlay, meson/cmake files."""
        return self.cross / "crossenv"


def _lock_path(env: Path) -> Path:
    digest = hashlib.sha256(str(env).encode()).hexdigest()[:16]
    directory = platformdirs.user_cache_path("crossenv") / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{digest}.lock"


class _Interrupts:
    """Defer SIGINT/SIGTERM/SIGHUP to checkpoints between creation steps.

    virtualenv seeds with worker threads; an exception raised in the middle of a
    step could let them write into the staging directory after it was removed.
    Deferring to the next checkpoint (well under a second away) keeps cleanup exact.
    """

    def __init__(self) -> None:
        self.received: int | None = None

    def checkpoint(self) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(f"signal {self.received}")


@contextlib.contextmanager
def _deferred_signals() -> Iterator[_Interrupts]:
    state = _Interrupts()

    def handler(signum: int, frame: object) -> None:
        state.received = signum

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _check_target(env: Path, options: Options) -> None:
    parent = env.parent
    while not parent.exists():  # missing parents are created, like ``python -m venv``
        parent = parent.parent
    if not parent.is_dir():
        raise EnvironmentCreationError(
            f"cannot create {env}: {parent} is not a directory; choose another ENV")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EnvironmentCreationError(
            f"cannot create {env}: {parent} is not writable; choose a directory you can write")
    if env.exists() and not env.is_dir():
        raise EnvironmentCreationError(f"{env} exists and is not a directory; choose another ENV")
    if env.is_dir() and any(env.iterdir()) and options.clear is None:
        raise EnvironmentCreationError(
            f"{env} already exists; pass --clear to replace it, or choose another ENV")


def _make_venv(path: Path, *, with_pip: bool, system_site_packages: bool,
               prompt: str) -> None:
    import virtualenv  # slow to import: only when creating

    args = [str(path), "--no-periodic-update", "--activators", "", "--quiet",
            "--prompt", prompt, "-p", sys.executable]
    if not with_pip:
        args += ["--no-pip", "--no-setuptools"]
    if system_site_packages:
        args.append("--system-site-packages")
    try:
        virtualenv.cli_run(args, setup_logging=False)
    except SystemExit as exc:  # virtualenv reports errors by exiting
        raise EnvironmentCreationError(
            f"virtualenv could not create {path} (status {exc.code})") from None


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _seed_like(build: Path, cross: Path, site: Callable[[Path], Path]) -> None:
    """Give the cross venv the pip and setuptools just seeded into the build venv.

    Seeding is most of creation's time; hard links make the second copy nearly free.
    pip never writes into an installed file (upgrades unlink and write anew), so the
    two environments stay independent. Console scripts are rewritten, not linked:
    their shebang names the interpreter.
    """
    for entry in site(build).iterdir():
        target = site(cross) / entry.name
        if entry.name == "__pycache__" or target.exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(target))
    old, new = str(build / "bin" / "python").encode(), str(cross / "bin" / "python").encode()
    for script in (build / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(b"#!") and old in data[:4096]:
            target = cross / "bin" / script.name
            target.write_bytes(data.replace(old, new))
            target.chmod(script.stat().st_mode)


def _install_runtime(site: Path) -> None:
    """Copy every runtime file (the shim, its .pth and the lazily
    imported helpers named in :data:`crossenv.glue.IMPORT_HOOKS`)."""
    runtime = resources.files("crossenv") / "runtime"
    for entry in runtime.iterdir():
        if entry.name.endswith((".py", ".pth")):
            (site / entry.name).write_bytes(entry.read_bytes())


def _precompile(*files: Path) -> None:
    """Write the .pyc of the files imported at every start now: machines that set
    PYTHONDONTWRITEBYTECODE would otherwise recompile them at every start."""
    for path in files:
        py_compile.compile(str(path), doraise=True)


def _include_overlay(host: HostDescription, directory: Path) -> Path | None:
    """Make Debian's split ``<multiarch>/python3.X/pyconfig.h`` reachable without
    exposing the rest of the sysroot's /usr/include (zig must not see it)."""
    if not host.multiarch or host.platinclude_dir == host.include_dir:
        return None
    link = directory / host.multiarch / host.platinclude_dir.name
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():  # a kept cross env (--clear-build) is regenerated in place
        link.unlink()
    link.symlink_to(host.platinclude_dir)
    return directory


def _write_cross(stage: Layout, final: Layout, host: HostDescription, chain: Toolchain,
                 options: Options) -> dict[str, Any]:
    """Fill the staged cross venv; every path written into a file is a *final* path."""
    _install_runtime(stage.cross_site)
    stage.crossenv_dir.mkdir(parents=True, exist_ok=True)
    overlay = _include_overlay(host, stage.crossenv_dir / "include")
    config_vars = hostconfig.host_config_vars(
        host, chain, cross_prefix=final.cross,
        include_overlay=final.crossenv_dir / "include" if overlay else None,
        overrides=options.config_vars,
    )
    build_env = glue.build_env(stage.crossenv_dir, final, host, chain, options)
    data_name = "_crossenv_sysconfigdata.py"
    (stage.crossenv_dir / data_name).write_text(
        hostconfig.render_sysconfigdata(config_vars, host), encoding="utf-8")
    (stage.cross_site / "_crossenv_config.py").write_text(
        hostconfig.render_runtime_config(
            host, sysconfigdata_file=final.crossenv_dir / data_name,
            build_python=final.build_python, env_dir=final.env, machine=options.machine,
            libc=options.libc, platform_tags=list(options.platform_tags),
            build_env=build_env, import_hooks=glue.IMPORT_HOOKS),
        encoding="utf-8")
    _precompile(stage.cross_site / "_crossenv_shim.py", stage.cross_site / "_crossenv_config.py",
                stage.crossenv_dir / data_name)
    return config_vars


def _metadata(final: Layout, host: HostDescription, chain: Toolchain,
              options: Options) -> dict[str, Any]:
    host_json = host.to_json()
    if options.machine:
        host_json["machine"] = options.machine
    host_json["platform_tags"] = list(options.platform_tags)
    return {
        "crossenv_version": __version__,
        "host": host_json,
        "toolchain": chain.to_json(),
        "paths": {
            "env": str(final.env), "cross": str(final.cross), "build": str(final.build),
            "cross_python": str(final.cross_python), "build_python": str(final.build_python),
            "crossenv_dir": str(final.crossenv_dir),
            "sysconfigdata": str(final.crossenv_dir / "_crossenv_sysconfigdata.py"),
        },
        "env_vars": [list(item) for item in options.env_vars],
        "target_requirements": list(options.target_requirements),
    }


def create(env: Path, host: HostDescription, chain: Toolchain, options: Options | None = None,
           ) -> Layout:
    """Create (or, with a clear option, replace) the environment at *env*."""
    options = options or Options()
    env = env.absolute()
    _check_target(env, options)
    final = Layout(env=env, cross=(options.cross_prefix or env / "cross").absolute())
    # A second create of the same ENV waits for the first, then sees its result.
    with filelock.FileLock(str(_lock_path(env))), _deferred_signals() as interrupts:
        _check_target(env, options)
        first_missing = next((p for p in reversed(env.parents) if not p.exists()), None)
        try:
            env.parent.mkdir(parents=True, exist_ok=True)
            return _create_locked(final, host, chain, options, interrupts)
        except OSError as exc:
            raise EnvironmentCreationError(
                f"cannot create {env}: {exc.strerror or exc}"
                f"{' (' + str(exc.filename) + ')' if exc.filename else ''}; "
                "choose a directory you can write") from None
        finally:
            if first_missing is not None and not env.exists():
                shutil.rmtree(first_missing, ignore_errors=True)


def _create_locked(final: Layout, host: HostDescription, chain: Toolchain,
                   options: Options, interrupts: _Interrupts) -> Layout:
    env = final.env
    stage_dir = Path(tempfile.mkdtemp(prefix=f".{env.name}.crossenv-", dir=env.parent))
    stage = Layout(env=stage_dir, cross=stage_dir / "cross" if options.cross_prefix is None
                   else final.cross)
    keep_build = env.is_dir() and options.clear == "cross" and final.build.is_dir()
    keep_cross = env.is_dir() and options.clear == "build" and (final.cross / "bin").is_dir() \
        and options.cross_prefix is None
    moved: list[tuple[Path, Path]] = []
    external_cross_created = False
    prompt = options.prompt or env.name
    try:
        interrupts.checkpoint()
        venvs: list[Callable[[], None]] = []
        if keep_build:
            os.rename(final.build, stage.build)
            moved.append((stage.build, final.build))
        else:
            venvs.append(functools.partial(
                _make_venv, stage.build, with_pip=options.with_build_pip,
                system_site_packages=options.system_site_packages, prompt=f"{prompt}-build"))
        if keep_cross:
            os.rename(final.cross, stage.cross)
            moved.append((stage.cross, final.cross))
        else:
            if options.cross_prefix is not None:
                external_cross_created = not final.cross.exists()
                if options.clear in ("cross", "both") and final.cross.exists():
                    shutil.rmtree(final.cross)
                    external_cross_created = True
            cross_pip = options.with_cross_pip and options.with_build_pip
            seed_from_build = cross_pip and not keep_build
            venvs.append(functools.partial(
                _make_venv, stage.cross, with_pip=cross_pip and not seed_from_build,
                system_site_packages=False, prompt=prompt))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(make) for make in venvs]:
                future.result()
        if not keep_cross and seed_from_build:
            _seed_like(stage.build, stage.cross, stage.site_packages)
        interrupts.checkpoint()
        _write_cross(stage, final, host, chain, options)
        scripts.write_scripts(
            stage.bin, env_dir=env, cross_python=final.cross_python,
            build_python=final.build_python, with_build_pip=options.with_build_pip,
            with_cross_pip=options.with_cross_pip and options.with_build_pip, prompt=prompt,
            env_vars=options.env_vars)
        (stage.env / METADATA).write_text(
            json.dumps(_metadata(final, host, chain, options), indent=2) + "\n", encoding="utf-8")
        for prefix in (stage.build, stage.cross):
            if prefix.parent == stage.env:  # built in staging: fix paths baked into scripts
                scripts.relocate_text_files(prefix / "bin", str(stage.env), str(env))
                scripts.relocate_text_files(prefix, str(stage.env), str(env))
        interrupts.checkpoint()
        _swap_into_place(stage_dir, env)
    except BaseException:
        for source, destination in reversed(moved):
            with contextlib.suppress(OSError):
                os.rename(source, destination)
        shutil.rmtree(stage_dir, ignore_errors=True)
        if external_cross_created:
            shutil.rmtree(final.cross, ignore_errors=True)
        raise
    return final


def _swap_into_place(stage_dir: Path, env: Path) -> None:
    old = None
    if env.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{env.name}.old-", dir=env.parent))
        os.rename(env, old / "env")
    try:
        os.rename(stage_dir, env)
    except BaseException:
        if old is not None:
            os.rename(old / "env", env)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_metadata(env: Path) -> dict[str, Any]:
    """Read ``ENV/crossenv.json`` of an existing environment."""
    path = Path(env) / METADATA
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise EnvironmentCreationError(f"{env} is not a crossenv environment (no {METADATA}); "
                                       "create one with: crossenv HOST_PYTHON ENV") from None
