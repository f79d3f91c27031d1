"""The former home of ``crossenv.json``'s reader, kept so that code importing it keeps
working: :mod:`crossenv.envrecord` is the one reader and writer now."""

from __future__ import annotations

from pathlib import Path

from .envrecord import FILE_NAME, EnvironmentMetadataError, EnvRecord, active

EnvMetadata = EnvRecord


def read(env: Path) -> EnvRecord:
    """:meth:`crossenv.envrecord.EnvRecord.read`."""
    return EnvRecord.read(env)


def host_str(meta: EnvRecord, key: str) -> str:
    return meta.host_str(key)


def host_strs(meta: EnvRecord, key: str) -> list[str]:
    return meta.host_strs(key)


__all__ = ["FILE_NAME", "EnvMetadata", "EnvironmentMetadataError", "active", "host_str",
           "host_strs", "read"]
