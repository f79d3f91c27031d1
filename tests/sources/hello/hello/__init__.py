from ._chello import greet
from ._cyhello import pointer_bits

__all__ = ["greet", "pointer_bits"]
