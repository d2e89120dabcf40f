"""Stages after the estimator: temporal smoothing, IK (joint rotations) and the final projection.

Order: the smoother runs on the camera-space joints first and IK then runs on the smoothed joints,
so the rotations are as smooth as the joints (a linear Kalman filter on rotation matrices would
not be meaningful). The raw (unsmoothed) joints are kept in ``Person.joints_cam_raw`` and in the
result file (``joints_cam_raw``). Every stage here works on one person at a time with that
person's own state (:class:`~perspose_rt.pipeline.people.PerPersonStage`).
"""

from __future__ import annotations

import numpy as np

from perspose_rt.pipeline.people import PerPersonStage, PersonState
from perspose_rt.smoothing import make_smoother
from perspose_rt.types import SEEN_CONF, Frame, Person

ROOT = 0  # pelvis in both joint formats (H36M-17 "Hip", PersPose-25 SMPL "pelvis")


class SmoothStage(PerPersonStage):
    """Temporal smoothing of each person's ``pose.joints_cam`` with the person's own filter
    (restarted at each new track segment, i.e. after the person was not seen).

    Args:
        method: ``"kalman-cv"`` (default), ``"kalman-ca"``, ``"one-euro"`` or ``"none"``.
        num_joints: ``J``.
        fps: nominal frame rate (the real time steps come from the frame timestamps).

    Attributes:
        smoother: a filter of the chosen kind (its ``settings`` describe every person's filter).
        resets: restarts of a running filter (a person lost and found again).
    """

    name = "smooth"

    def __init__(self, method: str, num_joints: int, fps: float | None = None) -> None:
        self.method, self.num_joints, self.fps = method, num_joints, fps
        self.smoother = make_smoother(method, num_joints, fps)
        self.resets = 0

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person:
        pose = person.pose
        if state.smoother is None:
            state.smoother = make_smoother(self.method, self.num_joints, self.fps)
        elif person.new_segment:
            if state.smoother.initialized:
                self.resets += 1
            state.smoother.reset()
        raw = np.asarray(pose.joints_cam, dtype=np.float64)
        person.joints_cam_raw = raw
        sm = state.smoother.update(raw, frame.timestamp, pose.confidence)
        pose.joints_cam = sm
        pose.joints_rel = sm - sm[ROOT]
        return person


class IKStage(PerPersonStage):
    """Local joint rotations for H36M-17 poses (``perspose_rt.kinematics.solve_ik_h36m17``).

    The rotations go to ``pose.rotations`` ``(17, 3, 3)`` (row 0: the root's orientation in the
    camera frame; leaves: identity). A frame whose IK gives non-finite values keeps
    ``rotations = None`` (the result file flags it with ``rotations_valid = False``).

    With ``rigid=True`` the stage also gives each track *one skeleton of constant bone lengths*
    (kinematic skeleton fitting, as in VNect) and replaces ``joints_cam`` by its forward
    kinematics, so bone lengths stay constant and the joints agree exactly with the rotations.
    The lengths come from the bones the camera saw, the rest from population proportions, and
    are frozen once they settle (:class:`~perspose_rt.pipeline.track_skeleton.TrackSkeleton`,
    whose module doc states the rule); the skeleton lives in ``PersonState.skeleton`` for the
    track's whole life, through lost frames and cuts. ``pose.bone_lengths`` and
    ``pose.skeleton_settled`` report it per frame (the result file stores them, and
    ``export-bvh`` writes the settled skeleton).

    Args:
        rigid: output the skeleton's joints (see above).
        prior_frames, min_frames, settle_frames, settle_tol, max_frames, scale_tol: the
            :class:`~perspose_rt.pipeline.track_skeleton.TrackSkeleton` settings.
    """

    name = "ik"

    def __init__(self, rigid: bool = False, prior_frames: int = 30, min_frames: int = 15,
                 settle_frames: int = 10, settle_tol: float = 0.005, max_frames: int = 50,
                 scale_tol: float = 0.1) -> None:
        from perspose_rt.kinematics import solve_ik_h36m17
        from perspose_rt.kinematics.skeleton import H36M17_DEFAULT_LENGTHS

        self._solve = solve_ik_h36m17
        self._settings = {"population": np.asarray(H36M17_DEFAULT_LENGTHS, dtype=np.float64),
                          "prior_frames": prior_frames, "min_frames": min_frames, "settle_frames": settle_frames,
                          "settle_tol": settle_tol, "max_frames": max_frames,
                          "scale_tol": scale_tol}
        self.rigid = rigid
        self.failures = 0

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person:
        from perspose_rt.geometry.camera_math import in_frame
        from perspose_rt.kinematics.bone_prior import bone_seen
        from perspose_rt.metrics.joints import H36M17_PARENTS
        from perspose_rt.pipeline.track_skeleton import TrackSkeleton

        pose = person.pose
        if pose.joint_format != "h36m17":
            return person
        X = np.asarray(pose.joints_cam, dtype=np.float64)
        rest = None
        if self.rigid:
            if state.skeleton is None:  # kept through new segments: one skeleton per track
                state.skeleton = TrackSkeleton(**self._settings)
            fit = state.skeleton
            seen = np.asarray(pose.confidence, dtype=np.float64) >= SEEN_CONF
            seen &= in_frame(np.asarray(pose.joints_2d, dtype=np.float64), *frame.camera.resolution)
            fit.update(X, bone_seen(seen, H36M17_PARENTS))
            rest = fit.rest
        res = self._solve(X[None], rest)
        rot = np.asarray(res.local_rotmats[0])
        if not np.all(np.isfinite(rot)):
            self.failures += 1
            return person
        pose.rotations = rot
        if self.rigid:
            fk = np.asarray(res.joints[0], dtype=np.float64)
            if np.all(np.isfinite(fk)):
                pose.joints_cam = fk
                pose.joints_rel = fk - fk[ROOT]
                pose.bone_lengths = np.asarray(fit.lengths, dtype=np.float64).copy()
                pose.skeleton_settled = fit.settled
        return person


class SMPLIKStage(PerPersonStage):
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

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person:
        pose = person.pose
        if pose.joint_format != "perspose25":
            return person
        ex = pose.extras
        joints = np.asarray(pose.joints_cam, dtype=np.float64)[None, :24]
        twist = ex["twist"][None, :24] if "twist" in ex else None
        leaf = ex["leaf_rot"][None] if "leaf_rot" in ex else None
        betas = ex["beta"][None] if "beta" in ex else None
        res = self._solve(joints, twist=twist, leaf_rotmats=leaf, model=self.model, betas=betas)
        rot = np.asarray(res.local_rotmats[0], dtype=np.float64)
        if not np.all(np.isfinite(rot)):
            self.failures += 1
            return person
        pose.rotations = np.concatenate([rot, np.eye(3)[None]], 0)
        if self.model is not None:
            verts, _ = self.model.mesh(res.betas, res.local_rotmats, res.smpl_transl)
            v = verts[0].detach().cpu().numpy()
            if np.all(np.isfinite(v)):
                ex["vertices"] = v
        return person


class ProjectStage(PerPersonStage):
    """The last stage: ``pose.joints_2d_proj`` = the final 3D joints projected through the
    frame's camera (lens distortion included), so the overlay and the result file have the 2D
    that matches the smoothed (and rigid) 3D, beside the estimator's own ``joints_2d``."""

    name = "project"

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person:
        person.pose.joints_2d_proj = frame.camera.project(np.asarray(person.pose.joints_cam, dtype=np.float64))
        return person
