"""The file name suffixes a host CPython imports extension modules by.

Before 3.15 a CPython on Linux imports ``EXT_SUFFIX`` (``.cpython-313-aarch64-linux-gnu.so``),
``.abi3.so`` and ``.so``. 3.15 adds (PEP 803, and the platform-specific stable-ABI
names that come with its ``SOABI_PLATFORM`` config var) ``.abi3-<platform>.so``,
``.abi3t.so`` and ``.abi3t-<platform>.so``; a free-threaded build imports no ``.abi3``
name. Debian's python3.15 for arm64 lists, in order: ``.cpython-315-aarch64-linux-gnu.so``,
``.abi3-aarch64-linux-gnu.so``, ``.abi3.so``, ``.abi3t-aarch64-linux-gnu.so``,
``.abi3t.so``, ``.so`` (its build-details.json). The build machine's interpreter
answers ``importlib.machinery.EXTENSION_SUFFIXES`` for itself only, so the host's
list is computed here from its version and config vars; check and build-details read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: the first CPython whose stable-ABI extensions may carry the platform (and abi3t)
PLATFORM_STABLE_ABI = (3, 15)


def extension_suffixes(version: tuple[int, int], ext_suffix: str, platform: str | None,
                       free_threaded: bool) -> list[str]:
    """A host CPython's import suffixes, best first, as its ``EXTENSION_SUFFIXES``."""
    found = [ext_suffix]
    if version >= PLATFORM_STABLE_ABI:
        stable = ("abi3t",) if free_threaded else ("abi3", "abi3t")
        for abi in stable:
            found += [f".{abi}-{platform}.so"] if platform else []
            found.append(f".{abi}.so")
    elif not free_threaded:
        found.append(".abi3.so")
    found.append(".so")
    return list(dict.fromkeys(found))


def for_config_vars(version: tuple[int, int], ext_suffix: str,
                    config_vars: Mapping[str, Any]) -> list[str]:
    """:func:`extension_suffixes` from a host's sysconfig variables."""
    platform = config_vars.get("SOABI_PLATFORM") or config_vars.get("MULTIARCH") or None
    return extension_suffixes(version, ext_suffix, platform if isinstance(platform, str) else None,
                              bool(config_vars.get("Py_GIL_DISABLED")))


def for_tag(interpreter: str, abi: str, platforms: Iterable[str]) -> set[str]:
    """The suffixes an extension in a wheel tagged ``interpreter-abi`` may have, for
    CPython on one of the multiarch ``platforms`` (``aarch64-linux-gnu``): what every
    interpreter the tag installs on imports (``.so`` left out); empty for a tag that fixes
    none (``none``, other implementations)."""
    if not interpreter.startswith("cp") or not interpreter[2:].isdigit():
        return set()
    digits = interpreter[2:]
    version = (int(digits[0]), int(digits[1:] or 0))
    found: set[str] = set()
    for platform in platforms:
        if abi.startswith("cp") or abi == "none":  # the one interpreter (315t: free-threaded)
            flags = abi[2:].lstrip("0123456789") if abi != "none" else ""
            specific = f".cpython-{abi[2:] if abi != 'none' else digits}-{platform}.so"
            found |= set(extension_suffixes(version, specific, platform, "t" in flags))
        elif abi == "abi3":  # cp39-abi3 installs on 3.9, which has no .abi3-<platform>.so
            found |= {".abi3.so", *([f".abi3-{platform}.so"]
                                    if version >= PLATFORM_STABLE_ABI else [])}
        elif abi == "abi3t":  # free-threaded 3.15 on
            found |= {".abi3t.so", f".abi3t-{platform}.so"}
    return found - {".so"}


def is_extension_name(name: str) -> bool:
    """Whether a file name has a CPython extension suffix naming an ABI (the ``.so`` of a
    plain shared library does not)."""
    import re

    return re.search(r"\.(cpython-|abi3t?(-[\w-]+)?\.so$|pypy)", name) is not None
