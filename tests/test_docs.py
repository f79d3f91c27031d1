"""The docs describe the code as it is: the file tree of ENV in environment.rst is
compared with a real environment, and the fields of crossenv.json with the real file."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

from helpers import ROOT

ENVIRONMENT_RST = ROOT / "docs" / "environment.rst"


def _tree() -> dict[str, set[str]]:
    """Names listed in the ``ENV/`` code block, per directory path ("cross/crossenv" ...)."""
    text = ENVIRONMENT_RST.read_text()
    block = text[text.index("   ENV/\n"):]
    block = block[:block.index("\n\n")]
    listed: dict[str, set[str]] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^(   [│ ]*)[├└]── ([^\s,]+(?:, [^\s,]+)*)", line)
        assert match, f"unexpected line in the ENV tree: {line!r}"
        depth = len(match.group(1))
        names = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = "/".join(part for _, part in stack)
        for name in names.split(","):
            name = name.strip()
            if name:
                listed.setdefault(parent, set()).add(name.rstrip("/"))
        stack.append((depth, names.rstrip("/")))
    return listed


def _real(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()
            if p.name not in ("__pycache__", ".crossenv-part", ".gitignore", "CACHEDIR.TAG")}


@pytest.mark.integration
def test_the_documented_crossenv_dir_is_the_real_one(aarch64_env: Path) -> None:
    listed = _tree()
    crossenv_dir = aarch64_env / "cross" / "crossenv"
    documented = {name.split("/")[0] for name in listed.get("cross/crossenv", set())}
    real = _real(crossenv_dir)
    # "<rust-triplet>-linker" stands for any name of that shape
    patterns = {re.sub(r"<[^>]+>", "*", name) for name in documented}
    assert {n for n in real if not any(fnmatch.fnmatchcase(n, p) for p in patterns)} == set()
    assert {p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in real)} == set()


@pytest.mark.integration
def test_the_documented_runtime_files_are_the_real_ones(aarch64_env: Path) -> None:
    listed = _tree()
    (site,) = [key for key in listed if key.endswith("site-packages")]
    real = {p.name for p in (aarch64_env / "cross").glob("lib/python3.*/site-packages/*")
            if p.name.startswith("_crossenv") or p.name == "_manylinux.py"}
    assert listed[site] == real


@pytest.mark.integration
def test_the_documented_metadata_keys_are_the_real_ones(aarch64_env: Path) -> None:
    text = ENVIRONMENT_RST.read_text()
    section = text[text.index("``ENV/crossenv.json``\n"):]
    section = section[:section.index("\n.. _")]
    documented = set(re.findall(r"^``(\w+)``$", section, flags=re.M))
    meta = json.loads((aarch64_env / "crossenv.json").read_text())
    assert documented == set(meta)
