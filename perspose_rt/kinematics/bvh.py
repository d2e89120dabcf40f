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

Hierarchy: the 12 rotating joints of the H36M-17 skeleton (feet, head and wrists are End
Sites), plus by default four zero-length attachment joints, ``RightHipJoint``/``LeftHipJoint``
and ``LeftCollar``/``RightCollar`` as in the CMU files, which let the hips and shoulders follow
the input where a rigid pelvis and thorax cannot (pelvic tilt, shoulder shrug). With them the
file reproduces every input joint up to the fixed bone lengths.

Invalid frames (nobody detected) are filled before the IK by the documented rule: joint
positions are interpolated linearly between the nearest valid frames before and after, and held
at the first/last valid frame at the ends of the sequence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.io.atomic import atomic_path
from perspose_rt.kinematics._rot import swing
from perspose_rt.kinematics.euler import continuous_euler
from perspose_rt.kinematics.fk import forward_kinematics
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
        ik: the IK result of the (filled) frames, camera frame (an ``SMPLIKResult`` for
            :func:`export_bvh_smpl24`).
        filled: (N,) bool, frames that were invalid and filled by interpolation/hold.
        fit_error_m: (N, J) distance between the BVH skeleton's joints and the (filled) input
            joints: what a skeleton with fixed bones cannot follow (bone-length changes, and
            torso deformation without attachment joints; see docs/KINEMATICS.md).
        joints: (N, J, 3) the BVH skeleton's joints in the camera frame, metres (J = 17 or 24).
    """

    path: Path
    ik: IKResult | Any
    filled: np.ndarray
    fit_error_m: np.ndarray
    joints: np.ndarray


# The BVH hierarchy with attachment joints: zero-length "HipJoint"/"Collar" joints (as in the
# CMU files) between the rigid torso and each hip and shoulder, so the file can follow a pelvis
# and shoulders that deform relative to the spine and neck. (name, parent in this list, H36M-17
# joint whose offset it carries or None for an attachment joint)
_EXT = (
    ("Hips", -1, 0), ("RightHipJoint", 0, None), ("RightUpLeg", 1, 1), ("RightLeg", 2, 2), ("RightFoot", 3, 3),
    ("LeftHipJoint", 0, None), ("LeftUpLeg", 5, 4), ("LeftLeg", 6, 5), ("LeftFoot", 7, 6),
    ("Spine", 0, 7), ("Thorax", 9, 8), ("Neck", 10, 9), ("Head", 11, 10),
    ("LeftCollar", 10, None), ("LeftArm", 13, 11), ("LeftForeArm", 14, 12), ("LeftHand", 15, 13),
    ("RightCollar", 10, None), ("RightArm", 17, 14), ("RightForeArm", 18, 15), ("RightHand", 19, 16),
)
#: Index in :func:`attachment_skeleton` of each H36M-17 joint.
H36M17_EXT_INDEX = tuple(next(i for i, e in enumerate(_EXT) if e[2] == j) for j in range(17))


def attachment_skeleton(rest: Skeleton) -> Skeleton:
    """The H36M-17 rest skeleton with zero-length hip and collar attachment joints (21 joints)."""
    off = np.array([np.zeros(3) if j is None else rest.offsets[j] for _, _, j in _EXT])
    return Skeleton("h36m17-bvh", tuple(n for n, _, _ in _EXT), tuple(p for _, p, _ in _EXT), off)


def attachment_rotations(ik: IKResult, joints: np.ndarray) -> np.ndarray:
    """Local rotations (N, 21, 3, 3) of :func:`attachment_skeleton` that reproduce ``joints``.

    Each attachment joint turns the rigid-torso direction of its hip or shoulder onto the input
    one (minimal swing, in the pelvis or thorax frame); the hip or shoulder below it is
    re-expressed relative to it, so every global rotation of the IK is unchanged.
    """
    L17 = ik.local_rotmats
    N = L17.shape[0]
    _, G = _fk_global(ik)
    out = np.empty((N, len(_EXT), 3, 3))
    for i, (_, _, j) in enumerate(_EXT):
        if j is not None:
            out[:, i] = L17[:, j]
    for i, (_, p, j) in enumerate(_EXT):
        if j is not None:
            continue
        child = i + 1
        hj = _EXT[child][2]
        par17 = ik.rest.parents[hj]
        target = np.einsum("nji,nj->ni", G[:, par17], joints[:, hj] - joints[:, par17])
        C = swing(np.broadcast_to(ik.rest.offsets[hj], target.shape), target)
        out[:, i] = C
        out[:, child] = np.swapaxes(C, -1, -2) @ L17[:, hj]
    return out


def _fk_global(ik: IKResult) -> tuple[np.ndarray, np.ndarray]:
    return forward_kinematics(ik.local_rotmats, ik.rest, ik.root_orient, ik.root_transl, return_global=True)


def _checked_export_args(joints, valid, fps: float, units: str, n_joints: int,
                         what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate an exporter's inputs (one-line ``InputError`` each) → (joints float64, valid flags)."""
    x = np.asarray(joints, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (n_joints, 3):
        raise InputError(f"{what}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise InputError("no frame to export")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be positive, got {fps}")
    if units not in _UNITS:
        raise InputError(f"units must be 'm' or 'cm', got {units!r}")
    v = np.ones(x.shape[0], bool) if valid is None else np.asarray(valid, dtype=bool)
    if v.shape != (x.shape[0],):
        raise InputError(f"valid must have one flag per frame ({x.shape[0]}), got shape {v.shape}")
    return x, v


def export_bvh(path: str | os.PathLike[str], joints: np.ndarray, valid: np.ndarray | None,
               fps: float, units: str = "m", rest: Skeleton | str | None = "fit",
               attachments: bool = True) -> BvhExport:
    """Write H36M-17 camera-frame joints to a BVH file (IK → Euler angles).

    Args:
        path: output ``.bvh`` (written atomically).
        joints: (N, 17, 3) joints in the camera frame, metres.
        valid: (N,) bool, frames with a person (None: all frames with finite values).
        fps: frame rate of the motion.
        units: ``"m"`` or ``"cm"`` for offsets and root positions.
        rest: rest skeleton for the IK; ``"fit"`` (default) fits bone lengths and the torso to
            the valid frames, ``None`` uses the default H36M skeleton.
        attachments: add the zero-length hip and collar joints (default), so the file follows
            the input's hips and shoulders exactly; without them the torso is rigid and the
            limbs carry its residual (see docs/KINEMATICS.md).
    """
    x, v = _checked_export_args(joints, valid, fps, units, 17, "export_bvh needs (N, 17, 3) H36M-17 joints")
    filled, ok = fill_invalid(x, v)
    if isinstance(rest, str) and rest == "fit":
        from perspose_rt.kinematics.skeleton import fit_h36m17_skeleton

        rest = fit_h36m17_skeleton(filled, ok)
    ik = solve_ik_h36m17(filled, rest)
    if attachments:
        skel = attachment_skeleton(ik.rest)
        local = attachment_rotations(ik, filled)
        names = skel.joint_names
        posed = forward_kinematics(local, skel, ik.root_orient, ik.root_transl)[:, list(H36M17_EXT_INDEX)]
    else:
        skel, local, names = ik.rest, ik.local_rotmats.copy(), H36M17_BVH_NAMES
        posed = ik.joints
    local[:, 0] = CAM_TO_BVH @ ik.root_orient
    write_bvh(path, skel, local, ik.root_transl @ CAM_TO_BVH.T, fps, names, units=units)
    return BvhExport(Path(path), ik, ~ok, np.linalg.norm(posed - filled, axis=-1), posed)


def export_bvh_smpl24(path: str | os.PathLike[str], joints: np.ndarray, valid: np.ndarray | None,
                      fps: float, units: str = "m") -> BvhExport:
    """Write SMPL-24 camera-frame joints (the PersPose network's first 24) to a BVH file.

    The rest skeleton is the built-in SMPL-24 T-pose with the sequence's median bone lengths;
    rotations come from :func:`~perspose_rt.kinematics.ik_smpl.solve_ik_smpl24` without twist
    predictions (a result file does not store them), so every bone takes the twist-free swing
    from its parent. Hands, feet and head are End Sites. Invalid frames are filled as in
    :func:`export_bvh`.
    """
    from perspose_rt.kinematics.ik_smpl import solve_ik_smpl24
    from perspose_rt.kinematics.skeleton import fit_bone_lengths, smpl24_generic_skeleton
    from perspose_rt.metrics.joints import PERSPOSE25_FLIP_PAIRS, SMPL24_PARENTS

    x, v = _checked_export_args(joints, valid, fps, units, 24, "export_bvh_smpl24 needs (N, 24, 3) SMPL joints")
    filled, ok = fill_invalid(x, v)
    rest = smpl24_generic_skeleton(fit_bone_lengths(filled, SMPL24_PARENTS, ok, PERSPOSE25_FLIP_PAIRS))
    ik = solve_ik_smpl24(filled, rest=rest)
    local = ik.local_rotmats.copy()
    local[:, 0] = CAM_TO_BVH @ ik.root_orient
    write_bvh(path, rest, local, ik.root_transl @ CAM_TO_BVH.T, fps, units=units)
    return BvhExport(Path(path), ik, ~ok, np.linalg.norm(ik.joints - filled, axis=-1), ik.joints)


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
