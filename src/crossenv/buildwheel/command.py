"""``crossenv buildwheel``: the subcommand (registered like ``run`` and ``check``)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from .. import arches, log
from ..errors import CrossenvError, ToolchainError
from . import (
    config,
    identifiers,
    interrupt,
    options,
    outputdir,
    report,
    requirespython,
    runner,
    selector,
)
from .audit import Auditor


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the
    machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores(cores: int, load: float) -> int:
    """``-j``'s default: the cores the last minute's load leaves free, at least one. On a
    shared CI runner already busy with other jobs, as many identifiers as cores would
    only make each slower (and the emulated tests time out)."""
    return max(1, min(cores, int(cores - load + 0.5)))


class ProjectError(CrossenvError):
    """PROJECT_DIR or SDIST is not a project buildwheel can read."""


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "buildwheel", help="build manylinux wheels for other architectures from "
        "cibuildwheel's configuration, tested under qemu",
        description="Read [tool.cibuildwheel] (pyproject.toml), CIBW_* variables and "
        "--config-file as cibuildwheel does; for each selected identifier "
        "(cp311-manylinux_aarch64 ...) provision a Debian sysroot, create a cached cross "
        "environment, build with isolation, repair to manylinux, check, test under qemu "
        "and write the wheel to the output directory. Exit status: 0 all built, 1 some "
        "failed, 2 bad input.")
    add = parser.add_argument
    add("project", nargs="?", default=".", metavar="PROJECT_DIR | SDIST",
        help="the project directory or an sdist (.tar.gz, .zip); default: .")
    add("--archs", help="architectures: auto (aarch64 armv7l ppc64le s390x), all, or a "
        f"comma list of {', '.join(identifiers.ARCHS)} (default: CIBW_ARCHS, the config, auto)")
    add("--output-dir", type=Path, default=None,
        help="where wheels go (default: CIBW_OUTPUT_DIR, else wheelhouse)")
    add("--only", metavar="IDENTIFIER", help="build just this identifier, ignoring build, "
        "skip and archs (e.g. cp311-manylinux_aarch64)")
    add("-j", "--jobs", type=int, default=None, metavar="N",
        help="identifiers built at once (default: the cores the load leaves free, at least "
        "one; maximum: the number of cores)")
    add("--print-build-identifiers", action="store_true",
        help="print the selected identifiers and exit")
    add("--config-file", type=Path, help="a TOML file with [tool.cibuildwheel] tables, "
        "read before the project's pyproject.toml")
    add("--report", type=Path, help="the JSON report (default: OUTPUT_DIR/"
        "buildwheel-report.json)")
    add("--compiler-launcher", metavar="CMD", help="run the host C/C++ compilers through "
        "CMD, e.g. ccache or sccache (default: CROSSENV_COMPILER_LAUNCHER, else the "
        "project's [tool.crossenv] compiler-launcher); the table shows cache hits/misses")
    add("-v", "--verbose", action="count", default=0, help="more output")
    parser.set_defaults(func=run)
    return parser


def _warn(message: str) -> None:
    log.warning(message, who="crossenv buildwheel")


def _extract_sdist(sdist: Path, into: Path) -> Path:
    """Unpack ``sdist`` under ``into``; its one top-level directory is the project."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for name in zf.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise ProjectError(f"{sdist}: member {name!r} leaves the archive")
                zf.extractall(into)
        else:
            with tarfile.open(sdist) as tf:
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(into, filter="data")
                else:  # pragma: no cover - Python < 3.9.17
                    for member in tf.getmembers():
                        if member.name.startswith("/") or ".." in Path(member.name).parts \
                                or not (member.isfile() or member.isdir()):
                            raise ProjectError(f"{sdist}: unsafe member {member.name!r}")
                    tf.extractall(into)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise ProjectError(f"{sdist} is not a readable sdist: {exc}") from None
    tops = [p for p in into.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        raise ProjectError(f"{sdist}: an sdist holds one top-level directory")
    return tops[0]


def select(reader: config.Reader, project_table: dict[str, Any],
           only: str | None, project: Path | None = None) -> list[identifiers.Identifier]:
    """The identifiers to build, as cibuildwheel chooses them from its own table: here
    the table recorded from the Debian archives' indexes, per architecture (offline and
    the same on every machine; provisioning then asks the archive itself)."""
    if only is not None:
        wanted = identifiers.parse(only)
        if wanted not in identifiers.available([wanted.arch]):
            raise identifiers.SelectionError(
                f"--only {only}: no Debian release ships Python {wanted.python} for "
                f"{wanted.arch}; see --print-build-identifiers")
        return [wanted]
    archs = identifiers.parse_archs(str(reader.get("archs")), _warn)
    offered = identifiers.available(archs)
    requires = (requirespython.requires_python(project, project_table) if project
                else project_table.get("requires-python"))
    build_selector = selector.BuildSelector(
        str(reader.get("build") or "*"), str(reader.get("skip") or ""),
        selector.parse_requires_python(str(requires) if requires else None),
        selector.parse_enable(str(reader.get("enable") or ""), _warn))
    return [i for i in offered if i.arch in archs and build_selector(str(i))]


def missing_tools(chosen: list[options.IdentifierOptions],
                  environ: dict[str, str]) -> list[str]:
    """What the chosen identifiers need and this machine lacks, found before the first
    one starts: the cross gcc (unless ``CC`` names a compiler), zig for
    ``toolchain = "zig"``, and qemu-user (every wheel is imported under it)."""
    missing: dict[str, list[str]] = {}
    for one in chosen:
        row = arches.lookup(one.identifier.debian_arch)
        needs: list[str] = []
        if one.toolchain == "zig":
            try:
                from .. import zig
                zig.zig_executable()
            except ToolchainError:
                needs.append("zig (pip install 'crossenv[zig]')")
        elif not environ.get("CC") and not any(
                shutil.which(f"{prefix}-gcc") for prefix in (row.triplet, row.multiarch)):
            needs.append(f"{row.triplet}-gcc (apt-get install gcc-{row.triplet})")
        if arches.which_qemu(row) is None:
            needs.append(f"{row.qemu} (apt-get install qemu-user-static)")
        for need in needs:
            missing.setdefault(need, []).append(str(one.identifier))
    return [f"{need} for {', '.join(names)}" for need, names in missing.items()]


def _check_source(source: Path) -> None:
    if not source.exists():
        if source.is_symlink():
            raise ProjectError(f"{source} is a symlink to {os.readlink(source)}, which does "
                               "not exist; give a project directory or an sdist")
        raise ProjectError(f"{source} does not exist; give a project directory or an sdist")
    if not source.is_dir() and not source.is_file():  # a FIFO, a socket, a device
        raise ProjectError(f"{source} is neither a directory nor a regular file; give a "
                           "project directory or an sdist (.tar.gz, .zip)")


def _check_report(path: Path) -> None:
    if path.is_dir():
        raise outputdir.OutputDirError(f"--report {path} is a directory; name a file")
    outputdir.prepare(path.parent)


def run(args: argparse.Namespace) -> int:
    restore = interrupt.install()
    try:
        return _run(args)
    finally:
        restore()


def _interrupted(results: list[runner.Result] | None = None) -> int:
    built = sum(r.result == "ok" for r in results or [])
    print(f"crossenv buildwheel: interrupted by {interrupt.signal_name()}: {built} built, "
          "no later identifier started, their programs stopped and temporary files "
          "removed", file=sys.stderr)
    return 130


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    source = Path(args.project)
    _check_source(source)
    cli = {"archs": args.archs}
    with tempfile.TemporaryDirectory(prefix="crossenv-sdist-") as tmp:
        project = (source if source.is_dir() else _extract_sdist(source, Path(tmp))).absolute()
        if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
            raise ProjectError(f"{project} has no pyproject.toml or setup.py")
        reader, project_table = config.open_reader(project, args.config_file, os.environ, cli,
                                                   _warn)
        chosen = select(reader, project_table, args.only, project)
        if args.print_build_identifiers:
            print("\n".join(map(str, chosen)))
            return 0
        if not chosen:
            if reader.get("allow-empty") in (True, "1", "true", "True"):
                _warn("no identifier selected (allow-empty)")
                return 0
            raise identifiers.SelectionError(
                "build/skip/archs select no identifier crossenv can build; see "
                "crossenv buildwheel --print-build-identifiers (add allow-empty to accept)")
        test_selector = selector.TestSelector(str(reader.get("test-skip") or ""))
        compiler_launcher = options.resolve_launcher(args.compiler_launcher, os.environ,
                                                     project)
        resolved = [dataclasses.replace(
            options.resolve(reader, i, os.environ, test_selector(str(i)), _warn),
            compiler_launcher=compiler_launcher) for i in chosen]
        _, natives = options.before_all_packages(
            str(reader.get("before-all", str(chosen[0])) or ""), _warn)
        notes: dict[str, list[str]] = {}
        for one in resolved:
            note = runner.sysroot_note(one)
            if note:
                notes.setdefault(note, []).append(str(one.identifier))
        for note, names in notes.items():
            log.note(f"{', '.join(names)}: {note}", who="crossenv buildwheel")
        missing = missing_tools(resolved, dict(os.environ))
        if missing:
            raise ToolchainError("missing tools, found before building: " + "; ".join(missing))
        output_dir = (args.output_dir or Path(os.environ.get("CIBW_OUTPUT_DIR", "wheelhouse"))
                      ).absolute()
        held = outputdir.lock(outputdir.prepare(output_dir))  # closed when the run ends
        outputdir.prepare(output_dir / "logs")
        if args.report is not None:
            _check_report(args.report.absolute())
        if natives:
            _warn("before-all commands other than apt-get install run once on the build "
                  "machine (what they build is for the build machine, not the host): "
                  + " && ".join(" ".join(c) for c in natives))
            try:
                runner._native(natives, project=project, environ=dict(os.environ),
                               log=sys.stderr, what="before-all")
            except CrossenvError:
                if interrupt.requested():
                    return _interrupted()
                raise
        cores = usable_cores()
        free = free_cores(cores, os.getloadavg()[0])  # read once: -j and the compile share
        jobs = args.jobs or free
        if jobs > cores:
            _warn(f"-j {jobs} is more than the {cores} cores: using {cores}")
            jobs = cores
        if interrupt.requested():  # a signal while this thread prepared the run
            return _interrupted()
        results = runner.run_all(resolved, project, output_dir, output_dir / "logs",
                                 min(jobs, len(resolved)), auditor=Auditor(Path(tmp)),
                                 cores=free)
        report.write_json(args.report or output_dir / "buildwheel-report.json", results,
                          project=str(source), output_dir=str(output_dir),
                          wall_s=time.monotonic() - started)
        held.close()
        if interrupt.requested():
            return _interrupted(results)
        print(report.table(results))
    return 0 if all(r.result == "ok" for r in results) else 1
