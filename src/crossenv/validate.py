"""Check untrusted host data before anything is generated from it.

A sysroot is somebody else's download: its ``_sysconfigdata_*.py`` and
``build-details.json`` are data we did not write. Every value the generators use
is checked here, once, when the :class:`~crossenv.host.HostDescription` is made:
names (triplets, multiarch, machine, platform) against strict patterns, ABI flags
against a small alphabet, paths for being absolute, normalised and inside the
sysroot, numbers for being in range, and compiler flags for options that make the
compiler run other programs, write files of their choosing or use another sysroot.
Quoting for each output format lives in :mod:`crossenv.quoting`; write paths go
through :func:`inside`.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import shlex
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import HostError

#: Largest sysconfigdata / build-details.json accepted (real ones are ~50 kB).
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Largest integer accepted in host data (sysconfig values are small flags and sizes).
MAX_INT = 2**63

_SEGMENT = r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*"
TRIPLET = re.compile(rf"{_SEGMENT}(?:-{_SEGMENT}){{1,4}}")
MACHINE = re.compile(r"[A-Za-z0-9_]{1,32}")
MACHDEP = re.compile(r"[a-z][a-z0-9_]{0,31}")
SYSTEM = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
PLATFORM = re.compile(rf"{_SEGMENT}(?:-{_SEGMENT}){{1,5}}")
ABIFLAGS = re.compile(r"[dmtu]{0,4}")
IMPLEMENTATION = re.compile(r"[a-z][a-z0-9_]{0,31}")
SOABI = re.compile(r"[A-Za-z0-9_]+(?:[-.][A-Za-z0-9_]+){0,8}")
EXT_SUFFIX = re.compile(r"(?:\.[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*){1,4}")
FILE_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,254}")
# What a recorded host path may contain: no quotes, spaces, ';', '$' or control characters.
_PATH_CHARS = re.compile(r"[A-Za-z0-9_.+~%,:=@/-]+")

_HOW = "pass the host's real _sysconfigdata_*.py or build-details.json"


def shown(value: object, limit: int = 60) -> str:
    """*value* for a one-line message: repr (so newlines stay escaped), shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name(value: object, pattern: re.Pattern[str], what: str, how: str = _HOW) -> str:
    """Return *value* if it is a string matching *pattern* in full, else refuse it."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise HostError(f"the host's {what} {shown(value)} is not valid; {how}")
    return value


def machine(value: object, *, option: bool = False) -> str:
    how = "pass --machine with a value such as armv7l" if option else \
        f"pass --machine with a value such as armv7l, or {_HOW[5:]}"
    return name(value, MACHINE, "--machine" if option else "machine", how)


def host_path(value: object, what: str, *, root: Path | None) -> Path:
    """A build-machine path of host data: absolute, normalised, inside *root* (the sysroot)."""
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise HostError(f"the host's {what} {shown(value)} is not an absolute path; {_HOW}")
    normal = posixpath.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if root is not None:
        base = posixpath.normpath(str(root))
        if not (normal == base or normal.startswith(base.rstrip("/") + "/")):
            raise HostError(f"the host's {what} {shown(value)} leaves the sysroot {base}; "
                            f"{_HOW}")
        relative = normal[len(base):] or "/"
    else:
        relative = normal
    if not _PATH_CHARS.fullmatch(relative):
        raise HostError(f"the host's {what} {shown(value)} has characters crossenv does not "
                        f"write into generated files (quotes, spaces, ';', '$'); {_HOW}")
    return Path(normal)


def under(path: str, root: str | os.PathLike[str]) -> bool:
    """Whether *path* is *root* or below it (both normal absolute paths)."""
    base = str(root).rstrip("/")
    return path == base or path.startswith(base + "/") or base == ""


def stays_inside(path: Path, root: Path, what: str) -> None:
    """Refuse *path* (inside *root*) if the kernel, following symlinks, leaves *root*: a
    sysroot link such as ``usr/include/<multiarch>/python3.11 ->
    /usr/include/x86_64-linux-gnu/python3.11`` would give the compiler the build
    machine's headers. (A chroot would resolve it inside; the cross compiler does not.)"""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if not under(real, real_root):
        raise HostError(f"the host's {what} {path} is a symlink that leaves {root} (to "
                        f"{real}), so the compiler would read the build machine's files; make "
                        "the link relative, inside the sysroot")


#: how many entries of a header directory are looked at for escaping symlinks
MAX_HEADER_ENTRIES = 20000


def no_escaping_links(directory: Path, root: Path) -> None:
    """Refuse a symlink under *directory* (headers) that the kernel resolves outside *root*."""
    real_root = os.path.realpath(root)
    seen = 0
    for top, dirs, files in os.walk(directory):
        for entry in (*dirs, *files):
            seen += 1
            path = os.path.join(top, entry)
            if seen > MAX_HEADER_ENTRIES:
                raise HostError(f"{directory} holds more than {MAX_HEADER_ENTRIES} entries; "
                                f"{_HOW}")
            if os.path.islink(path) and not under(os.path.realpath(path), real_root):
                raise HostError(f"the host's header {path} is a symlink that leaves {root} "
                                f"(to {os.path.realpath(path)}), so the compiler would read "
                                "the build machine's file; make the link relative, inside "
                                "the sysroot")


#: sysconfig variables that hold one absolute host path: validated like INCLUDEPY when the
#: host is described, and moved into the sysroot in cross-python's sysconfig
#: (crossenv.crossconfig)
PATH_VARS = (
    "BINDIR", "BINLIBDEST", "CONFINCLUDEDIR", "CONFINCLUDEPY", "DESTLIB", "DESTSHARED",
    "INCLUDEDIR", "INCLUDEPY", "LIBDEST", "LIBDIR", "LIBP", "LIBPC", "LIBPL", "MACHDESTLIB",
    "SCRIPTDIR", "datarootdir", "mandir", "docdir", "exec_prefix",
)


def host_prefix(value: object) -> str:
    """The host's own ``prefix`` (``/usr``): absolute, normalised, plain characters."""
    return str(host_path(value, "prefix", root=None)).rstrip("/") or "/"


def pointer_size(value: object) -> int | None:
    """``SIZEOF_VOID_P``: 4 or 8 (None when absent or 0, so it is guessed)."""
    if value in (None, "", 0, "0"):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value) < 4:
        number = int(value)
    if number not in (4, 8):
        raise HostError(f"the host's SIZEOF_VOID_P {shown(value)} is not 4 or 8; {_HOW}")
    return number


def scalar(key: str, value: object, origin: str) -> object:
    """One ``build_time_vars`` value: a string, a bounded integer or a finite float."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) >= MAX_INT:
            raise HostError(f"{origin}: {key} = {shown(value)} is out of range; {_HOW}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HostError(f"{origin}: {key} = {value!r} is not a finite number; {_HOW}")
        return value
    if isinstance(value, str):
        return value
    raise HostError(f"{origin}: {key} is a {type(value).__name__}, not a string or number; "
                    f"{_HOW}")


def read_bounded(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a regular file of at most *limit* bytes (never a FIFO or a device)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise HostError(f"cannot read {path}: {exc.strerror}; pass the host's {what}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HostError(f"{path} is not a regular file; pass the host's {what}")
        if info.st_size > limit:
            raise HostError(f"{path} is larger than {limit // 1024} KiB; pass the host's {what}")
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise HostError(f"{path} is larger than {limit // 1024} KiB; pass the host's {what}")
        return b"".join(chunks)
    except OSError as exc:
        raise HostError(f"cannot read {path}: {exc.strerror}; pass the host's {what}") from None
    finally:
        os.close(fd)


# -- build-details.json ----------------------------------------------------------------------

BUILD_DETAILS_HOW = "pass the host's build-details.json"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is not a finite number")
    return value


def json_document(path: Path) -> dict[str, Any]:
    """The JSON object of a build-details.json: bounded, finite numbers, not nested deeply."""
    raw = read_bounded(path, "build-details.json", limit=1024 * 1024)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise HostError(f"{path} is not a PEP 739 build-details.json ({reason}); "
                        f"{BUILD_DETAILS_HOW}") from None
    if not isinstance(data, dict):
        raise HostError(f"{path} is not a PEP 739 build-details.json (not an object); "
                        f"{BUILD_DETAILS_HOW}")
    return data


def json_field(data: dict[str, Any], dotted: str, kind: type | tuple[type, ...], origin: Path,
                default: Any = None) -> Any:
    """``data['a']['b']`` for ``'a.b'``, checked to be of *kind* (missing: *default*)."""
    value: Any = data
    for key in dotted.split("."):
        if not isinstance(value, dict):
            raise HostError(f"{origin} is not a PEP 739 build-details.json ({dotted} is not "
                            f"inside an object); {BUILD_DETAILS_HOW}")
        if key not in value:
            if default is None and kind is not type(None):
                raise HostError(f"{origin} is not a PEP 739 build-details.json (no {dotted}); "
                                f"{BUILD_DETAILS_HOW}")
            return default
        value = value[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise HostError(f"{origin} is not a PEP 739 build-details.json ({dotted} is "
                        f"{shown(value, 40)}, of the wrong type); {BUILD_DETAILS_HOW}")
    return value


# -- compiler flags ----------------------------------------------------------------------------

#: Variables that are a program followed by flags (the program is replaced by the toolchain).
COMMAND_VARS = ("CC", "CXX", "CPP", "LDSHARED", "LDCXXSHARED", "BLDSHARED", "LINKCC", "MAINCC")
#: Flag variables that do not say FLAGS in their name.
FLAG_VARS = ("CCSHARED", "OPT", "LINKFORSHARED", "LIBS", "SYSLIBS", "MODLIBS", "LOCALMODLIBS",
             "BLDLIBRARY", "SHLIBS", "LIBM", "LIBC")

# Options that make gcc/clang load or run another program (or read more options from a file).
_RUNS_PROGRAM = (
    "-wrapper", "--wrapper", "-fplugin", "--plugin", "-fpass-plugin", "-B", "--prefix",
    "-specs", "--specs", "--ld-path", "-ccc-", "--gcc-toolchain", "-gcc-toolchain",
    "--gcc-install-dir", "-iplugindir", "-load", "-plugin", "-add-plugin", "-Xclang",
)
_LINKER_RUNS_PROGRAM = ("-plugin", "--plugin", "-fuse-ld")
_NEXT_IS_LINKER = ("-Xlinker", "--for-linker")
_NEXT_IS_COMPILER = ("-Xpreprocessor", "-Xassembler", "-Xcompiler")


def _linker_bad(arg: str) -> bool:
    return arg.startswith("@") or arg.startswith(_LINKER_RUNS_PROGRAM)


def dangerous_flag(words: Sequence[str]) -> str | None:
    """The first word of a command line that makes the compiler run another program
    (``-wrapper``, ``-fplugin=``, ``-B``, ``--specs``, ``@file``, linker plugins), or None."""
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word.startswith("@") or word.startswith(_RUNS_PROGRAM):
            return word
        if word.startswith("-fuse-ld=") and "/" in word:
            return word
        if word in _NEXT_IS_LINKER:
            if _linker_bad(following):
                return f"{word} {following}"
            index += 2
            continue
        if word.startswith("--for-linker=") and _linker_bad(word.split("=", 1)[1]):
            return word
        if word in _NEXT_IS_COMPILER:
            if dangerous_flag([following]) or following.startswith("@"):
                return f"{word} {following}"
            index += 2
            continue
        if word.startswith(("-Wl,", "-Wa,")) and any(_linker_bad(a) for a in word[4:].split(",")):
            return word
        if word.startswith("-Wp,") and dangerous_flag(word[4:].split(",")):
            return word
        index += 1
    return None


# Options that write a file the build did not ask for, or point the compiler at another
# root (an ELF written outside ENV during a plain cross-pip wheel, issue 21).
_WRITES = ("-o", "--output", "-MF", "-save-temps", "--save-temps", "-aux-info", "-dumpdir",
           "-dumpbase", "-fdump-", "-fsave-optimization-record", "-fcallgraph-info",
           "--sysroot", "-isysroot", "-Wl,--sysroot")
_PREPROCESSOR_WRITES = ("-MD", "-MMD", "-MF", "-o", "-dumpbase", "-dumpdir", "-aux-info",
                        "-isysroot", "--sysroot", "-fdump-", "-save-temps")
_LINKER_WRITES = ("-o", "--output", "-Map", "--Map", "--dependency-file", "--out-implib",
                  "--sysroot", "-plugin-save-temps", "--plugin-save-temps", "--save-temps")
_ASSEMBLER_WRITES = ("-o", "--MD", "-MD")


def _writes(word: str, prefixes: tuple[str, ...]) -> bool:
    return word.startswith(prefixes) or (word.startswith("-fopt-info") and "=" in word) or \
        word == "-fdiagnostics-format=sarif-file"


def _assembler_writes(word: str) -> bool:
    return word.startswith(_ASSEMBLER_WRITES) or (word.startswith("-a") and "=" in word)


def writing_flag(words: Sequence[str]) -> str | None:
    """The first word of a command line that makes the compiler, preprocessor, assembler
    or linker write a file of its choosing (``-o``, ``-MF``, ``-Wp,-MD,FILE``, ``-Wa,--MD``,
    ``-Wl,-Map=``, ``-save-temps``...) or use another sysroot (``--sysroot``,
    ``-isysroot``), or None."""
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _NEXT_IS_LINKER:
            if following.startswith(_LINKER_WRITES):
                return f"{word} {following}"
            index += 2
            continue
        if word in ("-Xpreprocessor", "-Xassembler"):
            if (_writes(following, _PREPROCESSOR_WRITES) if word == "-Xpreprocessor"
                    else _assembler_writes(following)):
                return f"{word} {following}"
            index += 2
            continue
        if word.startswith("--for-linker=") and \
                word.split("=", 1)[1].startswith(_LINKER_WRITES):
            return word
        if word.startswith("-Wl,") and any(a.startswith(_LINKER_WRITES)
                                           for a in word[4:].split(",")):
            return word
        if word.startswith("-Wa,") and any(_assembler_writes(a) for a in word[4:].split(",")):
            return word
        if word.startswith("-Wp,") and any(_writes(a, _PREPROCESSOR_WRITES)
                                           for a in word[4:].split(",")):
            return word
        if _writes(word, _WRITES):
            return word
        index += 1
    return None


def _words(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def flag_vars(config_vars: Mapping[str, object]) -> Iterable[tuple[str, list[str]]]:
    """``(name, words)`` of every variable a compiler command line is made from."""
    for key, value in config_vars.items():
        if not isinstance(value, str):
            continue
        if key in COMMAND_VARS:
            words = _words(value)
            yield key, words[1:] if words and not words[0].startswith("-") else words
        elif "FLAGS" in key or key in FLAG_VARS:
            yield key, _words(value)


def compiler_flags(config_vars: Mapping[str, object], *, trusted: bool = False,
                   overridden: Collection[str] = ()) -> None:
    """Refuse host compiler flags that run other programs, write files of their choosing or
    switch the sysroot, unless the user vouched for them (``--trust-host-flags``)."""
    if trusted:
        return
    for key, words in flag_vars(config_vars):
        if key in overridden:
            continue
        bad = dangerous_flag(words)
        what = "makes the compiler run another program"
        if bad is None:
            bad = writing_flag(words)
            what = "makes the compiler write a file of its choosing or use another sysroot"
        if bad is not None:
            raise HostError(
                f"the host's {key} contains {shown(bad, 50)}, which {what}; if you trust "
                f"this sysroot pass --trust-host-flags, or replace it with "
                f"--config-var {key}=...")


# -- write paths -------------------------------------------------------------------------------

def inside(root: Path, *parts: str) -> Path:
    """``root/parts...``, refusing any part that could leave *root* (``..``, ``/``, NUL).

    Every file crossenv writes under ENV whose name comes from host data goes
    through here, so a triplet such as ``../../x`` can never write elsewhere.
    """
    for part in parts:
        if (not part or part in (".", "..") or "/" in part or "\0" in part
                or "\\" in part):
            raise HostError(f"refusing to write {shown(part)} under {root}: the name comes "
                            f"from host data and would leave the environment; {_HOW}")
    path = root.joinpath(*parts)
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(path.parent)
    if os.path.commonpath([real_root, real_parent]) != real_root:
        raise HostError(f"refusing to write {path}: it resolves outside {root}; {_HOW}")
    return path
