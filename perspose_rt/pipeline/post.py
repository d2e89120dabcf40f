"""Stages after the estimator: temporal smoothing, IK (joint rotations) and the final projection.

Order: the smoother runs on the camera-space joints first and IK then runs on the smoothed joints,
so the rotations are as smooth as the joints (a linear Kalman filter on rotation matrices would
not be meaningful). The raw (unsmoothed) joints are kept in ``Person.joints_cam_raw`` and in the
result file (``joints_cam_raw``). Every stage here works on one person at a time with that
person's own state (:class:`~perspose_rt.pipeline.people.PerPersonStage`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from perspose_rt.pipeline.people import PerPersonStage, PersonState
from perspose_rt.smoothing import make_smoother
from perspose_rt.types import Frame, Person

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


class SkeletonFit:
    """One track's skeleton of constant bone lengths (see :class:`IKStage`)."""

    def __init__(self, window: int) -> None:
        self.hist: deque[np.ndarray] = deque(maxlen=int(window))
        self.rest = None
        self.since_fit = 0
        self.bone_lengths: np.ndarray | None = None

    def clear(self) -> None:
        self.hist.clear()
        self.rest = None


class IKStage(PerPersonStage):
    """Local joint rotations for H36M-17 poses (``perspose_rt.kinematics.solve_ik_h36m17``).

    The rotations go to ``pose.rotations`` ``(17, 3, 3)`` (row 0: the root's orientation in the
    camera frame; leaves: identity). A frame whose IK gives non-finite values keeps
    ``rotations = None`` (the result file flags it with ``rotations_valid = False``).

    With ``rigid=True`` the stage also *fits a skeleton of constant bone lengths* to each track
    (kinematic skeleton fitting, as in VNect) and replaces ``joints_cam`` by its forward
    kinematics, so bone lengths stay constant and the joints agree exactly with the rotations.
    The bone lengths are the running median over the track's last ``window`` valid frames
    (left/right averaged), blended with the H36M mean skeleton scaled to the measured torso
    (weight ``prior_frames`` frames) so that the first frames of a track do not wobble. Every
    person has their own fit (``PersonState.skeleton``); it is forgotten when the person is lost
    (a new track segment starts a new fit).

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
        self.window = int(window)
        self.refit_every = int(refit_every)
        self.failures = 0

    def _lengths(self, fit: SkeletonFit) -> np.ndarray:
        from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS, H36M17_PARENTS

        measured = self._fit(np.stack(fit.hist), H36M17_PARENTS, flip_pairs=H36M17_FLIP_PAIRS)
        torso = [7, 8]  # hip→spine, spine→thorax: the bones a 2D→3D lifter measures best
        prior = self._prior * (measured[torso].sum() / self._prior[torso].sum())
        n, n0 = len(fit.hist), self.prior_frames
        lengths = (n0 * prior + n * measured) / (n0 + n)
        lengths[0] = 0.0
        return lengths

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person:
        pose = person.pose
        if pose.joint_format != "h36m17":
            return person
        if state.skeleton is None:
            state.skeleton = SkeletonFit(self.window)
        elif person.new_segment:
            state.skeleton.clear()
        fit = state.skeleton
        X = np.asarray(pose.joints_cam, dtype=np.float64)
        if self.rigid:
            fit.hist.append(X)
            fit.since_fit += 1
            if fit.rest is None or len(fit.hist) <= self.prior_frames or fit.since_fit >= self.refit_every:
                fit.bone_lengths = self._lengths(fit)
                fit.rest = self._skeleton(fit.bone_lengths)
                fit.since_fit = 0
        res = self._solve(X[None], fit.rest if self.rigid else None)
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
