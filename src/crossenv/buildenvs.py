"""Build environments shared by the identifiers of one ``crossenv buildwheel`` run.

An isolated build makes a fresh venv and installs the build requirements into it, for
every wheel. In a matrix that is the same work again and again: the requirements run on
the *build* machine, so the aarch64, armv7l, ppc64le and s390x wheels of one project and
one Python version need the very same venv (build python X.Y, the same requirement
strings). Measured on cibuildwheel's own shape of project (setuptools and Cython), that
venv and its two installer runs were 3-5 s of each identifier's build.

:class:`SharedBuildEnvs` keeps one venv per (build interpreter, installer, requirement
set) for one run, and builds over it with pypa/build's ``--no-isolation
--skip-dependency-check`` or pip's ``--no-build-isolation``, which keeps what isolation
promises:

* the venv holds exactly the declared requirements: ``[build-system] requires`` first,
  then what the backend's ``get_requires_for_build_wheel`` asks for *on this host* (the
  hook runs in cross-python, as in an isolated build); a different set gets a venv of
  its own, never a union;
* nothing from ``build-pip`` is visible (``CROSSENV_BUILD_PACKAGES=0``);
* the venv is kept for the UTC day (``~/.cache/crossenv/build-reqs/DAY-KEY``, the key
  also holding pip's configuration, ``PIP_*`` and pip.conf, and the build
  interpreter's file), so the next run of the day starts building at once, and the
  first run of a new day resolves the requirements afresh as an isolated build would;
  older days' venvs are removed then. A venv is made in place under a file lock beside
  it and is used only once its ``.crossenv-ready`` mark is written, so concurrent runs
  wait for one another and a run that died leaves nothing that is used.
  ``CROSSENV_REQUIREMENTS_CACHE=0`` makes every run's venvs in its own temporary
  directory instead (the test step's kept requirements, :mod:`crossenv.testdeps`,
  follow the same variable).

The hooks see the venv as they would see pypa/build's isolated venv under crossenv: its
site-packages on ``PYTHONPATH`` of cross-python (``_crossenv_frontends``), its scripts
first on ``PATH``. For pypa/build without front-end arguments, the cross-python process
that asks the backend for its requirements goes on to build the wheel when the answer
needs nothing the venv lacks (the usual case): one interpreter start and one import of
pypa/build fewer, 0.2-0.3 s of a 1.5-2 s build step for cibuildwheel's shape of project.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from . import testdeps
from .errors import CrossenvError
from .model import Layout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

#: pypa/build's (and PEP 517's) backend for a project without ``[build-system]``
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
#: front-end arguments that say the user manages the build environment
_OWN_ENVIRONMENT = {"pip": ("--no-build-isolation", "--check-build-dependencies"),
                    "build": ("-n", "--no-isolation", "-x", "--skip-dependency-check")}
#: what each front-end is told to build over a prepared venv (no installer runs)
NO_ISOLATION = {"pip": ("--no-build-isolation",),
                "build": ("--no-isolation", "--skip-dependency-check")}

#: run by cross-python with the venv on PYTHONPATH: the backend's own answer for this
#: host (``get_requires_for_build_wheel``); given an output directory and the venv's
#: requirements, it goes on to build the wheel when that answer asks for nothing the
#: venv lacks, through pypa/build's API as ``python -m build --no-isolation
#: --skip-dependency-check`` calls it (each hook still in its own interpreter), which
#: saves a wheel one more interpreter start and import of pypa/build
_DYNAMIC = r"""
import json, os, sys
from build import ProjectBuilder
settings = json.loads(sys.argv[2]) or None
builder = ProjectBuilder(sys.argv[1])
found = sorted(builder.get_requires_for_build("wheel", settings))
with open(sys.argv[3], "w") as fh:
    json.dump(found, fh)
if len(sys.argv) > 5 and set(found) <= set(json.loads(sys.argv[5])):
    print("* Building wheel...", flush=True)
    built = builder.build("wheel", sys.argv[4], settings)
    print("Successfully built", os.path.basename(built))
"""

Runner = Callable[..., int]


class SharedEnvError(CrossenvError):
    """A shared build environment could not be made (its installer failed)."""


def static_requires(project: Path) -> list[str] | None:
    """``[build-system] requires`` of *project* (PEP 518's default without the table);
    None when pyproject.toml cannot be read: the isolated build then reports it."""
    path = Path(project) / "pyproject.toml"
    if not path.is_file():
        return list(DEFAULT_REQUIRES)
    try:
        return parse_requires(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def parse_requires(text: str) -> list[str] | None:
    """``[build-system] requires`` in pyproject.toml's *text*, as pypa/build reads it."""
    try:
        table = tomllib.loads(text).get("build-system")
    except tomllib.TOMLDecodeError:
        return None
    if table is None:
        return list(DEFAULT_REQUIRES)
    requires = table.get("requires") if isinstance(table, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return None
    return list(requires)


def applies(frontend: str, args: Sequence[str]) -> bool:
    """A front-end whose arguments leave the build environment to crossenv."""
    own = _OWN_ENVIRONMENT.get("build" if frontend == "build[uv]" else frontend)
    return own is not None and not any(a.split("=", 1)[0] in own for a in args)


class SharedBuildEnvs:
    """Venvs of build requirements, each made once (thread-safe: identifiers of a matrix
    build in threads). With ``kept`` they are the day's, under ``root`` (shared by runs);
    without, ``root`` is a directory the run owns and removes."""

    #: the file that says a kept venv is complete
    READY = ".crossenv-ready"

    def __init__(self, root: Path, *, kept: bool = False) -> None:
        self.root = Path(root)
        self.kept = kept
        self._lock = threading.Lock()
        self._keys: dict[str, threading.Lock] = {}
        self._ready: set[str] = set()
        #: how many venvs were made and how many times one was reused (the report's)
        self.made = 0
        self.reused = 0

    def environ(self, layout: Layout, project: Path, *, installer: str,
                settings: Mapping[str, str], environ: Mapping[str, str], run: Runner,
                log: TextIO | None, outdir: Path | None = None) -> dict[str, str] | None:
        """The environment for a ``--no-isolation`` build of *project* over a venv with
        exactly its requirements for this host; None when they cannot be known here
        (the caller then builds isolated, as before). With *outdir* (pypa/build's
        build without front-end arguments), the wheel is built there too when the
        first venv serves: the caller builds only when *outdir* has none."""
        static = static_requires(project)
        if static is None:
            return None
        venv = self._venv(layout, static, installer, environ, run, log)
        extra = self._with(venv, environ)
        dynamic = self._dynamic(layout, project, settings, extra, run, log,
                                build=None if outdir is None else (outdir, static))
        if dynamic and set(dynamic) - set(static):
            venv = self._venv(layout, [*static, *dynamic], installer, environ, run, log)
            extra = self._with(venv, environ)
        return extra

    def _with(self, venv: Path, environ: Mapping[str, str]) -> dict[str, str]:
        site = [str(p) for p in sorted((venv / "lib").glob("python*/site-packages"))]
        old = environ.get("PYTHONPATH", "")
        return {**environ,
                "PYTHONPATH": os.pathsep.join([*site, *filter(None, [old])]),
                "PATH": os.pathsep.join([str(venv / "bin"), environ.get("PATH", os.defpath)]),
                "PYTHONNOUSERSITE": "1", "CROSSENV_BUILD_PACKAGES": "0"}

    def _key(self, layout: Layout, requires: Sequence[str], installer: str) -> str:
        base = os.path.realpath(layout.build_python)
        parts: list[object] = [base, layout.python_version, installer, sorted(set(requires))]
        if not self.kept:
            return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
        try:  # a kept venv links to its base interpreter: a new or removed one is a new key
            stat = os.stat(base)
            parts += [stat.st_size, stat.st_mtime_ns, testdeps.pip_config()]
        except OSError:
            parts.append(None)
        return f"{testdeps.today()}-{hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]}"

    def _venv(self, layout: Layout, requires: Sequence[str], installer: str,
              environ: Mapping[str, str], run: Runner, log: TextIO | None) -> Path:
        key = self._key(layout, requires, installer)
        venv = self.root / key
        with self._lock:
            lock = self._keys.setdefault(key, threading.Lock())
        with lock, self._file_lock(key):
            if key in self._ready or (self.kept and (venv / self.READY).is_file()):
                self._ready.add(key)
                self.reused += 1
                if log is not None:
                    which = "the day's" if self.kept else "the run's"
                    log.write(f"build requirements: {which} venv {venv} "
                              f"({', '.join(requires)})\n")
                return venv
            if self.kept:
                testdeps.sweep(self.root, key.split("-", 1)[0])
            shutil.rmtree(venv, ignore_errors=True)  # a half-made one of a failed attempt
            self._make(layout, venv, requires, installer, environ, run, log)
            if self.kept:
                (venv / self.READY).write_text(json.dumps(sorted(requires)) + "\n")
            self._ready.add(key)
            self.made += 1
            return venv

    def _file_lock(self, key: str) -> contextlib.AbstractContextManager[object]:
        """Another run's lock on a kept venv (the file stays beside the venv and goes
        with it in the sweep); nothing for a run's own venvs."""
        if not self.kept:
            return contextlib.nullcontext()
        import filelock

        self.root.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self.root / f"{key}.lock"))

    def _make(self, layout: Layout, venv: Path, requires: Sequence[str], installer: str,
              environ: Mapping[str, str], run: Runner, log: TextIO | None) -> None:
        if run([layout.build_python, "-m", "venv", "--without-pip", venv], log=log,
               env=environ) != 0:
            raise SharedEnvError(f"cannot make a build venv in {venv} (see the log)")
        if installer == "uv":
            argv = ["uv", "pip", "install", "--quiet", "--python", venv / "bin" / "python"]
        else:
            argv = [layout.script("build-pip"), "--python", venv / "bin" / "python",
                    "install", "--quiet", "--disable-pip-version-check"]
        if requires and run([*argv, *requires], log=log, env=environ) != 0:
            raise SharedEnvError("cannot install the build requirements "
                                 f"({', '.join(requires)}) (see the log)")

    def _dynamic(self, layout: Layout, project: Path, settings: Mapping[str, str],
                 environ: Mapping[str, str], run: Runner, log: TextIO | None,
                 build: tuple[Path, Sequence[str]] | None = None) -> list[str]:
        """The backend's answer; with *build* (an output directory and the venv's
        requirements) the wheel too, when that answer needs nothing more."""
        with tempfile.TemporaryDirectory(prefix="crossenv-requires-") as tmp:
            out = Path(tmp) / "requires.json"
            argv = [layout.script("cross-python"), "-c", _DYNAMIC, project,
                    json.dumps(dict(settings)), out]
            if build is not None:
                argv += [build[0], json.dumps(sorted(build[1]))]
            status = run(argv, log=log, env=environ, cwd=project)
            if not out.is_file():
                raise SharedEnvError("the build backend's get_requires_for_build_wheel "
                                     "failed (see the log)")
            if status != 0:  # the answer came, the build after it failed
                raise SharedEnvError(f"build failed to build {project} (see the log)")
            found = json.loads(out.read_text(encoding="utf-8"))
        if not isinstance(found, list) or not all(isinstance(r, str) for r in found):
            raise SharedEnvError("get_requires_for_build_wheel returned no list of strings")
        return found

