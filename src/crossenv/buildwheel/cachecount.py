"""Compiler-cache hits and misses of one identifier's build step.

ccache and sccache keep cumulative counters for their whole cache, so the difference of
two readings (:func:`crossenv.launcher.cache_stats` before and after) also counts every
other compile that used the same cache meanwhile: another identifier built at the same
``-j``, or an unrelated build. For ccache that is avoided cheaply: ``CCACHE_STATSLOG``
makes ccache append the counters of each compile to a file, and a file of its own per
identifier counts that identifier's compiles and nothing else. sccache has no such log
(its server is shared), so its numbers are the difference of two readings and can mix
under ``-j`` > 1; :attr:`Counter.exact` says which one a row got.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import launcher
from ..launcher import CacheStats, LauncherError

STATSLOG = "CCACHE_STATSLOG"


def parse_statslog(text: str) -> CacheStats:
    """A ccache stats log: ``# SOURCE`` then one counter name a line, per compile."""
    counts = collections.Counter(line.strip() for line in text.splitlines()
                                 if line.strip() and not line.startswith("#"))
    return launcher.parse_ccache_stats("".join(f"{name}\t{n}\n" for name, n in counts.items()))


class Counter:
    """Counts one build's cache use; ``None`` results for launchers that are no cache.

    A failure to read the counters never fails the build: :attr:`problem` says why the
    numbers are missing.
    """

    def __init__(self, compiler_launcher: Sequence[str], work: Path) -> None:
        self.tool = launcher.kind(compiler_launcher)
        self.launcher = tuple(compiler_launcher)
        self.log = work / "ccache-stats.log"
        self.exact = self.tool == "ccache"
        self.problem = ""
        self._before: CacheStats | None = None

    def environ(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The build's variables: crossenv's launcher for the wrappers (which otherwise
        let an inherited ``CROSSENV_COMPILER_LAUNCHER`` win over ``--compiler-launcher``)
        and, for ccache, this build's own stats log."""
        out = {**environ, launcher.ENV_VAR: " ".join(self.launcher)}
        if self.exact:
            out[STATSLOG] = str(self.log)
        return out

    def start(self, environ: Mapping[str, str]) -> None:
        if self.tool in launcher.CACHES and not self.exact:
            try:
                self._before = launcher.cache_stats(self.launcher, environ)
            except LauncherError as exc:
                self.problem = str(exc)

    def stop(self, environ: Mapping[str, str]) -> CacheStats | None:
        if self.tool not in launcher.CACHES or self.problem:
            return None
        if self.exact:
            try:
                text = self.log.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = ""  # nothing was compiled through ccache
            return parse_statslog(text)
        try:
            after = launcher.cache_stats(self.launcher, environ)
        except LauncherError as exc:
            self.problem = str(exc)
            return None
        if after is None or self._before is None:
            return None
        return after - self._before
