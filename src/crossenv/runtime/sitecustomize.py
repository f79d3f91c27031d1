"""sitecustomize of a crossenv cross environment.

The shim itself is loaded by ``_crossenv.pth`` (pip's isolated builds replace
sitecustomize with their own; .pth files still run). This file only makes sure
the shim is active and then runs the next ``sitecustomize`` on ``sys.path``
(a distribution's or the user's), which ours would otherwise hide. Finding none
costs a few stat calls; the import machinery is used only when one exists.
"""

import os
import sys

import _crossenv_shim  # noqa: F401

_NAMES = ("sitecustomize.py", "sitecustomize.pyc", os.path.join("sitecustomize", "__init__.py"))


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    later = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    exists = any(os.path.exists(os.path.join(p or os.curdir, n)) for p in later for n in _NAMES)
    if not exists and not any(p.endswith(".zip") and os.path.isfile(p) for p in later):
        return
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", later)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_chain()
