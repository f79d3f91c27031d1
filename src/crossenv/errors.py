"""Exception types.

Every error a user can cause (a bad path, a missing compiler, a version mismatch)
is a :class:`CrossenvError`. The command line prints its message as one line and
exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CrossenvError(Exception):
    """A problem with the user's input or machine, with a message that says how to fix it."""

    exit_status = 2


class HostError(CrossenvError):
    """The host Python (or its description) cannot be used."""


class ToolchainError(CrossenvError):
    """No usable cross toolchain for the host."""


class EnvironmentCreationError(CrossenvError):
    """The environment directory cannot be created."""


class ProvisionError(CrossenvError):
    """A host sysroot cannot be provisioned (no apt, unknown arch, missing package)."""


class WheelError(CrossenvError):
    """A wheel given to ``crossenv check`` or ``repair`` is missing or is not a wheel."""


class OptionError(CrossenvError):
    """A configuration value (buildwheel's cibuildwheel options, a test command) cannot be
    parsed; the message names the option."""
