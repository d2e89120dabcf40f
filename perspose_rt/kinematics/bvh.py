"""BVH export: hierarchy from the rest skeleton, rotations from the IK.

World frame of the file: the camera frame turned to the BVH convention **y up** —
``X_bvh = C · X_cam`` with ``C = diag(1, -1, -1)`` (x right, y up, z from the scene towards the
camera). The rest pose is the skeleton's canonical T-pose (y up, x = the person's left, the
person facing +z), so a person standing upright and facing the camera has a root rotation close
to the identity. Offsets and root positions are in metres, or centimetres with ``units="cm"``.

Channel order per joint (stated in the file, as BVH requires): the axis along the joint's
primary rest bone is the middle angle, which keeps the common large rotations away from gimbal
lock: ``Yrotation Xrotation Zrotation`` for the root, ``Zrotation Yrotation Xrotation`` for
legs, spine and neck (bones along y), ``Zrotation Xrotation Yrotation`` for arms (bones along
x). The angles are made continuous over time (no 360° jumps).

Invalid frames (nobody detected) are filled before the IK by the documented rule: joint
positions are interpolated linearly between the nearest valid frames before and after, and held
at the first/last valid frame at the ends of the sequence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.io.atomic import atomic_path
from perspose_rt.kinematics.euler import continuous_euler
from perspose_rt.kinematics.ik_h36m import IKResult, solve_ik_h36m17
from perspose_rt.kinematics.skeleton import Skeleton

#: Camera frame (OpenCV, y down, z forward) → BVH world frame (y up).
CAM_TO_BVH = np.diag([1.0, -1.0, -1.0])
_UNITS = {"m": 1.0, "cm": 100.0}
_CHANNEL = {"X": "Xrotation", "Y": "Yrotation", "Z": "Zrotation"}

#: BVH joint names of the H36M-17 skeleton (leaves become End Sites).
H36M17_BVH_NAMES = (
    "Hips", "RightUpLeg", "RightLeg", "RightFoot", "LeftUpLeg", "LeftLeg", "LeftFoot", "Spine",
    "Thorax", "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm",
    "RightHand",
)


def default_channel_orders(rest: Skeleton) -> list[str]:
    """Per-joint Euler order: the axis of the joint's first child's rest bone in the middle."""
    orders = []
    for j in range(rest.num_joints):
        if j == 0:
            orders.append("YXZ")
            continue
        kids = rest.children(j)
        bone = rest.offsets[kids[0]] if kids else rest.offsets[j]
        axis = int(np.argmax(np.abs(bone)))
        orders.append({0: "ZXY", 1: "ZYX", 2: "YZX"}[axis])
    return orders


def fill_invalid(joints: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill invalid frames: linear interpolation between valid neighbours, held at the ends.

    Args:
        joints: (N, J, 3). Frames with non-finite values count as invalid.
        valid: (N,) bool.

    Returns:
        (filled joints (N, J, 3) float64, ok (N,) bool: the frames that were valid).

    Raises:
        InputError: when no frame is valid.
    """
    x = np.asarray(joints, dtype=np.float64)
    ok = np.asarray(valid, dtype=bool) & np.all(np.isfinite(x), axis=(1, 2))
    if not ok.any():
        raise InputError("no valid frame to export: the person was never detected")
    t = np.arange(x.shape[0], dtype=np.float64)
    flat = x.reshape(x.shape[0], -1)
    good = np.flatnonzero(ok)
    filled = np.stack([np.interp(t, good, flat[good, c]) for c in range(flat.shape[1])], 1)
    return filled.reshape(x.shape), ok


@dataclass(frozen=True)
class BvhExport:
    """What :func:`export_bvh` wrote.

    Attributes:
        path: the file.
        ik: the IK result of the (filled) frames, camera frame.
        filled: (N,) bool, frames that were invalid and filled by interpolation/hold.
        fit_error_m: (N, 17) distance between the BVH skeleton's joints and the input joints
            (the part of the input a rigid skeleton cannot follow: bone-length changes and
            torso deformation; see docs/KINEMATICS.md).
    """

    path: Path
    ik: IKResult
    filled: np.ndarray
    fit_error_m: np.ndarray


def export_bvh(path: str | os.PathLike[str], joints: np.ndarray, valid: np.ndarray | None,
               fps: float, units: str = "m", rest: Skeleton | str | None = "fit") -> BvhExport:
    """Write H36M-17 camera-frame joints to a BVH file (IK → Euler angles).

    Args:
        path: output ``.bvh`` (written atomically).
        joints: (N, 17, 3) joints in the camera frame, metres.
        valid: (N,) bool, frames with a person (None: all frames with finite values).
        fps: frame rate of the motion.
        units: ``"m"`` or ``"cm"`` for offsets and root positions.
        rest: rest skeleton for the IK; ``"fit"`` (default) fits bone lengths and the torso to
            the valid frames, ``None`` uses the default H36M skeleton.
    """
    x = np.asarray(joints, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (17, 3):
        raise InputError(f"export_bvh needs (N, 17, 3) H36M-17 joints, got shape {x.shape}")
    if x.shape[0] == 0:
        raise InputError("no frame to export")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be positive, got {fps}")
    v = np.ones(x.shape[0], bool) if valid is None else np.asarray(valid, dtype=bool)
    if v.shape != (x.shape[0],):
        raise InputError(f"valid must have one flag per frame ({x.shape[0]}), got shape {v.shape}")
    filled, ok = fill_invalid(x, v)
    if isinstance(rest, str) and rest == "fit":
        from perspose_rt.kinematics.skeleton import fit_h36m17_skeleton

        rest = fit_h36m17_skeleton(filled, ok)
    ik = solve_ik_h36m17(filled, rest)
    local = ik.local_rotmats.copy()
    local[:, 0] = CAM_TO_BVH @ ik.root_orient
    write_bvh(path, ik.rest, local, ik.root_transl @ CAM_TO_BVH.T, fps, H36M17_BVH_NAMES, units=units)
    return BvhExport(Path(path), ik, ~ok, np.linalg.norm(ik.joints - filled, axis=-1))


def write_bvh(path: str | os.PathLike[str], rest: Skeleton, local_rotmats: np.ndarray,
              root_positions: np.ndarray, fps: float, names: tuple[str, ...] | None = None,
              channel_orders: list[str] | None = None, units: str = "m",
              end_site_joints: bool = True) -> Path:
    """Write a BVH file.

    Args:
        path: output file (written atomically).
        rest: the rest skeleton (its offsets become the OFFSETs, scaled to ``units``).
        local_rotmats: (N, J, 3, 3) local rotations; row 0 is the root's rotation in the BVH
            world frame.
        root_positions: (N, 3) root positions in the BVH world frame, metres.
        fps: frames per second (``Frame Time`` = 1/fps).
        names: joint names (default ``rest.joint_names``); must be unique without spaces.
        channel_orders: per-joint Euler order (default :func:`default_channel_orders`).
        units: ``"m"`` or ``"cm"``.
        end_site_joints: write leaf joints as End Sites (their rotation, which positions
            nothing, is dropped); otherwise leaves are JOINTs with a zero-length End Site.
    """
    if units not in _UNITS:
        raise InputError(f"units must be 'm' or 'cm', got {units!r}")
    scale = _UNITS[units]
    R = np.asarray(local_rotmats, dtype=np.float64)
    pos = np.asarray(root_positions, dtype=np.float64)
    N, J = R.shape[:2]
    names = tuple(names or rest.joint_names)
    orders = channel_orders or default_channel_orders(rest)
    if len(names) != J or len(set(names)) != J or any(not n or any(c.isspace() for c in n) for n in names):
        raise ValueError("BVH joint names must be unique, non-empty and without spaces")
    if not np.all(np.isfinite(R)) or not np.all(np.isfinite(pos)):
        raise ValueError("rotations and positions must be finite (fill invalid frames first)")
    is_end = [end_site_joints and not rest.children(j) and j > 0 for j in range(J)]
    motion_joints: list[int] = []
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        ind = "\t" * depth
        o = rest.offsets[j] * scale if j > 0 else np.zeros(3)
        lines.append(f"{ind}{'ROOT' if j == 0 else 'JOINT'} {names[j]}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}\tOFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        rot = " ".join(_CHANNEL[c] for c in orders[j])
        lines.append(f"{ind}\tCHANNELS {'6 Xposition Yposition Zposition ' if j == 0 else '3 '}{rot}")
        motion_joints.append(j)
        kids = rest.children(j)
        for c in kids:
            if is_end[c]:
                e = rest.offsets[c] * scale
                lines.extend([f"{ind}\tEnd Site", f"{ind}\t{{",
                              f"{ind}\t\tOFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}", f"{ind}\t}}"])
            else:
                emit(c, depth + 1)
        if not kids:
            lines.extend([f"{ind}\tEnd Site", f"{ind}\t{{", f"{ind}\t\tOFFSET 0.000000 0.000000 0.000000",
                          f"{ind}\t}}"])
        lines.append(f"{ind}}}")

    emit(0, 0)
    cols = [pos * scale]
    for j in motion_joints:
        cols.append(np.degrees(continuous_euler(R[:, j], orders[j])))
    table = np.concatenate(cols, axis=1)
    lines += ["MOTION", f"Frames: {N}", f"Frame Time: {1.0 / fps:.8f}"]
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in table)
    text = "\n".join(lines) + "\n" + body + "\n"
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="ascii")
    return path
