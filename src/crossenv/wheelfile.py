"""Reading (and rewriting) wheel archives that may be hostile.

A wheel handed to ``crossenv check`` or ``repair`` is untrusted: it may be truncated,
encrypted, two archives in one file, name ``../../etc/profile``, hold a symlink, list a
member twice, or hold a 2 GiB member. This module owns every read of the archive so that
(1) the structure is checked first, from headers alone (:mod:`crossenv.zipread`: local
headers agree with the central directory, members tile the file, sizes are capped), (2)
each kind of damage is one :class:`~crossenv.errors.WheelError` line with a code instead
of a traceback from zipfile or zlib, (3) members are hashed in chunks and only ELF
members are kept, spooled to disk past a few MiB, and (4) layout problems that a
publishing gate must stop are named (:func:`layout_problems`), not silently extracted.
Check and repair read wheels only through here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from . import zipread
from .errors import WheelError
from .zipread import Member, quoted
from .zipread import ZipStructureError as ZipStructureError  # re-exported: check, repair
from .zipread import shown as shown

CHUNK = 1 << 20
#: WHEEL, METADATA and RECORD are read into memory; no real one comes near this
MAX_METADATA = 64 << 20
#: ELF members up to this size are parsed in memory, larger ones from a temporary file
SPOOL_IN_MEMORY = 16 << 20
ELF_MAGIC = b"\x7fELF"
HASHES = ("sha256", "sha384", "sha512")


class Archive:
    """A surveyed archive (:func:`open_wheel`): zipfile's listing methods, and member
    data read in chunks by :meth:`chunks`, never through zipfile."""

    def __init__(self, path: Path | str, fp: IO[bytes], members: list[Member]) -> None:
        self.path, self.fp, self.members = path, fp, members
        self._by_name = {m.filename: m for m in members}  # the last one wins, as in zipfile

    def infolist(self) -> list[Member]:
        return list(self.members)

    def namelist(self) -> list[str]:
        return [m.filename for m in self.members]

    def getinfo(self, name: str) -> Member:
        return self._by_name[name]

    def close(self) -> None:
        self.fp.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def corrupt(self, member: Member, why: str) -> WheelError:
        return WheelError(f"{self.path}: {quoted(member.filename)}: [zip-corrupt] cannot "
                          f"be read ({why}); the wheel is corrupt: rebuild or download it "
                          "again")

    def chunks(self, member: Member) -> Iterator[bytes]:
        """*member*'s uncompressed data, a chunk of at most :data:`CHUNK` bytes at a time.

        Raises WheelError (``zip-corrupt``) when the data does not decompress, does not
        end exactly at its compressed size, or its size or CRC differ from the record.
        """
        inflate = (zlib.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED
                   else None)
        position, remaining = member.data_offset, member.compress_size
        crc = produced = 0

        def account(piece: bytes) -> Iterator[bytes]:
            nonlocal crc, produced
            produced += len(piece)
            if produced > member.file_size:
                raise self.corrupt(member, f"more data than its recorded {member.file_size} "
                                   "bytes")
            crc = zlib.crc32(piece, crc)
            if piece:
                yield piece

        try:
            while remaining or inflate is not None:
                raw = b""
                if remaining:
                    self.fp.seek(position)
                    raw = self.fp.read(min(CHUNK, remaining))
                    if not raw:
                        raise self.corrupt(member, "the file ends inside it")
                    position += len(raw)
                    remaining -= len(raw)
                if inflate is None:
                    yield from account(raw)
                    continue
                out = inflate.decompress(raw, CHUNK)
                yield from account(out)
                while inflate.unconsumed_tail or (len(out) == CHUNK and not inflate.eof):
                    out = inflate.decompress(inflate.unconsumed_tail, CHUNK)
                    yield from account(out)
                if inflate.eof and (remaining or inflate.unused_data):
                    raise self.corrupt(member, "its compressed data ends before its recorded "
                                       "compressed size; a streaming reader would look for "
                                       "the next member there")
                if not remaining:
                    if not inflate.eof:
                        raise self.corrupt(member, "its compressed data is cut short")
                    break
        except zlib.error as exc:
            raise self.corrupt(member, f"deflate: {exc}") from None
        except OSError as exc:
            raise self.corrupt(member, exc.strerror or str(exc)) from None
        if produced != member.file_size:
            raise self.corrupt(member, f"{produced} bytes, not the recorded "
                               f"{member.file_size}")
        if crc != member.CRC:
            raise self.corrupt(member, f"CRC {crc:#010x}, not the recorded "
                               f"{member.CRC:#010x}")


def open_wheel(path: Path) -> Archive:
    """Open *path* and check its zip structure before anything else reads it.

    Raises WheelError if it is missing or no zip archive, ZipStructureError (a
    WheelError naming each problem's code) if its structure is refused.
    """
    path = Path(path)
    if not path.exists():
        raise WheelError(f"{path}: no such file")
    if not path.is_file():
        raise WheelError(f"{path}: not a file; pass the .whl file itself")
    try:
        fp = path.open("rb")
    except OSError as exc:
        raise WheelError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return Archive(path, fp, zipread.survey(path, fp))
    except BaseException:
        fp.close()
        raise


def read_small(path: Path | str, zf: Archive, info: Member) -> bytes:
    """The whole of a metadata member (WHEEL, RECORD), refusing absurd sizes."""
    if info.file_size > MAX_METADATA:
        raise WheelError(f"{path}: {quoted(info.filename)} is {info.file_size} bytes, far "
                         "more than any real wheel metadata; the wheel is damaged")
    return b"".join(zf.chunks(info))


class Digest:
    """What one pass over a member found: its size, a hash, and whether it is ELF."""

    def __init__(self, size: int, digest: str, is_elf: bool) -> None:
        self.size, self.digest, self.is_elf = size, digest, is_elf


@contextmanager
def scan_member(path: Path | str, zf: Archive, info: Member,
                algorithm: str = "sha256", keep_elf: bool = True,
                ) -> Iterator[tuple[Digest, IO[bytes] | None]]:
    """Hash a member in chunks; yield its :class:`Digest` and, for ELF, a seekable copy.

    Memory stays bounded whatever the member's size: only ELF members are kept, in a
    temporary file once they pass :data:`SPOOL_IN_MEMORY`.
    """
    hasher = hashlib.new(algorithm)
    size = 0
    pending = b""  # the first bytes, until there are enough to tell ELF
    is_elf: bool | None = None
    with ExitStack() as stack:
        spool: IO[bytes] | None = None
        for chunk in zf.chunks(info):
            hasher.update(chunk)
            size += len(chunk)
            if is_elf is None:
                pending += chunk
                if len(pending) < len(ELF_MAGIC):
                    continue
                is_elf = pending.startswith(ELF_MAGIC)
                if is_elf and keep_elf:
                    spool = stack.enter_context(
                        tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))
                chunk = pending  # everything so far goes to the spool
            if spool is not None:
                spool.write(chunk)
        digest = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
        if spool is not None:
            spool.seek(0)
        yield Digest(size, f"{algorithm}={digest}", bool(is_elf)), spool


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


def layout_problems(zf: Archive) -> Iterator[tuple[str, str, str]]:
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
    The source is read through :func:`open_wheel`, like every wheel crossenv reads.
    """
    with open_wheel(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        record_name = next((i.filename for i in zin.infolist()
                            if re.fullmatch(r"[^/]+\.dist-info/RECORD", i.filename)), None)
        for info in zin.infolist():
            if info.filename == record_name:
                continue
            new = replaced.get(info.filename)
            out_info = _copy_info(info)
            out_info.file_size = new.stat().st_size if new is not None else info.file_size
            with zout.open(out_info, "w", force_zip64=out_info.file_size > 1 << 30) as out:
                if new is not None:
                    with new.open("rb") as data:
                        for chunk in iter(lambda: data.read(CHUNK), b""):
                            out.write(chunk)
                elif not info.is_dir():
                    for chunk in zin.chunks(info):
                        out.write(chunk)
        if record_name is not None:
            info = zin.getinfo(record_name)
            text = read_small(source, zin, info).decode("utf-8")
            rows = list(csv.reader(io.StringIO(text, newline="")))
            out_text = io.StringIO()
            writer = csv.writer(out_text, lineterminator="\n")
            for row in rows:
                new = replaced.get(row[0]) if row else None
                writer.writerow([row[0], _file_digest(new), str(new.stat().st_size)]
                                if new is not None else row)
            zout.writestr(_copy_info(info), out_text.getvalue().encode())


def _copy_info(info: Member) -> zipfile.ZipInfo:
    """A fresh entry with *info*'s name, time, method and permissions (not its extra
    fields: zipfile writes its own zip64 field, and a copied one would be a second)."""
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type, out.external_attr = info.compress_type, info.external_attr
    out.create_system, out.internal_attr = info.create_system, info.internal_attr
    return out
