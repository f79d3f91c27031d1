"""Cross builds through build frontends that run hooks in their own environment.

pypa/build's isolated builds run the PEP 517 hooks with the isolated venv's
python, which is a plain native interpreter. Build requirements belong there
(they run on the build machine), but the hooks must describe the host. So the
hooks are run by cross-python instead, with the isolated venv's site-packages on
``PYTHONPATH`` — the same split pip's isolated builds get. Only build's public
``ProjectBuilder(python_executable=..., runner=...)`` API is used.
"""

import os
import sys


def _site_packages(python_executable):
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(python_executable)))
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    paths = [os.path.join(prefix, lib, version, "site-packages") for lib in ("lib", "lib64")]
    return [path for path in paths if os.path.isdir(path)]


def _cross_runner(runner, python_executable):
    site = _site_packages(python_executable)

    def run(cmd, cwd=None, extra_environ=None):
        cmd = list(cmd)
        if cmd and cmd[0] == python_executable:
            cmd[0] = sys.executable
        environ = dict(extra_environ or {})
        old = environ.get("PYTHONPATH") or os.environ.get("PYTHONPATH") or ""
        environ["PYTHONPATH"] = os.pathsep.join([*site, *filter(None, [old])])
        environ.setdefault("PYTHONNOUSERSITE", "1")
        return runner(cmd, cwd, environ)

    return run


def patch_build(module):
    """``build.ProjectBuilder(source_dir, python_executable, runner)``: a cross runner."""
    builder = getattr(module, "ProjectBuilder", None)
    if builder is None:
        return "ProjectBuilder", "pypa/build has no ProjectBuilder class"
    if getattr(builder, "_crossenv_patched", False):
        return None
    original = builder.__init__

    def __init__(self, source_dir, python_executable=sys.executable, runner=None, *args, **kw):
        if runner is None:
            import pyproject_hooks

            runner = pyproject_hooks.default_subprocess_runner
        if os.path.abspath(python_executable) != os.path.abspath(sys.executable):
            runner = _cross_runner(runner, python_executable)
        original(self, source_dir, python_executable, runner, *args, **kw)

    builder.__init__ = __init__
    builder._crossenv_patched = True
    return None
