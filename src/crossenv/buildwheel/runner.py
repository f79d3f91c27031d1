"""Run identifiers through :mod:`crossenv.api`, several at a time, one log each.

One identifier is: provision its sysroot, create (or reuse) its cached environment, run
``before-build``, build, repair to the policy, check, test under qemu, and only then put
the wheel in the wheelhouse, so the wheelhouse never holds a wheel that failed a later
step. Failures are caught per identifier (every other identifier still runs) and turned
into a :class:`Result` naming the identifier; the exit status comes from the results.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .. import _proc, api, log, releases, testdeps
from ..buildenvs import SharedBuildEnvs
from ..cache import user_cache
from ..errors import CrossenvError
from ..manylinux import Glibc
from ..testcmd import assignments, substitute
from . import interrupt, outputdir
from .audit import Auditor, applicable
from .cachecount import Counter
from .options import IdentifierOptions


@dataclasses.dataclass
class Result:
    """What happened to one identifier (times in seconds, ``wheel`` a file name)."""

    identifier: str
    result: str = "pending"  # ok, failed, interrupted
    wheel: str = ""
    tag: str = ""
    #: the build front-end (cibuildwheel's ``build-frontend`` name: pip, build, build[uv])
    frontend: str = ""
    build_s: float = 0.0
    test_s: float | None = None  # None: not tested (test-skip, no test-command)
    #: of ``test_s``, the test commands under qemu (the rest is installing for them)
    test_command_s: float | None = None
    step: str = ""
    error: str = ""
    log: str = ""
    #: the compiler cache's counters for the build step (None: no ccache/sccache), with
    #: ``exact`` False where they are two readings of a shared cache (sccache)
    cache: dict[str, object] | None = None
    #: seconds per step, in the order they ran (where an identifier's time goes)
    steps: dict[str, float] = dataclasses.field(default_factory=dict)


class Progress:
    """The matrix, identifier k of n, on stderr; safe from several threads.

    In a log (a CI provider, a pipe): one plain line per step and per result, as
    ``[done/total] IDENTIFIER: step``. On a terminal: one line redrawn in place with
    what each running identifier is doing, and a permanent line per result above it.
    """

    def __init__(self, total: int, stream: TextIO | None = None,
                 tty: bool | None = None) -> None:
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self._bar = log.Progress(total, self.stream, tty)
        self._running: dict[str, str] = {}
        self._lock = threading.Lock()

    def step(self, identifier: str, what: str) -> None:
        with self._lock:
            self._running[identifier] = what
            self._bar.plain(f"[{self.done}/{self.total}] {identifier}: {what}")
            self._redraw()

    def finished(self, result: Result) -> None:
        with self._lock:
            self.done += 1
            self._running.pop(result.identifier, None)
            detail = result.wheel if result.result == "ok" else result.error
            self._bar.line(f"[{self.done}/{self.total}] {result.identifier}: "
                           f"{result.result.upper()} {detail}")
            self._redraw()

    def close(self) -> None:
        self._bar.close()

    def _redraw(self) -> None:
        running = ", ".join(f"{ident} ({what})" for ident, what in self._running.items())
        self._bar.update(f"[{self.done}/{self.total}] {running or 'done'}", self.done)


def sysroot_note(options: IdentifierOptions) -> str | None:
    """Why a gcc build may need symbols newer than the policy (None: it cannot)."""
    ident = options.identifier
    release = releases.choose(ident.debian_arch, ident.python)
    if options.toolchain == "gnu" and Glibc.from_dotted(release.glibc) > options.policy.glibc:
        return (f"the gcc sysroot (Debian {release.suite}) has glibc {release.glibc}, "
                f"newer than {options.policy.name} (glibc {options.policy.glibc}): the wheel is "
                "checked symbol by symbol against the policy; if it needs newer glibc "
                "symbols it is built again with zig, against the policy's glibc "
                "(toolchain = \"auto\"), or fails (toolchain = \"gnu\")")
    return None


def zig_fallback(options: IdentifierOptions,
                 error: api.PolicyError) -> IdentifierOptions | None:
    """``toolchain = "auto"``'s second build: the same identifier with zig, when gcc's
    wheel is refused only for glibc symbols newer than the policy (a C call such as
    ``stat``, whose glibc 2.33 symbol the sysroot's headers name). A libstdc++ symbol
    gets no second build: zig would link its own libc++ statically into each module,
    and exceptions would no longer cross modules. None: no second build (the error
    stands)."""
    if not (options.toolchain_auto and options.toolchain == "gnu" and error.excesses):
        return None
    if not all(e.version.startswith("GLIBC_") for e in error.excesses):
        return None
    from .. import zig

    try:
        zig.zig_executable()
    except CrossenvError:
        return None  # no zig here: gcc's error, which says how to get it, stands
    return dataclasses.replace(options, toolchain="zig")


def fresh_source(project: Path, dest: Path) -> Path:
    """A copy of *project* for ``zig_fallback``'s second build, without the top-level
    ``build`` directory: setuptools keeps its objects and modules there, per platform and
    Python, and took gcc's as up to date, so the "zig" wheel was gcc's again (zstandard
    0.25: pthread_create@GLIBC_2.34 after both builds). Symlinks stay links."""
    def ignore(directory: str, names: list[str]) -> list[str]:
        return ["build"] if Path(directory) == Path(project) and "build" in names else []

    return Path(shutil.copytree(project, dest, symlinks=True, ignore=ignore))


def _native(commands: Sequence[Sequence[str]], *, project: Path, environ: dict[str, str],
            log: TextIO, what: str, extra: dict[str, str] | None = None) -> None:
    for command in commands:
        assigned, argv = assignments([substitute(w, project) for w in command])
        for name, value in (extra or {}).items():
            argv = [w.replace("{" + name + "}", value) for w in argv]
        if not argv:
            raise api.BuildError(f"{what}: {shlex.join(command)!r} runs no command")
        if _proc.run_logged(argv, log_to=log, cwd=project, env={**environ, **assigned},
                            error=api.BuildError) != 0:
            raise api.BuildError(f"{what} failed: {shlex.join(argv)}")


def _repair(options: IdentifierOptions, wheel: Path, env: api.Env, dest: Path,
            environ: dict[str, str], project: Path, log: TextIO) -> Path:
    command = options.repair_command.strip()
    arch = options.identifier.arch
    if not command:
        return wheel  # repair-wheel-command = "": cibuildwheel keeps the linux_* wheel
    from .options import split_commands
    commands = split_commands(command)
    if len(commands) == 1 and commands[0][:2] == ["auditwheel", "repair"]:
        return api.repair(wheel, env, dest, plat=options.policy.tag(arch),
                          glibc=options.policy.glibc)
    log.write(f"custom repair-wheel-command, run on the build machine: {command}\n")
    out = dest / "custom"
    out.mkdir(parents=True)
    for argv in commands:  # an inherited chain: `auditwheel repair` is crossenv's repair
        if argv[:2] == ["auditwheel", "repair"]:
            api.repair(wheel, env, out, plat=options.policy.tag(arch),
                       glibc=options.policy.glibc)
            continue
        _native([argv], project=project, environ=environ, log=log,
                what="repair-wheel-command", extra={"wheel": str(wheel), "dest_dir": str(out)})
    made = sorted(out.glob("*.whl"))
    if len(made) != 1:
        raise api.BuildError(f"repair-wheel-command left {len(made)} wheels in {{dest_dir}}, "
                             "not one")
    return made[0]


def run_one(options: IdentifierOptions, project: Path, output_dir: Path, log_path: Path,
            progress: Progress, auditor: Auditor | None = None, parallel: int = 1,
            shared: SharedBuildEnvs | None = None) -> Result:
    """Every step for one identifier; never raises for a failure of the build itself.
    ``parallel`` is the compile jobs it may use (CMake's build parallel level, unless the
    user's environment sets one; meson's ninja and cargo choose their own); ``shared``
    the run's build-requirement venvs (:mod:`crossenv.buildenvs`)."""
    ident = str(options.identifier)
    result = Result(ident, log=str(log_path))
    if interrupt.requested():  # a signal came before this identifier started
        result.result, result.log = "interrupted", ""
        return result
    with log_path.open("w", encoding="utf-8") as log, \
            tempfile.TemporaryDirectory(prefix=f"crossenv-{ident}-") as tmp:
        work = Path(tmp)
        clock = [time.monotonic()]

        def lap() -> None:
            now = time.monotonic()
            if result.step:  # a step run twice (zig_fallback) counts both times
                result.steps[result.step] = round(
                    result.steps.get(result.step, 0.0) + now - clock[0], 3)
            clock[0] = now

        def step(name: str) -> None:
            if interrupt.requested():
                raise api.BuildError(f"interrupted by {interrupt.signal_name()}")
            lap()
            result.step = name
            log.write(f"=== {name}\n")
            log.flush()
            progress.step(ident, name)

        try:
            step("provision")
            sysroot = api.provision(options.identifier.debian_arch, options.identifier.python,
                                    packages=options.sysroot_packages)
            note = sysroot_note(options)
            if note:
                log.write(f"note: {note}\n")
            started = time.monotonic()
            source = project  # the second build's is a fresh copy (fresh_source)
            refused: api.PolicyError | None = None  # gcc's wheel, when zig builds again
            try:
                while True:  # once, or twice for toolchain = "auto" (zig_fallback)
                    step("create")
                    env = api.create(options.create_request(sysroot))
                    log.write(f"environment {env}\n")
                    counter = Counter(options.compiler_launcher, work)
                    environ = counter.environ({**os.environ, **options.environment})
                    if parallel > 1:
                        environ.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(parallel))
                    path = f"{env.layout.bin}{os.pathsep}{environ.get('PATH', os.defpath)}"
                    native_env = {**environ, "PATH": path, "VIRTUAL_ENV": str(env)}
                    if options.before_build:
                        step("before-build")
                        _native(options.before_build, project=source, environ=native_env, log=log,
                                what="before-build")
                    step("build")
                    result.frontend = options.frontend.name
                    counter.start(environ)
                    built = api.build(env, source, work / options.toolchain, log=log,
                                      frontend=options.frontend.name,
                                      frontend_args=options.frontend.args,
                                      config_settings=options.config_settings, environ=environ,
                                      shared=shared)
                    stats = counter.stop(environ)
                    if stats is not None:
                        result.cache = {"tool": stats.tool, "hits": stats.hits,
                                        "misses": stats.misses, "uncacheable": stats.uncacheable,
                                        "exact": counter.exact}
                        log.write(f"{stats.summary()}\n")
                    elif counter.problem:
                        log.write(f"note: no cache statistics: {counter.problem}\n")
                    step("repair")
                    try:
                        wheel = _repair(options, built, env, work / f"repaired-{options.toolchain}",
                                        environ, project, log)
                        break
                    except api.PolicyError as exc:
                        fallback = zig_fallback(options, exc)
                        if fallback is None:
                            raise
                        log.write(f"note: {exc}\nnote: toolchain = \"auto\": only glibc symbols "
                                  "are too new, so this identifier is built again with zig, "
                                  f"against glibc {options.policy.glibc}\n")
                        options, refused = fallback, exc
                        source = fresh_source(project, work / "source-zig")
            except CrossenvError as exc:
                if refused is None or exc is refused or interrupt.requested():
                    raise
                # gcc's refusal is the cause (a symbol newer than the policy); zig's own
                # failure (no such function in that glibc) follows it
                result.step = "repair"
                raise api.PolicyError(f"{refused}; toolchain = \"auto\" built it again with "
                                      f"zig, which failed too: {exc}") from None
            step("check")
            api.check(wheel, env, imports=True)  # a wheel that does not import never ships
            if applicable(options.audit_command, wheel.name):
                step("audit")
            (auditor or Auditor(work)).run(options.audit_command, options.audit_requires,
                                           wheel, project=project, log=log, native=_native)
            result.build_s = time.monotonic() - started
            if options.test:
                started = time.monotonic()
                if options.before_test:
                    step("before-test")
                    _native(options.before_test, project=project, environ=native_env, log=log,
                            what="before-test")
                step("test")
                result.test_command_s = api.test(env, wheel, api.TestSpec(
                    options.test_command, options.test_requires, options.test_extras,
                    options.test_sources, options.test_environment), project=project, log=log)
                result.test_s = time.monotonic() - started
            step("publish")
            output_dir.mkdir(parents=True, exist_ok=True)
            final = outputdir.publish(wheel, output_dir)
            result.wheel, result.result = final.name, "ok"
            result.tag = final.name[:-4].split("-")[-1]  # the platform tag(s)
        except CrossenvError as exc:
            result.result, result.error = "failed", f"{result.step}: {exc}"
            if interrupt.requested():
                result.result = "interrupted"
        except Exception as exc:  # a bug: keep the traceback in the log, go on with the rest
            log.write(traceback.format_exc())
            result.result = "failed"
            result.error = f"{result.step}: internal error {type(exc).__name__}: {exc}"
        lap()
        timings = ", ".join(f"{name} {seconds:.1f}" for name, seconds in result.steps.items())
        log.write(f"=== seconds: {timings}\n=== result: {result.result} {result.error}\n")
    progress.finished(result)
    return result


def run_all(options: Sequence[IdentifierOptions], project: Path, output_dir: Path,
            log_dir: Path, jobs: int, progress: Progress | None = None,
            on_result: Callable[[Result], None] | None = None,
            auditor: Auditor | None = None, cores: int = 1) -> list[Result]:
    """Run every identifier, at most ``jobs`` at once, each compiling with its share of
    ``cores``; results in the given order. After
    a signal (:mod:`.interrupt`) identifiers not started are not started, and programs
    started meanwhile are signalled too while the running ones wind down."""
    log_dir.mkdir(parents=True, exist_ok=True)
    progress = progress or Progress(len(options))
    try:
        # the venvs go after the last identifier's thread (the pool's exit waits for it)
        with tempfile.TemporaryDirectory(prefix="crossenv-buildenvs-") as envs, \
                concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            share = max(1, cores // max(1, jobs))
            kept = testdeps.requirements_kept()
            shared = SharedBuildEnvs(user_cache("build-reqs") if kept else Path(envs), kept=kept)
            futures = [pool.submit(run_one, o, project, output_dir,
                                   log_dir / f"{o.identifier}.log", progress, auditor, share,
                                   shared)
                       for o in options]
            pending: set[concurrent.futures.Future[Result]] = set(futures)
            while pending:
                _, pending = concurrent.futures.wait(pending, timeout=1.0)
                if interrupt.requested():
                    for future in pending:
                        future.cancel()
                    interrupt.sweep()
            results = [Result(str(o.identifier), result="interrupted") if f.cancelled()
                       else f.result() for o, f in zip(options, futures)]
    finally:
        progress.close()  # the terminal's progress line goes before the table is printed
    for result in results:
        if on_result:
            on_result(result)
    return results
