"""nndl: neural networks and deep learning from first principles, in NumPy.

Every forward and backward pass, cost, optimizer and regularizer is plain array code
you can read beside Michael Nielsen's *Neural Networks and Deep Learning*.
"""
__version__ = "0.1.0"

from nndl.errors import NndlError  # noqa: E402,F401
from nndl.allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()
