"""crossenv runtime: ``cross-pip install`` into a target root gives the host's files.

Distribution builders (Yocto, Buildroot, nixpkgs, Debian) run ``pip install --root
DESTDIR --prefix /usr`` (isolation off) and package DESTDIR for the device. pip writes
three things from the interpreter that runs it: console-script shebangs and ``#!python``
scripts name ``sys.executable`` (here cross-python, a build-machine path, which distlib
even wraps in a ``/bin/sh`` trampoline whenever ``sys.cross_compiling``), and byte-code
records the path it was compiled at (DESTDIR included). When the scripts go outside this
cross environment (``--root``, or a ``--prefix``/``--target`` elsewhere), the shebang is
the host's interpreter as the host sees it (``BINDIR/pythonX.Y`` of the host's
sysconfig, ``/usr/bin/python3.11`` for Debian; ``CROSSENV_SCRIPT_EXECUTABLE`` overrides
it), ``--root`` is stripped from the byte-code's paths, and a ``--root`` install
writes no ``direct_url.json`` (its ``file://`` URL would name a path of this machine).
Installs into ENV/cross keep pip's behaviour (their scripts run on the build machine).
The byte-code itself is the host's already: the build interpreter must have the host's
X.Y, hence its magic number.

Loaded only when pip's wheel installer is imported (``IMPORT_HOOKS``). Stdlib only.
"""

import os
import sys


def host_executable():
    """The host's interpreter path on the device."""
    given = os.environ.get("CROSSENV_SCRIPT_EXECUTABLE")
    if given:
        return given
    import sysconfig

    bindir = sysconfig.get_config_var("BINDIR") or "/usr/bin"
    sysroot = getattr(getattr(sys, "crossenv", None), "sysroot", None)
    if sysroot and (bindir + "/").startswith(sysroot.rstrip("/") + "/"):
        bindir = bindir[len(sysroot.rstrip("/")):] or "/"
    return os.path.join(bindir, "python" + sysconfig.get_config_var("VERSION"))


def pip_root(argv=None, environ=os.environ):
    """``--root DIR`` of this pip command line (or ``PIP_ROOT``), else None."""
    argv = list(getattr(sys, "orig_argv", sys.argv) if argv is None else argv)
    root = None
    for index, word in enumerate(argv):
        if word == "--root" and index + 1 < len(argv):
            root = argv[index + 1]
        elif word.startswith("--root="):
            root = word[len("--root="):]
    return root or environ.get("PIP_ROOT") or None


def _outside_env(directory):
    env = os.path.realpath(sys.prefix)
    here = os.path.realpath(directory)
    return here != env and not here.startswith(env + os.sep)


class _Target:
    """What the install in progress writes for the host (None: a plain install)."""

    executable = None
    root = None


def _fix_script(original):
    def fix_script(path):
        if _Target.executable is None:
            return original(path)
        with open(path, "rb") as script:
            first = script.readline()
            if not first.startswith(b"#!python"):
                return False
            rest = script.read()
        with open(path, "wb") as script:
            script.write(b"#!" + _Target.executable.encode() + b"\n" + rest)
        return True

    return fix_script


class _Compileall:
    """``compileall`` as pip's installer sees it: the paths in the byte-code lose
    ``--root`` (``compile_file``'s documented stripdir/prependdir)."""

    def __init__(self, real):
        self._real = real

    def compile_file(self, fullname, *args, **kwargs):
        root = _Target.root
        if root and "stripdir" not in kwargs:
            kwargs.update(stripdir=os.path.abspath(root), prependdir="/")
        return self._real.compile_file(fullname, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


def patch_pip_wheel(module):
    """Hook for ``pip._internal.operations.install.wheel``."""
    for name in ("install_wheel", "fix_script", "compileall", "PipScriptMaker"):
        if not hasattr(module, name):
            return name, "not found"
    maker = module.PipScriptMaker
    if not hasattr(maker, "_build_shebang"):
        return "PipScriptMaker._build_shebang", "not found (distlib changed)"
    install_wheel = module.install_wheel

    def install(name, wheel_path, scheme, *args, **kwargs):
        root = pip_root()
        if root is None and not _outside_env(scheme.scripts):
            return install_wheel(name, wheel_path, scheme, *args, **kwargs)
        _Target.executable, _Target.root = host_executable(), root
        if root is not None and kwargs.get("direct_url") is not None:
            kwargs["direct_url"] = None  # PEP 610's file:// URL names this machine's path
        try:
            return install_wheel(name, wheel_path, scheme, *args, **kwargs)
        finally:
            _Target.executable = _Target.root = None

    class HostScriptMaker(maker):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if _Target.executable is not None:  # distlib's public attribute
                self.executable = _Target.executable

        def _build_shebang(self, executable, post_interp):
            if _Target.executable is not None and executable == _Target.executable.encode():
                return b"#!" + executable + post_interp + b"\n"  # no /bin/sh trampoline
            return super()._build_shebang(executable, post_interp)

    module.install_wheel = install
    module.fix_script = _fix_script(module.fix_script)
    module.compileall = _Compileall(module.compileall)
    module.PipScriptMaker = HostScriptMaker
    return None
