from ._cmod import add, machine
from ._cymod import fib

__all__ = ["add", "fib", "machine"]
