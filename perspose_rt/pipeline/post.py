"""Stages after the estimator: temporal smoothing and IK (joint rotations), and a shared helper.

Order: the smoother runs on the camera-space joints first and IK then runs on the smoothed joints,
so the rotations are as smooth as the joints (a linear Kalman filter on rotation matrices would
not be meaningful). The raw (unsmoothed) joints are kept in ``Packet.pose_raw_cam`` and in the
result file (``joints_cam_raw``).
"""

from __future__ import annotations

import numpy as np

from perspose_rt.pipeline.runner import Packet
from perspose_rt.smoothing import make_smoother
from perspose_rt.types import Frame, PoseResult

ROOT = 0  # pelvis in both joint formats (H36M-17 "Hip", PersPose-25 SMPL "pelvis")


def invalid_pose(frame: Frame, num_joints: int, joint_format: str) -> PoseResult:
    """The row for a frame with nobody in it: ``valid = False``, zeros (never NaN), K recorded."""
    J = num_joints
    return PoseResult(frame_index=frame.index, timestamp=frame.timestamp, valid=False,
                      joint_format=joint_format, bbox_xyxy=np.zeros(4), K=np.asarray(frame.camera.K),
                      joints_2d=np.zeros((J, 2)), joints_cam=np.zeros((J, 3)), joints_rel=np.zeros((J, 3)),
                      confidence=np.zeros(J))


class SmoothStage:
    """Temporal smoothing of ``pose.joints_cam`` (reset whenever the person is lost).

    Args:
        method: ``"kalman-cv"`` (default), ``"kalman-ca"``, ``"one-euro"`` or ``"none"``.
        num_joints: ``J``.
        fps: nominal frame rate (the real time steps come from the frame timestamps).
    """

    name = "smooth"

    def __init__(self, method: str, num_joints: int, fps: float | None = None) -> None:
        self.method = method
        self.smoother = make_smoother(method, num_joints, fps)
        self.resets = 0

    def __call__(self, p: Packet) -> Packet:
        pose = p.pose
        if pose is None or not pose.valid:
            if self.smoother.initialized:
                self.resets += 1
            self.smoother.reset()
            return p
        raw = np.asarray(pose.joints_cam, dtype=np.float64)
        p.pose_raw_cam = raw
        sm = self.smoother.update(raw, p.frame.timestamp, pose.confidence)
        pose.joints_cam = sm
        pose.joints_rel = sm - sm[ROOT]
        return p

    def close(self) -> None:
        pass


class IKStage:
    """Local joint rotations for H36M-17 poses (``perspose_rt.kinematics.solve_ik_h36m17``).

    The rotations go to ``pose.rotations`` ``(17, 3, 3)`` (row 0: the root's orientation in the
    camera frame; leaves: identity). A frame whose IK gives non-finite values keeps
    ``rotations = None`` (the result file flags it with ``rotations_valid = False``).
    """

    name = "ik"

    def __init__(self) -> None:
        from perspose_rt.kinematics import solve_ik_h36m17

        self._solve = solve_ik_h36m17
        self.failures = 0

    def __call__(self, p: Packet) -> Packet:
        pose = p.pose
        if pose is None or not pose.valid or pose.joint_format != "h36m17":
            return p
        res = self._solve(np.asarray(pose.joints_cam, dtype=np.float64)[None])
        rot = np.asarray(res.local_rotmats[0])
        if np.all(np.isfinite(rot)):
            pose.rotations = rot
        else:
            self.failures += 1
        return p

    def close(self) -> None:
        pass
