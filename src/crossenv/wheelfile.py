"""Reading (and rewriting) wheel archives that may be hostile.

A wheel handed to ``crossenv check`` or ``repair`` is untrusted: it may be truncated,
encrypted, name ``../../etc/profile``, hold a symlink, list a member twice, or hold a
2 GiB member. This module owns every read of the archive so that (1) each kind of
damage is one :class:`~crossenv.errors.WheelError` line instead of a traceback from
zipfile or zlib, (2) members are hashed in chunks and only ELF members are kept, spooled
to disk past a few MiB, and (3) layout problems that a publishing gate must stop are
named (:func:`layout_problems`), not silently extracted.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from .errors import WheelError

CHUNK = 1 << 20
#: WHEEL, METADATA and RECORD are read into memory; no real one comes near this
MAX_METADATA = 64 << 20
#: ELF members up to this size are parsed in memory, larger ones from a temporary file
SPOOL_IN_MEMORY = 16 << 20
ELF_MAGIC = b"\x7fELF"
HASHES = ("sha256", "sha384", "sha512")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               NotImplementedError, RuntimeError, struct.error, zlib.error)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0][:200] if text else "") or type(exc).__name__


def open_wheel(path: Path) -> zipfile.ZipFile:
    """Open *path* as a zip archive; a WheelError says why it cannot be one."""
    if not path.exists():
        raise WheelError(f"{path}: no such file")
    if not path.is_file():
        raise WheelError(f"{path}: not a file; pass the .whl file itself")
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise WheelError(f"{path}: not a wheel (not a zip archive: {_reason(exc)}); "
                         "rebuild or download it again") from None


def corrupt(path: Path | str, member: str, exc: BaseException) -> WheelError:
    return WheelError(f"{path}: member {member!r} cannot be read ({_reason(exc)}); the "
                      "wheel is corrupt: rebuild or download it again")


def _check_readable(path: Path | str, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise WheelError(f"{path}: member {info.filename!r} is encrypted; wheels cannot be "
                         "encrypted: rebuild it without a password")


def read_small(path: Path | str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The whole of a metadata member (WHEEL, RECORD), refusing absurd sizes."""
    _check_readable(path, info)
    if info.file_size > MAX_METADATA:
        raise WheelError(f"{path}: {info.filename} is {info.file_size} bytes, far more than "
                         "any real wheel metadata; the wheel is damaged")
    try:
        with zf.open(info) as stream:
            return stream.read(MAX_METADATA + 1)[:MAX_METADATA]
    except _ZIP_ERRORS as exc:
        raise corrupt(path, info.filename, exc) from None


class Digest:
    """What one pass over a member found: its size, a hash, and whether it is ELF."""

    def __init__(self, size: int, digest: str, is_elf: bool) -> None:
        self.size, self.digest, self.is_elf = size, digest, is_elf


@contextmanager
def scan_member(path: Path | str, zf: zipfile.ZipFile, info: zipfile.ZipInfo,
                algorithm: str = "sha256", keep_elf: bool = True,
                ) -> Iterator[tuple[Digest, IO[bytes] | None]]:
    """Hash a member in chunks; yield its :class:`Digest` and, for ELF, a seekable copy.

    Memory stays bounded whatever the member's size: only ELF members are kept, in a
    temporary file once they pass :data:`SPOOL_IN_MEMORY`.
    """
    _check_readable(path, info)
    hasher = hashlib.new(algorithm)
    size = 0
    with ExitStack() as stack:
        spool: IO[bytes] | None = None
        try:
            with zf.open(info) as stream:
                chunk = stream.read(CHUNK)
                is_elf = chunk[:4] == ELF_MAGIC
                if is_elf and keep_elf:
                    spool = stack.enter_context(
                        tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))
                while chunk:
                    hasher.update(chunk)
                    size += len(chunk)
                    if spool is not None:
                        spool.write(chunk)
                    chunk = stream.read(CHUNK)
        except _ZIP_ERRORS as exc:
            raise corrupt(path, info.filename, exc) from None
        digest = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
        if spool is not None:
            spool.seek(0)
        yield Digest(size, f"{algorithm}={digest}", is_elf), spool


def unsafe_path(name: str) -> str:
    """Why a member name could write outside the install directory ("" if it cannot)."""
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash (a path separator on Windows)"
    if "\0" in name:
        return "contains a NUL character"
    if ".." in name.split("/"):
        return "climbs out of the install directory with '..'"
    return ""


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def layout_problems(zf: zipfile.ZipFile) -> Iterator[tuple[str, str, str]]:
    """``(member, code, message)`` for members no installer should be given."""
    seen: set[str] = set()
    fix = "rebuild the wheel with a standard build backend"
    for info in zf.infolist():
        name = info.filename
        why = unsafe_path(name)
        if why:
            yield name, "zip-path", f"the member name {why}; {fix}"
        if is_symlink(info):
            yield name, "zip-symlink", ("is a symbolic link; installers write it as a regular "
                                        f"file, or follow it outside the wheel: {fix}")
        if name in seen:
            yield name, "zip-duplicate", ("appears more than once; installers keep one copy "
                                          f"or the other: {fix}")
        seen.add(name)


class RecordError(ValueError):
    """RECORD cannot be parsed."""


def parse_record(data: bytes) -> dict[str, tuple[str, str]]:
    """``member -> (hash, size)`` from a RECORD file's bytes (UTF-8 CSV)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    rows: dict[str, tuple[str, str]] = {}
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            if row:
                padded = [*row, "", ""]
                rows[row[0]] = (padded[1], padded[2])
    except csv.Error as exc:
        raise RecordError(f"not CSV ({exc})") from None
    return rows


def split_digest(entry: str) -> tuple[str, str]:
    """``("sha256", "abc...")`` from a RECORD hash field; ``("", "")`` if it names none."""
    algorithm, sep, value = entry.partition("=")
    return (algorithm, value) if sep and algorithm in HASHES else ("", "")


def _file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            hasher.update(chunk)
    return "sha256=" + base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()


def rewrite(source: Path, dest: Path, replaced: dict[str, Path]) -> None:
    """Copy wheel *source* to *dest* with some members' contents replaced and RECORD redone.

    Members are streamed in order with their metadata (permissions, timestamps); RECORD
    rows of replaced members get the new hash and size. The source's RECORD must have
    been verified first (``crossenv repair`` does): other rows are copied as they are.
    """
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        record_name = next((i.filename for i in zin.infolist()
                            if re.fullmatch(r"[^/]+\.dist-info/RECORD", i.filename)), None)
        for info in zin.infolist():
            if info.filename == record_name:
                continue
            new = replaced.get(info.filename)
            out_info = copy.copy(info)
            if new is not None:
                out_info.file_size = new.stat().st_size
            with zout.open(out_info, "w", force_zip64=out_info.file_size > 1 << 30) as out:
                if new is not None:
                    with new.open("rb") as data:
                        shutil.copyfileobj(data, out, CHUNK)
                elif not info.is_dir():
                    with zin.open(info) as data:
                        shutil.copyfileobj(data, out, CHUNK)
        if record_name is not None:
            info = zin.getinfo(record_name)
            rows = list(csv.reader(io.StringIO(zin.read(info).decode("utf-8"), newline="")))
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            for row in rows:
                new = replaced.get(row[0]) if row else None
                writer.writerow([row[0], _file_digest(new), str(new.stat().st_size)]
                                if new is not None else row)
            zout.writestr(info, text.getvalue().encode(), compress_type=info.compress_type)
