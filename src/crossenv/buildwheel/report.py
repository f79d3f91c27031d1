"""The end of a buildwheel run: a table for people, JSON for machines."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from .outputdir import write_text
from .runner import Result

_COLUMNS = ("identifier", "wheel", "tag", "build s", "test s", "cache", "result")


def _cache(result: Result) -> str:
    """``hits/misses`` of the build step; ``~`` marks a shared cache's two readings."""
    if result.cache is None:
        return "-"
    mark = "" if result.cache.get("exact") else "~"
    return f"{mark}{result.cache['hits']}/{result.cache['misses']}"


def _row(result: Result) -> tuple[str, ...]:
    test = "-" if result.test_s is None else f"{result.test_s:.1f}"
    outcome = result.result if result.result == "ok" else f"FAILED ({result.step})"
    return (result.identifier, result.wheel or "-", result.tag or "-",
            f"{result.build_s:.1f}" if result.build_s else "-", test, _cache(result),
            outcome)


def table(results: Sequence[Result]) -> str:
    """A plain-text table (fixed-width columns) with one row per identifier."""
    rows = [_COLUMNS, *map(_row, results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [r for r in results if r.result != "ok"]
    lines += [f"{r.identifier}: {r.error} (log: {r.log})" for r in failed]
    lines.append(f"buildwheel: {len(results) - len(failed)} built, {len(failed)} failed")
    return "\n".join(lines)


def write_json(path: Path, results: Sequence[Result], *, project: str, output_dir: str,
               wall_s: float) -> None:
    data = {"crossenv": __version__, "project": project, "output_dir": output_dir,
            "wall_s": round(wall_s, 3), "ok": all(r.result == "ok" for r in results),
            "identifiers": [dataclasses.asdict(r) for r in results]}
    write_text(path, json.dumps(data, indent=2) + "\n")
