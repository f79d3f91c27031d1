"""crossenv: virtual environments that cross-compile Python extension modules."""

__version__ = "2.0.0.dev0"
