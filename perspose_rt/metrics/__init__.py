"""Metrics (small functions with known-answer tests) and joint sets."""

from perspose_rt.metrics.joints import (
    H36M14_FROM_17,
    H36M17_FLIP_PAIRS,
    H36M17_NAMES,
    H36M17_PARENTS,
    PERSPOSE25_FLIP_PAIRS,
    PERSPOSE25_NAMES,
    SMPL24_NAMES,
    SMPL24_PARENTS,
)
from perspose_rt.metrics.pose import (
    AUC_THRESHOLDS,
    acceleration_error,
    auc,
    mpjae,
    mpjpe,
    pa_mpjpe,
    pck,
    procrustes_align,
    pve,
)

__all__ = [
    "AUC_THRESHOLDS", "H36M14_FROM_17", "H36M17_FLIP_PAIRS", "H36M17_NAMES", "H36M17_PARENTS",
    "PERSPOSE25_FLIP_PAIRS", "PERSPOSE25_NAMES", "SMPL24_NAMES", "SMPL24_PARENTS",
    "acceleration_error", "auc", "mpjae", "mpjpe", "pa_mpjpe", "pck", "procrustes_align", "pve",
]
