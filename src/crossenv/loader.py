"""An offline ld.so: would the host's loader open each ELF file of a wheel, and bind it?

A wheel's ELF files are only proven by loading them on the host, and ``crossenv check``
runs nothing. So this module repeats what glibc's ``ld.so`` does when Python dlopens an
extension (auditwheel's ``lddtree`` is the model; glibc's ``elf/dl-load.c`` and
``dl-version.c`` are the rules), over the host's sysroot instead of the host:

* every ``DT_NEEDED`` is found as the loader finds it: an object already loaded under
  that name (the interpreter's own libraries), the requester's ``DT_RPATH`` (and its
  loaders', while none has ``DT_RUNPATH``) or ``DT_RUNPATH`` - ``$ORIGIN`` entries
  point inside the wheel, others into the sysroot - then the sysroot's ``ld.so.conf``
  directories and the default ones, skipping files of another class or machine;
* every ``DT_VERNEED`` version is defined by the library it names (``GLIBC_2.34`` in
  a glibc 2.31 sysroot fails here, as ``version `GLIBC_2.34' not found`` would);
* every undefined, non-weak symbol is defined, with its version, by an object in the
  lookup scope: the interpreter and its libraries first, then the extension and its
  dependencies breadth first (CPython dlopens with ``RTLD_NOW``, so all are bound at
  import).

The sysroot is untrusted input like the wheel: paths from ``ld.so.conf`` are read
inside it, and a library or configuration file whose symlinks lead out of it is an
error, never followed to the build machine's own files. Parsed libraries are cached for
the run, so libc is read once however many wheels are checked.

Without a sysroot a manylinux/musllinux tag's policy stands for the host: each
``DT_NEEDED`` must be a library the policy promises or one the wheel ships.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .arches import Arch
from .elfinfo import ElfInfo, ElfUnreadable, Reference, origin_relative, read_elf
from .errors import CrossenvError

#: what one finding is: (member, problem code, message)
Finding = tuple[str, str, str]

_MAX_CONF_FILES = 256
_MAX_CONF_BYTES = 1 << 20
_MAX_DEPTH = 64  # dependency levels; real trees have a handful
_SHOWN = 5  # symbol names listed per message
_DATA_RE = re.compile(r"[^/]+\.data/(?:purelib|platlib)/")
_LIBPYTHON_RE = re.compile(r"libpython\d+\.\d+")
_INTERPRETER_RE = re.compile(r"ld-linux[-\w.]*\.so\.\d+|ld64\.so\.\d+|ld\.so\.\d+")


class SysrootError(CrossenvError):
    """The host sysroot cannot be trusted (a symlink leads out of it)."""


@dataclasses.dataclass(eq=False)
class Loaded:
    """One object in a lookup scope: a wheel member or a sysroot file."""

    label: str  # how messages name it
    info: ElfInfo
    wheel_path: str = ""  # installed path (relative to site-packages) of a wheel member
    host_path: str = ""  # sysroot-absolute path of a sysroot file

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.wheel_path or self.host_path)


def installed_path(member: str) -> str:
    """Where pip puts a wheel member, relative to site-packages."""
    return _DATA_RE.sub("", member, count=1) if _DATA_RE.match(member) else member


def _absolute(path: str) -> str:
    """*path* made absolute and normal: ``..`` stops at the root (as in the host's view)."""
    return posixpath.normpath("/" + path.lstrip("/"))


class Sysroot:
    """The host's file system, read through its sysroot and never left."""

    def __init__(self, root: Path, arch: Arch | None, python: str = "") -> None:
        self.root = Path(root)
        self.real = self.root.resolve()
        self.arch = arch
        self.python = python  # sysroot-absolute path of the host interpreter ("": none)
        self._files: dict[str, Loaded | None] = {}
        self._dirs: list[str] | None = None
        self._scope: tuple[list[Loaded], dict[str, Loaded], list[Finding]] | None = None

    def _resolve(self, path: str) -> Path | None:
        """Sysroot-absolute *path* on this machine, symlinks followed; None if missing.
        SysrootError if they lead out of the sysroot."""
        path = _absolute(path)
        candidate = self.root / path.lstrip("/")
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            return None
        if real != self.real and self.real not in real.parents:
            raise SysrootError(f"{candidate} leads out of the sysroot {self.root} (to {real}); "
                               "the sysroot is damaged or not Debian's: provision it again "
                               "(crossenv provision --refresh)")
        return real

    def file(self, path: str) -> Path | None:
        """The regular file at sysroot-absolute *path*, or None."""
        real = self._resolve(path)
        return real if real is not None and real.is_file() else None

    def is_host_library_dir(self, entry: str) -> bool:
        """*entry* (an absolute RPATH/RUNPATH entry) is a library directory of the host
        itself: written in normal form under ``/usr`` or ``/lib*`` and a directory of the
        sysroot. A native build on the host records such entries too (meson keeps the
        directory of a ``.pc`` file's ``-L``, e.g. Debian's ``openblas-pthread``)."""
        if posixpath.normpath(entry) != entry or not entry.startswith(("/usr/", "/lib")):
            return False
        real = self._resolve(entry)
        return real is not None and real.is_dir()

    def _listdir(self, directory: str) -> list[str]:
        real = self._resolve(directory)
        try:
            return sorted(os.listdir(real))[:4096] if real is not None else []
        except OSError:
            return []

    def search_dirs(self) -> list[str]:
        """``ld.so.conf`` (with its includes), then the default directories, in order."""
        if self._dirs is None:
            dirs: list[str] = []
            seen: set[str] = set()
            if self.file("/etc/ld.so.conf") is not None:
                self._read_conf("/etc/ld.so.conf", dirs, seen)
            else:  # Debian's ld.so.conf only includes these; libc-bin may not be unpacked
                for name in self._listdir("/etc/ld.so.conf.d"):
                    if name.endswith(".conf"):
                        self._read_conf(f"/etc/ld.so.conf.d/{name}", dirs, seen)
            multiarch = self.arch.multiarch if self.arch else ""
            defaults = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"] if multiarch else []
            dirs += [*defaults, "/lib", "/usr/lib"]
            self._dirs = list(dict.fromkeys(posixpath.normpath(d) for d in dirs))
        return self._dirs

    def _read_conf(self, path: str, dirs: list[str], seen: set[str]) -> None:
        if path in seen or len(seen) >= _MAX_CONF_FILES:
            return
        seen.add(path)
        real = self.file(path)
        if real is None:
            return
        with real.open("rb") as stream:
            text = stream.read(_MAX_CONF_BYTES).decode("utf-8", "replace")
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            words = line.split()
            if not words or words[0] == "hwcap":
                continue
            if words[0] == "include":
                for pattern in words[1:]:
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                    for match in self._glob(pattern):
                        self._read_conf(match, dirs, seen)
                continue
            for word in re.split(r"[\s,:]+", line):
                word = word.split("=", 1)[0]
                if word.startswith("/"):
                    dirs.append(word)

    def _glob(self, pattern: str) -> Iterator[str]:
        directory, name = posixpath.split(posixpath.normpath(pattern))
        if any(c in directory for c in "*?["):
            return  # ldconfig allows it; Debian never uses it, so neither do we
        for entry in self._listdir(directory):
            if fnmatch.fnmatchcase(entry, name):
                yield posixpath.join(directory, entry)

    def load(self, path: str) -> Loaded | None:
        """The ELF file at sysroot-absolute *path* if it suits the host (cached)."""
        path = _absolute(path)
        if path in self._files:
            return self._files[path]
        found: Loaded | None = None
        real = self.file(path)
        if real is not None:
            found = _cached(real, path, self.arch)
        self._files[path] = found
        return found

    def scope(self) -> tuple[list[Loaded], dict[str, Loaded], list[Finding]]:
        """The interpreter and the libraries it loads: the start of every lookup."""
        if self._scope is None:
            loaded: dict[str, Loaded] = {}
            objects: list[Loaded] = []
            findings: list[Finding] = []
            python = self.load(self.python) if self.python else None
            if python is not None:
                objects = closure(python, self, {}, loaded, findings)
            self._scope = objects, loaded, findings
        return self._scope


_SYSROOTS: dict[tuple[Path, str, str], Sysroot] = {}


def sysroot_for(root: Path, arch: Arch | None, python: str) -> Sysroot:
    """One :class:`Sysroot` per host for the run: its directories, interpreter scope and
    parsed libraries are read once however many wheels are checked."""
    key = (Path(root).resolve(), arch.machine if arch else "", python)
    if key not in _SYSROOTS:
        _SYSROOTS[key] = Sysroot(root, arch, python)
    return _SYSROOTS[key]


#: parsed sysroot files for this run, by (device, inode, size, mtime)
_PARSED: dict[tuple[int, int, int, int], ElfInfo | None] = {}


def _cached(real: Path, path: str, arch: Arch | None) -> Loaded | None:
    try:
        st = real.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in _PARSED:
            with real.open("rb") as stream:
                magic = stream.read(4)
                stream.seek(0)
                _PARSED[key] = read_elf(stream, st.st_size, symbols=True) \
                    if magic == b"\x7fELF" else None
        info = _PARSED[key]
    except (OSError, ElfUnreadable):
        return None  # ld.so skips what it cannot read, too
    if info is None or (arch is not None and info.facts != arch.elf):
        return None  # another class or machine (a lib32 copy): the loader skips it
    return Loaded(posixpath.basename(path), info, host_path=path)


def _expand(entry: str, origin: str) -> str | None:
    """A search path entry with ``$ORIGIN`` replaced; None if it uses other tokens."""
    if origin_relative(entry):
        rest = entry.split("}", 1)[1] if entry.startswith("${") else entry[len("$ORIGIN"):]
        return posixpath.join(origin, rest.lstrip("/")) if rest.strip("/") else origin
    return None if "$" in entry else entry


def _find(name: str, requester: Loaded, rpaths: list[Loaded], sysroot: Sysroot | None,
          wheel: dict[str, Loaded]) -> Loaded | None:
    """The object ld.so opens for ``DT_NEEDED`` *name* of *requester*, or None."""
    if "/" in name:
        return None  # a path: relative to the process's directory, or absolute
    searched: list[tuple[Loaded, str]] = []
    if not requester.info.runpath:
        searched += [(obj, e) for obj in (requester, *rpaths) for e in obj.info.rpath]
    searched += [(requester, e) for e in requester.info.runpath]
    for owner, entry in searched:
        directory = _expand(entry, owner.directory)
        if directory is None:
            continue
        if owner.wheel_path and origin_relative(entry):
            found = wheel.get(posixpath.normpath(posixpath.join(directory, name)))
            if found is not None:
                return found
        elif sysroot is not None and directory.startswith("/"):  # relative: to the cwd
            found = sysroot.load(posixpath.join(directory, name))
            if found is not None:
                return found
    if sysroot is not None:
        for directory in sysroot.search_dirs():
            found = sysroot.load(posixpath.join(directory, name))
            if found is not None:
                return found
    return None


def closure(root: Loaded, sysroot: Sysroot | None, wheel: dict[str, Loaded],
            loaded: dict[str, Loaded], findings: list[Finding]) -> list[Loaded]:
    """*root* and everything it loads, breadth first (ld.so's order), into *loaded*
    (name -> object). Libraries that cannot be found become findings."""
    order = [root]
    rpaths: dict[int, list[Loaded]] = {id(root): []}
    depth = {id(root): 0}
    for obj in order:
        if depth[id(obj)] > _MAX_DEPTH:
            break
        inherited = [obj, *rpaths[id(obj)]] if obj.info.rpath and not obj.info.runpath \
            else rpaths[id(obj)]
        for name in obj.info.needed:
            if name in loaded:
                continue
            found = _find(name, obj, rpaths[id(obj)], sysroot, wheel)
            if found is None:
                findings.append(_missing(root, obj, name, sysroot))
                continue
            loaded[name] = found
            if found.info.soname:
                loaded.setdefault(found.info.soname, found)
            if all(found is not seen for seen in order):
                order.append(found)
                rpaths[id(found)] = inherited
                depth[id(found)] = depth[id(obj)] + 1
    return order


def _missing(root: Loaded, obj: Loaded, name: str, sysroot: Sysroot | None) -> Finding:
    member = root.label
    via = "" if obj is root else f" (needed by {obj.label})"
    outside = [e for e in obj.info.runpath + obj.info.rpath if origin_relative(e)]
    where = f"the wheel ({', '.join(outside)}) or " if outside else ""
    if "/" in name:
        return member, "needed-not-found", (
            f"DT_NEEDED {name!r}{via} is a path, which the host resolves against the current "
            "directory or its own root; link the library by its SONAME")
    host = f"the host sysroot {sysroot.root}" if sysroot else "the host"
    return member, "needed-not-found", (
        f"needs {name}{via}, which is in neither {where}{host}; install it into the "
        "sysroot (crossenv provision --package ...) or bundle it with `crossenv repair`")


def _defines(obj: Loaded, ref: Reference) -> bool:
    symbols = obj.info.symbols
    versions = symbols.defined.get(ref.name) if symbols is not None else None
    if not versions:
        return False
    if not ref.version:
        return True
    return ref.version in versions or (not symbols.version_defs and "" in versions)


def _highest(versions: Iterable[str], prefix: str) -> str:
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(p) if p.isdigit() else -1 for p in version[len(prefix):].split("."))
    same = [v for v in versions if v.startswith(prefix) and v[len(prefix):][:1].isdigit()]
    return max(same, key=key) if same else "none"


def _listed(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def bind(obj: Loaded, scope: list[Loaded], loaded: dict[str, Loaded],
         python_known: bool) -> list[Finding]:
    """Whether every version *obj* needs exists and every symbol binds in *scope*."""
    symbols = obj.info.symbols
    if symbols is None:
        return []
    findings: list[Finding] = []
    failed: set[tuple[str, str]] = set()
    for library, versions in symbols.version_needs.items():
        target = loaded.get(library)
        if target is None or target.info.symbols is None:
            continue  # not found at all: reported by closure()
        defined = target.info.symbols.version_defs
        for version, weak in sorted(versions.items()):
            if weak or version in defined:
                continue
            failed.add((library, version))
            users = [r.name for r in symbols.undefined
                     if r.version == version and r.library == library]
            prefix = version.rsplit("_", 1)[0] + "_" if "_" in version else version
            where = target.host_path or target.wheel_path
            findings.append((obj.label, "symbol-version", (
                f"needs {version} of {library} (for {_listed(users) or 'no symbol'}) but the "
                f"host's {library} ({where}) defines at most {_highest(defined, prefix)}; "
                "build against the host's sysroot (or an older one), or avoid those symbols")))
    unbound: list[str] = []
    atomics: list[str] = []
    links_atomic = any(n.startswith("libatomic") for n in obj.info.needed)
    for ref in symbols.undefined:
        if ref.weak or (ref.library, ref.version) in failed:
            continue
        if ref.name.startswith("__atomic_") and not links_atomic:
            atomics.append(ref.name)
            continue
        if any(o is not obj and _defines(o, ref) for o in scope):
            continue
        if not python_known and ref.name.startswith(("Py", "_Py")):
            continue  # no host interpreter to read: its C API is assumed
        unbound.append(f"{ref.name}@{ref.version}" if ref.version else ref.name)
    if atomics:
        findings.append(atomic_finding(obj.label, atomics))
    if unbound:
        findings.append((obj.label, "symbol-undefined", (
            f"{len(unbound)} undefined symbol{'s' * (len(unbound) != 1)} that no library it "
            f"loads on the host defines ({_listed(unbound)}); the import fails with "
            "'undefined symbol': link the library that defines them, or build against the "
            "host's sysroot")))
    return findings


def atomic_finding(member: str, names: list[str]) -> Finding:
    return member, "libatomic", (
        f"calls {_listed(names)}, which only libatomic defines, but does not link it "
        "(no libatomic in DT_NEEDED); link with -latomic (e.g. LDFLAGS=-latomic)")


def check_objects(members: dict[str, ElfInfo], sysroot: Sysroot | None) -> list[Finding]:
    """Load every ELF member of a wheel as the host would (see the module docstring).

    Extensions and libraries are loaded on top of the interpreter's scope; an object's
    symbols are bound in the scope of the first extension that loads it (or its own).
    """
    arch = sysroot.arch if sysroot is not None else None
    # another machine's file is the tag's problem (check's "target"), not the loader's
    wheel = {installed_path(m): Loaded(m, info, wheel_path=installed_path(m))
             for m, info in members.items() if info.elf_type in ("ET_DYN", "ET_EXEC")
             and (arch is None or info.facts == arch.elf)}
    base: list[Loaded] = []
    base_loaded: dict[str, Loaded] = {}
    findings: list[Finding] = []
    python_known = False
    if sysroot is not None:
        base, base_loaded, interp_findings = sysroot.scope()
        python_known = bool(base)
        findings += [("", code, f"the host interpreter: {msg}")
                     for _, code, msg in interp_findings[:1]]
    # extensions first: their scope is the one that matters for the libraries they load
    order = sorted(wheel.values(), key=lambda o: not o.info.exports_pyinit)
    bound: set[int] = set()
    for obj in order:
        if id(obj) in bound:
            continue
        executable = bool(obj.info.interp)
        loaded = {} if executable else dict(base_loaded)
        before = len(findings)
        objects = closure(obj, sysroot, wheel, loaded, findings)
        missing = len(findings) > before  # then ld.so stops before binding anything
        scope = objects if executable else [*base, *objects]
        for member in objects:
            if member.wheel_path and id(member) not in bound:
                bound.add(id(member))
                if not missing:
                    findings += bind(member, scope, loaded, python_known or executable)
    return list(dict.fromkeys(findings))


def policy_findings(members: dict[str, ElfInfo], allowed: frozenset[str],
                    policy: str) -> list[Finding]:
    """Without a sysroot: each DT_NEEDED is promised by the policy or shipped."""
    wheel = {installed_path(m): Loaded(m, info, wheel_path=installed_path(m))
             for m, info in members.items()}
    findings: list[Finding] = []
    for obj in wheel.values():
        for name in obj.info.needed:
            if name in allowed or _LIBPYTHON_RE.match(name) or _INTERPRETER_RE.fullmatch(name):
                continue  # libpython has its own problem code (check's "libpython")
            if _find(name, obj, [], None, wheel) is not None:
                continue
            findings.append((obj.label, "needed-policy", (
                f"needs {name}, which {policy} does not promise on the host and the wheel "
                "does not ship; bundle it with `crossenv repair` (or link it statically)")))
    return findings
