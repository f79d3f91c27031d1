"""A zip archive's structure, read strictly before any member's data is trusted.

zipfile (and so pip) reads a wheel through its central directory at the end of the
file; a streaming installer reads the local headers from the start. zipfile is
lenient: it skips bytes prepended to the archive, ignores bytes between members and
after the end record, and lets several central entries point at one member. So one
file can be two wheels -- an x86_64 wheel with the real one appended reads as the
real one to ``crossenv check`` and as the x86_64 one to a streaming installer -- and a
2 MB file whose central directory names one 2 GiB member 65 000 times takes weeks to
hash. An archive is therefore accepted only if it reads the same both ways:

* the end record is where zipfile looks for it, ends the file, and has the central
  directory (and a zip64 end record, if any) right before it;
* the members, in file order, cover every byte from offset 0 to the central
  directory: no gap (prepended data, a hidden local header, a second archive) and no
  overlap (several central entries for one member: the central-directory bomb);
* every local header agrees with its central entry -- name, flags, method, CRC and
  sizes -- or, for a member with a data descriptor (flag bit 3), the descriptor does;
* the entry count and the total uncompressed size stay under generous caps.

:func:`survey` checks all of that from headers alone (a few small reads per member,
whatever the sizes claim) and raises :class:`ZipStructureError` naming every problem
with a code. Member data is read afterwards (``wheelfile.Archive.chunks``), which checks
the data too.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import IO

from .errors import WheelError

#: Entries in one archive. The largest wheels on PyPI hold a few tens of thousands of
#: files; a central directory that claims more is refused before it is read.
MAX_ENTRIES = 200_000
#: Bytes of central directory (about 100 per entry in real wheels, names included).
MAX_CENTRAL_DIRECTORY = 64 << 20
#: Total uncompressed size of all members. The largest real wheels (CUDA libraries)
#: unpack to a few GiB; hashing this much takes about a minute, not weeks.
MAX_TOTAL_SIZE = 16 << 30
#: Compression methods every installer can read (zipfile's bzip2 and lzma support
#: depends on optional modules of the Python build).
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: problems kept for the report; the rest are counted
MAX_REPORTED = 20

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD_SIG = b"PK\x05\x06"
_LOCATOR = struct.Struct("<4sIQI")
_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_EOCD64_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4sBBBBHHHHIIIHHHHHII")
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_MAX32, _MAX16 = 0xFFFF_FFFF, 0xFFFF
_ENCRYPTED = 0x1 | 0x40 | 0x2000  # traditional, strong, encrypted central directory
_DESCRIPTOR = 0x8
_UTF8 = 0x800
_MAX_EXTRACT_VERSION = 63  # zipfile refuses newer
_FIX = "rebuild the wheel with a standard build backend (or download it again)"


def shown(text: str) -> str:
    """Text from a wheel (member names) as a terminal may print it: control and other
    unprintable characters escaped, so a name cannot clear the screen or fake a line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def quoted(name: str) -> str:
    return f"'{shown(name)}'"


class ZipStructureError(WheelError):
    """The archive does not read the same through its central directory and its local
    headers, or exceeds a cap. ``problems`` lists ``(member, code, message)``."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str, str]],
                 more: int = 0) -> None:
        self.problems = problems
        member, code, message = problems[0]
        where = f"{quoted(member)}: " if member else ""
        rest = len(problems) - 1 + more
        tail = f" (and {rest} more zip problem{'s' * (rest != 1)})" if rest else ""
        super().__init__(f"{path}: {where}[{code}] {message}; {_FIX}{tail}")


class Member(zipfile.ZipInfo):
    """A central directory entry whose local header has been checked against it."""

    __slots__ = ("data_offset", "end_offset", "raw_name", "zip64_local")

    def __repr__(self) -> str:
        return f"<Member {self.filename!r} at {self.header_offset}>"


def _name(raw: bytes, flags: int) -> str:
    # zipfile's rule (without its cut at the first NUL: the name is reported whole)
    return raw.decode("utf-8") if flags & _UTF8 else raw.decode("cp437")


def _other_name(blocks: dict[int, bytes], name: str) -> str | None:
    """The name an Info-ZIP Unicode Path field (0x7075) gives instead of *name*, if any.

    zipfile reads that field from Python 3.12 on (and Info-ZIP's unzip always), 3.11
    does not: a field naming another file makes one wheel install different files.
    """
    field = blocks.get(0x7075)
    if field is None:
        return None
    other = field[5:].decode("utf-8", "replace")
    return other if other != name else None


def _extra_blocks(extra: bytes) -> dict[int, bytes] | None:
    """``tag -> data`` of an extra field; None if a block runs past its end or repeats."""
    blocks: dict[int, bytes] = {}
    at = 0
    while len(extra) - at >= 4:
        tag, size = struct.unpack_from("<HH", extra, at)
        if at + 4 + size > len(extra) or tag in blocks:
            return None
        blocks[tag] = extra[at + 4:at + 4 + size]
        at += 4 + size
    return blocks


class _Survey:
    """Collects problems while the structure is read; raises them all at the end."""

    def __init__(self, path: Path | str, fp: IO[bytes], size: int) -> None:
        self.path, self.fp, self.size = path, fp, size
        self.problems: list[tuple[str, str, str]] = []
        self.more = 0

    def add(self, member: str, code: str, message: str) -> None:
        if len(self.problems) < MAX_REPORTED:
            self.problems.append((member, code, message))
        else:
            self.more += 1

    def stop(self) -> None:
        if self.problems:
            raise ZipStructureError(self.path, self.problems, self.more)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset > self.size:
            return b""
        self.fp.seek(offset)
        return self.fp.read(max(0, min(length, self.size - offset)))

    def not_zip(self, why: str) -> WheelError:
        return WheelError(f"{self.path}: not a wheel (not a zip archive: {why}); "
                          "rebuild or download it again")

    # ------------------------------------------------------------ end records

    def end_record(self) -> tuple[int, int, int, int]:
        """``(entries, cd_start, cd_size, end_start)``, found the way zipfile finds it."""
        if self.size < _EOCD.size:
            raise self.not_zip("too short")
        last = self.read(self.size - _EOCD.size, _EOCD.size)
        if last[:4] == _EOCD_SIG and last[-2:] == b"\0\0":
            eocd = self.size - _EOCD.size
        else:  # zipfile: the last signature within the largest comment's reach
            window = min(self.size, _EOCD.size + _MAX16 + 1)
            tail = self.read(self.size - window, window)
            at = tail.rfind(_EOCD_SIG)
            if at < 0 or at + _EOCD.size > len(tail):
                raise self.not_zip("no end of central directory record")
            eocd = self.size - window + at
        (_, disk, cd_disk, disk_entries, entries, cd_size, cd_offset,
         comment) = _EOCD.unpack(self.read(eocd, _EOCD.size))
        end = eocd + _EOCD.size + comment
        if end > self.size:
            self.add("", "zip-central", f"the end record's comment runs {end - self.size} "
                     "bytes past the end of the file (the file is truncated)")
        elif end < self.size:
            self.add("", "zip-trailing", f"{self.size - end} bytes follow the end of the "
                     "archive (zipfile ignores them, other readers may not)")
        if disk or cd_disk or disk_entries != entries:
            self.add("", "zip-central", "the archive claims to span several disks")
        end_start = eocd
        locator = self.read(eocd - _LOCATOR.size, _LOCATOR.size) if eocd >= _LOCATOR.size else b""
        if locator[:4] == _LOCATOR_SIG:
            _, z_disk, z_offset, disks = _LOCATOR.unpack(locator)
            at = eocd - _LOCATOR.size - _EOCD64.size
            record = self.read(at, _EOCD64.size) if at >= 0 else b""
            if record[:4] != _EOCD64_SIG or z_offset != at or z_disk or disks != 1:
                self.add("", "zip-central", "the zip64 end record is missing or not right "
                         "before its locator (zipfile and other readers find different ones)")
                self.stop()
            (_, length, _, _, r_disk, r_cd_disk, r_disk_entries, r_entries, r_cd_size,
             r_cd_offset) = _EOCD64.unpack(record)
            if length != _EOCD64.size - 12 or r_disk or r_cd_disk or \
                    r_disk_entries != r_entries:
                self.add("", "zip-central", "the zip64 end record has extensible data or "
                         "claims several disks")
            for name, small, big, limit in (("entry count", entries, r_entries, _MAX16),
                                            ("directory size", cd_size, r_cd_size, _MAX32),
                                            ("directory offset", cd_offset, r_cd_offset,
                                             _MAX32)):
                if small not in (limit, big):
                    self.add("", "zip-central", f"the end record's {name} ({small}) "
                             f"disagrees with the zip64 end record's ({big})")
            entries, cd_size, cd_offset, end_start = r_entries, r_cd_size, r_cd_offset, at
        self.stop()
        if entries > MAX_ENTRIES:
            self.add("", "zip-entries", f"{entries} entries, more than the {MAX_ENTRIES} "
                     "any real wheel comes near")
        if cd_size > MAX_CENTRAL_DIRECTORY:
            self.add("", "zip-entries", f"a central directory of {cd_size} bytes, more than "
                     f"the {MAX_CENTRAL_DIRECTORY} any real wheel comes near")
        cd_start = end_start - cd_size
        if cd_start < 0 or cd_size < entries * _CENTRAL.size:
            self.add("", "zip-central", f"the central directory's size ({cd_size} bytes for "
                     f"{entries} entries) does not fit the file")
        elif cd_start != cd_offset:
            if cd_start > cd_offset:
                self.add("", "zip-prepended", f"{cd_start - cd_offset} bytes were put in front "
                         "of the archive (a self-extractor stub, or another wheel): zipfile "
                         "skips them, a streaming installer reads them first")
            else:
                self.add("", "zip-central", f"the central directory is recorded at offset "
                         f"{cd_offset}, past where it is ({cd_start})")
        self.stop()
        return entries, cd_start, cd_size, end_start

    # ------------------------------------------------------------ central directory

    def central(self, entries: int, cd_start: int, cd_size: int) -> list[Member]:
        data = self.read(cd_start, cd_size)
        members: list[Member] = []
        at = 0
        while at < len(data):
            index = len(members)
            if index == entries or data[at:at + 4] != _CENTRAL_SIG or \
                    at + _CENTRAL.size > len(data):
                self.add("", "zip-central", f"the central directory holds {cd_size - at} "
                         f"bytes after its record {index} that are not a record (the end "
                         f"record counts {entries})")
                break
            fields = _CENTRAL.unpack_from(data, at)
            (_, create_version, create_system, extract_version, reserved, flags, method,
             time, date, crc, csize, usize, name_len, extra_len, comment_len, disk,
             internal_attr, external_attr, offset) = fields
            start = at + _CENTRAL.size
            at = start + name_len + extra_len + comment_len
            if at > len(data):
                self.add("", "zip-central", f"central directory record {index} runs past "
                         "the directory's end")
                break
            raw = data[start:start + name_len]
            try:
                name = _name(raw, flags)
            except UnicodeDecodeError:
                self.add(raw.decode("utf-8", "replace"), "zip-central",
                         "the name is flagged UTF-8 but is not")
                continue
            extra = data[start + name_len:start + name_len + extra_len]
            blocks = _extra_blocks(extra)
            if blocks is None:
                self.add(name, "zip-central", "the extra field is malformed (a block runs "
                         "past its end or is repeated)")
                continue
            other = _other_name(blocks, name)
            if other is not None:
                self.add(name, "zip-central", f"a Unicode Path extra field names it "
                         f"{quoted(other)}, which zipfile reads instead from Python 3.12 on")
            zip64 = blocks.get(0x0001, b"")
            wanted = [v == _MAX32 for v in (usize, csize, offset)] + [disk == _MAX16]
            values = []
            for need in wanted:
                if need and len(zip64) >= 8:
                    values.append(struct.unpack_from("<Q", zip64)[0])
                    zip64 = zip64[8:]
                else:
                    values.append(None)
            if any(need and v is None for need, v in zip(wanted, values)):
                self.add(name, "zip-central", "a size or offset says 'see zip64' but the "
                         "zip64 extra field lacks it")
                continue
            usize, csize, offset = (v if v is not None else old
                                    for v, old in zip(values[:3], (usize, csize, offset)))
            if disk or values[3]:
                self.add(name, "zip-central", "the member claims to be on another disk")
            if extract_version > _MAX_EXTRACT_VERSION:
                self.add(name, "zip-central", f"needs zip version {extract_version / 10:.1f} "
                         "to extract, which zipfile refuses")
            member = Member()
            member.filename = member.orig_filename = name
            member.raw_name = raw
            member.date_time = ((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F,
                                time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2)
            member.compress_type, member.flag_bits, member.CRC = method, flags, crc
            member.compress_size, member.file_size, member.header_offset = csize, usize, offset
            member.extra = extra
            member.comment = data[start + name_len + extra_len:at]
            member.create_version, member.create_system = create_version, create_system
            member.extract_version, member.reserved = extract_version, reserved
            member.volume, member.internal_attr, member.external_attr = \
                disk, internal_attr, external_attr
            members.append(member)
        if not self.problems and len(members) != entries:
            self.add("", "zip-central", f"the end record counts {entries} entries, the "
                     f"central directory holds {len(members)}")
        self.stop()
        return members

    def caps_and_kinds(self, members: list[Member]) -> None:
        total = sum(m.file_size for m in members)
        if total > MAX_TOTAL_SIZE:
            self.add("", "zip-size", f"the members unpack to {total} bytes in all, more than "
                     f"the {MAX_TOTAL_SIZE} any real wheel comes near")
        for m in members:
            if m.flag_bits & _ENCRYPTED:
                self.add(m.filename, "zip-encrypted", "is encrypted; wheels cannot be "
                         "encrypted: rebuild it without a password")
            elif m.compress_type not in METHODS:
                self.add(m.filename, "zip-method", f"is compressed with method "
                         f"{m.compress_type}, not deflate or stored, which every installer "
                         "reads")
            elif m.compress_type == zipfile.ZIP_STORED and m.compress_size != m.file_size:
                self.add(m.filename, "zip-central", f"is stored uncompressed, yet its "
                         f"compressed size ({m.compress_size}) differs from its size "
                         f"({m.file_size})")
        self.stop()

    # ------------------------------------------------------------ local headers

    def local(self, m: Member, limit: int) -> None:
        """Check *m*'s local header against its central entry; set its data offsets."""
        name = m.filename
        head = self.read(m.header_offset, _LOCAL.size)
        if m.header_offset + _LOCAL.size > limit:
            self.add(name, "zip-overlap", f"its local header at offset {m.header_offset} "
                     f"runs into the next member (at {limit})")
            return
        if head[:4] != _LOCAL_SIG:
            self.add(name, "zip-local-header", f"no local header at offset "
                     f"{m.header_offset}, where the central directory says it starts")
            return
        (_, _, flags, method, _, _, crc, csize, usize, name_len,
         extra_len) = _LOCAL.unpack(head)
        raw = self.read(m.header_offset + _LOCAL.size, name_len + extra_len)
        m.data_offset = m.header_offset + _LOCAL.size + name_len + extra_len
        m.end_offset = m.data_offset + m.compress_size
        m.zip64_local = False
        if m.data_offset > limit:
            self.add(name, "zip-overlap", f"its local header runs into the next member (at "
                     f"{limit})")
            return
        differ = []
        if raw[:name_len] != m.raw_name:
            local_name = raw[:name_len].decode("utf-8", "replace")
            differ.append(f"name {quoted(local_name)}")
        if flags != m.flag_bits:
            differ.append(f"flags {flags:#x} (central {m.flag_bits:#x})")
        if method != m.compress_type:
            differ.append(f"compression method {method} (central {m.compress_type})")
        blocks = _extra_blocks(raw[name_len:]) or {}
        m.zip64_local = 0x0001 in blocks
        other = _other_name(blocks, m.filename)
        if other is not None:
            differ.append(f"a Unicode Path extra field naming {quoted(other)}")
        if _MAX32 in (csize, usize):
            zip64 = blocks.get(0x0001, b"")
            if len(zip64) < 16:
                self.add(name, "zip-local-header", "the local header's sizes say 'see zip64' "
                         "but its zip64 extra field lacks them")
                return
            usize, csize = struct.unpack_from("<QQ", zip64)
        # with a data descriptor the values follow the data: here they are zero (or right)
        allowed = (0,) if m.flag_bits & _DESCRIPTOR else ()
        differ += [f"{what} {got} (central {want})" for what, got, want in
                   (("CRC", crc, m.CRC), ("compressed size", csize, m.compress_size),
                    ("size", usize, m.file_size)) if got != want and got not in allowed]
        if differ:
            self.add(name, "zip-local-header", "the local header disagrees with the central "
                     f"directory: {', '.join(differ)}; zipfile and a streaming installer "
                     "would read different files")

    def descriptor(self, m: Member) -> None:
        """Check the data descriptor after *m*'s data; extend ``end_offset`` past it."""
        wide = m.zip64_local  # 8-byte sizes exactly when the local header had zip64
        data = self.read(m.end_offset, 24)
        signed = data[:4] == _DESCRIPTOR_SIG
        body = data[4:] if signed else data
        fmt = "<IQQ" if wide else "<III"
        length = struct.calcsize(fmt)
        if len(body) < length:
            self.add(m.filename, "zip-descriptor", "flag bit 3 promises a data descriptor "
                     "after the data, but the file ends first")
            return
        crc, csize, usize = struct.unpack_from(fmt, body)
        if (crc, csize, usize) != (m.CRC, m.compress_size, m.file_size):
            self.add(m.filename, "zip-descriptor", f"the data descriptor (CRC {crc:#x}, "
                     f"{csize}/{usize} bytes) disagrees with the central directory (CRC "
                     f"{m.CRC:#x}, {m.compress_size}/{m.file_size} bytes)")
        m.end_offset += length + 4 * signed

    def gap(self, start: int, end: int, before: str, after: str) -> None:
        """Bytes ``start:end`` that no member accounts for."""
        peek = self.read(start, min(end - start, 4096))
        hidden = ""
        at = peek.find(_LOCAL_SIG)
        if 0 <= at <= len(peek) - _LOCAL.size:
            name_len = _LOCAL.unpack_from(peek, at)[9]
            raw = peek[at + _LOCAL.size:at + _LOCAL.size + name_len]
            hidden = (f"; they hold a local header for "
                      f"{quoted(raw.decode('utf-8', 'replace'))} that the central directory "
                      "does not list: a streaming installer would install it, zipfile would "
                      "not")
        if start == 0:
            self.add(after, "zip-prepended", f"{end} bytes come before the first member "
                     f"(prepended data, e.g. a self-extractor stub){hidden}")
        else:
            self.add(before, "zip-unreferenced", f"{end - start} bytes at offset {start}, "
                     f"after this member and before {after or 'the central directory'}, "
                     f"belong to no member{hidden}")

    def layout(self, members: list[Member], cd_start: int) -> None:
        """Members in file order must tile ``0:cd_start`` exactly."""
        order = sorted(members, key=lambda m: m.header_offset)
        for first, second in zip(order, order[1:]):
            if first.header_offset == second.header_offset:
                self.add(second.filename, "zip-overlap", f"shares its local header (offset "
                         f"{first.header_offset}) with {quoted(first.filename)}: one member "
                         "counted twice (a central-directory bomb)")
        if order and order[-1].header_offset >= cd_start:
            self.add(order[-1].filename, "zip-central", "its local header offset points at "
                     "or past the central directory")
        self.stop()  # before any local header is read
        ends = [m.header_offset for m in order[1:]] + [cd_start]
        for m, limit in zip(order, ends):
            self.local(m, limit)
        self.stop()
        previous, position = "", 0
        for m in order:
            if m.header_offset > position:
                self.gap(position, m.header_offset, previous, m.filename)
            elif m.header_offset < position:
                self.add(m.filename, "zip-overlap", f"starts at offset {m.header_offset}, "
                         f"inside {quoted(previous)} (which ends at {position})")
            if m.flag_bits & _DESCRIPTOR:
                self.descriptor(m)
            previous, position = m.filename, m.end_offset
        if position > cd_start:
            self.add(previous, "zip-overlap", "runs into the central directory")
        elif position < cd_start:
            self.gap(position, cd_start, previous, "")
        self.stop()


def survey(path: Path | str, fp: IO[bytes]) -> list[Member]:
    """The members of the archive open as *fp*, in central directory order, after every
    structural check (see the module doc). Reads headers only.

    Raises ZipStructureError naming each problem, or WheelError if it is no zip at all.
    """
    fp.seek(0, 2)
    size = fp.tell()
    reader = _Survey(path, fp, size)
    entries, cd_start, cd_size, _ = reader.end_record()
    members = reader.central(entries, cd_start, cd_size)
    reader.caps_and_kinds(members)
    reader.layout(members, cd_start)
    return members
