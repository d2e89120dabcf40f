"""Stages after the estimator: temporal smoothing and IK (joint rotations), and a shared helper.

Order: the smoother runs on the camera-space joints first and IK then runs on the smoothed joints,
so the rotations are as smooth as the joints (a linear Kalman filter on rotation matrices would
not be meaningful). The raw (unsmoothed) joints are kept in ``Packet.pose_raw_cam`` and in the
result file (``joints_cam_raw``).
"""

from __future__ import annotations

from collections import deque

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

    With ``rigid=True`` the stage also *fits a skeleton of constant bone lengths* to the track
    (kinematic skeleton fitting, as in VNect) and replaces ``joints_cam`` by its forward
    kinematics, so bone lengths stay constant and the joints agree exactly with the rotations.
    The bone lengths are the running median over the track's last ``window`` valid frames
    (left/right averaged), blended with the H36M mean skeleton scaled to the measured torso
    (weight ``prior_frames`` frames) so that the first frames of a track do not wobble. They are
    forgotten when the person is lost.

    The median moves slowly once a track is established, so after its first ``prior_frames``
    frames the skeleton is refitted every ``refit_every`` frames (the IK's per-skeleton plan is
    then reused in between).

    Args:
        rigid: output the fitted skeleton's joints (see above).
        window: frames of the running median.
        prior_frames: weight of the proportion prior, in frames.
        refit_every: frames between refits of an established track.
    """

    name = "ik"

    def __init__(self, rigid: bool = False, window: int = 150, prior_frames: int = 30,
                 refit_every: int = 10) -> None:
        from perspose_rt.kinematics import fit_bone_lengths, h36m17_skeleton, solve_ik_h36m17
        from perspose_rt.kinematics.skeleton import H36M17_DEFAULT_LENGTHS

        self._solve, self._fit, self._skeleton = solve_ik_h36m17, fit_bone_lengths, h36m17_skeleton
        self._prior = np.asarray(H36M17_DEFAULT_LENGTHS, dtype=np.float64)
        self.rigid = rigid
        self.prior_frames = int(prior_frames)
        self._hist: deque[np.ndarray] = deque(maxlen=int(window))
        self.refit_every = int(refit_every)
        self._rest = None
        self._since_fit = 0
        self.failures = 0
        self.bone_lengths: np.ndarray | None = None

    def _lengths(self) -> np.ndarray:
        from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS, H36M17_PARENTS

        measured = self._fit(np.stack(self._hist), H36M17_PARENTS, flip_pairs=H36M17_FLIP_PAIRS)
        torso = [7, 8]  # hip→spine, spine→thorax: the bones a 2D→3D lifter measures best
        prior = self._prior * (measured[torso].sum() / self._prior[torso].sum())
        n, n0 = len(self._hist), self.prior_frames
        lengths = (n0 * prior + n * measured) / (n0 + n)
        lengths[0] = 0.0
        return lengths

    def __call__(self, p: Packet) -> Packet:
        pose = p.pose
        if pose is None or not pose.valid or pose.joint_format != "h36m17":
            self._hist.clear()
            self._rest = None
            return p
        X = np.asarray(pose.joints_cam, dtype=np.float64)
        if self.rigid:
            self._hist.append(X)
            self._since_fit += 1
            if self._rest is None or len(self._hist) <= self.prior_frames or self._since_fit >= self.refit_every:
                self.bone_lengths = self._lengths()
                self._rest = self._skeleton(self.bone_lengths)
                self._since_fit = 0
        res = self._solve(X[None], self._rest if self.rigid else None)
        rot = np.asarray(res.local_rotmats[0])
        if not np.all(np.isfinite(rot)):
            self.failures += 1
            return p
        pose.rotations = rot
        if self.rigid:
            fk = np.asarray(res.joints[0], dtype=np.float64)
            if np.all(np.isfinite(fk)):
                pose.joints_cam = fk
                pose.joints_rel = fk - fk[ROOT]
        return p

    def close(self) -> None:
        pass


class SMPLIKStage:
    """SMPL θ for the PersPose network's 25 joints (``perspose_rt.kinematics.solve_ik_smpl24``).

    Uses the 24 SMPL joints (after smoothing), the predicted ortho-twists and leaf rotations, and
    the predicted shape. ``pose.rotations`` becomes ``(25, 3, 3)``: SMPL's 24 local rotations
    (row 0 the global orientation in the camera frame) and the identity for joint 24 (the H36M
    pelvis, which has no rotation of its own). With an SMPL model (``--smpl-dir``), β0 is searched
    and the posed mesh's vertices go to ``pose.extras["vertices"]`` (camera frame, metres) for the
    3D viewer; :attr:`faces` holds its triangles. Without one, the generic SMPL skeleton is used
    and no mesh is made.
    """

    name = "ik"

    def __init__(self, model=None) -> None:
        from perspose_rt.kinematics import solve_ik_smpl24

        self._solve = solve_ik_smpl24
        self.model = model
        self.faces = None if model is None else np.asarray(model.faces)
        self.failures = 0

    def __call__(self, p: Packet) -> Packet:
        pose = p.pose
        if pose is None or not pose.valid or pose.joint_format != "perspose25":
            return p
        ex = pose.extras
        joints = np.asarray(pose.joints_cam, dtype=np.float64)[None, :24]
        twist = ex["twist"][None, :24] if "twist" in ex else None
        leaf = ex["leaf_rot"][None] if "leaf_rot" in ex else None
        betas = ex["beta"][None] if "beta" in ex else None
        res = self._solve(joints, twist=twist, leaf_rotmats=leaf, model=self.model, betas=betas)
        rot = np.asarray(res.local_rotmats[0], dtype=np.float64)
        if not np.all(np.isfinite(rot)):
            self.failures += 1
            return p
        pose.rotations = np.concatenate([rot, np.eye(3)[None]], 0)
        if self.model is not None:
            verts, _ = self.model.mesh(res.betas, res.local_rotmats, res.smpl_transl)
            v = verts[0].detach().cpu().numpy()
            if np.all(np.isfinite(v)):
                ex["vertices"] = v
        return p

    def close(self) -> None:
        pass
