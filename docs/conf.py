"""Sphinx configuration for the crossenv documentation."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))  # document this checkout, installed or not

import crossenv  # noqa: E402

project = "crossenv"
author = "crossenv developers"
copyright = "2026, crossenv developers"
release = crossenv.__version__
version = ".".join(release.split(".")[:2])

extensions = ["crossenv_cli"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
nitpicky = True

html_theme = "furo"
html_title = f"crossenv {release}"
