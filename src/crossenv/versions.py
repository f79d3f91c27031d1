"""The oldest releases of the moving parts crossenv is tested with (``nox -s compat``).

crossenv patches or drives pip, setuptools, meson-python, scikit-build-core and pypa/build
inside the cross environment, and runs on virtualenv and packaging itself. The lower
bounds below are the oldest releases the compat session cross-builds with; the upper end is
whatever is newest on PyPI when the session runs. They are declared three times on purpose
(here, pyproject.toml, docs/versions.rst) and tests/test_compat_versions.py checks that the
three agree. Only crossenv's own dependencies can be looked at when an environment is made:
what pip later installs into a build environment is the user's choice, so that is
documented, not policed.
"""

from __future__ import annotations

import importlib.metadata

from packaging.version import InvalidVersion, Version

OLDEST = {
    "pip": "22.0.4",
    "setuptools": "61.0.0",
    "meson-python": "0.15.0",
    "scikit-build-core": "0.5.0",
    "build": "1.0.0",
    "packaging": "22.0",
    "virtualenv": "20.33.0",
}
SELF = ("virtualenv", "packaging")  # crossenv's own dependencies, checked at creation


def unsupported(names: tuple[str, ...] = SELF) -> list[str]:
    """One line per installed *name* older than :data:`OLDEST` (naming the range)."""
    lines = []
    for name in names:
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        try:
            too_old = Version(found) < Version(OLDEST[name])
        except InvalidVersion:
            continue
        if too_old:
            lines.append(f"{name} {found} is older than crossenv supports (>= {OLDEST[name]}); "
                         f"upgrade it: pip install '{name}>={OLDEST[name]}'")
    return lines
