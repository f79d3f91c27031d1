"""One reading of a wheel's zip archive: what zipfile and a streaming installer read alike.

Every hostile shape here is built for real, with zipfile and byte edits or field by
field with struct, and each test first shows the premise -- zipfile reads the archive
without complaint, or a streaming reader (local headers from the start, as a streaming
installer reads) gets other bytes than zipfile -- before showing that ``crossenv check``
refuses it with the named code. Archives from real tools (pip wheel, wheel pack, zipfile
writing to a pipe, Info-ZIP's zip writing to a pipe) pass.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checkdata import MULTIARCH, compile_so, compiler, make_wheel, record_hash
from crossenv import check, wheelfile, zipread
from crossenv.errors import WheelError
from helpers import ROOT, error_line, require

AARCH64_TAG = "cp311-cp311-manylinux_2_17_aarch64"
EXT = f"demo/_demo.cpython-311-{MULTIARCH['aarch64']}.so"
DIST = "demo-1.0.dist-info"
GIB = 1 << 30


@pytest.fixture(autouse=True)
def _no_active_crossenv(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSENV_ENV", "PYTHON_CROSSENV"):
        monkeypatch.delenv(name, raising=False)


def run_cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    check.register(parser.add_subparsers())
    args = parser.parse_args(["check", *argv])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = args.func(args)
    return status, out.getvalue(), err.getvalue()


def refused(wheel: Path) -> list[str]:
    """The codes check refuses *wheel* with; also shows the CLI's one line and exit 2."""
    with pytest.raises(zipread.ZipStructureError) as info:
        check.check_wheel(wheel)
    codes = [code for _, code, _ in info.value.problems]
    status, out, err = run_cli(str(wheel))
    assert out == "", out
    error_line(status, err, f"[{codes[0]}]")
    return codes


@functools.cache
def elf(arch: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return compile_so(compiler(arch), Path(tmp) / "ext.so", "ext.c")


def machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF" and data[5] == 1  # little-endian, as both arches here
    return int(struct.unpack_from("<H", data, 18)[0])


EM_X86_64, EM_AARCH64 = 62, 183


# ---------------------------------------------------------------- test-side zip tools


def central_records(data: bytes) -> tuple[int, list[int]]:
    """The end record's offset and each central record's, for zipfile's plain output
    (no comment, no zip64 end record): the tests' own small parser, not zipread's."""
    eocd = len(data) - 22
    assert data[eocd:eocd + 4] == b"PK\x05\x06"
    count, _, at = struct.unpack_from("<HII", data, eocd + 10)
    records = []
    for _ in range(count):
        assert data[at:at + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        records.append(at)
        at += 46 + name_len + extra_len + comment_len
    return eocd, records


def record_name(data: bytes, at: int) -> str:
    (name_len,) = struct.unpack_from("<H", data, at + 28)
    return data[at + 46:at + 46 + name_len].decode()


def local_offset(data: bytes, name: str) -> int:
    _, records = central_records(data)
    (at,) = [r for r in records if record_name(data, r) == name]
    return int(struct.unpack_from("<I", data, at + 42)[0])


def end_record(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


def with_central(data: bytes, records: list[bytes]) -> bytes:
    """*data*'s members followed by a new central directory made of *records*."""
    eocd, old = central_records(data)
    start = old[0] if old else eocd
    cd = b"".join(records)
    return data[:start] + cd + end_record(len(records), len(cd), start)


def raw_records(data: bytes) -> list[bytes]:
    eocd, records = central_records(data)
    return [data[a:b] for a, b in zip(records, [*records[1:], eocd])]


def streamed(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The members as a streaming installer reads them: local headers from offset 0,
    each member's end found from its header (or, with a data descriptor, the end of
    its deflate stream), never looking at the central directory."""
    at = 0
    while data[at:at + 4] == b"PK\x03\x04":
        (_, _, flags, method, _, _, _, csize, _, name_len,
         extra_len) = struct.unpack_from("<4sHHHHHIIIHH", data, at)
        name = data[at + 30:at + 30 + name_len].decode()
        extra = data[at + 30 + name_len:at + 30 + name_len + extra_len]
        if csize == 0xFFFFFFFF and extra[:2] == b"\x01\x00":  # zip64: (size, csize)
            csize = struct.unpack_from("<Q", extra, 12)[0]
        at += 30 + name_len + extra_len
        if method == zipfile.ZIP_DEFLATED:
            inflate = zlib.decompressobj(-15)
            content = inflate.decompress(data[at:at + csize] if not flags & 8 else data[at:])
            consumed = csize if not flags & 8 else len(data) - at - len(inflate.unused_data)
        else:
            content, consumed = data[at:at + csize], csize
        at += consumed
        if flags & 8:
            at += 16 if data[at:at + 4] == b"PK\x07\x08" else 12
        yield name, content


def wheel_members(files: dict[str, bytes], tag: str = "py3-none-any") -> dict[str, bytes]:
    """*files* plus WHEEL and a RECORD that lists every member right."""
    members = dict(files)
    members[f"{DIST}/WHEEL"] = (f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n"
                                .encode())
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in members.items())
    members[f"{DIST}/RECORD"] = (record + f"{DIST}/RECORD,,\n").encode()
    return members


class Deflated:
    """Already-deflated data with its real size and CRC (a large member, built cheaply)."""

    def __init__(self, stream: bytes, size: int, crc: int) -> None:
        self.stream, self.size, self.crc = stream, size, crc


def raw_zip(files: list[tuple[str, bytes | Deflated]], *,
            central: list[tuple[str, int]] | None = None, zip64: bool = False) -> bytes:
    """A zip written field by field: each file deflated behind a local header, then one
    central record per ``(name, index of the local entry)`` -- by default one per file
    -- and the end record. ``zip64`` puts every size and offset in zip64 fields and adds
    a zip64 end record, as writers that always use zip64 do."""
    out = bytearray()
    entries = []
    for name, data in files:
        if isinstance(data, Deflated):
            stream, size, crc = data.stream, data.size, data.crc
        else:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            stream = packer.compress(data) + packer.flush()
            size, crc = len(data), zlib.crc32(data)
        raw = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, size, len(stream)) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(stream), size)
        entries.append((len(out), crc, len(stream), size))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0x800, 8, 0, 0x21, crc, *sizes,
                           len(raw), len(extra)) + raw + extra + stream
    cd_start = len(out)
    listed = central if central is not None else [(n, i) for i, (n, _) in enumerate(files)]
    for name, index in listed:
        offset, crc, csize, size = entries[index]
        raw = name.encode()
        extra = struct.pack("<HHQQQ", 1, 24, size, csize, offset) if zip64 else b""
        fields = (0xFFFFFFFF,) * 3 if zip64 else (csize, size, offset)
        out += struct.pack("<4sBBBBHHHHIIIHHHHHII", b"PK\x01\x02", 45, 3, 45, 0, 0x800, 8, 0,
                           0x21, crc, fields[0], fields[1], len(raw), len(extra), 0, 0, 0,
                           0o100644 << 16, fields[2]) + raw + extra
    count, cd_size = len(listed), len(out) - cd_start
    if zip64:
        at = len(out)
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                           cd_size, cd_start)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                           0xFFFFFFFF, 0)
    else:
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size,
                           cd_start, 0)
    return bytes(out)


class Unseekable(io.RawIOBase):
    """A pipe-like sink: zipfile writes a data descriptor after each member."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def zipfile_bytes(members: dict[str, bytes], *, seekable: bool = True,
                  compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b"",
                  zip64: frozenset[str] = frozenset()) -> bytes:
    sink: io.RawIOBase | io.BytesIO = io.BytesIO() if seekable else Unseekable()
    with zipfile.ZipFile(sink, "w", compression) as zf:  # type: ignore[arg-type]
        for name, data in members.items():
            with zf.open(name, "w", force_zip64=name in zip64) as out:
                out.write(data)
        zf.comment = comment
    return bytes(sink.getvalue() if isinstance(sink, io.BytesIO) else sink.data)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zipfile_reads(path: Path) -> dict[str, bytes]:
    """The premise of many tests: zipfile reads every member, CRCs checked, no complaint."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {i.filename: zf.read(i) for i in zf.infolist()}


PURE = {"demo/__init__.py": b"x = 1\n" * 20, "demo/util.py": b"def f():\n    return 2\n"}


def pure_wheel(tmp_path: Path, name: str = "demo-1.0-py3-none-any.whl", **kw: object) -> Path:
    return write(tmp_path / name, zipfile_bytes(wheel_members(PURE), **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- real tools pass


def test_pip_wheel_and_wheel_pack_pass(tmp_path: Path) -> None:
    project = tmp_path / "purepkg"
    (project / "purepkg").mkdir(parents=True)
    (project / "purepkg" / "__init__.py").write_text("x = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "purepkg"\nversion = "1.0"\n')
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp_path / "pip"), str(project)],
                   check=True, capture_output=True)
    (built,) = (tmp_path / "pip").glob("*.whl")
    assert check.check_wheel(built) == []
    subprocess.run([sys.executable, "-m", "wheel", "unpack", "-d", str(tmp_path / "u"),
                    str(built)], check=True, capture_output=True)
    (tmp_path / "packed").mkdir()
    (unpacked,) = (tmp_path / "u").iterdir()
    subprocess.run([sys.executable, "-m", "wheel", "pack", "-d", str(tmp_path / "packed"),
                    str(unpacked)], check=True, capture_output=True)
    (packed,) = (tmp_path / "packed").glob("*.whl")
    assert built.name == packed.name
    assert check.check_wheel(packed) == []


def test_data_descriptors_from_zipfile_pass(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, seekable=False)
    with zipfile.ZipFile(wheel) as zf:
        assert all(i.flag_bits & 0x8 for i in zf.infolist())  # the premise: descriptors
    assert check.check_wheel(wheel) == []
    assert dict(streamed(wheel.read_bytes())) == zipfile_reads(wheel)


def test_data_descriptors_from_info_zip_pass(tmp_path: Path) -> None:
    """Info-ZIP's zip writing to a pipe: descriptors, and local headers that carry the
    uncompressed size but not the compressed one (real-world, and allowed)."""
    require(shutil.which("zip"), "zip not found: apt-get install zip (in .ci/apt-packages.txt)")
    tree = tmp_path / "tree"
    for name, data in wheel_members(PURE).items():
        write(tree / name, data)
    proc = subprocess.run(f"zip -q -r - demo {DIST} | cat", shell=True, cwd=tree,
                          capture_output=True, check=True)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", proc.stdout)
    with zipfile.ZipFile(wheel) as zf:
        assert any(i.flag_bits & 0x8 for i in zf.infolist())
    assert check.check_wheel(wheel) == []


def test_archive_comment_passes(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, comment=b"an archive comment")
    assert check.check_wheel(wheel) == []


# ---------------------------------------------------------------- zip64


def test_zip64_local_extra_passes(tmp_path: Path) -> None:
    members = wheel_members(PURE)
    wheel = pure_wheel(tmp_path, zip64=frozenset(members))
    data = wheel.read_bytes()
    at = local_offset(data, "demo/util.py")
    assert data[at + 30 + len("demo/util.py"):][:2] == b"\x01\x00"  # a zip64 extra field
    assert check.check_wheel(wheel) == []


def test_zip64_everywhere_passes(tmp_path: Path) -> None:
    """Every size and offset in a zip64 field, and a zip64 end record, read right."""
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl",
                  raw_zip(list(wheel_members(PURE).items()), zip64=True))
    assert zipfile_reads(wheel) == wheel_members(PURE)
    assert check.check_wheel(wheel) == []
    assert dict(streamed(wheel.read_bytes())) == wheel_members(PURE)


def test_zip64_end_record_from_zipfile_passes(tmp_path: Path) -> None:
    """More than 65 535 entries: zipfile writes its own zip64 end record."""
    files = {f"demo/d{i}/__init__.py": b"" for i in range(65_600)}
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl",
                  zipfile_bytes(wheel_members(files), compression=zipfile.ZIP_STORED))
    assert b"PK\x06\x06" in wheel.read_bytes()[-200:]  # the premise
    started = time.process_time()
    with wheelfile.open_wheel(wheel) as archive:
        assert len(archive.infolist()) == 65_602
    print(f"surveyed 65 602 entries in {time.process_time() - started:.2f} s of CPU")


def test_zip64_end_record_disagreeing_is_refused(tmp_path: Path) -> None:
    data = bytearray(raw_zip(list(wheel_members(PURE).items()), zip64=True))
    eocd = len(data) - 22
    struct.pack_into("<HH", data, eocd + 8, 3, 3)  # the plain record counts 3, zip64 5
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", bytes(data))
    assert refused(wheel) == ["zip-central"]


# ---------------------------------------------------------------- one file, two wheels


@pytest.fixture
def two_wheels(tmp_path: Path) -> tuple[bytes, bytes]:
    """The real aarch64 wheel and an x86_64 build of it under the same name."""
    real = make_wheel(tmp_path / "a", AARCH64_TAG, {EXT: elf("aarch64")}).read_bytes()
    x86 = make_wheel(tmp_path / "x", AARCH64_TAG, {EXT: elf("x86_64")}).read_bytes()
    return real, x86


def test_x86_64_wheel_with_the_real_one_appended(tmp_path: Path,
                                                  two_wheels: tuple[bytes, bytes]) -> None:
    real, x86 = two_wheels
    wheel = write(tmp_path / f"demo-1.0-{AARCH64_TAG}.whl", x86 + real)
    assert machine(zipfile_reads(wheel)[EXT]) == EM_AARCH64  # what zipfile (check) read
    assert machine(dict(streamed(wheel.read_bytes()))[EXT]) == EM_X86_64  # what installs
    assert refused(wheel) == ["zip-prepended"]
    # the other way round zipfile reads the x86_64 one: refused before it is even looked at
    other = write(tmp_path / "other" / wheel.name, real + x86)
    assert refused(other) == ["zip-prepended"]


@pytest.mark.parametrize("where", [0, 1])
def test_shadowed_entry_is_refused(tmp_path: Path, where: int) -> None:
    """An x86_64 copy of the extension that the central directory does not list, before
    the listed aarch64 one: at the very start (``zip-prepended``) or between members."""
    members = wheel_members({"demo/__init__.py": b"", EXT: elf("aarch64")}, AARCH64_TAG)
    entries = list(members.items())
    entries.insert(where, (EXT, elf("x86_64")))  # before the real one, listed or not
    sink = io.BytesIO()
    with warnings_ignored(), zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries:
            zf.writestr(name, content)
    records = raw_records(sink.getvalue())
    del records[where]
    # RECORD lists the extension once, with the aarch64 hash: only the layout is wrong
    wheel = write(tmp_path / f"demo-1.0-{AARCH64_TAG}.whl",
                  with_central(sink.getvalue(), records))
    assert machine(zipfile_reads(wheel)[EXT]) == EM_AARCH64
    first = next(content for name, content in streamed(wheel.read_bytes()) if name == EXT)
    assert machine(first) == EM_X86_64
    with pytest.raises(zipread.ZipStructureError) as info:
        check.check_wheel(wheel)
    ((_, code, message),) = info.value.problems
    assert code == ("zip-prepended" if where == 0 else "zip-unreferenced")
    assert f"a local header for '{EXT}'" in message


@contextlib.contextmanager
def warnings_ignored() -> Iterator[None]:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names on purpose
        yield


# ---------------------------------------------------------------- bytes no member owns


def test_prepended_junk_is_refused(tmp_path: Path) -> None:
    good = pure_wheel(tmp_path / "good").read_bytes()
    junk = b"#!/bin/sh\nexec python3 -m pip install \"$0\"\n"
    raw = write(tmp_path / "raw" / "demo-1.0-py3-none-any.whl", junk + good)
    assert zipfile_reads(raw) == wheel_members(PURE)  # zipfile shifts every offset
    assert refused(raw) == ["zip-prepended"]
    # a self-extractor whose offsets count the stub (zipfile's "a" mode on any file)
    sfx = write(tmp_path / "sfx" / "demo-1.0-py3-none-any.whl", junk)
    with zipfile.ZipFile(sfx, "a", zipfile.ZIP_DEFLATED) as zf:
        for name, content in wheel_members(PURE).items():
            zf.writestr(name, content)
    assert zipfile_reads(sfx) == wheel_members(PURE)
    assert refused(sfx) == ["zip-prepended"]


def test_trailing_bytes_are_refused(tmp_path: Path) -> None:
    good = pure_wheel(tmp_path / "good").read_bytes()
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", good + b"\0" * 100)
    assert zipfile_reads(wheel) == wheel_members(PURE)
    assert refused(wheel) == ["zip-trailing"]


def test_bytes_before_the_central_directory_are_refused(tmp_path: Path) -> None:
    good = pure_wheel(tmp_path / "good").read_bytes()
    eocd, records = central_records(good)
    junk = b"PK\x03\x04 looks like a member"
    cd = good[records[0]:eocd]
    data = good[:records[0]] + junk + cd + end_record(len(records), len(cd),
                                                      records[0] + len(junk))
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", data)
    assert zipfile_reads(wheel) == wheel_members(PURE)
    assert refused(wheel) == ["zip-unreferenced"]


# ---------------------------------------------------------------- headers that disagree


LOCAL_FIELDS = {"flags": (6, "<H", 0x2), "method": (8, "<H", 0), "crc": (14, "<I", 0x1234),
                "compressed size": (18, "<I", 3), "size": (22, "<I", 7)}


@pytest.mark.parametrize("field", sorted(LOCAL_FIELDS))
def test_local_header_disagreeing_with_central_directory(tmp_path: Path, field: str) -> None:
    """zipfile reads only the central directory's values; a streaming installer reads
    the local header's: the two must be the same."""
    data = bytearray(pure_wheel(tmp_path / "good").read_bytes())
    at, fmt, value = LOCAL_FIELDS[field]
    struct.pack_into(fmt, data, local_offset(bytes(data), "demo/util.py") + at, value)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", bytes(data))
    assert zipfile_reads(wheel) == wheel_members(PURE)  # the premise
    with pytest.raises(zipread.ZipStructureError) as info:
        check.check_wheel(wheel)
    ((member, code, message),) = info.value.problems
    assert (member, code) == ("demo/util.py", "zip-local-header")
    assert field.lower() in message.lower()


def test_local_header_with_another_name(tmp_path: Path) -> None:
    data = bytearray(pure_wheel(tmp_path / "good").read_bytes())
    at = local_offset(bytes(data), "demo/util.py") + 30
    data[at:at + len("demo/util.py")] = b"demo/evil.py"
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", bytes(data))
    assert dict(streamed(bytes(data)))["demo/evil.py"] == PURE["demo/util.py"]
    assert refused(wheel) == ["zip-local-header"]


def test_unicode_path_field_naming_another_file_is_refused(tmp_path: Path) -> None:
    """Info-ZIP's Unicode Path field (0x7075): zipfile uses it from Python 3.12 on, 3.11
    ignores it, so one wheel would install ``../evil.py`` or ``demo/util.py``."""
    members = wheel_members(PURE)
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            if name == "demo/util.py":
                other = b"../evil.py"
                info.extra = struct.pack("<HHBI", 0x7075, 5 + len(other), 1,
                                         zlib.crc32(name.encode())) + other
            zf.writestr(info, content, zipfile.ZIP_DEFLATED)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", sink.getvalue())
    with zipfile.ZipFile(wheel) as zf:  # the premise: which name depends on the Python
        read_as = "../evil.py" if sys.version_info >= (3, 12) else "demo/util.py"
        assert read_as in zf.namelist()
    with pytest.raises(zipread.ZipStructureError) as info:
        check.check_wheel(wheel)
    assert [p[:2] for p in info.value.problems] == [("demo/util.py", "zip-central")]
    assert "'../evil.py'" in info.value.problems[0][2]


def test_data_descriptor_disagreeing_is_refused(tmp_path: Path) -> None:
    data = bytearray(pure_wheel(tmp_path / "good", seekable=False).read_bytes())
    at = data.index(b"PK\x07\x08")  # the first member's descriptor
    struct.pack_into("<I", data, at + 4, 0xDEADBEEF)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", bytes(data))
    assert zipfile_reads(wheel) == wheel_members(PURE)  # zipfile never reads descriptors
    assert refused(wheel) == ["zip-descriptor"]


def test_deflate_stream_ending_early_is_corrupt(tmp_path: Path) -> None:
    """Bytes after a member's deflate stream, inside its recorded compressed size: a
    streaming reader that finds the end from the stream looks for the next header there.
    The sizes and offsets all agree, so only reading the data shows it."""
    good = pure_wheel(tmp_path / "good").read_bytes()
    start = local_offset(good, "demo/util.py")
    (csize,) = struct.unpack_from("<I", good, start + 18)
    name_len, extra_len = struct.unpack_from("<HH", good, start + 26)
    end = start + 30 + name_len + extra_len + csize
    junk = b"PK\x03\x04 hidden"
    _, old = central_records(good)
    body = bytearray(good[:end] + junk + good[end:old[0]])
    struct.pack_into("<I", body, start + 18, csize + len(junk))
    records = []
    for raw in raw_records(good):
        record = bytearray(raw)
        (offset,) = struct.unpack_from("<I", record, 42)
        if offset == start:
            struct.pack_into("<I", record, 20, csize + len(junk))
        elif offset > start:
            struct.pack_into("<I", record, 42, offset + len(junk))
        records.append(bytes(record))
    cd = b"".join(records)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl",
                  bytes(body) + cd + end_record(len(records), len(cd), len(body)))
    assert zipfile_reads(wheel) == wheel_members(PURE)  # zipfile stops at the stream's end
    with pytest.raises(WheelError, match=r"\[zip-corrupt\].*ends before its recorded"):
        check.check_wheel(wheel)


# ---------------------------------------------------------------- overlap and bombs


class WatchedFile(io.FileIO):
    """A real file that remembers the lowest offset anything was read from."""

    lowest = 1 << 62

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        self.lowest = min(self.lowest, self.tell())
        return super().read(size) or b""


def cd_start(data: bytes) -> int:
    return data.index(b"PK\x01\x02")  # the first central record (the test data has no other)


@functools.cache
def zeros_2gib() -> Deflated:
    """2 GiB of zeros as one real deflate stream of about 2 MB, built from one 16 MiB
    block repeated (a full flush makes every block after the first identical)."""
    block = bytes(16 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) == repeated
    crc = 0
    for _ in range(128):
        crc = zlib.crc32(block, crc)
    return Deflated(first + repeated * 127 + packer.flush(), 2 * GIB, crc)


def test_central_directory_bomb_is_refused_before_any_data_is_read(tmp_path: Path) -> None:
    """A 2 MB wheel whose central directory names one 2 GiB member four times."""
    names = ["demo/data.bin"] * 4  # one name: zipfile checks it against the local header
    record = f"{names[0]},sha256=not-hashed-the-check-must-stop-first,{2 * GIB}\n"
    wheel_text = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files: list[tuple[str, bytes | Deflated]] = [
        (names[0], zeros_2gib()), (f"{DIST}/WHEEL", wheel_text),
        (f"{DIST}/RECORD", (record + f"{DIST}/WHEEL,{record_hash(wheel_text)},"
                            f"{len(wheel_text)}\n{DIST}/RECORD,,\n").encode())]
    central = [(n, 0) for n in names] + [(f"{DIST}/WHEEL", 1), (f"{DIST}/RECORD", 2)]
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", raw_zip(files, central=central))
    assert wheel.stat().st_size < 3 << 20
    with zipfile.ZipFile(wheel) as zf:  # the premise: zipfile lists 8 GiB in four members
        assert [i.file_size for i in zf.infolist()[:4]] == [2 * GIB] * 4
        with zf.open(zf.infolist()[0]) as stream:  # and reads them (3.12.2+: the first only)
            assert stream.read(1 << 20) == bytes(1 << 20)
    with WatchedFile(wheel) as fp, pytest.raises(zipread.ZipStructureError) as info:
        zipread.survey(wheel, fp)
    assert fp.lowest >= cd_start(wheel.read_bytes()), "a member was read"
    assert {code for _, code, _ in info.value.problems} == {"zip-overlap"}
    started = time.perf_counter()
    assert refused(wheel) == ["zip-overlap"] * 3
    print(f"bomb refused in {time.perf_counter() - started:.3f} s (check + CLI)")


def test_overlapping_members_are_refused(tmp_path: Path) -> None:
    """One member's recorded data runs over the next member's header; zipfile before
    3.11.8/3.12.2, which stops at the end of the deflate stream, reads both."""
    data = bytearray(pure_wheel(tmp_path / "good").read_bytes())
    start = local_offset(bytes(data), "demo/__init__.py")
    (csize,) = struct.unpack_from("<I", data, start + 18)
    struct.pack_into("<I", data, start + 18, csize + 40)
    _, records = central_records(bytes(data))
    (at,) = [r for r in records if record_name(bytes(data), r) == "demo/__init__.py"]
    struct.pack_into("<I", data, at + 20, csize + 40)
    wheel = write(tmp_path / "demo-1.0-py3-none-any.whl", bytes(data))
    newer = "_end_offset" in zipfile.ZipInfo.__slots__  # 3.11.8, 3.12.2+ see it too
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() == ("demo/__init__.py" if newer else None)
    assert refused(wheel) == ["zip-overlap"]


def test_caps_are_checked_before_the_central_directory_is_read(tmp_path: Path) -> None:
    zip64 = raw_zip(list(wheel_members(PURE).items()), zip64=True)
    # the zip64 end record claims more entries than MAX_ENTRIES
    claimed = bytearray(zip64)
    many = zipread.MAX_ENTRIES + 1
    struct.pack_into("<QQ", claimed, zip64.rindex(b"PK\x06\x06") + 24, many, many)
    wheel = write(tmp_path / "many" / "demo-1.0-py3-none-any.whl", bytes(claimed))
    with WatchedFile(wheel) as fp, pytest.raises(zipread.ZipStructureError) as info:
        zipread.survey(wheel, fp)
    assert "zip-entries" in [code for _, code, _ in info.value.problems]
    assert fp.lowest >= zip64.rindex(b"PK\x06\x06"), "the central directory was read"
    # a member claiming more than MAX_TOTAL_SIZE, in its zip64 field
    big = bytearray(zip64)
    first = big.index(b"PK\x01\x02")
    (name_len,) = struct.unpack_from("<H", big, first + 28)
    struct.pack_into("<Q", big, first + 46 + name_len + 4, zipread.MAX_TOTAL_SIZE + 1)
    wheel = write(tmp_path / "big" / "demo-1.0-py3-none-any.whl", bytes(big))
    with WatchedFile(wheel) as fp, pytest.raises(zipread.ZipStructureError) as info:
        zipread.survey(wheel, fp)
    assert [code for _, code, _ in info.value.problems] == ["zip-size"]
    assert fp.lowest >= cd_start(zip64), "a member was read"
    assert refused(wheel) == ["zip-size"]


# ---------------------------------------------------------------- property tests


def header_offsets(data: bytes) -> list[int]:
    """Where the structure is: every signature's offset (headers, descriptors, end)."""
    return [m.start() for m in re.finditer(rb"PK[\x01\x03\x05\x06\x07][\x02\x04\x06\x07\x08]",
                                           data)]


@functools.cache
def mutation_bases() -> tuple[bytes, bytes, bytes]:
    members = wheel_members(PURE)
    return (zipfile_bytes(members), zipfile_bytes(members, seekable=False),
            raw_zip(list(members.items()), zip64=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.integers(0, 2), edits=st.lists(
    st.tuples(st.integers(0, 1 << 16), st.integers(0, 60), st.integers(0, 255)),
    min_size=1, max_size=6), cut=st.integers(0, 1 << 16), cut_it=st.booleans())
def test_mutated_archives_never_traceback(tmp_path_factory: pytest.TempPathFactory,
                                          base: int, edits: list[tuple[int, int, int]],
                                          cut: int, cut_it: bool) -> None:
    """Bytes changed near the structure (or the file cut short): the check returns
    problems or raises WheelError, never anything else."""
    data = bytearray(mutation_bases()[base])
    anchors = header_offsets(bytes(data))
    for anchor, delta, value in edits:
        data[(anchors[anchor % len(anchors)] + delta) % len(data)] = value
    if cut_it:
        del data[cut % len(data):]
    wheel = write(tmp_path_factory.mktemp("m") / "demo-1.0-py3-none-any.whl", bytes(data))
    with contextlib.suppress(WheelError):
        problems = check.check_wheel(wheel)
        assert all(isinstance(p, check.Problem) for p in problems)


NAME = st.text(alphabet="abcdefgh_0123456789", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(st.lists(NAME, min_size=1, max_size=3).map("/".join),
                             st.binary(max_size=3000) | st.builds(lambda n: b"a" * n,
                                                                  st.integers(0, 300_000)),
                             max_size=8),
       seekable=st.booleans(), stored=st.booleans(), comment=st.binary(max_size=40),
       zip64=st.booleans())
def test_real_archives_are_never_refused(tmp_path_factory: pytest.TempPathFactory,
                                         files: dict[str, bytes], seekable: bool, stored: bool,
                                         comment: bytes, zip64: bool) -> None:
    """Whatever zipfile writes (seekable or to a pipe, deflate or stored, zip64 or not,
    with a comment), with a right RECORD, the check passes and reads what zipfile reads;
    what zipfile itself cannot read, the check refuses too."""
    assume(all(not d.startswith(b"\x7fELF") for d in files.values()))
    assume(not any(a != b and b.startswith(a + "/") for a in files for b in files))
    members = wheel_members(files)
    data = zipfile_bytes(members, seekable=seekable, comment=comment,
                         compression=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                         zip64=frozenset(members) if zip64 else frozenset())
    wheel = write(tmp_path_factory.mktemp("r") / "demo-1.0-py3-none-any.whl", data)
    try:
        zipfile_reads(wheel)
    except zipfile.BadZipFile:  # a comment holding the end record's signature fools zipfile
        with pytest.raises(WheelError):
            check.check_wheel(wheel)
        return
    assert check.check_wheel(wheel) == []
    with wheelfile.open_wheel(wheel) as archive:
        assert {i.filename: b"".join(archive.chunks(i)) for i in archive.infolist()} == members


# ---------------------------------------------------------------- docs


def test_every_zip_code_is_in_troubleshooting() -> None:
    sources = "".join((ROOT / "src" / "crossenv" / f).read_text()
                      for f in ("zipread.py", "wheelfile.py"))
    codes = set(re.findall(r'"(zip-[a-z0-9-]+)"', sources))
    assert {"zip-overlap", "zip-local-header", "zip-prepended"} <= codes
    text = (ROOT / "docs" / "troubleshooting.rst").read_text()
    assert {c for c in codes if f"``{c}``" not in text} == set()
