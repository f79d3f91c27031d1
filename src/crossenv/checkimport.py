"""``crossenv check --import``: import every extension module of a wheel on its host.

The offline loader (:mod:`crossenv.loader`) answers "would ld.so bind it"; only the host
can answer "does ``PyInit_`` run" (a wrong byte order in C code, a missing Python-level
import, an init that crashes). So each wheel is installed into a throwaway directory and
each extension module it ships is imported by the host's python under qemu-user, with
the ``crossenv run`` machinery.

The wheel is unpacked in-process (:mod:`crossenv.wheelinstall`, pypa/installer) with
pip's ``--target`` layout, so ``*.data/platlib`` lands where pip puts it and no member
escapes the directory; its tags, RECORD and suffixes are checked before
(:mod:`crossenv.wheelchecks`), so a pip run (a second or two natively, per wheel) would
check nothing more. Dependencies are not installed: the check is about this wheel
only. When an import fails only
because a dependency outside the wheel is not installed, the extension's shared object is
still opened with ``dlopen(RTLD_NOW)`` (ctypes), which proves what the loader would do.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

from . import _proc, run, wheelinstall
from .envrecord import Env
from .errors import CrossenvError
from .loader import installed_path

#: one import per module, each reported as a JSON line; runs on the host's python (3.8+)
_SCRIPT = r"""
import importlib, json, sys
tops = set(json.loads(sys.argv[1]))
for arg in sys.argv[2:]:
    name, _, path = arg.partition("=")
    print(json.dumps({"begin": name}), flush=True)
    result = {"module": name, "ok": True}
    try:
        importlib.import_module(name)
    except BaseException as exc:
        result = {"module": name, "ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
        missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        if missing and missing.split(".")[0] not in tops:
            try:
                import ctypes
                ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL | 2)  # RTLD_NOW, as CPython does
                result = {"module": name, "ok": True, "note": "its shared object loads; the "
                          "import needs %s, which is not installed" % missing}
            except Exception as exc2:
                result["error"] += " (and dlopen: %s)" % exc2
    print(json.dumps(result), flush=True)
"""
TIMEOUT = 900  # seconds for one wheel's imports under qemu (numpy takes ~20)


class ImportCheckError(CrossenvError):
    """--import cannot run (no environment, no host python)."""


def module_names(members: Iterable[str]) -> dict[str, str]:
    """Dotted module name -> installed path, for the extension members that can be
    imported (every part of the path an identifier)."""
    found: dict[str, str] = {}
    for member in members:
        path = installed_path(member)
        parts = path.split("/")
        parts[-1] = parts[-1].split(".", 1)[0]
        if all(part.isidentifier() for part in parts):
            found[".".join(parts)] = path
    return dict(sorted(found.items()))


def import_modules(env: Path, wheel: Path, extensions: Iterable[str], *,
                   qemu: str | None = None) -> list[tuple[str, str]]:
    """Install *wheel* into a throwaway directory and import each extension module with
    the host python; ``(member, message)`` for every failure, in module order."""
    modules = module_names(extensions)
    if not modules:
        return []
    by_path = {path: member for member in extensions
               for path in [installed_path(member)]}
    with tempfile.TemporaryDirectory(prefix="crossenv-import-") as tmp:
        site = Path(tmp) / "site"
        try:
            wheelinstall.install(wheel, site,
                                 interpreter=str(Path(tmp) / "host" / "bin" / "python"),
                                 python_version=Env.open(env).layout.python_version)
        except wheelinstall.WheelInstallError as exc:
            return [("", str(exc))]
        tops = sorted({name.split(".")[0] for name in modules}
                      | {p.name.split(".")[0] for p in site.iterdir()})
        failures: list[tuple[str, str]] = []
        pending = list(modules)
        while pending:
            args = [f"{name}={site / modules[name]}" for name in pending]
            argv, environ = run.command(env, ["python", "-c", _SCRIPT, json.dumps(tops), *args],
                                        qemu=qemu, site=[site], prefix=Path(tmp) / "host")
            proc = _proc.run(argv, env=environ, cwd=tmp, timeout=TIMEOUT, check=False,
                             error=ImportCheckError)  # a timeout: status None, output so far
            out, status = proc.stdout, proc.returncode
            done: set[str] = set()
            current = ""
            for line in out.splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a module's own output
                if not isinstance(record, dict):
                    continue
                if "begin" in record:
                    current = str(record["begin"])
                    continue
                name = str(record.get("module", ""))
                done.add(name)
                if not record.get("ok"):
                    failures.append((by_path.get(modules.get(name, ""), name),
                                     f"import {name} failed: {record.get('error', '')}"))
            remaining = [name for name in pending if name not in done]
            if not remaining:
                break
            if current not in remaining:
                current = remaining[0]
                stderr = "" if status is None else (proc.stderr.strip().splitlines() or [""])[-1]
                failures.append((by_path.get(modules[current], current),
                                 f"the host python failed before importing {current} "
                                 f"(exit status {status}): {stderr[:300]}"))
            else:
                why = f"killed after {TIMEOUT} s" if status is None else (
                    f"crashed (signal {-status})" if status < 0 else f"exit status {status}")
                failures.append((by_path.get(modules[current], current),
                                 f"import {current} {why}: the host python died in it"))
            pending = remaining[remaining.index(current) + 1:]
        return failures
