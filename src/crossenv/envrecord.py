"""``ENV/crossenv.json``: the one reader and writer of an environment's record, and the
:class:`Env` handle every step after creation takes.

Creation writes the record (:meth:`EnvRecord.new`, :meth:`EnvRecord.to_json`); every
command that takes an ENV (``describe``, ``check --env``, ``repair --env``, ``run``,
the API's build/repair/check/test, ``crossenv cache``) reads it through
:meth:`EnvRecord.read`, once, and passes the :class:`Env` on instead of a bare path
to read again. A file that was truncated, hand-edited or is not crossenv's at all
gives one line naming the file and what is wrong with it, never a ``KeyError`` from
deep inside a command. A field is checked when it is used (as before the record had
a class), so a damaged field a command does not need does not stop it.

(cross-python's runtime, stdlib-only and copied out of the package, reads the few
fields ``cross-expose`` needs on its own: it cannot import this module.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__, arches
from .errors import CrossenvError
from .model import Layout

FILE_NAME = Layout.RECORD_NAME
_MAX_SIZE = 16 << 20  # a real one is a few KiB


class EnvironmentMetadataError(CrossenvError):
    """``ENV/crossenv.json`` is missing, unreadable or damaged."""


def _recreate(env: Path) -> str:
    return f"recreate the environment (crossenv --clear HOST_PYTHON {env})"


@dataclasses.dataclass(frozen=True)
class EnvRecord:
    """What ``crossenv.json`` says about one ENV. ``raw`` is the whole object as read
    (or as it will be written); the other fields are its parts with their types checked."""

    env: Path
    host: dict[str, Any]
    paths: dict[str, str]
    raw: dict[str, Any]

    # -- writing ---------------------------------------------------------------------------

    @classmethod
    def new(cls, layout: Layout, *, host: Mapping[str, Any], toolchain: Mapping[str, Any],
            platform_tags: Sequence[str], env_vars: Sequence[tuple[str, str, str]] = (),
            host_requirements: Sequence[str] = (), compiler_launcher: Sequence[str] = (),
            rust: Mapping[str, Any] | None = None) -> EnvRecord:
        """The record of an ENV being made at *layout* (final paths): the host's
        description (``HostDescription.to_json()``) with the platform tags its cross-pip
        accepts, the toolchain, the paths and the user's choices that outlive creation."""
        host_json = {**host, "platform_tags": list(platform_tags)}
        paths = {
            "env": str(layout.env), "cross": str(layout.cross), "build": str(layout.build),
            "cross_python": str(layout.cross_python), "build_python": str(layout.build_python),
            "crossenv_dir": str(layout.crossenv_dir),
            "sysconfigdata": str(layout.sysconfigdata),
        }
        raw = {
            "crossenv_version": __version__,
            "host": host_json,
            "toolchain": dict(toolchain),
            "paths": paths,
            "env_vars": [list(item) for item in env_vars],
            "host_requirements": list(host_requirements),
            "compiler_launcher": list(compiler_launcher) or None,
            "rust": dict(rust) if rust is not None else None,
        }
        return cls(layout.env, host_json, paths, raw)

    def to_json(self) -> dict[str, Any]:
        return self.raw

    def text(self) -> str:
        """The file's contents."""
        return json.dumps(self.raw, indent=2) + "\n"

    def write(self, directory: Path) -> Path:
        """Write the record into *directory* (the ENV, or its staging copy)."""
        path = Path(directory) / FILE_NAME
        path.write_text(self.text(), encoding="utf-8")
        return path

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_json(cls, env: Path, meta: Any) -> EnvRecord:
        """A record from parsed JSON; EnvironmentMetadataError when its shape is wrong."""
        damaged = f"{Path(env) / FILE_NAME} is damaged"
        if not isinstance(meta, dict):
            raise EnvironmentMetadataError(f"{damaged} (not a JSON object); {_recreate(env)}")
        host = meta.get("host", {})
        paths = meta.get("paths", {})
        if not isinstance(host, dict):
            raise EnvironmentMetadataError(f"{damaged} (host is not an object); "
                                           f"{_recreate(env)}")
        if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
            raise EnvironmentMetadataError(
                f"{damaged} (paths is not an object of strings); {_recreate(env)}")
        return cls(Path(env), host, paths, meta)

    @classmethod
    def read(cls, env: Path) -> EnvRecord:
        """Read and validate ``ENV/crossenv.json``; every failure is one
        EnvironmentMetadataError."""
        env = Path(env)
        file = env / FILE_NAME
        if not env.is_dir():
            what = "does not exist" if not env.exists() else "is not a directory"
            raise EnvironmentMetadataError(f"{env} {what}; pass a crossenv environment "
                                           "directory (create one with: crossenv HOST_PYTHON ENV)")
        if not file.is_file():
            raise EnvironmentMetadataError(
                f"{env} is not a crossenv environment (no {FILE_NAME}); create one with: "
                "crossenv HOST_PYTHON ENV")
        try:
            with file.open("rb") as stream:
                data = stream.read(_MAX_SIZE + 1)
        except OSError as exc:
            raise EnvironmentMetadataError(f"cannot read {file}: {exc.strerror or exc}") \
                from None
        damaged = f"{file} is damaged"
        if len(data) > _MAX_SIZE:
            raise EnvironmentMetadataError(f"{damaged} (over 16 MiB); {_recreate(env)}")
        try:
            meta = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise EnvironmentMetadataError(f"{damaged} (not UTF-8); {_recreate(env)}") from None
        except (ValueError, RecursionError) as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else "not JSON"
            raise EnvironmentMetadataError(f"{damaged} (not JSON: {reason}); "
                                           f"{_recreate(env)}") from None
        return cls.from_json(env, meta)

    @classmethod
    def peek(cls, env: Path) -> EnvRecord | None:
        """The record of *env* if it has a readable one, else None (never raises): for
        creation, which only asks whether what is there is an older record of its own."""
        try:
            return cls.read(env)
        except EnvironmentMetadataError:
            return None

    @staticmethod
    def exists(env: Path) -> bool:
        """Whether *env* has a record (a crossenv environment, or a damaged one)."""
        return (Path(env) / FILE_NAME).is_file()

    @staticmethod
    def is_ours(env: Path) -> bool:
        """Whether *env*'s record is a real file (not a symlink someone put there)."""
        path = Path(env) / FILE_NAME
        return path.is_file() and not path.is_symlink()

    @staticmethod
    def lexists(env: Path) -> bool:
        """Whether anything (a symlink too) stands where *env*'s record would be."""
        return os.path.lexists(Path(env) / FILE_NAME)

    @staticmethod
    def present(env: Path) -> bool:
        """Whether *env* names something as its record (``describe``: an ENV, not a host)."""
        return (Path(env) / FILE_NAME).exists()

    # -- fields ----------------------------------------------------------------------------

    @property
    def file(self) -> Path:
        return self.env / FILE_NAME

    def damaged(self, what: str) -> EnvironmentMetadataError:
        return EnvironmentMetadataError(f"{self.file} is damaged ({what}); "
                                        f"{_recreate(self.env)}")

    def path(self, key: str) -> Path:
        """``paths[key]`` as a Path; a damaged-file error names the key if it is missing."""
        value = self.paths.get(key)
        if not value:
            raise self.damaged(f"no paths.{key}")
        return Path(value)

    def host_str(self, key: str) -> str:
        """A string field of ``host`` ("" when absent); anything else means damage."""
        value = self.host.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.damaged(f"host.{key} is not a string")
        return value

    def host_strs(self, key: str) -> list[str]:
        """A list-of-strings field of ``host`` ([] when absent)."""
        value = self.host.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.damaged(f"host.{key} is not a list of strings")
        return value

    def python_version(self) -> tuple[int, int] | None:
        """The host's (X, Y), None when the record has no usable ``host.version``."""
        version = self.host.get("version")
        if isinstance(version, list) and len(version) >= 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1000
                for v in version[:2]):
            return version[0], version[1]
        return None

    @property
    def sysroot(self) -> Path | None:
        root = self.host_str("sysroot")
        return Path(root) if root else None

    @property
    def multiarch(self) -> str | None:
        return self.host_str("multiarch") or None

    @property
    def machine(self) -> str:
        return self.host_str("machine")

    @property
    def arch(self) -> arches.Arch | None:
        """The host's row of crossenv.arches, from its ``uname -m`` and GNU triplet."""
        machine = self.machine
        return arches.for_host(machine, self.host_str("host_gnu_type")) if machine else None

    def layout(self) -> Layout:
        """Where the parts of this ENV live (site-packages included): the one derivation
        every command uses, from the recorded paths and the host's X.Y (the venvs are
        the host's version, not necessarily the one crossenv runs on)."""
        recorded = self.host.get("version")
        if recorded is None:
            version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        elif isinstance(recorded, list) and len(recorded) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in recorded):
            version = f"{recorded[0]}.{recorded[1]}"
        else:
            raise self.damaged("host.version is not [X, Y]")
        return Layout(env=self.env, cross=self.path("cross"), python_version=version)


@dataclasses.dataclass(frozen=True)
class Env:
    """A made environment: its directory and its record, read once. What run, check,
    repair, describe, the API and buildwheel pass around instead of a bare path."""

    path: Path
    record: EnvRecord
    #: the resolved target (host, toolchain, tags) when this process made the env; an
    #: env opened from disk has only its record
    target: Any = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def open(cls, path: Path | str | os.PathLike[str]) -> Env:
        """The environment at *path*; EnvironmentMetadataError if it is not one."""
        if isinstance(path, Env):
            return path
        return cls(Path(path), EnvRecord.read(Path(path)))

    @property
    def layout(self) -> Layout:
        return self.record.layout()

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


def active() -> tuple[Path, str] | None:
    """The crossenv environment this process runs in, and how that was found.

    cross-python's shim sets ``sys.crossenv.env``; ``ENV/bin/activate`` exports
    ``CROSSENV_ENV``; crossenv 1.x only set ``PYTHON_CROSSENV``, with ``VIRTUAL_ENV``
    naming the cross prefix (ENV/cross, whose parent is ENV). Raises when a crossenv is
    clearly active but its ENV cannot be found: a guess would check the wrong host.
    """
    info = getattr(sys, "crossenv", None)
    env = getattr(info, "env", None)
    if isinstance(env, str) and env:
        return Path(env), "running under its cross-python"
    if os.environ.get("CROSSENV_ENV"):
        return Path(os.environ["CROSSENV_ENV"]), "CROSSENV_ENV is set"
    if os.environ.get("PYTHON_CROSSENV"):
        candidates = [Path(p) for p in (os.environ.get("VIRTUAL_ENV"), sys.prefix) if p]
        for candidate in [c for p in candidates for c in (p, p.parent)]:
            if EnvRecord.exists(candidate):
                return candidate, "PYTHON_CROSSENV is set"
        raise EnvironmentMetadataError(
            "PYTHON_CROSSENV is set (a crossenv is active) but its environment has no "
            f"{FILE_NAME}; pass --env ENV, --platform TAG (e.g. manylinux_2_17_aarch64) "
            "or --no-env")
    return None


__all__ = ["FILE_NAME", "Env", "EnvRecord", "EnvironmentMetadataError", "active"]
