"""``size(path)``: ``stat(path).st_size`` from C (a glibc 2.33 symbol with new headers)."""

from ._stat import size

__all__ = ["size"]
