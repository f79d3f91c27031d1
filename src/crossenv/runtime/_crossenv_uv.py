"""uv's isolated builds in a cross environment: the PEP 517 hooks describe the host.

uv does not run the hooks with the interpreter it is given. It makes a build
venv from that interpreter's ``sys._base_executable``, installs the build
requirements itself (no pip, so the shim's pip re-exec never applies) and runs
``BUILD_VENV/bin/python -c HOOK_SCRIPT`` with ``UV_INTERNAL__BUILD_DIR`` set.
Two pieces make that venv's hook processes describe the host:

* :func:`patch_query` is an import hook on uv's interpreter query
  (``python.get_interpreter_info``, run as ``cross-python -I -B -c ...``): it
  reports ``ENV/cross/crossenv/uv-base/bin/python3.X`` as the base executable.
  ``uv-base`` (made by :mod:`crossenv.backends.uvbase` at creation) is the build python's
  installation seen through symlinks, plus a ``python3XY.zip`` whose
  ``sitecustomize`` is therefore on ``sys.path`` in every venv made from it and
  in no other python.
* That ``sitecustomize`` calls :func:`start` in uv's build processes only;
  :func:`start` activates the shim (host description) there, except in the
  console scripts of build requirements (meson, cython...), which stay native
  exactly as they do under pip.

uv resolves build requirements for the interpreter it queried, i.e. for the
host. Pure-Python ones (setuptools, hatchling, flit) are right either way; a
host-architecture wheel cannot run here, so :func:`start` stops the build with
one line naming the route that installs them natively.
"""

import os
import sys

UV_BUILD_VARIABLE = "UV_INTERNAL__BUILD_DIR"
BASE_DIR = "uv-base"


def base_executable(crossenv_dir, version=None):
    """Where ``uv-base`` keeps its python: ``CROSSENV_DIR/uv-base/bin/python3.X``."""
    version = version or sys.version_info
    return os.path.join(crossenv_dir, BASE_DIR, "bin", f"python{version[0]}.{version[1]}")


def _fail(message):
    sys.stderr.write(f"crossenv: {message}\n")
    sys.stderr.flush()
    os._exit(2)


def patch_query(module):
    """uv's interpreter query (``-I``): report uv-base as the base executable."""
    if not callable(getattr(module, "main", None)):
        # the query reads sys._base_executable in main(), after this hook has run
        return "main", "uv's interpreter query has no main() to run after this hook"
    if not sys.flags.isolated or not hasattr(sys, "crossenv"):
        return None
    import _crossenv_config as config

    crossenv_dir = os.path.dirname(config.SYSCONFIGDATA)
    executable = base_executable(crossenv_dir)
    if not os.path.exists(executable):
        env = config.INFO.get("env", "ENV")
        _fail(f"{os.path.join(crossenv_dir, BASE_DIR)} is missing (an older crossenv, or a "
              "build python it cannot be made for), so uv's isolated builds would make "
              f"build-machine wheels; use `{os.path.join(env, 'bin', 'cross-python')} -m build "
              "--wheel --installer uv`, or recreate the environment with this crossenv")
    sys._base_executable = executable
    return None


def _load(name, directory):
    module = sys.modules.get(name)
    if module is None:
        from importlib.util import module_from_spec, spec_from_file_location

        spec = spec_from_file_location(name, os.path.join(directory, name + ".py"))
        module = module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def _console_script():
    """True for a build requirement's script in the build venv (``bin/meson``)."""
    script = sys.argv[0] if sys.argv else ""
    if not script or script in ("-c", "-m"):
        return False
    directory = os.path.dirname(os.path.abspath(script))
    return directory == os.path.join(os.path.abspath(sys.prefix), "bin")


def _wheel_platforms(site):
    """``{distribution: {platform tags}}`` of what uv installed into *site*."""
    found = {}
    try:
        entries = os.listdir(site)
    except OSError:
        return found
    for entry in entries:
        if not entry.endswith(".dist-info"):
            continue
        try:
            with open(os.path.join(site, entry, "WHEEL"), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        tags = {line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")}
        found[entry[: -len(".dist-info")]] = {tag.rsplit("-", 1)[-1] for tag in tags}
    return found


def foreign_requirements(site, native_machine):
    """Build requirements in *site* whose wheels cannot run on *native_machine*."""
    wrong = []
    for name, platforms in sorted(_wheel_platforms(site).items()):
        arches = {p for p in platforms if p != "any"}
        if arches and not any(p.endswith("_" + native_machine) for p in arches):
            wrong.append(name)
    return wrong


def _site_packages():
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(sys.prefix, "lib", version, "site-packages")


def start(cross_site):
    """In a venv made from uv-base: describe the host in uv's build processes."""
    if UV_BUILD_VARIABLE not in os.environ or hasattr(sys, "crossenv"):
        return
    if _console_script():
        return
    native_machine = os.uname().machine
    config = _load("_crossenv_config", cross_site)
    shim = _load("_crossenv_shim", cross_site)
    if not hasattr(sys, "crossenv"):
        shim._activate()
    wrong = foreign_requirements(_site_packages(), native_machine)
    if wrong:
        env = config.INFO.get("env", "ENV")
        _fail(f"uv installed {config.MACHINE} wheels of the build requirements "
              f"{', '.join(wrong)}, which cannot run on this {native_machine} machine; "
              f"build with `{os.path.join(env, 'bin', 'cross-python')} -m build --wheel "
              "--installer uv` (build requirements installed natively)")
