"""The inference-backend interface shared by PyTorch, ONNX Runtime and TensorRT.

``backend.infer(image, K_crop)`` takes a batch of normalised crops (B, 3, S, S) float32 and their
intrinsics (B, 3, 3) — numpy arrays or torch tensors on any device — and returns a
:class:`~perspose_rt.models.output.PersPoseOutput` of float32 numpy arrays on the host.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.models.config import NetConfig
from perspose_rt.models.output import PersPoseOutput


class Backend(ABC):
    """One way of running the network.

    Attributes:
        name: ``"torch"``, ``"onnxruntime"`` or ``"tensorrt"``.
        config: the network configuration (input size, joints, …).
        max_batch: largest batch accepted (``None``: no limit).
    """

    name: str = ""
    config: NetConfig
    max_batch: int | None = None

    def infer(self, image: Any, K_crop: Any) -> PersPoseOutput:
        """Run a batch. Raises :class:`InputError` for wrong shapes or a batch over ``max_batch``."""
        check_batch(image, K_crop, self.config.input_size, self.max_batch)
        return self._infer(image, K_crop)

    @abstractmethod
    def _infer(self, image: Any, K_crop: Any) -> PersPoseOutput: ...

    def describe(self) -> str:
        """One line for logs and benchmark tables."""
        return f"{self.name} ({self.config.backbone.name})"

    def close(self) -> None:
        """Release device resources (optional)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_batch(image: Any, K_crop: Any, size: int, max_batch: int | None = None) -> int:
    """Validate shapes (and dtype for numpy); return the batch size."""
    ishape, kshape = tuple(image.shape), tuple(K_crop.shape)
    if len(ishape) != 4 or ishape[1:] != (3, size, size):
        raise InputError(f"image batch must be (B, 3, {size}, {size}) float32, got {ishape}")
    if kshape != (ishape[0], 3, 3):
        raise InputError(f"K_crop must be ({ishape[0]}, 3, 3) to match the image batch, got {kshape}")
    if ishape[0] < 1:
        raise InputError("empty batch")
    if max_batch is not None and ishape[0] > max_batch:
        raise InputError(f"batch of {ishape[0]} exceeds this backend's maximum of {max_batch}; "
                         "split the batch or rebuild the engine with a larger --max-batch")
    if isinstance(image, np.ndarray) and image.dtype != np.float32:
        raise InputError(f"image batch must be float32 (normalised), got {image.dtype}")
    return ishape[0]
