"""The missing-header hint: Debian's Contents index (parsed, cached, looked up) and the
line a failed cross compile prints, naming the -dev package and the provision command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import headers, releases
from helpers import ROOT, crossenv_cmd, load_runtime, require

hint = load_runtime("_crossenv_headerhint")

_CONTENTS = """\
usr/include/bzlib.h                                     libdevel/libbz2-dev
usr/include/aarch64-linux-gnu/openssl/opensslconf.h     libdevel/libssl-dev
usr/include/zlib.h                                      libdevel/zlib1g-dev,libdevel/other-dev
usr/include/python3.11/Python.h                         libdevel/libpython3.11-dev
usr/share/doc/libbz2-dev/copyright                      libdevel/libbz2-dev
usr/include/uuid.h                                   libs/libossp-uuid16,libdevel/libossp-uuid-dev
"""


def test_contents_lines_become_header_packages(tmp_path: Path) -> None:
    found = headers.parse_contents(_CONTENTS.splitlines(keepends=True))
    assert found["bzlib.h"] == {"libbz2-dev"}
    assert found["openssl/opensslconf.h"] == {"libssl-dev"}  # multiarch directory left out
    assert found["zlib.h"] == {"zlib1g-dev", "other-dev"}
    assert "usr/share/doc/libbz2-dev/copyright" not in found and len(found) == 5
    index = tmp_path / "i.tsv"
    headers.write_index(found, index)
    for look in (headers.lookup, hint.lookup):  # crossenv's and the runtime's agree
        assert look(index, "uuid.h") == ["libossp-uuid-dev", "libossp-uuid16"]  # -dev first
        assert look(index, "python3.11/Python.h") == ["libpython3.11-dev"]
        assert look(index, "Python.h") == [] and look(index, "bzlib") == []


_NAME = st.from_regex(r"[a-z0-9_][a-z0-9_.+-]{0,12}(/[a-z0-9_][a-z0-9_.+-]{0,12}){0,2}\.h",
                      fullmatch=True)
_PACKAGE = st.from_regex(r"[a-z0-9][a-z0-9+.-]{1,20}", fullmatch=True)


@given(st.dictionaries(_NAME, st.sets(_PACKAGE, min_size=1, max_size=3), max_size=20))
def test_index_round_trip(tmp_path_factory: pytest.TempPathFactory,
                          entries: dict[str, set[str]]) -> None:
    lines = [f"usr/include/{name:50} {','.join(f'libdevel/{p}' for p in sorted(owners))}\n"
             for name, owners in entries.items()]
    found = headers.parse_contents(lines)
    assert found == entries
    index = tmp_path_factory.mktemp("index") / "i.tsv"
    headers.write_index(found, index)
    for name, owners in entries.items():
        assert set(headers.lookup(index, name)) == owners == set(hint.lookup(index, name))


def test_the_rerun_only_preprocesses() -> None:
    words = ["gcc", "--sysroot=/s", "-MD", "-MF", "x.d", "-Ifoo", "-c", "x.c", "-o", "x.o",
             "-oy.o", "-MTt"]
    assert hint.preprocess_command(words) == ["gcc", "--sysroot=/s", "-Ifoo", "x.c", "-E", "-o",
                                              "/dev/null"]
    assert hint.preprocess_command(["gcc", "-shared", "a.o", "-o", "x.so", "-lbz2"]) is None


def test_without_a_cached_index_the_line_names_the_lookup(tmp_path: Path) -> None:
    settings = headers.settings(headers.arches.by_debian("arm64"), None, "3.11")
    assert settings is None  # no sysroot: no release known, nothing said
    (tmp_path / ".crossenv-sysroot.json").write_text(json.dumps({"release": "bookworm"}))
    settings = headers.settings(headers.arches.by_debian("arm64"), tmp_path, "3.11")
    assert settings is not None
    settings["index"] = str(tmp_path / "absent.tsv")
    line = hint.message(settings, "bzlib.h")
    assert line == ("crossenv: bzlib.h is not in the sysroot; `crossenv find-header --arch "
                    "arm64 --release bookworm bzlib.h` names the Debian bookworm arm64 package "
                    "that ships it")
    headers.write_index({"bzlib.h": {"libbz2-dev"}}, tmp_path / "absent.tsv")
    line = hint.message(settings, "bzlib.h")
    assert line is not None and "libbz2-dev ships it" in line
    assert ("`crossenv provision --arch arm64 --release bookworm --python 3.11 --package "
            "libbz2-dev`") in line
    assert hint.message(settings, "project_own.h") is None


@pytest.mark.integration
def test_missing_header_names_its_dev_package(aarch64_env: Path, tmp_path: Path) -> None:
    """A setup.py extension including <bzlib.h>, against a sysroot without libbz2-dev:
    the failed build says which package ships it and the provision command."""
    require(shutil.which("apt-get"), "apt-get is needed to fetch Debian's Contents index")
    settings = json.loads((aarch64_env / "cross" / "crossenv" / headers.SETTINGS_NAME)
                          .read_text())
    if not Path(settings["index"]).is_file():  # once per cache dir (~13 MiB download)
        headers.fetch("arm64", releases.by_suite(settings["release"]))
    project = tmp_path / "bzuser"
    shutil.copytree(ROOT / "tests" / "sources" / "bzuser", project)
    proc = subprocess.run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps",
                           "--no-cache-dir", "--no-build-isolation", "-w", tmp_path / "out",
                           project], capture_output=True, text=True)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    lines = [ln.strip() for ln in output.splitlines() if ln.strip().startswith("crossenv: bzlib.h")]
    assert len(lines) == 1, output[-3000:]
    assert "libbz2-dev ships it" in lines[0]
    assert "`crossenv provision --arch arm64 --release bookworm" in lines[0]
    assert "--package libbz2-dev`" in lines[0]


def test_find_header_refuses_an_unknown_arch() -> None:
    proc = subprocess.run([*crossenv_cmd(), "find-header", "--arch", "vax", "bzlib.h"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "unknown architecture 'vax'" in proc.stderr
