"""apt's configured sources, read and moved to another Debian release.

crossenv provisions from whatever archive the build machine's apt uses, so mirrors,
proxies and keys keep working and no archive host is written down anywhere. A release
other than the machine's own is reached by rewriting those sources with only the suite
names changed (``bookworm`` -> ``trixie``, ``bookworm-security`` -> ``trixie-security``).
The parsing and rewriting are pure (unit- and property-tested, no apt run); the private
apt that uses them is crossenv.apt's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from . import _proc
from .errors import ProvisionError
from .releases import Release


def os_codename(os_release: Path = Path("/etc/os-release")) -> str:
    """Return the build machine's release codename: the suite its apt sources name."""
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, flags=re.MULTILINE))
    return fields.get("VERSION_CODENAME") or fields.get("VERSION_ID") or "unknown"


@dataclasses.dataclass(frozen=True)
class Source:
    """One ``deb`` source entry: where, which suites and components, and its options.

    ``options`` keeps the deb822 field names and raw values (a ``Signed-By`` may be
    an embedded multi-line key), so an entry is written back as it was read.
    """

    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()


_LIST_OPTIONS = {"signed-by": "Signed-By", "trusted": "Trusted",
                 "check-valid-until": "Check-Valid-Until", "allow-insecure": "Allow-Insecure",
                 "allow-weak": "Allow-Weak", "allow-downgrade-to-insecure":
                 "Allow-Downgrade-To-Insecure", "by-hash": "By-Hash"}
# Fields that rewriting sets itself, or that name the machine's architecture.
_DROPPED = {"types", "uris", "suites", "components", "architectures", "enabled"}


def parse_list(text: str) -> list[Source]:
    """The ``deb`` entries of a one-line-style ``sources.list``."""
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)", line)
        if not match:
            continue
        options = []
        for word in (match.group(1) or "").split():
            key, _, value = word.partition("=")
            if key.lower() in _LIST_OPTIONS:
                options.append((_LIST_OPTIONS[key.lower()], value.replace(",", " ")))
        found.append(Source((match.group(2),), (match.group(3),), tuple(match.group(4).split()),
                            tuple(options)))
    return found


def parse_deb822(text: str) -> list[Source]:
    """The ``deb`` entries of a deb822 ``.sources`` file (disabled ones left out)."""
    found = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        name = ""
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and name:
                fields[name] += "\n" + line
            elif ":" in line:
                name, _, value = line.partition(":")
                name = name.strip()
                fields[name] = value.strip()
        lower = {k.lower(): v for k, v in fields.items()}
        if "deb" not in lower.get("types", "").split() or \
                lower.get("enabled", "yes").strip().lower() == "no":
            continue
        options = tuple((k, v) for k, v in fields.items() if k.lower() not in _DROPPED)
        found.append(Source(tuple(lower.get("uris", "").split()),
                            tuple(lower.get("suites", "").split()),
                            tuple(lower.get("components", "").split()), options))
    return found


def retarget(sources: Iterable[Source], base: str, release: Release) -> list[Source]:
    """The entries of the machine's release ``base`` moved to ``release``.

    ``base`` becomes the release's suite and ``base-updates``/``base-security`` its
    pockets of the same name; other suites (third-party repositories, pockets the
    release lacks) are left out: they do not serve that release.
    """
    moved = []
    for source in sources:
        suites = []
        for suite in source.suites:
            if suite == base:
                suites.append(release.suite)
            elif suite.startswith(base + "-") and suite[len(base):] in release.pockets:
                suites.append(release.suite + suite[len(base):])
        if suites and source.uris:
            moved.append(dataclasses.replace(source, suites=tuple(dict.fromkeys(suites))))
    return moved


def render_deb822(sources: Iterable[Source]) -> str:
    """Write entries as one deb822 ``.sources`` file."""
    stanzas = []
    for source in sources:
        lines = ["Types: deb", f"URIs: {' '.join(source.uris)}",
                 f"Suites: {' '.join(source.suites)}"]
        if source.components:
            lines.append(f"Components: {' '.join(source.components)}")
        lines += [f"{key}: {value}" for key, value in source.options]
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def configured_sources() -> tuple[str, str]:
    """Return apt's configured source list file and directory (either may be absent)."""
    out = _proc.run(
        ["apt-config", "shell", "L", "Dir::Etc::SourceList/f", "D", "Dir::Etc::SourceParts/d"],
        check=False, error=ProvisionError).stdout
    values = dict(re.findall(r"^(\w)='(.*)'$", out, flags=re.MULTILINE))
    source_list = values.get("L", "/etc/apt/sources.list")
    source_parts = values.get("D", "/etc/apt/sources.list.d/")
    parts = Path(source_parts)
    has_parts = parts.is_dir() and any(
        p.suffix in (".list", ".sources") for p in parts.iterdir())
    if not Path(source_list).is_file() and not has_parts:
        raise ProvisionError(f"apt has no package sources ({source_list} and "
                             f"{source_parts} are empty); configure a Debian archive first")
    return source_list, source_parts


def read_sources(source_list: str, source_parts: str) -> list[Source]:
    """Every ``deb`` entry apt reads from its configured files."""
    found: list[Source] = []
    files = [Path(source_list)]
    parts = Path(source_parts)
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        found += parse_deb822(text) if path.suffix == ".sources" else parse_list(text)
    return found
