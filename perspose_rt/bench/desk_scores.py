"""Scores of a desk-camera run without ground truth: a stable upper body, plausible arms, no jumping
legs (``perspose-rt bench desk``, :mod:`perspose_rt.bench.desk`).

From a result file of one person (H36M-17): upper-body jitter (shoulders, elbows, wrists), arm
bone lengths against adult ranges, and the legs (knees, ankles): how often they are marked seen
and how far they jump from frame to frame relative to the pelvis. Each score is computed for the
final joints (``joints_cam``: smoothed, fitted skeleton) and the lifter's own (``joints_cam_raw``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perspose_rt.metrics.stability import (
    FOREARM_RANGE_M,
    FOREARMS,
    UPPER_ARM_RANGE_M,
    UPPER_ARMS,
    acceleration_mm,
    bone_lengths,
    fraction_in_range,
    steps_mm,
)

UPPER_BODY = (11, 12, 13, 14, 15, 16)  # shoulders, elbows, wrists
LEGS = (2, 3, 5, 6)  # knees, ankles
PELVIS = 0


@dataclass(frozen=True)
class DeskScores:
    """Scores of one joint array (see the module). Accelerations mm/frame², steps mm/frame,
    lengths m; ``p50``/``p95`` over every (frame, joint) sample."""

    frames: int
    valid: int
    triples: int
    accel_p50: float
    accel_p95: float
    accel_rel_p50: float
    accel_rel_p95: float
    upper_arm_m: float
    upper_arm_ok: float
    forearm_m: float
    forearm_ok: float
    legs_seen: float
    legs_conf: float
    leg_jump_p50: float
    leg_jump_p95: float


def _pct(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if a.size else float("nan")


def desk_scores(joints: np.ndarray, frame_index: np.ndarray, valid: np.ndarray, joint_in_view: np.ndarray,
                confidence: np.ndarray) -> DeskScores:
    """Scores of joints ``(N, 17, 3)`` m with ``frame_index``, ``valid`` ``(N,)``,
    ``joint_in_view`` and ``confidence`` ``(N, 17)`` (one person, H36M-17)."""
    X = np.asarray(joints, dtype=np.float64)
    ok = np.asarray(valid, dtype=bool)
    up = list(UPPER_BODY)
    acc = acceleration_mm(X, frame_index, ok)[:, up]
    acc_rel = acceleration_mm(X, frame_index, ok, relative_to=PELVIS)[:, up]
    ua = bone_lengths(X[ok], UPPER_ARMS)
    fa = bone_lengths(X[ok], FOREARMS)
    legs = list(LEGS)
    jumps = steps_mm(X, frame_index, ok, relative_to=PELVIS)[:, legs]
    seen = np.asarray(joint_in_view, dtype=bool)[ok][:, legs]
    conf = np.asarray(confidence, dtype=np.float64)[ok][:, legs]
    return DeskScores(
        frames=int(ok.size), valid=int(ok.sum()), triples=int(acc.shape[0]),
        accel_p50=_pct(acc, 50), accel_p95=_pct(acc, 95), accel_rel_p50=_pct(acc_rel, 50),
        accel_rel_p95=_pct(acc_rel, 95),
        upper_arm_m=float(np.median(ua)) if ua.size else float("nan"),
        upper_arm_ok=fraction_in_range(ua, *UPPER_ARM_RANGE_M),
        forearm_m=float(np.median(fa)) if fa.size else float("nan"),
        forearm_ok=fraction_in_range(fa, *FOREARM_RANGE_M),
        legs_seen=float(seen.mean()) if seen.size else float("nan"),
        legs_conf=float(conf.mean()) if conf.size else float("nan"),
        leg_jump_p50=_pct(jumps, 50), leg_jump_p95=_pct(jumps, 95))


def result_scores(result, max_frame_index: int | None = None) -> dict[str, DeskScores]:
    """``{"final": …, "raw": …}`` scores of a loaded one-person result (rows with a
    ``frame_index`` below ``max_frame_index`` only: one loop of a simulated camera)."""
    keep = np.ones(len(result), dtype=bool)
    if max_frame_index is not None:
        keep = result["frame_index"] < max_frame_index
    args = (result["frame_index"][keep], result["valid"][keep], result["joint_in_view"][keep],
            result["confidence"][keep])
    return {"final": desk_scores(result["joints_cam"][keep], *args),
            "raw": desk_scores(result["joints_cam_raw"][keep], *args)}


HEADER = ["run", "joints", "valid / frames", "upper-body accel p50 / p95 mm/frame²",
          "pelvis-relative p50 / p95", "upper arm median m (in 0.18–0.42)", "forearm median m (in 0.15–0.40)",
          "legs seen", "leg conf mean", "leg jump vs pelvis p50 / p95 mm/frame"]


def score_row(run: str, joints: str, s: DeskScores) -> list[str]:
    """One markdown row of :data:`HEADER`."""
    return [run, joints, f"{s.valid} / {s.frames}", f"{s.accel_p50:.1f} / {s.accel_p95:.1f}",
            f"{s.accel_rel_p50:.1f} / {s.accel_rel_p95:.1f}",
            f"{s.upper_arm_m:.3f} ({s.upper_arm_ok:.0%})", f"{s.forearm_m:.3f} ({s.forearm_ok:.0%})",
            f"{s.legs_seen:.0%}", f"{s.legs_conf:.2f}", f"{s.leg_jump_p50:.1f} / {s.leg_jump_p95:.1f}"]
