"""setuptools' backend plus one host-dependent build requirement (tomli on aarch64)."""

import platform

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the other hooks, unchanged)


def get_requires_for_build_wheel(config_settings=None):
    extra = ["tomli>=2"] if platform.machine() == "aarch64" else []
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *extra]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import tomli  # noqa: F401  (present only if the host's answer was installed)

    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
