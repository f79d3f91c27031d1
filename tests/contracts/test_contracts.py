"""Contracts with the real modules the runtime patches: they fail when upstream changes shape.

Each import hook in ``crossenv.backends.IMPORT_HOOKS`` relies on something of a
third-party module (a class, a signature, which function another one calls).
These tests import the real module from the test venv (the ``test`` extra
installs pip, setuptools, wheel, build, meson-python, numpy and uv), apply the
patch as cross-python would, and check the patched behaviour happens. The docs'
"Patches" table must list exactly the hooked modules, and a hook whose target
is missing must say so in one line instead of doing nothing.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossenv import backends
from helpers import RUNTIME, load_runtime, run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "how-it-works.rst"


def _patches_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(".. _patches:")
    return text[start:]


def test_docs_list_every_import_hook_and_nothing_else() -> None:
    section = _patches_section()
    table = section[section.index(".. list-table::"):section.index("No longer patched")]
    rows = re.findall(r"^   \* - ``([A-Za-z0-9_.]+)``", table, re.MULTILINE)
    assert len(rows) == len(set(rows)), rows
    assert set(rows) == set(backends.IMPORT_HOOKS)


def test_docs_list_the_shims_own_patches() -> None:
    import ast

    source = (RUNTIME / "_crossenv_patches.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PATCHES":
            assert isinstance(node.value, ast.Dict)
            names = {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    paragraph = _patches_section().split("The standard library is patched on import too")[1]
    listed = set(re.findall(r"``([a-z_.]+)``", paragraph.split("as listed")[0]))
    assert names == listed - {"_crossenv_patches.PATCHES"}


# -- a missing target is one line ------------------------------------------------------------

@pytest.fixture
def hook_runner(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """``_crossenv_patches`` as cross-python loads it (config and shim stand-ins)."""
    config = types.ModuleType("_crossenv_config")
    config.IMPORT_HOOKS = dict(backends.IMPORT_HOOKS)  # type: ignore[attr-defined]
    config.MACHINE = "aarch64"  # type: ignore[attr-defined]
    config.PLATFORM_TAGS = ["linux_aarch64"]  # type: ignore[attr-defined]
    shim = types.ModuleType("_crossenv_shim")
    loaded: dict[str, types.ModuleType] = {}

    def runtime_module(name: str) -> types.ModuleType:
        if name not in loaded:
            loaded[name] = load_runtime(name)
        return loaded[name]

    shim.runtime_module = runtime_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_crossenv_config", config)
    monkeypatch.setitem(sys.modules, "_crossenv_shim", shim)
    return load_runtime("_crossenv_patches")


@pytest.mark.parametrize("name", sorted(backends.IMPORT_HOOKS))
def test_missing_target_warns_once(name: str, hook_runner: types.ModuleType,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An upstream rename (here: an empty module of that name) is one loud line."""
    hook_runner.HOOKS[name](types.ModuleType(name))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert re.match(rf"crossenv: cannot patch {re.escape(name)}\.\S+ \(upstream changed\?\): ",
                    lines[0]), lines[0]


# -- pypa/build ---------------------------------------------------------------------------------

def test_build_runs_hooks_with_cross_python(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner given to the real ProjectBuilder is the one that runs every hook."""
    import build

    params = list(inspect.signature(build.ProjectBuilder.__init__).parameters)
    assert params[1:4] == ["source_dir", "python_executable", "runner"]
    monkeypatch.setattr(build.ProjectBuilder, "__init__", build.ProjectBuilder.__init__)
    monkeypatch.setattr(build.ProjectBuilder, "_crossenv_patched", False, raising=False)
    assert load_runtime("_crossenv_frontends").patch_build(build) is None
    (tmp_path / "pyproject.toml").write_text(
        "[build-system]\nrequires = []\nbuild-backend = 'setuptools.build_meta'\n"
        "[project]\nname = 't'\nversion = '1'\n")
    # an isolated venv's python that cannot run: the hooks must run with sys.executable
    builder = build.ProjectBuilder(tmp_path, python_executable=str(tmp_path / "no" / "python"))
    assert builder.get_requires_for_build("wheel") == set()


# -- bdist_wheel ------------------------------------------------------------------------------

@pytest.fixture
def tags_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """``_crossenv_tags`` for a host whose arch is this machine's (so the real
    ``get_tag``, which reads the running interpreter, gives ``linux_<host arch>``)."""
    machine = os.uname().machine
    config = types.ModuleType("_crossenv_config")
    config.MACHINE = machine  # type: ignore[attr-defined]
    config.PLATFORM_TAGS = [f"manylinux_2_17_{machine}", f"linux_{machine}"]  # type: ignore
    monkeypatch.setitem(sys.modules, "_crossenv_config", config)
    yield load_runtime("_crossenv_tags")


def _bdist_wheel(cls: type, tmp_path: Path, *, ext: bool, plat_name: str | None = None) -> object:
    from setuptools import Distribution, Extension

    attrs: dict[str, object] = {"name": "t", "version": "1", "script_name": "setup.py"}
    if ext:
        attrs["ext_modules"] = [Extension("t", ["t.c"])]
    command = cls(Distribution(attrs))
    command.bdist_dir = str(tmp_path / "bdist")  # type: ignore[attr-defined]
    if plat_name:
        command.plat_name = plat_name  # type: ignore[attr-defined]
    command.ensure_finalized()  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("module_name", ["setuptools.command.bdist_wheel", "wheel.bdist_wheel"])
def test_bdist_wheel_automatic_tag_is_retagged(
        module_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        tags_runtime: types.ModuleType) -> None:
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # wheel.bdist_wheel is deprecated
        module = importlib.import_module(module_name)
    cls = module.bdist_wheel
    monkeypatch.setattr(cls, "get_tag", cls.get_tag)
    monkeypatch.setattr(cls, "_crossenv_patched", False, raising=False)
    assert tags_runtime.patch_bdist_wheel(module) is None
    machine = os.uname().machine
    monkeypatch.delenv("CROSSENV_WHEEL_PLATFORM", raising=False)
    assert cls.get_tag(_bdist_wheel(cls, tmp_path, ext=True))[2] == f"linux_{machine}"
    promised = f"manylinux_2_17_{machine}.manylinux2014_{machine}"
    monkeypatch.setenv("CROSSENV_WHEEL_PLATFORM", promised)
    command = _bdist_wheel(cls, tmp_path, ext=True)
    assert command.plat_name_supplied is False  # type: ignore[attr-defined]
    assert cls.get_tag(command)[2] == promised
    assert cls.get_tag(_bdist_wheel(cls, tmp_path, ext=False))[2] == "any"
    explicit = _bdist_wheel(cls, tmp_path, ext=True, plat_name=f"linux-{machine}")
    assert explicit.plat_name_supplied is True  # type: ignore[attr-defined]
    assert cls.get_tag(explicit)[2] == f"linux_{machine}"


def test_wheel_reexports_setuptools_command() -> None:
    """One patched class for both hooks (wheel >= 0.44 re-exports setuptools')."""
    from setuptools.command import bdist_wheel as setuptools_command

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from wheel import bdist_wheel as wheel_command
    assert wheel_command.bdist_wheel is setuptools_command.bdist_wheel


# -- meson-python ------------------------------------------------------------------------------

def test_mesonpy_project_signature() -> None:
    """The wrapped ``Project.__init__`` takes meson_args third, ``{"setup": [...]}``
    merged into ``meson setup`` (tests/test_meson.py runs the real configure)."""
    import mesonpy

    params = list(inspect.signature(mesonpy.Project.__init__).parameters)
    assert params[1:4] == ["source_dir", "build_dir", "meson_args"]
    source = inspect.getsource(mesonpy.Project.__init__)
    assert "meson_args.items()" in source


def test_mesonpy_starts_a_meson_py_with_sys_executable() -> None:
    """Why the shim re-executes ``cross-python .../meson.py``: meson-python runs a
    ``.py`` meson (numpy's vendored one) with ``sys.executable``. If this changes
    (e.g. it runs ``#!``), the re-execution rule is no longer needed."""
    import mesonpy

    source = inspect.getsource(mesonpy)
    pattern = (r"if meson\.endswith\('\.py'\):[^\n]*\n[^\n]*\n[^\n]*\n\s+"
               r"cmd = \[sys\.executable, meson\]")
    assert re.search(pattern, source), "meson-python changed how it runs a meson.py"


def test_shim_reexecs_meson_py_only() -> None:
    shim_source = (RUNTIME / "_crossenv_shim.py").read_text()
    namespace: dict[str, object] = {"os": os}
    start = shim_source.index("def _meson_script")
    exec(shim_source[start:shim_source.index("\n\n\n", start)], namespace)
    meson_script = namespace["_meson_script"]
    assert meson_script(["/e/cross/bin/python", "/src/vendored-meson/meson/meson.py", "setup"])
    assert not meson_script(["/e/cross/bin/python", "-m", "mesonbuild.mesonmain"])
    assert not meson_script(["/e/cross/bin/python", "/src/setup.py"])
    assert not meson_script(["/e/cross/bin/python"])


# -- numpy --------------------------------------------------------------------------------------

def test_numpy_get_include_everywhere_numpy_config_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy
    import numpy.lib._utils_impl as utils_impl

    monkeypatch.setattr(numpy, "get_include", numpy.get_include)
    monkeypatch.setattr(utils_impl, "get_include", utils_impl.get_include)
    monkeypatch.setattr(numpy, "_crossenv_patched", False, raising=False)
    assert numpy.get_include is utils_impl.get_include  # the hook relies on one function
    monkeypatch.setenv("CROSSENV_NUMPY_INCLUDE", str(tmp_path))
    assert load_runtime("_crossenv_hostreqs").patch_numpy(numpy) is None
    assert numpy.get_include() == str(tmp_path)
    monkeypatch.delitem(sys.modules, "numpy._configtool", raising=False)
    import numpy._configtool as configtool  # what ``numpy-config --cflags`` runs

    assert configtool.get_include() == str(tmp_path)


# -- uv ----------------------------------------------------------------------------------------

def test_uv_query_reads_base_executable_in_main() -> None:
    """uv embeds its query script; the hook runs after the module is imported and before
    ``main()`` reads ``sys._base_executable``."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    data = Path(uv).read_bytes()
    assert b"from python.get_interpreter_info import main; main()" in data
    assert b'"sys_base_executable": getattr(sys, "_base_executable", None)' in data


# -- setuptools' compiler directories ----------------------------------------------------------

def test_setuptools_compiler_classes_and_directory_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    import setuptools._distutils.ccompiler as ccompiler

    hostpaths = load_runtime("_crossenv_hostpaths")
    monkeypatch.setattr(hostpaths, "_settings", {
        "system_dirs": ["/usr/include"], "sysroot": "/nonexistent-sysroot"})
    classes = [ccompiler.CCompiler]
    try:
        import setuptools._distutils.compilers.C.base as base
    except ImportError:  # setuptools < 75
        base = None
    else:
        classes.append(base.Compiler)
    for cls in classes:
        for name in ("include_dirs", "library_dirs", "_crossenv_hostpaths"):
            if name in cls.__dict__:
                monkeypatch.setattr(cls, name, cls.__dict__[name])
            else:
                monkeypatch.setattr(cls, name, None, raising=False)
                monkeypatch.delattr(cls, name)
    assert hostpaths.patch_ccompiler(ccompiler) is None
    if base is not None:
        assert hostpaths.patch_compiler_base(base) is None
    from setuptools._distutils.unixccompiler import UnixCCompiler

    compiler = UnixCCompiler()
    compiler.include_dirs.append("/usr/include")  # a setup.py probe's path: dropped
    compiler.include_dirs.append("/opt/mine")
    compiler.set_include_dirs(["/usr/include", "/opt/other"])
    assert list(compiler.include_dirs) == ["/opt/other"]
    compiler.library_dirs = ["/usr/include", "/opt/lib"]
    assert list(compiler.library_dirs) == ["/opt/lib"]


# -- the standard library and packaging (the shim's own patches) -------------------------------

def test_stdlib_shapes_the_shim_relies_on() -> None:
    import platform
    import sysconfig

    for name in ("_init_posix", "_get_sysconfigdata_name", "get_platform"):
        assert callable(getattr(sysconfig, name)), name
    assert hasattr(sysconfig, "_CONFIG_VARS")
    assert callable(platform._Processor.get)  # type: ignore[attr-defined]
    assert hasattr(platform, "_uname_cache")


@pytest.mark.parametrize("module_name", ["packaging.tags", "pip._vendor.packaging.tags"])
def test_sys_tags_reads_platform_tags(module_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why packaging's private ``_manylinux``/``_musllinux`` need no patch: every tag
    list goes through the module-level ``platform_tags()`` the shim replaces."""
    import importlib

    module = importlib.import_module(module_name)
    monkeypatch.setattr(module, "platform_tags", lambda: iter(["manylinux_2_17_aarch64"]))
    tags = [str(tag) for tag in module.sys_tags()]
    assert tags[0].endswith("-manylinux_2_17_aarch64")
    assert {tag.rsplit("-", 1)[1] for tag in tags} <= {"manylinux_2_17_aarch64", "any"}
    if module_name.startswith("pip."):
        from pip._internal.utils.compatibility_tags import get_supported

        assert [str(tag) for tag in get_supported()] == tags


@pytest.mark.integration
def test_cross_python_warns_for_a_changed_module(aarch64_env: Path, tmp_path: Path) -> None:
    """End to end, through the shim's finder: a ``mesonpy`` without ``Project``."""
    (tmp_path / "mesonpy.py").write_text("VERSION = 'renamed everything'\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = run([aarch64_env / "bin" / "cross-python", "-c", "import mesonpy"], env=env)
    assert proc.stderr.splitlines() == [
        "crossenv: cannot patch mesonpy.Project.__init__ (upstream changed?): "
        "no Project(source_dir, build_dir, meson_args) to wrap"]


# -- runtime facts in build hooks (_crossenv_facts) --------------------------------------------

_FACTS = """
import ctypes, platform, struct, sys
real_ptr = ctypes.sizeof(ctypes.c_void_p)
import _crossenv_facts
_crossenv_facts.apply()
import ctypes
print(sys.byteorder, sys.maxsize > 2**32, struct.calcsize("P"), struct.calcsize("@l"),
      struct.calcsize(b"N"), struct.calcsize("<q"), struct.calcsize("PP"),
      ctypes.sizeof(ctypes.c_void_p) == real_ptr,
      ctypes.LittleEndianStructure is ctypes.Structure)
"""


@pytest.mark.parametrize(("byteorder", "bits"), [("big", 64), ("little", 32)])
def test_host_facts_in_build_hooks(byteorder: str, bits: int, tmp_path: Path) -> None:
    """s390x (big, 64) and armhf (little, 32) answers, against the real sys, struct and
    ctypes of a fresh interpreter (``apply`` changes process-wide state)."""
    (tmp_path / "_crossenv_config.py").write_text(
        f"BYTEORDER = {byteorder!r}\nPOINTER_BITS = {bits}\n")
    shutil.copy(RUNTIME / "_crossenv_facts.py", tmp_path)
    proc = run([sys.executable, "-c", _FACTS], env={**os.environ, "PYTHONPATH": str(tmp_path)})
    size = str(bits // 8)
    assert sys.byteorder == "little" and sys.maxsize > 2**32  # this test's premise
    assert proc.stdout.split() == [byteorder, str(bits == 64), size, size, size, "8",
                                   "16", "True", "True"]


_FACTS_CTYPES_LATE = """
import _crossenv_facts
_crossenv_facts.apply()
import ctypes, struct
print(struct.calcsize("P"), ctypes.sizeof(ctypes.c_void_p))
"""


@pytest.mark.parametrize(("byteorder", "bits"), [("big", 64), ("little", 32)])
def test_ctypes_imported_after_the_facts_still_loads(byteorder: str, bits: int,
                                                     tmp_path: Path) -> None:
    """numpy imports ctypes only inside a build hook (scikit-build-core asks numpy for its
    include dir): ctypes' import-time size check must see the real pointer size, on a
    32-bit host too (it raised "sizeof(py_object) wrong: 8 instead of 4" for armhf)."""
    (tmp_path / "_crossenv_config.py").write_text(
        f"BYTEORDER = {byteorder!r}\nPOINTER_BITS = {bits}\n")
    shutil.copy(RUNTIME / "_crossenv_facts.py", tmp_path)
    proc = run([sys.executable, "-c", _FACTS_CTYPES_LATE],
               env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.stdout.split() == [str(bits // 8), "8"]


def test_hook_processes_are_recognised() -> None:
    shim_source = (RUNTIME / "_crossenv_shim.py").read_text()
    namespace: dict[str, object] = {"os": os}
    start = shim_source.index("def _hook_process")
    exec(shim_source[start:shim_source.index("\n\n\n", start)], namespace)
    hook = namespace["_hook_process"]
    in_process = "/e/lib/python3.11/site-packages/pip/_vendor/pyproject_hooks/_in_process/"
    assert hook(["/e/cross/bin/python", in_process + "_in_process.py", "build_wheel", "/t"])
    assert hook(["/e/cross/bin/python", "-I", in_process + "_in_process.py", "build_wheel"])
    assert hook(["/e/cross/bin/python", "setup.py", "bdist_wheel"])
    assert not hook(["/e/cross/bin/python", "-m", "pip", "wheel", "."])
    assert not hook(["/e/cross/bin/python", "-c", "import setup.py"])
    assert not hook(["/e/cross/bin/python"])
    assert not hook(["/e/cross/bin/python", "/src/tools/build.py"])


def test_pyproject_hooks_runs_hooks_as_a_script() -> None:
    """Why ``_in_process.py`` is the mark of a hook process: pyproject_hooks (pip's
    vendored copy and pypa/build's) runs ``[python, .../_in_process.py, hook, dir]``."""
    import pyproject_hooks._impl as impl
    from pip._vendor.pyproject_hooks import _impl as pip_impl

    for module in (impl, pip_impl):
        source = inspect.getsource(module)
        assert re.search(r"with _in_proc_script_path\(\) as script:\s+python = "
                         r"self\.python_executable\s+self\._subprocess_runner\(\s+"
                         r"\[python, abspath\(str\(script\)\), hook_name, td\]",
                         source), module.__name__
        script = Path(module.__file__).parent / "_in_process" / "_in_process.py"
        assert script.is_file(), script  # the name the shim recognises
