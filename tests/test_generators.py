"""The generators' shape: one protocol, peers that never import each other, one table,
templates filled by one function, and ``describe`` going the same route as creation."""

from __future__ import annotations

import ast
import inspect
import os
import stat
from pathlib import Path

import pytest

from crossenv import backends, describe, host, templates
from crossenv.backends import _protocol
from crossenv.model import Layout, Options, Toolchain
from helpers import ROOT, recorded_sysconfigdata

PACKAGE = ROOT / "src" / "crossenv" / "backends"
GENERATOR_NAMES = {entry.name for entry in backends.TABLE}
CHAIN = Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                  cc=("aarch64-linux-gnu-gcc", "--sysroot=/s"),
                  cxx=("aarch64-linux-gnu-g++", "--sysroot=/s"), ar=("aarch64-linux-gnu-ar",),
                  strip=("aarch64-linux-gnu-strip",))


def test_every_generator_satisfies_the_protocol() -> None:
    assert [e.name for e in backends.TABLE] == [n.rsplit(".", 1)[1] for n in backends.GENERATORS]
    for name in GENERATOR_NAMES:
        module = backends.module(name)
        assert isinstance(module, _protocol.Generator), name
        for function in (module.files, module.env):
            assert list(inspect.signature(function).parameters) == ["target", "place"], name
        assert not hasattr(module, "write"), f"{name}: generators return content, never write"


def test_every_module_of_the_package_is_in_the_table_or_a_helper() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert modules - GENERATOR_NAMES == {"_protocol", "_shared"}
    assert modules >= GENERATOR_NAMES
    assert set(backends.DESCRIBE) <= GENERATOR_NAMES
    assert backends.EMULATOR in GENERATOR_NAMES and backends.WRAPPERS in GENERATOR_NAMES
    assert [e.name for e in backends.TABLE if e.guarded] == ["meson", "cmake"]


def _imports(path: Path) -> set[str]:
    """Every module *path* imports, at any depth (function bodies too), absolute."""
    package = "crossenv.backends"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_no_generator_imports_another() -> None:
    generators = {f"crossenv.backends.{name}" for name in GENERATOR_NAMES}
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue  # the table: it imports every generator (by name, through importlib)
        others = (_imports(path) & generators) - {f"crossenv.backends.{path.stem}"}
        assert not others, f"{path.name} imports {sorted(others)}: use backends/_shared.py"


def test_the_ast_check_sees_imports_in_function_bodies(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from .meson import FILE_NAME\n    from . import cmake\n")
    assert {"crossenv.backends.meson", "crossenv.backends.cmake"} <= _imports(source)


def test_describe_writes_what_the_generators_return(tmp_path: Path) -> None:
    """``crossenv describe --output-dir`` and creation go through the same table: the
    files describe writes are the describe generators' output, byte for byte."""
    description = host.describe(recorded_sysconfigdata("arm64"))
    out = tmp_path / "out"
    printed = describe.describe_host(description, "cmake", python="/p/python", output_dir=out,
                                     cc="aarch64-linux-gnu-gcc", cxx="aarch64-linux-gnu-g++")
    chain = describe._toolchain(description, "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++")
    place = backends.Place(directory=out, layout=None, python="/p/python")
    generated = backends.generate(description, chain, Options(), place, backends.DESCRIBE)
    written = {str(p.relative_to(out)): p for p in out.rglob("*")}
    assert set(written) == set(generated.files)
    for name, (content, mode) in generated.files.items():
        assert written[name].read_text(encoding="utf-8") == content, name
        assert bool(written[name].stat().st_mode & stat.S_IXUSR) == bool(mode & 0o111), name
    assert printed == generated.files["toolchain.cmake"][0]
    if "emulator" in written:  # qemu is here: the toolchain names the emulator beside it
        assert f'CMAKE_CROSSCOMPILING_EMULATOR "{out / "emulator"}")' in printed


def test_describe_and_create_produce_the_same_files_for_one_target(tmp_path: Path) -> None:
    """One target, one place: creation's full table makes every file describe makes, with
    the same text where the table gives both the same compilers (the PyO3 config, cargo's
    linker, the emulator); meson and CMake differ only in naming the guarded wrappers."""
    description = host.describe(recorded_sysconfigdata("arm64"))
    layout = Layout(env=tmp_path / "env", cross=tmp_path / "env" / "cross")
    place = backends.Place(directory=layout.crossenv_dir, layout=layout,
                           python=str(layout.cross_python))
    created = backends.generate(description, CHAIN, Options(), place,
                                [n for n in GENERATOR_NAMES if n != "uvbase"])
    described = backends.generate(description, CHAIN, Options(), place, backends.DESCRIBE)
    assert set(described.files) <= set(created.files)
    for name in described.files:
        if name not in ("meson-cross.ini", "toolchain.cmake"):
            assert created.files[name] == described.files[name], name
    wrapper = str(layout.crossenv_dir / "bin" / "aarch64-linux-gnu-gcc")
    assert wrapper in created.files["meson-cross.ini"][0]
    assert wrapper in created.files["toolchain.cmake"][0]
    assert wrapper not in described.files["meson-cross.ini"][0]
    for variable in ("CROSSENV_MESON_CROSS_FILE", "CMAKE_TOOLCHAIN_FILE", "CARGO_BUILD_TARGET"):
        assert created.env[variable] == described.env[variable], variable


def test_the_emulator_is_written_once_and_named_by_cmake_and_autotools(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    layout = Layout(env=tmp_path / "env", cross=tmp_path / "env" / "cross")
    stage = tmp_path / "stage"
    env = backends.make(stage, layout, description, CHAIN, Options(),
                        ["emulator", "cmake", "autotools"])
    toolchain = (stage / "toolchain.cmake").read_text(encoding="utf-8")
    if (stage / "emulator").exists():
        assert os.access(stage / "emulator", os.X_OK)
        assert env["LOG_COMPILER"] == str(layout.crossenv_dir / "emulator")
        emulator = layout.crossenv_dir / "emulator"
        assert f'CMAKE_CROSSCOMPILING_EMULATOR "{emulator}")' in toolchain
    else:  # no qemu or libc to run host programs with: nobody names an emulator
        assert "LOG_COMPILER" not in env and "EMULATOR" not in toolchain
    without = backends.make(tmp_path / "bare", layout, description, CHAIN, Options(),
                            ["cmake", "autotools"])
    assert "LOG_COMPILER" not in without
    assert "EMULATOR" not in (tmp_path / "bare" / "toolchain.cmake").read_text(encoding="utf-8")


def test_two_generators_writing_one_file_is_an_error(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from crossenv.backends import emulator

    monkeypatch.setattr(emulator, "files", lambda target, place: {"toolchain.cmake": ("", 0)})
    place = backends.Place(directory=tmp_path, layout=None, python=None)
    with pytest.raises(ValueError, match=r"cmake also writes toolchain\.cmake"):
        backends.generate(host.describe(recorded_sysconfigdata("arm64")), CHAIN, Options(),
                          place, ["emulator", "cmake"])


def test_the_writer_keeps_every_file_inside(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="refusing to write"):
        backends.write(tmp_path, backends.Output(files={"../x": ("", 0o644)}))
    assert not (tmp_path.parent / "x").exists()


# --- templates ------------------------------------------------------------------------------

TEMPLATES = ROOT / "src" / "crossenv" / "templates"


def test_every_template_is_filled_by_the_code() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8")
                        for p in (ROOT / "src" / "crossenv").rglob("*.py"))
    names = [p.name for p in TEMPLATES.iterdir() if p.suffix in (".sh", ".in")]
    assert len(names) >= 9
    for name in names:
        assert f'"{name}"' in sources, f"{name} is not used"
        assert templates.fields(name), name


def test_fill_quotes_each_value_for_the_format() -> None:
    text = templates.fill("exec.sh", env=templates.Raw(""), command=templates.Raw("'/a b/py'"))
    assert text == "#!/bin/sh\nexec '/a b/py' \"$@\"\n"
    text = templates.fill("emulator.sh", native="b7 00", qemu=templates.Raw("q -L /r"))
    assert "!= 'b7 00' ]" in text and 'exec q -L /r "$@"' in text
    source = templates.fill("uv-sitecustomize.py.in", site="../it's")
    assert "_SITE = \"../it's\"" in source
    compile(source, "sitecustomize.py", "exec")


def test_fill_refuses_a_missing_or_unknown_field() -> None:
    with pytest.raises(ValueError, match="fields"):
        templates.fill("exec.sh", env=templates.Raw(""))
    with pytest.raises(ValueError, match="fields"):
        templates.fill("exec.sh", env=templates.Raw(""), command="x", extra="y")
    with pytest.raises(TypeError, match="not text"):
        templates.fill("exec.sh", env=templates.Raw(""), command=["x"])


def test_an_unknown_generator_name_is_an_error(tmp_path: Path) -> None:
    place = backends.Place(directory=tmp_path, layout=None, python=None)
    with pytest.raises(ValueError, match="no generator named mesonn"):
        backends.generate(host.describe(recorded_sysconfigdata("arm64")), CHAIN, Options(),
                          place, iter(["mesonn", "cmake"]))
    one = backends.generate(host.describe(recorded_sysconfigdata("arm64")), CHAIN, Options(),
                            place, iter(["meson", "cmake"]))  # an iterator is read once
    assert set(one.files) == {"meson-cross.ini", "toolchain.cmake"}
