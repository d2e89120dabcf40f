"""The typed output of the PersPose network, shared by the model and every backend."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

#: Output names, in the order of the exported ONNX graph and the TensorRT engine.
OUTPUT_NAMES: tuple[str, ...] = ("uv", "depth", "rho0", "twist", "beta", "leaf_rot", "xyz", "xyz0")


@dataclass
class PersPoseOutput:
    """Predictions for a batch of B crops (torch tensors or numpy arrays, float32).

    Attributes:
        uv: (B, 25, 2) joints in crop pixels (soft-argmax, cell centres ``(j + 0.5)·4``).
        depth: (B, 25, 1) root-relative depth ``Z_j − Z_0`` in metres (joint 0 is exactly 0).
        rho0: (B, 1, 1) ``d0 / f`` in metres per crop pixel (the root's depth over the focal length).
        twist: (B, 25, 3) unnormalised ortho-twist directions, PR-rotated camera frame.
        beta: (B, 11) SMPL shape (``beta[:, 0]`` is re-estimated by the IK, as the official code).
        leaf_rot: (B, 5, 3, 3) relative rotations of SMPL joints 22, 23, 10, 11, 15.
        xyz: (B, 25, 3) root-relative joints in metres, PR-rotated camera frame.
        xyz0: (B, 1, 3) the absolute root (SMPL pelvis) in metres, PR-rotated camera frame.
    """

    uv: Any
    depth: Any
    rho0: Any
    twist: Any
    beta: Any
    leaf_rot: Any
    xyz: Any
    xyz0: Any

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in OUTPUT_NAMES)

    @classmethod
    def from_tuple(cls, values: Any) -> PersPoseOutput:
        values = list(values)
        if len(values) != len(OUTPUT_NAMES):
            raise ValueError(f"expected {len(OUTPUT_NAMES)} outputs, got {len(values)}")
        return cls(**dict(zip(OUTPUT_NAMES, values)))

    @classmethod
    def from_mapping(cls, m: dict[str, Any]) -> PersPoseOutput:
        missing = [n for n in OUTPUT_NAMES if n not in m]
        if missing:
            raise ValueError(f"outputs missing: {missing}")
        return cls(**{n: m[n] for n in OUTPUT_NAMES})

    def numpy(self) -> PersPoseOutput:
        """A copy with every field as a float32 numpy array on the host."""
        def conv(v: Any) -> np.ndarray:
            if hasattr(v, "detach"):
                v = v.detach().float().cpu().numpy()
            return np.asarray(v, dtype=np.float32)
        return PersPoseOutput(**{f.name: conv(getattr(self, f.name)) for f in fields(self)})

    def __getitem__(self, index: Any) -> PersPoseOutput:
        """Select samples along the batch dimension (``out[0:2]``, ``out[mask]``)."""
        return PersPoseOutput(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def batch_size(self) -> int:
        return int(self.uv.shape[0])
