"""A minimal array namespace so each geometry formula is written once for numpy and torch.

Only what the geometry package needs is here. ``ops(x)`` returns :data:`NP` for numpy arrays (and
Python scalars) and :data:`TORCH` for tensors; results keep the input's dtype and device.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


class _NumpyOps:
    name = "numpy"

    @staticmethod
    def asarray(x: Any, like: Any = None) -> np.ndarray:
        if like is not None:
            return np.asarray(x, dtype=np.asarray(like).dtype)
        a = np.asarray(x)
        return a if a.dtype.kind == "f" else a.astype(np.float64)

    stack = staticmethod(lambda xs, axis=0: np.stack(xs, axis=axis))
    cat = staticmethod(lambda xs, axis=0: np.concatenate(xs, axis=axis))
    clip = staticmethod(np.clip)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    inv = staticmethod(np.linalg.inv)
    amax = staticmethod(lambda x, axis: np.max(x, axis=axis))
    amin = staticmethod(lambda x, axis: np.min(x, axis=axis))
    sum = staticmethod(lambda x, axis, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims))
    norm = staticmethod(lambda x, axis=-1, keepdims=False: np.linalg.norm(x, axis=axis, keepdims=keepdims))
    cross = staticmethod(lambda a, b: np.cross(a, b, axis=-1))
    broadcast_to = staticmethod(np.broadcast_to)
    any = staticmethod(lambda x: bool(np.any(x)))
    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    swap_last = staticmethod(lambda x: np.swapaxes(x, -1, -2))
    mean = staticmethod(lambda x, axis, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims))
    svd = staticmethod(np.linalg.svd)
    det = staticmethod(np.linalg.det)
    sign = staticmethod(np.sign)
    arctan2 = staticmethod(np.arctan2)
    trace = staticmethod(lambda x: np.trace(x, axis1=-2, axis2=-1))
    as_float = staticmethod(lambda x, like: np.asarray(x, dtype=np.asarray(like).dtype))

    @staticmethod
    def astype(x: Any, dtype: str) -> np.ndarray:
        """``dtype``: ``"float32"`` or ``"float64"``."""
        return np.asarray(x, dtype=dtype)

    @staticmethod
    def arange(n: int, like: Any) -> np.ndarray:
        return np.arange(n, dtype=np.asarray(like).dtype)

    @staticmethod
    def eye(n: int, like: Any) -> np.ndarray:
        return np.eye(n, dtype=np.asarray(like).dtype)

    @staticmethod
    def zeros_like(x: Any) -> np.ndarray:
        return np.zeros_like(x)

    @staticmethod
    def ones_like(x: Any) -> np.ndarray:
        return np.ones_like(x)


class _TorchOps:
    name = "torch"

    def __init__(self) -> None:
        import torch

        self.t = torch

    def asarray(self, x: Any, like: Any = None) -> Any:
        if like is not None:
            return self.t.as_tensor(x, dtype=like.dtype, device=like.device)
        return self.t.as_tensor(x)

    def stack(self, xs, axis=0):
        return self.t.stack(list(xs), dim=axis)

    def cat(self, xs, axis=0):
        return self.t.cat(list(xs), dim=axis)

    def clip(self, x, lo, hi):
        return self.t.clamp(x, lo, hi)

    def where(self, c, a, b):
        return self.t.where(c, a, b)

    # With a Python number, clamp: no host→device copy, so these stay CUDA-graph capturable.
    def maximum(self, a, b):
        return self.t.clamp(a, min=b) if isinstance(b, (int, float)) else self.t.maximum(a, b)

    def minimum(self, a, b):
        return self.t.clamp(a, max=b) if isinstance(b, (int, float)) else self.t.minimum(a, b)

    def sqrt(self, x):
        return self.t.sqrt(x)

    def abs(self, x):
        return self.t.abs(x)

    def inv(self, x):
        return self.t.linalg.inv(x)

    def amax(self, x, axis):
        return self.t.amax(x, dim=axis)

    def amin(self, x, axis):
        return self.t.amin(x, dim=axis)

    def sum(self, x, axis, keepdims=False):
        return self.t.sum(x, dim=axis, keepdim=keepdims)

    def norm(self, x, axis=-1, keepdims=False):
        return self.t.linalg.vector_norm(x, dim=axis, keepdim=keepdims)

    def cross(self, a, b):
        return self.t.linalg.cross(a, b, dim=-1)

    def broadcast_to(self, x, shape):
        return x.expand(shape)

    def any(self, x):
        return bool(x.any())

    def log(self, x):
        return self.t.log(x)

    def exp(self, x):
        return self.t.exp(x)

    def swap_last(self, x):
        return x.transpose(-1, -2)

    def mean(self, x, axis, keepdims=False):
        return self.t.mean(x, dim=axis, keepdim=keepdims)

    def svd(self, x):
        return self.t.linalg.svd(x)

    def det(self, x):
        return self.t.linalg.det(x)

    def sign(self, x):
        return self.t.sign(x)

    def arctan2(self, a, b):
        return self.t.atan2(a, b)

    def trace(self, x):
        return x.diagonal(dim1=-2, dim2=-1).sum(-1)

    def as_float(self, x, like):
        return self.t.as_tensor(x).to(dtype=like.dtype, device=like.device)

    def astype(self, x, dtype):
        return self.t.as_tensor(x).to(getattr(self.t, dtype))

    def arange(self, n, like):
        return self.t.arange(n, dtype=like.dtype, device=like.device)

    def eye(self, n, like):
        return self.t.eye(n, dtype=like.dtype, device=like.device)

    def zeros_like(self, x):
        return self.t.zeros_like(x)

    def ones_like(self, x):
        return self.t.ones_like(x)


NP = _NumpyOps()
_TORCH: _TorchOps | None = None


def ops(*xs: Any) -> Any:
    """The namespace for the given arrays: torch if any of them is a tensor, else numpy."""
    global _TORCH
    if any(is_torch(x) for x in xs):
        if _TORCH is None:
            _TORCH = _TorchOps()
        return _TORCH
    return NP
