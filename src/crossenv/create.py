"""Create ENV: a native build venv, a cross venv with the runtime shim, and ENV/bin.

ENV may be a directory that already holds other files (crossenv 1.x made its
parts inside one, and scripts rely on that); those files are never touched. The
new parts are built in a staging directory inside ENV and moved in under a lock
on ENV's resolved path (see :mod:`crossenv.staging`), so a failed or interrupted
create leaves ENV as it was and two creates of the same ENV never interleave.
Only parts that carry crossenv's marker are ever replaced.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import os
import py_compile
import shutil
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import filelock

from . import (
    backends,
    crossconfig,
    crossinterp,
    cxxruntime,
    hostlibc,
    quoting,
    scripts,
    staging,
    versions,
)
from .cache import user_cache
from .envrecord import EnvRecord
from .errors import EnvironmentCreationError
from .host import HostDescription, check_headers, not_cross
from .model import Layout, Options, Toolchain
from .request import CreateRequest
from .target import Target
from .toolchain import missing_cxx


def _lock_path(env: Path) -> Path:
    digest = hashlib.sha256(str(env).encode()).hexdigest()[:16]
    return user_cache("locks") / f"{digest}.lock"


def _within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _check_paths(given: Path, env: Path, cross_prefix: Path | None,
                 host: HostDescription) -> None:
    """Refuse, before anything is made, every ENV that crossenv could damage."""
    if given.is_symlink() and not given.exists():
        raise EnvironmentCreationError(f"{given} is a dangling symlink; remove it or choose "
                                       "another ENV")
    if os.path.lexists(env) and not env.is_dir():
        raise EnvironmentCreationError(f"{env} exists and is not a directory; choose another ENV")
    existing = next(p for p in (env, *env.parents) if os.path.lexists(p))
    if not existing.is_dir():
        raise EnvironmentCreationError(
            f"cannot create {env}: {existing} is not a directory; choose another ENV")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise EnvironmentCreationError(
            f"cannot create {env}: {existing} is not writable; choose a directory you can write")
    protected = [("sysroot", host.sysroot), ("prefix", Path(host.build_path(host.prefix)))]
    for what, path in protected:
        if path is None:
            continue
        real = Path(os.path.realpath(path))
        for name, candidate in (("ENV", env), ("--cross-prefix", cross_prefix)):
            if candidate is not None and _within(real, candidate):
                raise EnvironmentCreationError(
                    f"{name} {candidate} is or contains the host's {what} {real}; "
                    "choose a directory outside it")
    if cross_prefix is None:
        return
    if _within(cross_prefix, env):
        raise EnvironmentCreationError(
            f"--cross-prefix {cross_prefix} is inside ENV {env}; omit --cross-prefix (the "
            "cross environment is then ENV/cross) or choose a directory outside ENV")
    if _within(env, cross_prefix):
        raise EnvironmentCreationError(
            f"ENV {env} is inside --cross-prefix {cross_prefix}; choose an ENV outside it")
    if os.path.lexists(cross_prefix) and (cross_prefix.is_symlink() or not cross_prefix.is_dir()):
        raise EnvironmentCreationError(
            f"--cross-prefix {cross_prefix} exists and is not a directory; choose another")


def _not_ours(path: Path) -> EnvironmentCreationError:
    return EnvironmentCreationError(
        f"{path} exists and crossenv did not make it (no {staging.MARKER}); move it away "
        "or choose another ENV")


def _decide(path: Path, part: str, clear: bool) -> str:
    """``make`` a new *part* at *path*, or ``keep`` the one crossenv made there."""
    if not os.path.lexists(path) or staging.is_empty_dir(path):
        return "make"
    if staging.marker(path, part) is None:
        raise _not_ours(path)
    return "make" if clear else "keep"


@dataclasses.dataclass
class _Plan:
    build: str
    cross: str
    old_bin_files: list[str]
    old_record: EnvRecord | None


def _check_cross_owner(cross: Path, env: Path) -> None:
    """Refuse a ``--cross-prefix`` that another environment still uses: creating over it
    would re-target that environment (its cross-pip would build for the new host while
    its crossenv.json names the old one)."""
    mark = staging.marker(cross, "cross")
    owner = mark.get("env") if mark else None
    if not isinstance(owner, str) or owner == str(env):
        return
    record = EnvRecord.peek(Path(owner))
    if record is not None and record.paths.get("cross") == str(cross):
        raise EnvironmentCreationError(
            f"--cross-prefix {cross} belongs to the environment {owner}; give each "
            "environment its own --cross-prefix, or remove that environment first")


def _plan(final: Layout, options: Options, external_cross: bool) -> _Plan:
    """Classify what is at ENV (under the lock): refuse what is not crossenv's."""
    env = final.env
    if external_cross:
        _check_cross_owner(final.cross, env)
    is_env = EnvRecord.is_ours(env)
    if EnvRecord.lexists(env) and not is_env:
        raise _not_ours(final.record)
    if is_env and options.clear is None:
        raise EnvironmentCreationError(
            f"{env} is already a crossenv environment; pass --clear to replace it (or "
            "--clear-cross, --clear-build), or choose another ENV")
    bin_marker = staging.marker(final.bin, "bin")
    if os.path.lexists(final.bin) and bin_marker is None and not staging.is_empty_dir(final.bin):
        raise _not_ours(final.bin)
    clear = options.clear
    build = _decide(final.build, "build", clear in ("default", "build", "both"))
    cross = _decide(final.cross, "cross", clear in ("cross", "both") or
                    (clear == "default" and not external_cross))
    files = bin_marker.get("files") if bin_marker else None
    return _Plan(build=build, cross=cross,
                 old_bin_files=[str(f) for f in files] if isinstance(files, list) else [],
                 old_record=EnvRecord.peek(env) if is_env else None)

def _make_venv(path: Path, *, with_pip: bool, system_site_packages: bool,
               prompt: str, python: Path | None = None) -> None:
    import virtualenv  # slow to import: only when creating

    args = [str(path), "--no-periodic-update", "--activators", "", "--quiet",
            "--prompt", prompt, "-p", str(python or sys.executable)]
    if not with_pip:
        args += ["--no-pip", "--no-setuptools"]
    if system_site_packages:
        args.append("--system-site-packages")
    try:
        virtualenv.cli_run(args, setup_logging=False)
    except SystemExit as exc:  # virtualenv reports errors by exiting
        raise EnvironmentCreationError(
            f"virtualenv could not create {path} (status {exc.code})") from None
    except RuntimeError as exc:  # virtualenv >= 21 raises this for a Python it cannot seed
        raise EnvironmentCreationError(f"virtualenv could not create {path}: {exc}") from None


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
            shutil.copytree(entry, target, symlinks=True, copy_function=staging.link_or_copy)
        else:
            staging.link_or_copy(str(entry), str(target))
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
    imported helpers named in :data:`crossenv.backends.IMPORT_HOOKS`)."""
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
    from .validate import inside  # both names come from host data: stay inside ENV

    link = inside(directory, host.multiarch, host.platinclude_dir.name)
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
    overlay = _include_overlay(host, stage.include_overlay)
    config_vars = crossconfig.host_config_vars(
        host, chain, cross_prefix=final.cross,
        include_overlay=final.include_overlay if overlay else None,
        overrides=options.config_vars,
    )
    build_env = backends.make(stage.crossenv_dir, final, host, chain, options)
    data_name = "_crossenv_sysconfigdata.py"
    (stage.crossenv_dir / data_name).write_text(
        crossconfig.render_sysconfigdata(config_vars, host), encoding="utf-8")
    (stage.cross_site / "_crossenv_config.py").write_text(
        crossconfig.render_runtime_config(
            host, sysconfigdata_file=final.crossenv_dir / data_name,
            build_python=final.build_python, env_dir=final.env, libc=options.libc,
            platform_tags=list(options.platform_tags),
            build_env=build_env, import_hooks=backends.IMPORT_HOOKS),
        encoding="utf-8")
    _precompile(stage.cross_site / "_crossenv_shim.py", stage.cross_site / "_crossenv_config.py",
                stage.cross_site / "_crossenv_patches.py",
                stage.crossenv_dir / data_name)
    return config_vars


def _record(final: Layout, host: HostDescription, chain: Toolchain,
            options: Options) -> EnvRecord:
    return EnvRecord.new(
        final, host=host.to_json(), toolchain=chain.to_json(),
        platform_tags=options.platform_tags, env_vars=options.env_vars,
        host_requirements=options.host_requirements,
        compiler_launcher=options.compiler_launcher, rust=_rust(host))


def _rust(host: HostDescription) -> dict[str, Any] | None:
    """Which rustc builds for the host (crossenv.rust), as the cargo generator chose."""
    from .backends import cargo

    try:
        return cargo.rust_choice(host).to_json()
    except ValueError:  # no Rust target for this host
        return None


def _host_key(host_json: Any) -> tuple[Any, ...] | None:
    if not isinstance(host_json, dict):
        return None
    return tuple(host_json.get(k) for k in ("platform", "soabi", "ext_suffix", "version",
                                             "sysroot"))


def _runtime_names() -> list[str]:
    runtime = resources.files("crossenv") / "runtime"
    return [e.name for e in runtime.iterdir() if e.name.endswith((".py", ".pth"))]


def generator_options(request: CreateRequest, target: Target) -> Options:
    """What the generators (crossenv.backends) and the staging below read: the request's
    choices and the target's tags and build interpreter, in the shape they take."""
    return Options(
        clear=request.clear, cross_prefix=request.cross_prefix,
        system_site_packages=request.system_site_packages,
        with_build_pip=request.with_build_pip, with_cross_pip=request.with_cross_pip,
        config_vars=dict(request.config_vars), env_vars=request.env_vars,
        platform_tags=target.platform_tags, libc=target.libc, prompt=request.prompt,
        host_requirements=request.host_requirements, build_python=target.build_python,
        compiler_launcher=request.compiler_launcher, manylinux=request.cxx_manylinux)


def create(env: Path, target: Target, request: CreateRequest) -> Layout:
    """Create ENV, or with a clear option replace the named parts of the one there.

    Called by :func:`crossenv.api.create` (the one creation sequence) with the target it
    resolved from *request*. ENV may be an existing directory: the parts are made beside
    the user's files, which are never touched. Paths are resolved (symlinks, ``..``), so
    every spelling of one ENV takes the same lock and records the same paths.
    """
    host, chain = target.host, target.toolchain
    options = generator_options(request, target)
    for line in [*versions.unsupported(), missing_cxx(chain, host), not_cross(host)]:
        if line:  # installed with --no-deps, or pinned back; no C++ compiler; not a cross build
            print(f"crossenv: warning: {line}", file=sys.stderr)
    given = Path(env)
    env = Path(os.path.realpath(given))
    cross_prefix = (Path(os.path.realpath(options.cross_prefix))
                    if options.cross_prefix is not None else None)
    if cross_prefix == env / "cross":
        cross_prefix = None  # the default, spelled out
    _check_paths(given, env, cross_prefix, host)
    for what, path in (("ENV", env), ("--cross-prefix", cross_prefix),
                       ("the sysroot", host.sysroot)):
        if path is not None:  # named in CMake, meson and shell files: refused if they can't
            quoting.directory(str(path), what)
    check_headers(host)  # never the build machine's Python.h or pyconfig.h
    final = Layout(env=env, cross=cross_prefix or env / "cross", python_version=host.version_str)
    # A second create of the same ENV waits for the first, then sees its result.
    locked = sorted({env, final.cross})
    with contextlib.ExitStack() as stack:
        for path in locked:
            stack.enter_context(filelock.FileLock(str(_lock_path(path))))
        interrupts = stack.enter_context(staging.deferred_signals())
        _check_paths(given, env, cross_prefix, host)
        made: list[Path] = []
        try:
            made = staging.make_dirs(env)
            if cross_prefix is not None:
                made += staging.make_dirs(cross_prefix.parent)
            staging.recover(env)
            plan = _plan(final, options, cross_prefix is not None)
            transaction = staging.Transaction(env)
            transaction.begin()
            try:
                _stage(transaction, plan, final, host, chain, options, interrupts)
                interrupts.checkpoint()
                transaction.commit()
            except BaseException:
                transaction.discard()
                raise
        except OSError as exc:
            staging.remove_empty(made)
            raise EnvironmentCreationError(
                f"cannot create {env}: {exc.strerror or exc}"
                f"{' (' + str(exc.filename) + ')' if exc.filename else ''}; "
                "choose a directory you can write") from None
        except BaseException:
            staging.remove_empty(made)
            raise
    from .generations import register_env  # `crossenv cache list|prune` see who uses it

    register_env(final.env, host.sysroot)
    return final


def _stage(transaction: staging.Transaction, plan: _Plan, final: Layout, host: HostDescription,
           chain: Toolchain, options: Options, interrupts: staging.Interrupts) -> None:
    """Build every new part in the staging directory and journal its move into ENV."""
    env, txid = final.env, transaction.txid
    external = final.cross.parent != env or final.cross.name != "cross"
    cross_stage = transaction.extra_stage(final.cross) if external else transaction.path
    stage = Layout(env=transaction.path, cross=cross_stage / "cross",
                   python_version=host.version_str)
    prompt = options.prompt or env.name
    fresh: list[tuple[Path, Path]] = []  # (staged venv, final path): paths to rewrite
    venvs: list[Callable[[], None]] = []
    if plan.build == "make":
        venvs.append(functools.partial(
            _make_venv, stage.build, with_pip=options.with_build_pip,
            system_site_packages=options.system_site_packages, prompt=f"{prompt}-build",
            python=options.build_python))
        fresh.append((stage.build, final.build))
    cross_pip = options.with_cross_pip and options.with_build_pip
    seed_from_build = cross_pip and plan.build == "make"
    if plan.cross == "make":
        venvs.append(functools.partial(
            _make_venv, stage.cross, with_pip=cross_pip and not seed_from_build,
            system_site_packages=False, prompt=prompt, python=options.build_python))
        fresh.append((stage.cross, final.cross))
    else:  # kept: a linked copy whose crossenv files are written anew below
        site = stage.cross_site.relative_to(stage.cross)
        staging.link_tree(final.cross, stage.cross, skip=[
            "crossenv", staging.MARKER, *(str(site / n) for n in _runtime_names()),
            str(site / Layout.RUNTIME_CONFIG_NAME)])
    interrupts.checkpoint()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(make) for make in venvs]:
            future.result()
    if plan.cross == "make":
        crossinterp.own_interpreter(stage.cross / "bin")  # crossenv 1.x's resolve() finds ENV
    if plan.cross == "make" and seed_from_build:
        _seed_like(stage.build, stage.cross, stage.site_packages)
    for staged, target in fresh:  # built in staging: fix paths baked into scripts
        scripts.relocate_text_files(staged / "bin", str(staged), str(target))
        scripts.relocate_text_files(staged, str(staged), str(target))
    old_target = final.host_packages
    if old_target.is_dir() and plan.old_record is not None and \
            plan.old_record.paths.get("cross") == str(final.cross) and \
            _host_key(plan.old_record.host) == _host_key(host.to_json()):
        staging.link_tree(old_target, stage.host_packages)  # still valid
    interrupts.checkpoint()
    # every link sees the sysroot's C library, not the cross toolchain's copy
    chain = hostlibc.pin(chain, stage.crossenv_dir / hostlibc.DIR_NAME,
                         final.crossenv_dir / hostlibc.DIR_NAME)
    # C++ extensions link for an older manylinux than gcc's own libstdc++ (same directory)
    chain = cxxruntime.prepare(chain, host, options.manylinux,
                               stage.crossenv_dir / hostlibc.DIR_NAME,
                               final.crossenv_dir / hostlibc.DIR_NAME)
    _write_cross(stage, final, host, chain, options)
    staging.write_marker(stage.cross, "cross", txid, env=str(env))
    if plan.build == "make":
        staging.write_marker(stage.build, "build", txid)
        transaction.ops.append({"kind": "exchange", "new": str(stage.build),
                                "final": str(final.build)})
    transaction.ops.append({"kind": "exchange", "new": str(stage.cross), "final": str(final.cross)})
    written = scripts.write_scripts(
        stage.bin, env_dir=env, cross_python=final.cross_python,
        build_python=final.build_python, with_build_pip=options.with_build_pip,
        with_cross_pip=cross_pip, prompt=prompt, env_vars=options.env_vars,
        version=host.version_str)
    staging.write_marker(stage.bin, "bin", txid, files=written)
    transaction.ops.append({"kind": "files", "new": str(stage.bin), "final": str(final.bin),
                            "remove": sorted(set(plan.old_bin_files) - set(written))})
    staged_record = _record(final, host, chain, options).write(stage.env)
    transaction.ops.append({"kind": "file", "new": str(staged_record),
                            "final": str(final.record)})
