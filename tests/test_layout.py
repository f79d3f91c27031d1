"""The package's shape, as the developers' guide asks: small modules, arrows pointing
down (no import circle among the project's modules, function bodies included), every
module in one layer of :data:`LAYERS` and importing only its own layer or lower ones,
leaves that stay leaves."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "src" / "crossenv"
MAX_LINES = 500
#: modules everything may import, so they import nothing of the project but these
LEAVES = {"crossenv.errors": set(), "crossenv.arches": {"crossenv.errors"},
          "crossenv.manylinux": set(),
          "crossenv.model": {"crossenv.arches", "crossenv.manylinux"}}


#: The layers, lowest first: a module imports (anywhere, function bodies included) only
#: modules of its own layer or of a lower one. A new module must be placed here.
LAYERS: tuple[tuple[str, str], ...] = (
    # stdlib-level facts and seams everything may use: errors, the logger, the one
    # subprocess runner, the architecture/release/glibc tables, quoting, path rules
    ("facts", "crossenv errors log _proc _recorded_releases versions suffixes manylinux arches "
              "releases quoting machine elfarch model cache validate staging templates "
              "zipread policy"),
    # what the host is: its description and record, its libc, compilers' runtime parts
    ("host", "hostdescription builddetails sysconfigdata host hostlibc hostvenv launcher "
             "stublib glibcmoved tags cxxruntime zig envrecord envfile"),
    # Debian sysroots and what provisioning makes of them
    ("provision", "aptsources apt archiveindex debtree alternatives generations "
                  "sysrootcache provision provisioncli headers"),
    ("toolchain", "toolchain buildpython rust"),
    # reading, checking and running built wheels
    ("verify", "wheelfile wheelinstall testdeps elfinfo loader symbols wheelchecks "
               "checkimport check repair run testcmd"),
    ("target", "request target"),
    # the generators (peers: tests/test_generators.py) and the files made from them
    ("generators", "backends backends._protocol backends._shared backends.autotools "
                   "backends.cmake backends.dpkgarch backends.emulator backends.hostpython "
                   "backends.hostreqs backends.meson backends.pkgconfig backends.uvbase "
                   "backends.wheeltags backends.compilerwrap backends.configscripts "
                   "backends.cargo crossconfig scripts"),
    ("env", "crossinterp create describe conda"),
    ("api", "buildenvs api"),
    # the command line and buildwheel, which drive the API
    ("front", "buildwheel buildwheel.audit buildwheel.interrupt buildwheel.envsyntax "
              "buildwheel.outputdir buildwheel.depgroups buildwheel.cachecount "
              "buildwheel.identifiers buildwheel.selector buildwheel.requirespython "
              "buildwheel.config "
              "buildwheel.options buildwheel.runner buildwheel.report buildwheel.command "
              "cli __main__"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")
            if "runtime" not in p.relative_to(PACKAGE).parts}  # runtime files are copied out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _all_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module *name* imports anywhere: at the top, in function bodies and
    under ``if TYPE_CHECKING`` (an annotation's arrow is an arrow too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            found.update(_from_targets(node, package, known))
    found.discard(name)
    return found


def _from_targets(node: ast.ImportFrom, package: str, known: set[str]) -> set[str]:
    if node.level:
        base = package.split(".")
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = {target} if target in known else set()
    found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    return found


def _full_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _all_imports(name, path, set(modules)) for name, path in modules.items()}


def _layer_of() -> dict[str, int]:
    placed: dict[str, int] = {}
    for index, (_, names) in enumerate(LAYERS):
        for short in names.split():
            full = "crossenv" if short == "crossenv" else f"crossenv.{short}"
            assert full not in placed, f"{full} is in two layers"
            placed[full] = index
    return placed


def test_every_module_has_a_layer() -> None:
    placed, modules = _layer_of(), set(_modules())
    assert not modules - set(placed), f"place these modules in LAYERS: {modules - set(placed)}"
    assert not set(placed) - modules, f"LAYERS names modules that are gone: {set(placed) - modules}"


def test_imports_point_down_through_the_layers() -> None:
    """Every import, function bodies included, goes to the importer's layer or below."""
    placed = _layer_of()
    upward = [f"{name} ({LAYERS[placed[name]][0]}) -> {dep} ({LAYERS[placed[dep]][0]})"
              for name, deps in sorted(_full_graph().items()) for dep in sorted(deps)
              if placed[dep] > placed[name]]
    assert not upward, "imports pointing up:\n" + "\n".join(upward)


def test_no_import_circle_even_inside_functions() -> None:
    assert not _circles(_full_graph())


def test_the_full_graph_sees_function_level_imports() -> None:
    """The checks above would pass on a graph without function bodies."""
    full, top = _full_graph(), _graph()
    inside = {(n, d) for n, deps in full.items() for d in deps} - \
        {(n, d) for n, deps in top.items() for d in deps}
    assert ("crossenv.api", "crossenv.symbols") in inside, sorted(inside)[:5]


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules *name* imports when it is imported (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                found.update(_from_targets(node, package, known))  # from . import host too

    visit(tree.body)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _top_level_imports(name, path, set(modules)) for name, path in modules.items()}


def test_no_import_circle() -> None:
    circles = _circles(_graph())
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                circles.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                walk(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return circles


def test_leaves_import_only_leaves() -> None:
    graph = _graph()
    for leaf, allowed in LEAVES.items():
        assert graph[leaf] <= allowed, (leaf, graph[leaf] - allowed)


def test_no_module_over_500_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_the_import_graph_is_read() -> None:
    """The checks above would pass on an empty graph: make sure edges are found."""
    graph = _graph()
    assert "crossenv.arches" in graph["crossenv.host"]
    assert "crossenv.host" in graph["crossenv.backends.meson"]
    assert "crossenv.errors" in graph["crossenv.arches"]
