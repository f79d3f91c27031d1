"""Target requirements: declare packages whose *host* copy a build must compile against.

See ``runtime/_crossenv_hostreqs.py`` for what happens at build time. At creation
this only records where host copies go (``ENV/cross/crossenv/host-packages``) and the
requirements declared with ``crossenv --host-requirement`` (exported as
``CROSSENV_HOST_REQUIREMENTS``, one per line, each kept whole; a user's own value
wins). numpy needs no declaration: its version is taken from the build's native numpy.
"""

from __future__ import annotations

from ._protocol import Directory, Files, Inputs, Place

DIR_NAME = "host-packages"


def files(target: Inputs, place: Place) -> Files:
    """The (empty) directory host copies go to."""
    return {DIR_NAME: (Directory(), 0o755)}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """Its path and the declared requirements."""
    out = {"CROSSENV_HOST_PACKAGES": str(place.directory / DIR_NAME)}
    requirements = [str(r).strip() for r in target.options.host_requirements if str(r).strip()]
    if requirements:
        out["CROSSENV_HOST_REQUIREMENTS"] = "\n".join(requirements)  # one per line: "numpy <2"
    return out
