"""apt with private state, for any Debian architecture and release, without root.

Provisioning only resolves and downloads: apt runs with its own state and cache
directories and the wanted architecture as its only (native) one, so the machine's
dpkg database and package lists are never read or written. The archive is the
machine's: its configured sources are reused with only the suite name replaced
(``bookworm`` -> ``trixie``, ``bookworm-security`` -> ``trixie-security``, see
crossenv.aptsources), so mirrors, proxies and keys keep working and no archive host is
written down here. What is here runs apt: bounded in time and disk, and a version the
mirror indexed but did not serve taken from another pocket.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import unquote

from . import _proc, log
from ._proc import Result
from .aptsources import configured_sources, os_codename, read_sources, render_deb822, retarget
from .errors import ProvisionError
from .releases import Release


class PoolLagError(ProvisionError):
    """The release's index names a package version its pool does not serve (a mirror
    whose pool lags its index): another release that ships the same Python may do."""

    def __init__(self, message: str, package: str, version: str) -> None:
        super().__init__(message)
        self.package = package
        self.version = version


_log = logging.getLogger(__name__)

# Needed only by maintainer scripts, which never run in a sysroot. Dropping them (and
# what only they pull in) saves most of perl. A package asked for by name is kept.
SKIPPED_DEPENDENCIES: tuple[str, ...] = (
    "dpkg", "tar", "install-info", "perl", "perl-base", "perl-modules-*", "libperl*",
    "debconf", "cdebconf", "debconf-*", "debianutils", "init-system-helpers",
    "sensible-utils", "ucf", "adduser", "passwd", "lsb-base", "sysvinit-utils",
)


# Debian policy 5.6.1: at least two characters, lowercase letters, digits, "+", "-", ".",
# starting with a letter or digit. A version (5.6.12) and an architecture may follow, as
# apt takes them; nothing starting with "-" can pass, so no value reaches apt as an option.
_PACKAGE_SPEC = re.compile(r"(?P<name>[a-z0-9][a-z0-9+.-]+)(?::(?P<arch>[a-z0-9][a-z0-9-]*))?"
                           r"(?:=(?P<version>(?:[0-9]+:)?[0-9A-Za-z][A-Za-z0-9.+~-]*"
                           r"(?::[A-Za-z0-9.+~-]+)*))?")

#: seconds without progress before one apt call is given up (apt's own per-connection
#: timeout), and for the whole call (CROSSENV_APT_TIMEOUT); a full disk is noticed sooner
CONNECT_TIMEOUT = 30
_TOTAL_TIMEOUT = 1800
_LOW_SPACE = 1 << 20


def parse_package(spec: str, arch: str | None = None) -> tuple[str, str | None]:
    """Split ``name[:arch][=version]`` into the name and its version (or None).

    A value that is not a Debian package name is refused with one line: the names are
    passed to apt, and one such as ``-c/etc/passwd`` would be read as an option.
    ``:arch`` must name the sysroot's own architecture (or ``all``).
    """
    match = _PACKAGE_SPEC.fullmatch(spec)
    if match is None:
        raise ProvisionError(
            f"invalid --package {spec!r}: not a Debian package name (2 or more of a-z 0-9 "
            "+ - ., starting with a letter or digit), optionally followed by :ARCH or "
            "=VERSION")
    if match["arch"] and arch is not None and match["arch"] not in (arch, "all"):
        raise ProvisionError(f"--package {spec!r} names architecture {match['arch']}, but "
                             f"the sysroot is {arch}; leave out :{match['arch']}")
    return match["name"], match["version"]


def disk_full(path: Path, output: str = "") -> str | None:
    """One line saying the file system of ``path`` is full, if it is (or ``output``
    says so); None otherwise."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return None
    if free >= _LOW_SPACE and "No space left on device" not in output:
        return None
    return (f"no space left on the file system of {path} ({free >> 20} MiB free); free "
            "some space, or provision elsewhere (give DEST, or set XDG_CACHE_HOME)")


def run_bounded(argv: Sequence[str], *, what: str, watch: Path, cwd: Path | None = None,
                timeout: float | None = None,
                on_line: Callable[[str], None] | None = None,
                env: dict[str, str] | None = None) -> Result:
    """Run ``argv`` in its own process group, bounded in time and by free space.

    apt-get blocks for ever when the disk fills up under it and waits on a dead
    network for minutes, and its download methods are processes of their own. So the
    group is killed (and reaped) when the file system of ``watch`` fills up, when
    ``timeout`` passes, and on any exception here, such as the KeyboardInterrupt a
    SIGINT/SIGTERM becomes: nothing writes into a directory after it is removed.
    ``on_line`` sees each line of stdout as it comes (the download progress).
    """
    if timeout is None:
        timeout = float(os.environ.get("CROSSENV_APT_TIMEOUT") or _TOTAL_TIMEOUT)
    limit = timeout
    waited = [0.0]

    def guard() -> None:  # called about every second (_proc.POLL)
        waited[0] += _proc.POLL
        full = disk_full(watch)
        if full is not None:
            raise ProvisionError(f"{what}: {full}")
        if waited[0] >= limit:
            raise ProvisionError(
                f"{what} did not finish in {int(limit)} s (no network, or a proxy "
                "that does not answer?); check apt's sources, or set "
                "CROSSENV_APT_TIMEOUT to a number of seconds")

    result = _proc.run(argv, cwd=cwd, env=env, check=False, error=ProvisionError, guard=guard,
                       new_session=True, on_line=on_line)
    if result.returncode != 0:
        full = disk_full(watch, result.stderr)
        if full is not None:
            raise ProvisionError(f"{what}: {full}")
    return result


class Apt:
    """apt-get/apt-cache with private state, so resolving a foreign arch needs no root.

    Every call gets ``Dir::State``/``Dir::Cache`` under ``workdir`` and ``arch`` as
    the only (native) architecture. With a ``release`` other than the machine's own,
    the sources are the configured ones retargeted to it (see :func:`retarget`).
    """

    def __init__(self, arch: str, workdir: Path, release: Release | None = None) -> None:
        self.arch = arch
        self.workdir = workdir
        self.release = release
        for tool in ("apt-get", "apt-cache", "apt-config"):
            if shutil.which(tool) is None:
                raise ProvisionError(f"{tool} not found; provisioning a sysroot needs a "
                                     "Debian-based build machine with apt installed")
        (workdir / "state" / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (workdir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (workdir / "state" / "status").touch()
        # package -> the version the index named but the mirror lacked, and the one used
        self.fallbacks: dict[str, dict[str, str]] = {}
        source_list, source_parts = self._sources(*configured_sources())
        user = "root" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.options = [
            f"Dir::State={workdir / 'state'}",
            f"Dir::State::status={workdir / 'state' / 'status'}",
            f"Dir::Cache={workdir / 'cache'}",
            f"Dir::Etc::SourceList={source_list}",
            f"Dir::Etc::SourceParts={source_parts}",
            f"APT::Architecture={self.arch}",
            f"APT::Architectures::={self.arch}",
            "Debug::NoLocking=1",
            # a connection that stops answering fails this fetch instead of hanging
            f"Acquire::http::Timeout={CONNECT_TIMEOUT}",
            f"Acquire::https::Timeout={CONNECT_TIMEOUT}",
            f"Acquire::ftp::Timeout={CONNECT_TIMEOUT}",
            # apt drops to _apt to download; that user cannot write to our workdir.
            f"APT::Sandbox::User={user}",
        ]

    def _sources(self, source_list: str, source_parts: str) -> tuple[str, str]:
        """The configured sources, or private ones naming ``self.release``'s suites."""
        base = os_codename()
        if self.release is None:
            return source_list, source_parts
        moved = retarget(read_sources(source_list, source_parts), base, self.release)
        if not moved:
            if self.release.suite == base:
                return source_list, source_parts
            raise ProvisionError(
                f"apt's sources name no Debian suite {base!r} to switch to "
                f"{self.release.suite}; add a Debian {base} source to /etc/apt/sources.list.d")
        parts = self.workdir / "sources.list.d"
        parts.mkdir(exist_ok=True)
        (parts / "crossenv.sources").write_text(render_deb822(moved), encoding="utf-8")
        (self.workdir / "sources.list").write_text("", encoding="utf-8")
        return str(self.workdir / "sources.list"), str(parts) + "/"

    def run(self, tool: str, *args: str, cwd: Path | None = None, check: bool = True,
            on_line: Callable[[str], None] | None = None) -> str:
        """Run an apt tool with the private options; raise with apt's own error line."""
        options = [word for option in self.options for word in ("-o", option)]
        verb = next((a for a in args if not a.startswith("-")), tool)
        # apt's gpgv method and apt-key write apt.conf.*, apt.data.* and gpghome dirs to
        # TMPDIR; a killed group leaves them behind, so they go to our own directory
        tmp = self.workdir / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            proc = run_bounded([tool, *options, *args], cwd=cwd, watch=self.workdir,
                               what=f"{tool} {verb} for {self._what()}", on_line=on_line,
                               env={**os.environ, "TMPDIR": str(tmp)})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if proc.returncode != 0 and check:
            raise ProvisionError(f"{tool} {verb} for {self._what()} failed: {last_error(proc)}")
        self.last = proc
        return proc.stdout

    def _what(self) -> str:
        return f"{self.arch} ({self.release.suite})" if self.release else self.arch

    def update(self) -> list[str]:
        """Download the package lists of the configured sources; return the ones skipped.

        A mirror in mid-sync (or a stale proxy) can serve one index that does not match
        its Release file. apt then keeps the others; so do we, after one retry, rather
        than fail the whole sysroot. Nothing fetched at all is still an error.
        """
        for _ in range(2):
            self.run("apt-get", "-q", "update", check=False)
            if self.last.returncode == 0:
                return []
        if not any((self.workdir / "state" / "lists").glob("*_Packages*")):
            raise ProvisionError(f"apt-get update for {self._what()} failed: "
                                 f"{last_error(self.last)}")
        skipped = [ln.split()[4] for ln in self.last.stderr.splitlines()
                   if ln.startswith("E: Failed to fetch") and len(ln.split()) > 4]
        _log.warning("could not fetch %s; continuing without them",
                     ", ".join(skipped) or "some package lists")
        return skipped

    def depends(self, packages: Iterable[str]) -> dict[str, list[list[str]]]:
        """Return the hard dependencies of ``packages`` and all they need, recursively.

        Each package maps to groups of alternatives; virtual packages are replaced by
        their providers. Unknown names are left out (apt-cache drops them silently when
        given several). One recursive call is much faster than one call per level.
        """
        flags = ["--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                 "--no-replaces", "--no-enhances"]
        result: dict[str, list[list[str]]] = {}
        groups: list[list[str]] = []
        pending_alternative = False
        for line in self.run("apt-cache", "depends", *flags, "--", *packages).splitlines():
            if not line.startswith(" "):
                groups = result.setdefault(line.split(":")[0], []) if line[:1] != "<" else []
                pending_alternative = False
            elif line.startswith("    "):  # a provider of the virtual package above
                if groups:
                    groups[-1].append(line.strip().split(":")[0])
            else:
                kind, _, name = line.strip().partition(" ")
                if not kind.lstrip("|").endswith("Depends:"):
                    continue
                name = name.split(":")[0]
                alternative = [] if name.startswith("<") else [name]
                if pending_alternative:
                    groups[-1].extend(alternative)
                else:
                    groups.append(alternative)
                pending_alternative = kind.startswith("|")
        return result

    def closure(self, requested: Sequence[str],
                skipped: Iterable[str] = SKIPPED_DEPENDENCIES) -> list[str]:
        """Resolve ``requested`` and everything it needs, leaving out ``skipped`` names
        (fnmatch patterns) unless asked for by name."""
        import fnmatch

        patterns = tuple(skipped)
        graph = self.depends(requested)
        missing = [p for p in requested if p not in graph]
        if missing:
            raise ProvisionError(f"package(s) not found for {self._what()}: "
                                 f"{', '.join(missing)}; check the names with apt-cache search")
        chosen: set[str] = set()
        todo = list(dict.fromkeys(requested))
        while todo:
            package = todo.pop()
            if package in chosen or package not in graph:
                continue
            chosen.add(package)
            for group in graph[package]:
                candidates = [p for p in group if p in requested or not any(
                    fnmatch.fnmatchcase(p, pattern) for pattern in patterns)]
                if candidates and not any(p in chosen or p in todo for p in candidates):
                    todo.append(candidates[0])
        return sorted(chosen)

    def download(self, packages: Sequence[str], into: Path) -> list[Path]:
        """Download the candidate ``.deb`` of each package into ``into``.

        A mirror can index an updates/security version whose pool file is missing
        (trixie-security's libzstd1 for s390x answered 404). Such a package is taken at
        the newest version another pocket of the release has, said in a warning and
        kept in :attr:`fallbacks` (name -> failed and used version) for the manifest.
        """
        into.mkdir(parents=True, exist_ok=True)
        self.fallbacks = {}
        what = f"downloading {len(packages)} packages for {self._what()}"
        log.info(what)
        with log.Progress(len(packages)) as bar:
            downloads = Downloads(what, len(packages), bar)
            self.run("apt-get", "-q", "download", "--", *packages, cwd=into, check=False,
                     on_line=downloads)
        log.info(f"downloaded {downloads.count} packages ({log.human_bytes(downloads.bytes)})")
        if self.last.returncode == 0:
            return sorted(into.glob("*.deb"))
        failed = failed_fetches(self.last.stderr)
        if not failed:
            raise ProvisionError(f"apt-get download for {self._what()} failed: "
                                 f"{last_error(self.last)}")
        for name, (version, url) in failed.items():
            more = f" ({len(failed) - 1} other packages failed too)" if len(failed) > 1 else ""
            indexed, used = self._fallback(name, version, url, more)
            self.fallbacks[name] = {"failed": indexed, "used": used}
        fetched = {deb.name.split("_", 1)[0] for deb in into.glob("*.deb")}
        retry = [p for p in packages if p not in fetched and p not in failed]
        retry += [f"{name}={v['used']}" for name, v in self.fallbacks.items()]
        self.run("apt-get", "-q", "download", "--", *retry, cwd=into)
        for name, versions in self.fallbacks.items():
            _log.warning("%s %s is indexed but not on the mirror; using %s %s from another "
                         "pocket of %s", name, versions["failed"], name, versions["used"],
                         self.release.suite if self.release else os_codename())
        return sorted(into.glob("*.deb"))

    def _fallback(self, name: str, version: str, url: str, more: str = "") -> tuple[str, str]:
        """The indexed and the newest other version of ``name``, when ``version`` (which
        ``url`` failed to fetch) comes from an updates/security pocket. A version only
        the release's own suite has cannot be replaced: nothing else is that release."""
        rows = parse_madison(self.run("apt-cache", "madison", "--", name))
        pockets = self.release.pockets if self.release else ("-updates", "-security")
        same = [(v, suite) for v, suite in rows if v.split(":", 1)[-1] == version]
        from_pocket = any(suite.endswith(pockets) for _, suite in same)
        others = [v for v, _ in rows if v not in {v for v, _ in same}]
        if not from_pocket:  # the release's own suite: nothing older to fall back to
            raise PoolLagError(
                f"cannot download {name} {version} for {self._what()}: {url} failed{more}; "
                "retry later (the mirror may be mid-sync) or choose another Debian release "
                "with --release", name, version)
        if not others:
            raise PoolLagError(
                f"cannot download {name} {version} for {self._what()}: {url} failed and no "
                f"other pocket has the package{more}; retry later (the mirror may be "
                "mid-sync) or choose another Debian release with --release", name, version)
        return same[0][0], others[0]  # apt-cache madison lists the newest first


class Downloads:
    """apt-get download's ``Get:N ... [SIZE]`` lines as packages k of n and bytes, on a
    :class:`crossenv.log.Progress` (a line redrawn on a terminal, nothing in a log)."""

    _GET = re.compile(r"Get:\d+ .*\[([0-9][0-9,.]*) ?([kMG]?B)\]\s*$")
    _UNITS = {"B": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}

    def __init__(self, what: str, total: int, bar: log.Progress) -> None:
        self.what, self.total, self.bar = what, total, bar
        self.count, self.bytes = 0, 0.0

    def __call__(self, line: str) -> None:
        match = self._GET.match(line)
        if match is None:
            return
        self.count += 1
        self.bytes += float(match[1].replace(",", "")) * self._UNITS[match[2]]
        self.bar.update(f"{self.what}: {self.count}/{self.total}, "
                        f"{log.human_bytes(self.bytes)}", done=self.count)


def failed_fetches(stderr: str) -> dict[str, tuple[str, str]]:
    """The ``.deb`` files apt could not fetch: package name -> (version, URL).

    The version is the file name's, which has no epoch.
    """
    found: dict[str, tuple[str, str]] = {}
    for line in stderr.splitlines():
        match = re.match(r"[EW]: (?:Failed|Unable) to fetch (\S+)", line)
        if match and match.group(1).endswith(".deb"):
            name, _, rest = unquote(match.group(1).rsplit("/", 1)[-1]).partition("_")
            found.setdefault(name, (rest.rsplit("_", 1)[0], match.group(1)))
    return found


def parse_madison(text: str) -> list[tuple[str, str]]:
    """``apt-cache madison`` rows as (version, suite), in apt's order (newest first)."""
    rows = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and len(where := fields[2].split()) >= 2:
            rows.append((fields[1], where[1].split("/")[0]))
    return rows


def last_error(proc: Result) -> str:
    """apt's last ``E:`` line (its summary), else its last line of output."""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("E:")]
    return (errors or proc.stderr.strip().splitlines() or ["no output"])[-1]
