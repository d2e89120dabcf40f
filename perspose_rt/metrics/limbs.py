"""Plausible limb lengths: the share of frames whose thighs, shins, upper arms and forearms all
have lengths an adult can have.

The ranges (metres) are wide on purpose: they catch a lifter that shrinks or stretches a limb it
cannot see, not the differences between people. Every limb of both sides counts, seen by the
camera or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Plausible length range (metres) per limb kind.
LIMB_RANGES_M: dict[str, tuple[float, float]] = {
    "thigh": (0.28, 0.60), "shin": (0.28, 0.60), "upper arm": (0.18, 0.42), "forearm": (0.15, 0.40),
}
#: The two bones (joint pairs, right then left) of each limb kind in the H36M-17 layout.
H36M17_LIMBS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "thigh": ((1, 2), (4, 5)), "shin": ((2, 3), (5, 6)),
    "upper arm": ((14, 15), (11, 12)), "forearm": ((15, 16), (12, 13)),
}


@dataclass(frozen=True)
class LimbPlausibility:
    """Shares of frames with plausible limbs.

    Attributes:
        frames: frames counted.
        share: frames where all eight limbs are in range, divided by ``frames``.
        per_limb: per limb kind, the share of frames where both its limbs are in range.
    """

    frames: int
    share: float
    per_limb: dict[str, float]


def limb_lengths(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Per limb kind, the lengths ``(..., 2)`` (right, left) of H36M-17 joints ``(..., 17, 3)``."""
    x = np.asarray(joints, dtype=np.float64)
    if x.shape[-2:] != (17, 3):
        raise ValueError(f"expected H36M-17 joints (..., 17, 3), got {x.shape}")
    return {kind: np.stack([np.linalg.norm(x[..., b, :] - x[..., a, :], axis=-1) for a, b in bones], -1)
            for kind, bones in H36M17_LIMBS.items()}


def plausible_limbs(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Per limb kind, ``(...,)`` bool: both its limbs are inside :data:`LIMB_RANGES_M`."""
    out = {}
    for kind, lengths in limb_lengths(joints).items():
        lo, hi = LIMB_RANGES_M[kind]
        out[kind] = np.all((lengths >= lo) & (lengths <= hi), axis=-1)
    return out


def plausible_limb_share(joints: np.ndarray, valid: np.ndarray | None = None) -> LimbPlausibility:
    """Share of the valid frames of ``joints`` (N, 17, 3) whose eight limbs are all plausible.

    Raises:
        ValueError: no valid frame.
    """
    x = np.asarray(joints, dtype=np.float64)
    ok = np.all(np.isfinite(x), axis=(-2, -1))
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    if not ok.any():
        raise ValueError("no valid frame to measure limb lengths in")
    per = plausible_limbs(x[ok])
    every = np.all(np.stack(list(per.values())), axis=0)
    return LimbPlausibility(int(ok.sum()), float(every.mean()), {k: float(v.mean()) for k, v in per.items()})
