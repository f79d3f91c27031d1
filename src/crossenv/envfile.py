"""Reading an existing environment's ``crossenv.json``, and finding the active one.

Every command that takes an ENV (``describe``, ``check --env``, ``repair --env``,
``run``) reads the same file, so it is read and its shape checked here once: a file
that was truncated, hand-edited or is not crossenv's at all gives one line naming the
file and what is wrong with it, never a ``KeyError`` from deep inside a command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from .errors import CrossenvError
from .model import Layout

FILE_NAME = "crossenv.json"
_MAX_SIZE = 16 << 20  # a real one is a few KiB


class EnvironmentMetadataError(CrossenvError):
    """``ENV/crossenv.json`` is missing, unreadable or damaged."""


def _recreate(env: Path) -> str:
    return f"recreate the environment (crossenv --clear HOST_PYTHON {env})"


@dataclasses.dataclass(frozen=True)
class EnvMetadata:
    """The parts of ``crossenv.json`` other commands use, with their types checked."""

    env: Path
    host: dict[str, Any]
    paths: dict[str, str]
    raw: dict[str, Any]

    def path(self, key: str) -> Path:
        """``paths[key]`` as a Path; a damaged-file error names the key if it is missing."""
        value = self.paths.get(key)
        if not value:
            raise EnvironmentMetadataError(
                f"{self.env / FILE_NAME} is damaged (no paths.{key}); {_recreate(self.env)}")
        return Path(value)

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
            raise EnvironmentMetadataError(f"{self.env / FILE_NAME} is damaged (host.version is "
                                           f"not [X, Y]); {_recreate(self.env)}")
        return Layout(env=self.env, cross=self.path("cross"), python_version=version)


def read(env: Path) -> EnvMetadata:
    """Read and validate ``ENV/crossenv.json``; every failure is one EnvironmentMetadataError."""
    env = Path(env)
    file = env / FILE_NAME
    if not env.is_dir():
        what = "does not exist" if not env.exists() else "is not a directory"
        raise EnvironmentMetadataError(f"{env} {what}; pass a crossenv environment directory "
                                       "(create one with: crossenv HOST_PYTHON ENV)")
    if not file.is_file():
        raise EnvironmentMetadataError(
            f"{env} is not a crossenv environment (no {FILE_NAME}); create one with: "
            "crossenv HOST_PYTHON ENV")
    try:
        with file.open("rb") as stream:
            data = stream.read(_MAX_SIZE + 1)
    except OSError as exc:
        raise EnvironmentMetadataError(f"cannot read {file}: {exc.strerror or exc}") from None
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
    if not isinstance(meta, dict):
        raise EnvironmentMetadataError(f"{damaged} (not a JSON object); {_recreate(env)}")
    host = meta.get("host", {})
    paths = meta.get("paths", {})
    if not isinstance(host, dict):
        raise EnvironmentMetadataError(f"{damaged} (host is not an object); {_recreate(env)}")
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise EnvironmentMetadataError(
            f"{damaged} (paths is not an object of strings); {_recreate(env)}")
    return EnvMetadata(env, host, paths, meta)


def host_str(meta: EnvMetadata, key: str) -> str:
    """A string field of ``host`` ("" when absent); anything else means damage."""
    value = meta.host.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EnvironmentMetadataError(f"{meta.env / FILE_NAME} is damaged (host.{key} is not "
                                       f"a string); {_recreate(meta.env)}")
    return value


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
            if (candidate / FILE_NAME).is_file():
                return candidate, "PYTHON_CROSSENV is set"
        raise EnvironmentMetadataError(
            "PYTHON_CROSSENV is set (a crossenv is active) but its environment has no "
            f"{FILE_NAME}; pass --env ENV, --platform TAG (e.g. manylinux_2_17_aarch64) "
            "or --no-env")
    return None


def host_strs(meta: EnvMetadata, key: str) -> list[str]:
    """A list-of-strings field of ``host`` ([] when absent)."""
    value = meta.host.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EnvironmentMetadataError(f"{meta.env / FILE_NAME} is damaged (host.{key} is not "
                                       f"a list of strings); {_recreate(meta.env)}")
    return value
