"""Known answers for the post-processing pieces the review found untested: ``fit_bone_lengths``, the
rigid ``IKStage`` (its joints are the forward kinematics of its rotations), the PersPose twist
rotated back to the camera frame, and the One-Euro filter's restart after a gap."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.camera import CameraModel
from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics import fit_bone_lengths, forward_kinematics, h36m17_skeleton
from perspose_rt.kinematics.skeleton import H36M17_DEFAULT_LENGTHS, H36M17_HINGE_AXES
from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS, H36M17_PARENTS
from perspose_rt.pipeline.runner import Packet
from perspose_rt.types import Frame, PoseResult

CAM = CameraModel.from_fov(60, (640, 480))
PARENTS = np.asarray(H36M17_PARENTS)


def _poses(rng: np.random.Generator, n: int, lengths: np.ndarray) -> np.ndarray:
    """``n`` (17, 3) poses of the skeleton with bone ``lengths``: random root, hips, shoulders and
    thorax, bent knees and elbows, 3.5 m in front of the camera."""
    sk = h36m17_skeleton(lengths)
    L = np.tile(np.eye(3), (n, 17, 1, 1))
    L[:, 0] = axis_angle_to_matrix(rng.normal(size=(n, 3)) * 0.3) @ axis_angle_to_matrix(
        np.array([np.pi, 0.0, 0.0]))  # upright in a y-down camera frame
    for j in (1, 4, 8, 11, 14):
        L[:, j] = axis_angle_to_matrix(rng.normal(size=(n, 3)) * 0.4)
    for j, ax in H36M17_HINGE_AXES.items():
        L[:, j] = axis_angle_to_matrix(rng.uniform(0.4, 1.5, n)[:, None] * np.asarray(ax))
    t = np.array([0.0, 0.0, 3.5]) + rng.normal(scale=0.05, size=(n, 3))
    return forward_kinematics(L, sk, None, t)


def _bones(X: np.ndarray) -> np.ndarray:
    return np.linalg.norm(X[..., 1:, :] - X[..., PARENTS[1:], :], axis=-1)


# ---------------------------------------------------------------------------- fit_bone_lengths
def test_fit_bone_lengths_is_the_median_per_bone_with_left_right_averaged() -> None:
    rng = np.random.default_rng(0)
    true = np.asarray(H36M17_DEFAULT_LENGTHS) * 1.07
    X = _poses(rng, 41, true)
    X[3] *= 1.8  # one wild frame (scaled about the camera) does not move a median
    X[7, 5] = np.nan  # a non-finite frame is left out
    got = fit_bone_lengths(X, H36M17_PARENTS, flip_pairs=H36M17_FLIP_PAIRS)
    np.testing.assert_allclose(got, true, atol=1e-9)
    assert got[0] == 0.0

    # left and right differ in the data: both get their mean
    lopsided = true.copy()
    right, left = H36M17_FLIP_PAIRS[1]  # (2, 5): the thigh bones ending at RKnee and LKnee
    lopsided[left], lopsided[right] = 0.40, 0.46  # lengths[j]: the bone from j's parent to j
    got = fit_bone_lengths(_poses(rng, 5, lopsided), H36M17_PARENTS, flip_pairs=H36M17_FLIP_PAIRS)
    assert got[left] == pytest.approx(0.43) and got[right] == pytest.approx(0.43)
    # without flip pairs each side keeps its own
    got = fit_bone_lengths(_poses(rng, 5, lopsided), H36M17_PARENTS)
    assert got[left] == pytest.approx(0.40) and got[right] == pytest.approx(0.46)


def test_fit_bone_lengths_uses_only_valid_frames() -> None:
    rng = np.random.default_rng(1)
    a = _poses(rng, 3, np.asarray(H36M17_DEFAULT_LENGTHS))
    b = _poses(rng, 4, np.asarray(H36M17_DEFAULT_LENGTHS) * 1.2)
    X = np.concatenate([a, b])
    valid = np.array([True] * 3 + [False] * 4)
    np.testing.assert_allclose(fit_bone_lengths(X, H36M17_PARENTS, valid=valid)[1:],
                               np.asarray(H36M17_DEFAULT_LENGTHS)[1:], atol=1e-9)
    with pytest.raises(ValueError, match="no valid frame"):
        fit_bone_lengths(X, H36M17_PARENTS, valid=np.zeros(7, bool))


# ---------------------------------------------------------------------------- the rigid IK stage
def _run_ik(stage, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feed the (N, 17, 3) track to ``stage``; returns its joints (N, 17, 3) and rotations (N, 17, 3, 3)."""
    from perspose_rt.pipeline.people import PersonState
    from perspose_rt.types import Person

    joints, rots = [], []
    state = PersonState(track_id=0, box=np.zeros(4))  # one track throughout
    for i, x in enumerate(X):
        pose = PoseResult(i, i / 30, True, "h36m17", np.zeros(4), CAM.K, np.zeros((17, 2)), x.copy(),
                          x - x[0], np.ones(17))
        packet = Packet(frame=Frame(i, i / 30, np.zeros((4, 4, 3), np.uint8), CAM, "test"), t_capture=0.0)
        packet.people = [Person(track_id=0, pose=pose, new_segment=i == 0)]
        packet.states = {0: state}
        out = stage(packet).people[0].pose
        joints.append(np.asarray(out.joints_cam, dtype=np.float64))
        rots.append(np.asarray(out.rotations, dtype=np.float64))
    return np.stack(joints), np.stack(rots)


def test_rigid_ik_stage_reproduces_a_track_of_its_own_proportions_exactly() -> None:
    """A person built like the H36M mean skeleton, 1.07 times its size: the fitted skeleton is that
    person's, and the stage's joints are the input joints (forward kinematics of its rotations)."""
    from perspose_rt.pipeline.post import IKStage

    X = _poses(np.random.default_rng(2), 40, np.asarray(H36M17_DEFAULT_LENGTHS) * 1.07)
    joints, rots = _run_ik(IKStage(rigid=True), X)
    np.testing.assert_allclose(joints, X, atol=1e-6)
    fk = forward_kinematics(rots, h36m17_skeleton(np.r_[0.0, _bones(joints[-1])]), None, joints[:, 0])
    np.testing.assert_allclose(fk, joints, atol=1e-6)


def test_rigid_ik_stage_keeps_bone_lengths_and_agrees_with_its_rotations() -> None:
    """Noisy joints (1 cm): every output frame is the forward kinematics of its rotations on a
    skeleton whose bones change far less than the input's, and stay near the person's."""
    from perspose_rt.pipeline.post import IKStage

    rng = np.random.default_rng(3)
    true = np.asarray(H36M17_DEFAULT_LENGTHS) * 0.95
    clean = _poses(rng, 80, true)
    X = clean + rng.normal(scale=0.01, size=(80, 17, 3))
    joints, rots = _run_ik(IKStage(rigid=True), X)
    for t in (0, 10, 45, 79):
        sk = h36m17_skeleton(np.r_[0.0, _bones(joints[t])])
        np.testing.assert_allclose(forward_kinematics(rots[t], sk, None, joints[t, 0]), joints[t], atol=1e-6)
    out_bones, in_bones = _bones(joints[40:]), _bones(X[40:])
    assert out_bones.std(axis=0).max() < 0.2 * in_bones.std(axis=0).min()
    assert np.abs(out_bones.mean(axis=0) - true[1:]).max() < 0.02
    # It still follows the person. The fitted joints are farther from the true ones (23.8 mm mean
    # here) than the noisy input (16.2 mm): each bone takes its direction from two noisy joints and
    # the errors add up along the chain from the root; what the fit buys is constant bones.
    assert np.linalg.norm(joints - clean, axis=-1).mean() < 2.0 * np.linalg.norm(X - clean, axis=-1).mean()


def test_free_ik_stage_rotations_reproduce_the_joints() -> None:
    """Without --rigid the joints are left as measured, and the rotations pose a skeleton of this
    frame's own bone lengths onto them (exact for a pose the 17 joints determine)."""
    from perspose_rt.pipeline.post import IKStage

    X = _poses(np.random.default_rng(4), 6, np.asarray(H36M17_DEFAULT_LENGTHS))
    joints, rots = _run_ik(IKStage(), X)
    np.testing.assert_array_equal(joints, X)
    for t in range(len(X)):
        sk = h36m17_skeleton(np.r_[0.0, _bones(X[t])])
        np.testing.assert_allclose(forward_kinematics(rots[t], sk, None, X[t, 0]), X[t], atol=1e-6)


# ---------------------------------------------------------------------------- PersPose twist
def test_perspose_twist_is_rotated_back_to_the_camera_frame() -> None:
    """The network predicts twists in the PR-rotated camera, whose optical axis goes through the
    person: a twist along that axis must come back as the camera ray through the box centre."""
    from perspose_rt.models.output import PersPoseOutput
    from perspose_rt.pipeline.perspose_stage import NUM_JOINTS, PersPoseStage
    from perspose_rt.types import Detection

    class Backend:
        name = "fake"

        class config:  # the backend's NetConfig: only its input size and crop (PR or not) are read
            input_size = 256
            pr = True

        def infer(self, image, K_crop):
            B = image.shape[0]
            rel = np.zeros((B, NUM_JOINTS, 3), np.float32)
            rel[:, 1:, 1] = np.linspace(-0.8, 0.9, NUM_JOINTS - 1)
            twist = np.zeros((B, NUM_JOINTS, 3), np.float32)
            twist[..., 2] = 1.0  # along the rotated optical axis
            twist[:, 1] = [1.0, 0.0, 0.0]  # along the rotated x axis
            return PersPoseOutput(uv=np.zeros((B, NUM_JOINTS, 2), np.float32), depth=rel[..., :1] * 0,
                                  rho0=np.ones((B, 1, 1), np.float32), twist=twist,
                                  beta=np.zeros((B, 11), np.float32), leaf_rot=np.zeros((B, 5, 3, 3), np.float32),
                                  xyz=rel, xyz0=np.array([[[0.0, 0.0, 4.0]]] * B, np.float32))

        def close(self) -> None:
            pass

    class Detector:
        max_people = 1

        def detect(self, image, timestamp_s=None):
            return [Detection(bbox_xyxy=np.array([420.0, 60, 560, 420]), score=1.0)]

        def close(self) -> None:
            pass

    img = np.zeros((480, 640, 3), np.uint8)
    out = PersPoseStage(Backend(), Detector())(Packet(frame=Frame(0, 0.0, img, CAM, "t"), t_capture=0.0))
    pose = out.people[0].pose
    twist = np.asarray(pose.extras["twist"], dtype=np.float64)
    centre = np.array([490.0, 240.0, 1.0])
    ray = np.linalg.solve(CAM.K, centre)
    ray /= np.linalg.norm(ray)
    assert np.abs(ray - [0, 0, 1]).max() > 0.2  # an off-centre person: PR rotates a lot
    np.testing.assert_allclose(twist[0], ray, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(twist[:NUM_JOINTS], axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(twist[1] @ ray, 0.0, atol=1e-5)  # still perpendicular to the axis
    # the root, on the rotated axis, lands on the same ray
    np.testing.assert_allclose(pose.joints_cam[0] / np.linalg.norm(pose.joints_cam[0]), ray, atol=1e-5)


# ---------------------------------------------------------------------------- One-Euro gap
def test_one_euro_restarts_after_a_gap_and_only_then() -> None:
    from perspose_rt.smoothing import OneEuroFilter, OneEuroSettings

    s = OneEuroSettings(max_gap_s=0.5)
    f = OneEuroFilter(s)
    for i in range(10):
        f.update(np.zeros(3), i / 30)
    t_last = 9 / 30
    # a short pause (0.4 s < max_gap_s): the filter keeps its state and smooths the jump
    short = f.update(np.ones(3), t_last + 0.4)
    assert np.all(short < 1.0) and np.all(short > 0.0)
    g = OneEuroFilter(s)
    for i in range(10):
        g.update(np.zeros(3), i / 30)
    # a long one (0.6 s): the track restarts at the new value, as after a reset
    np.testing.assert_array_equal(g.update(np.ones(3), t_last + 0.6), np.ones(3))
    np.testing.assert_array_equal(g.update(np.ones(3), t_last + 0.6 + 1 / 30), np.ones(3))
