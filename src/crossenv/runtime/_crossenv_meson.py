"""meson-python in a cross environment: add crossenv's cross file to ``meson setup``.

meson-python documents ``-Csetup-args=--cross-file=...`` as *the* way to cross
compile, but only as a config setting a front-end passes per build (pip's
``--config-settings``, build's ``-C``), and there is no variable that adds it
for every build: a ``PIP_CONFIG_SETTINGS`` would reach every other backend too
(scikit-build-core refuses unknown settings). So ``mesonpy.Project`` is wrapped:
its ``meson_args`` mapping (``{"setup": [...], ...}``, the same lists the
``setup-args`` setting fills) gets ``--cross-file`` from
``CROSSENV_MESON_CROSS_FILE`` unless the build already passes one (a user's own
cross file wins) or the variable is empty.

A vendored ``meson.py`` (numpy's) is started by meson-python with
``sys.executable``; the shim re-executes ``cross-python .../meson.py`` with the
native build python (see ``_crossenv_shim``), so nothing of meson-python's
private ``_get_meson_command`` is touched.
"""

import os


def _has_cross_file(args):
    return any(arg == "--cross-file" or arg.startswith("--cross-file=") for arg in args)


def patch_mesonpy(module):
    """``mesonpy.Project(source_dir, build_dir, meson_args=None, ...)``: add the cross file."""
    project = getattr(module, "Project", None)
    original = getattr(project, "__init__", None)
    code = getattr(original, "__code__", None)
    if code is None or code.co_varnames[1:4] != ("source_dir", "build_dir", "meson_args"):
        return "Project.__init__", "no Project(source_dir, build_dir, meson_args) to wrap"
    if getattr(project, "_crossenv_patched", False):
        return None

    def __init__(self, source_dir, build_dir, meson_args=None, *args, **kwargs):
        cross_file = os.environ.get("CROSSENV_MESON_CROSS_FILE", "")
        if cross_file and os.path.isfile(cross_file):
            setup = list((meson_args or {}).get("setup", ()))
            if not _has_cross_file(setup) and not _pyproject_has_cross_file(source_dir):
                meson_args = {key: list(value) for key, value in (meson_args or {}).items()}
                meson_args["setup"] = ["--cross-file", cross_file, *setup]
        original(self, source_dir, build_dir, meson_args, *args, **kwargs)

    project.__init__ = __init__
    project._crossenv_patched = True
    return None


def _pyproject_has_cross_file(source_dir):
    try:
        import tomllib
    except ImportError:  # Python < 3.11: meson-python requires tomli there
        try:
            import tomli as tomllib
        except ImportError:
            return False
    try:
        with open(os.path.join(os.fspath(source_dir), "pyproject.toml"), "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError):
        return False
    args = data.get("tool", {}).get("meson-python", {}).get("args", {}).get("setup", [])
    return _has_cross_file(args)
