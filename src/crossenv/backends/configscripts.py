"""Library ``*-config`` programs (``curl-config``, ``pg_config``...) answer for the host.

pycurl's setup.py runs ``curl-config``, psycopg2's ``pg_config``, lxml's
``xml2-config``: on a build machine without the library's -dev package the
program is missing, and where the build machine has one it answers for itself
(``-I/usr/include/x86_64-linux-gnu``, its own version and features). pkg-config
is pointed at the sysroot by variables (:mod:`.pkgconfig`); these programs have
no such variable, so each name in :data:`SCRIPTS` (and each ``*-config`` the
sysroot's ``usr/bin`` holds at creation) gets a ``/bin/sh`` dispatcher in
``ENV/cross/crossenv/config-bin``, which cross-python puts first on ``PATH``
(:data:`VAR`; removed again for native build-requirement installs). The
dispatcher runs the runtime's ``_crossenv_configscripts`` with the build
interpreter: the sysroot's program with its paths moved into the sysroot, or
one line naming the package to add -- never the build machine's program.

One dispatcher per known name is written at creation, and the sysroot is
searched at each run, so a script added to the sysroot afterwards is found.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from .. import apt, provision, quoting, releases, templates
from ..errors import CrossenvError
from ..host import HostDescription
from ..model import Layout
from ._protocol import EXECUTABLE, TEXT, Files, Inputs, Place
from ._shared import qemu_command

DIR_NAME = "config-bin"
SETTINGS_NAME = "config-scripts.json"
RUNTIME = "_crossenv_configscripts.py"
#: the dispatchers' directory; cross-python puts it first on PATH
VAR = "CROSSENV_CONFIG_SCRIPTS"


@dataclasses.dataclass(frozen=True)
class Script:
    """What to say when the sysroot lacks a ``*-config`` program."""

    package: str  #: the Debian package that ships it
    #: set when Debian (bookworm) no longer ships the program: the pkg-config module to ask
    instead: str | None = None


#: Library ``*-config`` programs Python builds run, by name. Checked against the
#: bookworm .debs: shell scripts, except ``pg_config`` (Perl) and ``mariadb_config``
#: (an ELF program; ``mysql_config`` links to it). This table is the one owner of
#: these facts; the host's ``python3-config`` rows are added by :func:`scripts`.
SCRIPTS: Mapping[str, Script] = {
    "curl-config": Script("libcurl4-openssl-dev"),
    "pg_config": Script("libpq-dev"),
    "mysql_config": Script("libmariadb-dev-compat"),
    "mariadb_config": Script("libmariadb-dev"),
    "mariadb-config": Script("libmariadb-dev"),
    "xml2-config": Script("libxml2-dev"),
    "xslt-config": Script("libxslt1-dev"),
    "freetype-config": Script("libfreetype-dev", instead="freetype2"),
    "ncursesw6-config": Script("libncurses-dev"),
    "ncurses6-config": Script("libncurses-dev"),
    "ncursesw5-config": Script("libncurses-dev"),
    "ncurses5-config": Script("libncurses-dev"),
    "gpgme-config": Script("libgpgme-dev", instead="gpgme"),
    "gpgrt-config": Script("libgpg-error-dev"),
    "libgcrypt-config": Script("libgcrypt20-dev"),
    "libassuan-config": Script("libassuan-dev"),
    "libpng-config": Script("libpng-dev"),
    "libpng16-config": Script("libpng-dev"),
    "pcap-config": Script("libpcap0.8-dev"),
    "net-snmp-config": Script("libsnmp-dev"),
    "icu-config": Script("libicu-dev", instead="icu-uc"),
    "gdal-config": Script("libgdal-dev"),
    "geos-config": Script("libgeos-dev"),
    "nc-config": Script("libnetcdf-dev"),
    "gsl-config": Script("libgsl-dev"),
    "sdl2-config": Script("libsdl2-dev"),
    "sdl-config": Script("libsdl1.2-dev"),
    "cups-config": Script("libcups2-dev"),
    "nspr-config": Script("libnspr4-dev"),
    "nss-config": Script("libnss3-dev"),
    "pcre-config": Script("libpcre3-dev"),
    "pcre2-config": Script("libpcre2-dev"),
    "apr-1-config": Script("libapr1-dev"),
    "apu-1-config": Script("libaprutil1-dev"),
    "taglib-config": Script("libtag1-dev"),
    "xmlsec1-config": Script("libxmlsec1-dev"),
    "fltk-config": Script("libfltk1.3-dev"),
    "caca-config": Script("libcaca-dev"),
}

#: a sysroot ``usr/bin`` name that gets a dispatcher too (``*-config``/``*_config``,
#: not pkg-config itself); names come from the sysroot, so only plain file names
_FOUND = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,80}[-_]config", re.ASCII)
MAX_FOUND = 500


def scripts(host: HostDescription) -> dict[str, Script]:
    """:data:`SCRIPTS` plus ``python3-config``/``python3.X-config`` for the host's X.Y."""
    version = host.version_str
    python = Script(f"libpython{version}-dev")
    return {**SCRIPTS, "python3-config": python, f"python{version}-config": python}


def candidates(name: str, host: HostDescription) -> list[str]:
    """Where a sysroot may hold *name*, relative to it, best first (Debian's multiarch
    name, then the plain one); ``python3-config`` falls back to ``python3.X-config``."""
    names = [name]
    if name == "python3-config":
        names.append(f"python{host.version_str}-config")
    out: list[str] = []
    for each in names:
        if host.multiarch:
            out.append(f"usr/bin/{host.multiarch}-{each}")
        out += [f"usr/bin/{each}", f"bin/{each}", f"usr/local/bin/{each}"]
    return out


def found_in_sysroot(host: HostDescription) -> list[str]:
    """``*-config`` names the sysroot's ``usr/bin`` has now (its multiarch prefix
    dropped: ``aarch64-linux-gnu-fltk-config`` is ``fltk-config``)."""
    if host.sysroot is None:
        return []
    try:
        entries = sorted(p.name for p in (host.sysroot / "usr" / "bin").iterdir())
    except OSError:
        return []
    prefix = f"{host.multiarch}-" if host.multiarch else None
    names: list[str] = []
    for entry in entries[:20000]:
        name = entry[len(prefix):] if prefix and entry.startswith(prefix) else entry
        if _FOUND.fullmatch(name) and not name.endswith("pkg-config") and name not in names:
            names.append(name)
            if len(names) >= MAX_FOUND:
                break
    return names


def provision_command(host: HostDescription, package: str) -> str | None:
    """``crossenv provision ...`` for a sysroot like the host's with *package* added: the
    release, Python and packages of its manifest (a crossenv sysroot), else the arch."""
    arch = host.arch.debian if host.arch and host.arch.debian else None
    if arch is None:
        return None
    words = ["crossenv", "provision", "--arch", arch]
    manifest = _manifest(host.sysroot) if host.sysroot else None
    if manifest is not None:
        suite, python, requested = manifest
        try:
            defaults = set(releases.default_packages(releases.by_suite(suite), python))
        except CrossenvError:
            defaults = set()
        words += ["--release", suite, "--python", python]
        for spec in requested:
            if spec not in defaults and spec != package:
                words += ["--package", spec]
    words += ["--package", package]
    return " ".join(shlex.quote(w) for w in words)


def _manifest(root: Path) -> tuple[str, str, list[str]] | None:
    """(release, python X.Y, requested packages) of a crossenv sysroot's manifest, each
    checked (it is the sysroot's file); None for any other sysroot."""
    try:
        data = json.loads((root / provision.MANIFEST_NAME).read_text(encoding="utf-8"))
        suite, python, requested = data["release"], data["python_version"], data["requested"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(suite, str) and isinstance(python, str) and isinstance(requested, list)
            and re.fullmatch(r"[a-z]+", suite) and re.fullmatch(r"3\.\d+", python)):
        return None
    try:
        specs = [s for s in requested if isinstance(s, str) and apt.parse_package(s)]
    except CrossenvError:
        return None
    return suite, python, specs


def missing_message(name: str, script: Script | None, host: HostDescription) -> str:
    """The line a dispatcher prints (after ``crossenv: NAME: ``) when the sysroot has no
    *name*."""
    if host.sysroot is None:
        where = (f"this environment has no sysroot (the build machine's {name} would answer "
                 "for the build machine)")
    else:
        where = f"the sysroot {host.sysroot} has no {name}"
    if script is None:
        return f"{where}; add the Debian package that ships it"
    if script.instead is not None:
        return (f"{where}, and Debian's {script.package} no longer ships it: ask pkg-config "
                f"for {script.instead} (it answers for the host)")
    command = provision_command(host, script.package)
    if command is None:
        return f"{where}; add Debian's {script.package} to it"
    return (f"{where}; `{command}` makes one with Debian's {script.package}: create the "
            "environment again from it")


def settings(layout: Layout, host: HostDescription) -> dict[str, object]:
    """What the runtime reads (``config-scripts.json``): final paths only."""
    known = scripts(host)
    names = [*known, *(n for n in found_in_sysroot(host) if n not in known)]
    return {
        "sysroot": str(host.sysroot) if host.sysroot else None,
        "bin_dir": str(layout.crossenv_dir / DIR_NAME),
        "emulator": qemu_command(host),
        "scripts": {name: {"candidates": candidates(name, host),
                           "missing": missing_message(name, known.get(name), host)}
                    for name in names},
    }


def render(name: str, layout: Layout) -> str:
    """One dispatcher: the build interpreter runs the runtime file for *name*."""
    words = [str(layout.build_python), "-I", "-S", str(layout.cross_site / RUNTIME),
             str(layout.crossenv_dir / SETTINGS_NAME), name]
    return templates.fill("config-script.sh", name=templates.Raw(name),
                          command=templates.Raw(quoting.shell_join(words)))


def files(target: Inputs, place: Place) -> Files:
    """``config-bin/NAME`` per name and ``config-scripts.json``."""
    layout = place.env_layout("the config-script dispatchers")
    config = settings(layout, target.host)
    out: Files = {f"{DIR_NAME}/{name}": (render(name, layout), EXECUTABLE)
                  for name in config["scripts"]}  # type: ignore[attr-defined]
    out[SETTINGS_NAME] = (json.dumps(config, indent=2) + "\n", TEXT)
    return out


def env(target: Inputs, place: Place) -> dict[str, str]:
    """:data:`VAR`: the dispatchers' directory, first on cross-python's PATH."""
    return {VAR: str(place.directory / DIR_NAME)}

