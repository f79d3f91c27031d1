"""The built wheels' platform tag and pip's cache, as cross-python exports them.

The facts are :mod:`crossenv.tags`' (which tag a toolchain guarantees, which cache
directory an env may share); this generator only names them for cross-python:
``CROSSENV_WHEEL_PLATFORM`` (read by the bdist_wheel hook) and ``PIP_CACHE_DIR``.
"""

from __future__ import annotations

from .. import tags
from ._protocol import Files, Inputs, Place


def files(target: Inputs, place: Place) -> Files:
    """None: the tag and the cache travel as variables."""
    return {}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """The built-wheel tag (when the toolchain guarantees one) and the pip cache of this
    host description."""
    tag = tags.wheel_platform_tag(target.host, target.toolchain)
    out = {tags.WHEEL_PLATFORM_VAR: tag} if tag else {}
    return {**out, "PIP_CACHE_DIR": str(tags.pip_cache_dir(target.options, tag))}
