"""An independent BVH reader for tests: the PyPI ``bvh`` parser's accessors for the hierarchy and
the channel values, and forward kinematics written here from the BVH convention alone (no code of
``perspose_rt.kinematics``): each joint's rotation channels, in the order its ``CHANNELS`` line
lists them, compose intrinsically (``Zrotation Xrotation Yrotation`` → ``Rz · Rx · Ry``); a
joint's world rotation is its parent's times its own; its position is the parent's plus the
parent's world rotation applied to its ``OFFSET`` (the root's position channels replace its
offset). End Sites are returned as ``"<parent>/End"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by ``degrees`` (N,) about the named axis (right-handed)."""
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {"X": [[o, z, z], [z, c, -s], [z, s, c]],
            "Y": [[c, z, s], [z, o, z], [-s, z, c]],
            "Z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.moveaxis(np.array(rows), -1, 0)


def bvh_world_positions(path: str | Path) -> dict[str, np.ndarray]:
    """Every joint's and End Site's world position ``(N, 3)`` per frame, in the file's units."""
    import bvh

    mocap = bvh.Bvh(Path(path).read_text())
    names = mocap.get_joints_names()
    n = mocap.nframes
    world_rot: dict[str, np.ndarray] = {}
    world_pos: dict[str, np.ndarray] = {}
    for name in names:  # the file lists parents before their children
        channels = mocap.joint_channels(name)
        values = np.asarray(mocap.frames_joint_channels(name, channels), dtype=np.float64).reshape(n, len(channels))
        local = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        for k, ch in enumerate(channels):
            if ch.endswith("rotation"):
                local = local @ _axis_rotation(ch[0], values[:, k])
        offset = np.asarray(mocap.joint_offset(name), dtype=np.float64)
        parent = mocap.joint_parent(name)
        if parent is None:
            pos_cols = [channels.index(f"{a}position") for a in "XYZ"]
            world_pos[name] = values[:, pos_cols]
            world_rot[name] = local
        else:
            p = parent.name
            world_pos[name] = world_pos[p] + world_rot[p] @ offset
            world_rot[name] = world_rot[p] @ local
        joint = mocap.get_joint(name)
        for child in joint.children:
            if child.value[:2] == ["End", "Site"]:
                end = np.asarray([float(v) for v in child["OFFSET"]])
                world_pos[f"{name}/End"] = world_pos[name] + world_rot[name] @ end
    return world_pos


#: Where each H36M-17 joint is in perspose-rt's BVH files (docs/KINEMATICS.md, "BVH export"):
#: a JOINT's own position, or the End Site of the named joint for the feet, head and wrists.
H36M17_IN_BVH = (
    "Hips", "RightUpLeg", "RightLeg", "RightLeg/End", "LeftUpLeg", "LeftLeg", "LeftLeg/End", "Spine",
    "Thorax", "Neck", "Neck/End", "LeftArm", "LeftForeArm", "LeftForeArm/End", "RightArm",
    "RightForeArm", "RightForeArm/End",
)


def bvh_h36m17_camera_joints(path: str | Path, units_per_metre: float = 1.0) -> np.ndarray:
    """(N, 17, 3) the file's H36M-17 joints in the camera frame (OpenCV), metres.

    The file's world frame is the camera frame turned y up: ``X_bvh = diag(1, −1, −1) · X_cam``.
    """
    pos = bvh_world_positions(path)
    x = np.stack([pos[name] for name in H36M17_IN_BVH], 1) / units_per_metre
    return x * np.array([1.0, -1.0, -1.0])
