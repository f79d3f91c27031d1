"""meson-python in a cross environment: add crossenv's cross file to ``meson setup``.

meson-python (``mesonpy.Project``) takes a ``meson_args`` mapping of
``{"setup": [...], ...}``; this hook adds ``--cross-file`` from
``CROSSENV_MESON_CROSS_FILE`` unless the build already passes one (a user's own
cross file wins) or the variable is empty. Only the public ``Project(source_dir,
build_dir, meson_args=...)`` parameters are used, so meson-python upgrades keep
working.
"""

import os
import sys


def _has_cross_file(args):
    return any(arg == "--cross-file" or arg.startswith("--cross-file=") for arg in args)


def _native_meson(get_meson_command):
    """Run a vendored ``meson.py`` (numpy's) with the native build python.

    meson-python starts a ``.py`` meson with ``sys.executable``; under cross-python
    meson would detect the *build* machine as the host (``platform.machine()`` is
    the host's there). Installed meson already runs natively through its shebang.
    """

    def wrapper(*args, **kwargs):
        cmd = get_meson_command(*args, **kwargs)
        try:
            import _crossenv_config
        except ImportError:
            return cmd
        native = getattr(_crossenv_config, "BUILD_PYTHON", None)
        if cmd and cmd[0] == sys.executable and native and os.path.exists(native):
            cmd = [native, *cmd[1:]]
        return cmd

    return wrapper


def patch_mesonpy(module):
    get_command = getattr(module, "_get_meson_command", None)
    if get_command is not None and not getattr(get_command, "_crossenv_patched", False):
        module._get_meson_command = _native_meson(get_command)
        module._get_meson_command._crossenv_patched = True
    project = getattr(module, "Project", None)
    if project is None or getattr(project, "_crossenv_patched", False):
        return
    original = project.__init__

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


def _pyproject_has_cross_file(source_dir):
    try:
        import tomllib
    except ImportError:  # Python < 3.11: meson-python vendors no reader we can rely on
        return False
    try:
        with open(os.path.join(os.fspath(source_dir), "pyproject.toml"), "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError):
        return False
    args = data.get("tool", {}).get("meson-python", {}).get("args", {}).get("setup", [])
    return _has_cross_file(args)
