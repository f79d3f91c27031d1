"""crossenv's per-user cache directory (locks, sysroots, build Pythons).

The cache is the one place crossenv writes outside what the user named, so when it
cannot be written (a read-only home, ``XDG_CACHE_HOME`` pointing at a file) the error
must say which directory and how to choose another, instead of a traceback from
whichever ``mkdir`` or lock met it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CrossenvError


class CacheError(CrossenvError):
    """The user cache directory cannot be created or written."""


def user_cache(*parts: str) -> Path:
    """``~/.cache/crossenv/PARTS`` (platformdirs' user cache), created and writable."""
    import platformdirs  # imported when used: commands that need no cache do not load it

    directory = platformdirs.user_cache_path("crossenv").joinpath(*parts)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the cache directory {directory} "
                         f"({exc.strerror or exc}); set XDG_CACHE_HOME to a writable "
                         "directory") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CacheError(f"the cache directory {directory} is not writable; set "
                         "XDG_CACHE_HOME to a writable directory")
    return directory
