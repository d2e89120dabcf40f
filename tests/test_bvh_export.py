"""BVH export: round trip through the independent PyPI ``bvh`` parser, Euler known answers,
invalid-frame filling, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from perspose_rt.errors import InputError
from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton
from perspose_rt.kinematics.bvh import CAM_TO_BVH, export_bvh, fill_invalid
from perspose_rt.kinematics.bvh_reader import read_bvh
from perspose_rt.kinematics.euler import continuous_euler, euler_to_matrix, matrix_to_euler

# BVH names in our H36M-17 order (leaves are End Sites, named "<parent>_end" by the reader)
BVH_ORDER = ("Hips", "RightUpLeg", "RightLeg", "RightLeg_end", "LeftUpLeg", "LeftLeg", "LeftLeg_end",
             "Spine", "Thorax", "Neck", "Neck_end", "LeftArm", "LeftForeArm", "LeftForeArm_end",
             "RightArm", "RightForeArm", "RightForeArm_end")


def bvh_joints_in_camera(path, units: str = "m") -> np.ndarray:
    m = read_bvh(path)
    X = m.joint_positions()[:, [m.index(n) for n in BVH_ORDER]]
    return (X / (100.0 if units == "cm" else 1.0)) @ CAM_TO_BVH.T


def smooth_motion(n: int, seed: int = 0) -> np.ndarray:
    """A skeleton-consistent walking-like sequence in the camera frame (knees and elbows bent)."""
    rng = np.random.default_rng(seed)
    sk = h36m17_skeleton()
    t = np.linspace(0, 2 * np.pi, n)
    L = np.tile(np.eye(3), (n, 17, 1, 1))
    L[:, 0] = CAM_TO_BVH @ axis_angle_to_matrix(np.stack([0.1 * np.sin(t), 2.5 * t / (2 * np.pi), 0 * t], -1))
    for j, amp in ((1, 0.5), (4, -0.5), (11, 0.4), (14, -0.4), (8, 0.2)):
        L[:, j] = axis_angle_to_matrix(np.stack([amp * np.sin(t), 0.2 * np.cos(t), 0.3 + 0 * t], -1)
                                       + 0.01 * rng.normal(size=(n, 3)))
    for j, ax in ((2, (1, 0, 0)), (5, (1, 0, 0)), (12, (0, -1, 0)), (15, (0, 1, 0))):
        L[:, j] = axis_angle_to_matrix((0.8 + 0.5 * np.sin(t))[:, None] * np.asarray(ax, float))
    root = np.stack([0.5 * np.sin(t), 0.1 + 0 * t, 4 + np.cos(t)], -1)
    return forward_kinematics(L, sk, None, root)


@pytest.mark.parametrize("units", ["m", "cm"])
def test_round_trip_through_the_pypi_reader_recovers_the_joints(tmp_path, units):
    X = smooth_motion(120)
    out = tmp_path / "motion.bvh"
    ex = export_bvh(out, X, np.ones(len(X), bool), 30.0, units=units)
    back = bvh_joints_in_camera(out, units)
    assert np.abs(back - X).max() < 1e-3          # the npz joints, within 1 mm
    assert np.abs(back - ex.ik.joints).max() < 1e-5  # exactly the IK skeleton (text precision)
    assert ex.fit_error_m.max() < 1e-6
    m = read_bvh(out)
    assert m.frame_time == pytest.approx(1 / 30.0, rel=1e-6)
    assert m.rotations.shape == (120, 16 + 5, 3, 3)  # 12 + 4 attachment joints, 5 End Sites
    text = out.read_text()
    assert "CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation" in text
    scale = 100.0 if units == "cm" else 1.0
    thigh = np.linalg.norm(m.offsets[m.index("RightLeg")])
    assert thigh == pytest.approx(np.linalg.norm(X[0, 2] - X[0, 1]) * scale, rel=1e-5)


def test_real_h36m_motion_round_trips(tmp_path, h36m_dir):
    """Real mocap deforms its torso (pelvis tilt, shoulder shrug): with the attachment joints the
    file gives every input joint back within 1 mm; without them, the spine chain still does and
    the rest of the skeleton is the IK's."""
    with np.load(h36m_dir / "poses_3d_17j.npz") as d:
        P = d["S11/Walking 1"][:300:3].astype(np.float64)
    X = P @ np.diag([1.0, -1.0, -1.0]).T + [0, 0, 5]  # roughly into a camera looking at them
    out = tmp_path / "h36m.bvh"
    ex = export_bvh(out, X, None, 50.0 / 3)
    back = bvh_joints_in_camera(out)
    assert np.abs(back - X).max() < 1e-3
    assert np.abs(back - ex.joints).max() < 1e-5
    assert ex.fit_error_m.max() < 1e-3
    assert "JOINT LeftCollar" in out.read_text() and "JOINT RightHipJoint" in out.read_text()
    rigid = tmp_path / "rigid.bvh"
    ex2 = export_bvh(rigid, X, None, 50.0 / 3, attachments=False)
    back2 = bvh_joints_in_camera(rigid)
    assert "Collar" not in rigid.read_text()
    assert np.abs(back2 - ex2.ik.joints).max() < 1e-5
    assert np.abs(back2 - X)[:, [0, 7, 8, 9, 10]].max() < 1e-3
    assert np.median(ex2.fit_error_m[:, [11, 14]]) > 0.005  # the residual the attachments remove


def test_invalid_frames_are_interpolated_and_held(tmp_path):
    X = smooth_motion(40, seed=1)
    valid = np.ones(40, bool)
    valid[:3] = False
    valid[10:14] = False
    valid[-2:] = False
    garbage = X.copy()
    garbage[~valid] = 0.0
    garbage[12, 3] = np.nan
    filled, ok = fill_invalid(garbage, valid)
    np.testing.assert_array_equal(ok, valid)
    np.testing.assert_allclose(filled[:3], np.repeat(X[3:4], 3, 0))
    np.testing.assert_allclose(filled[-2:], np.repeat(X[-3:-2], 2, 0))
    w = (np.arange(10, 14) - 9) / 5.0
    np.testing.assert_allclose(filled[10:14], (1 - w)[:, None, None] * X[9] + w[:, None, None] * X[14])
    out = tmp_path / "gaps.bvh"
    ex = export_bvh(out, garbage, valid, 25.0, rest=h36m17_skeleton())
    np.testing.assert_array_equal(ex.filled, ~valid)
    back = bvh_joints_in_camera(out)
    assert np.isfinite(back).all() and back.shape == (40, 17, 3)
    np.testing.assert_allclose(back[valid], X[valid], atol=1e-3)


def test_export_rejects_bad_input(tmp_path):
    X = smooth_motion(5)
    with pytest.raises(InputError):
        export_bvh(tmp_path / "a.bvh", X, np.zeros(5, bool), 25.0)
    with pytest.raises(InputError):
        export_bvh(tmp_path / "a.bvh", X[:, :16], None, 25.0)
    with pytest.raises(InputError):
        export_bvh(tmp_path / "a.bvh", X, None, 0.0)
    with pytest.raises(InputError):
        export_bvh(tmp_path / "a.bvh", X, None, 25.0, units="mm")
    assert not (tmp_path / "a.bvh").exists()


@pytest.mark.parametrize("order", ["ZYX", "YXZ", "ZXY", "XYZ"])
def test_euler_matches_scipy_intrinsic_and_round_trips(order):
    rng = np.random.default_rng(5)
    ang = rng.uniform(-np.pi, np.pi, (200, 3))
    ang[:, 1] /= 2
    R = euler_to_matrix(ang, order)
    np.testing.assert_allclose(R, Rotation.from_euler(order, ang).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(R, order), order), R, atol=1e-12)
    lock = euler_to_matrix(np.array([[0.3, np.pi / 2, -0.4]]), order)   # gimbal lock
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(lock, order), order), lock, atol=1e-12)


def test_continuous_euler_has_no_jumps():
    t = np.linspace(0, 4 * np.pi, 400)
    R = axis_angle_to_matrix(np.stack([0 * t, t, 0 * t], -1))  # two full turns about y
    e = continuous_euler(R, "ZYX")
    assert np.abs(np.diff(e, axis=0)).max() < 0.1
    np.testing.assert_allclose(euler_to_matrix(e, "ZYX"), R, atol=1e-12)


def test_cli_exports_a_result_file(tmp_path):
    from perspose_rt.cli import main
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.metrics.joints import H36M17_NAMES
    from perspose_rt.types import PoseResult

    X = smooth_motion(30, seed=2)
    w = ResultWriter(17, {"joint_format": "h36m17", "joint_names": list(H36M17_NAMES), "fps": 30.0})
    for i in range(30):
        ok = i not in (5, 6)
        w.add(PoseResult(frame_index=i, timestamp=i / 30.0, valid=ok, joint_format="h36m17",
                         bbox_xyxy=np.array([0, 0, 10, 10.0]), K=np.eye(3), joints_2d=np.zeros((17, 2)),
                         joints_cam=X[i], joints_rel=X[i] - X[i, :1], confidence=np.ones(17)))
    res = w.save(tmp_path / "run.npz")
    out = tmp_path / "run.bvh"
    assert main(["export-bvh", str(res), str(out), "--units", "cm"]) == 0
    back = bvh_joints_in_camera(out, "cm")
    keep = np.ones(30, bool)
    keep[[5, 6]] = False
    assert np.abs(back[keep] - X[keep]).max() < 1e-3
    assert read_bvh(out).frame_time == pytest.approx(1 / 30.0, rel=1e-6)
    assert main(["export-bvh", str(tmp_path / "missing.npz"), str(out)]) == 2


def test_smpl24_motion_round_trips(tmp_path):
    """PersPose (perspose25) results: the SMPL-24 hierarchy with the sequence's bone lengths."""
    from perspose_rt.cli import main
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.kinematics import smpl24_generic_skeleton
    from perspose_rt.metrics.joints import PERSPOSE25_NAMES
    from perspose_rt.types import PoseResult

    rng = np.random.default_rng(12)
    n = 40
    t = np.linspace(0, np.pi, n)[:, None, None]
    theta = axis_angle_to_matrix(0.4 * np.sin(t + rng.uniform(0, 3, (1, 24, 1))) * rng.normal(size=(1, 24, 3)))
    theta[:, 0] = CAM_TO_BVH @ theta[:, 0]
    X = forward_kinematics(theta, smpl24_generic_skeleton(), None, np.tile([0.2, 0.1, 3.5], (n, 1)))
    X25 = np.concatenate([X, X[:, :1]], 1)
    w = ResultWriter(25, {"joint_format": "perspose25", "joint_names": list(PERSPOSE25_NAMES)})
    for i in range(n):
        w.add(PoseResult(frame_index=i, timestamp=i / 25.0, valid=i != 7, joint_format="perspose25",
                         bbox_xyxy=np.array([0, 0, 10, 10.0]), K=np.eye(3), joints_2d=np.zeros((25, 2)),
                         joints_cam=X25[i], joints_rel=X25[i] - X25[i, :1], confidence=np.ones(25)))
    res = w.save(tmp_path / "net.npz")
    out = tmp_path / "net.bvh"
    assert main(["export-bvh", str(res), str(out)]) == 0
    m = read_bvh(out)
    assert m.frame_time == pytest.approx(1 / 25.0, rel=1e-4)  # from the timestamps
    P = m.joint_positions() @ CAM_TO_BVH.T
    # SMPL joints are BVH joints, except the leaves (feet, head, hands): End Sites of their parent
    from perspose_rt.metrics.joints import SMPL24_NAMES, SMPL24_PARENTS

    cols = [m.index(nm) if nm in m.names else m.index(f"{SMPL24_NAMES[SMPL24_PARENTS[j]]}_end")
            for j, nm in enumerate(SMPL24_NAMES)]
    assert sum(m.is_end_site) == 5
    keep = np.arange(n) != 7
    assert np.abs(P[:, cols][keep] - X[keep]).max() < 1e-3


def test_cli_writes_one_bvh_per_track(tmp_path):
    """A version-2 result with two people: one BVH per track (each over its own span), or the
    one asked for with --track; an unknown track is a one-line error."""
    from perspose_rt.camera import CameraModel
    from perspose_rt.cli import main
    from perspose_rt.io.results import ResultWriter, load_result
    from perspose_rt.metrics.joints import H36M17_NAMES
    from perspose_rt.types import Frame, Person, PoseResult

    cam = CameraModel.from_fov(60, (640, 480))
    n = 30
    X = {0: smooth_motion(n, seed=3), 5: smooth_motion(n, seed=4) + [1.5, 0, 0]}
    w = ResultWriter(17, {"joint_format": "h36m17", "joint_names": list(H36M17_NAMES), "fps": 30.0},
                     max_people=3)
    for i in range(n):
        people = [Person(track_id=t, pose=PoseResult(
            frame_index=i, timestamp=i / 30.0, valid=True, joint_format="h36m17",
            bbox_xyxy=np.array([0, 0, 10, 10.0]), K=np.eye(3), joints_2d=np.zeros((17, 2)),
            joints_cam=X[t][i], joints_rel=X[t][i] - X[t][i, :1], confidence=np.ones(17)))
            for t in (0, 5) if t == 0 or i >= 10]  # track 5 walks in at frame 10
        w.add_frame(Frame(i, i / 30.0, np.zeros((2, 2, 3), np.uint8), cam, "test"), people)
    res = w.save(tmp_path / "two.npz")
    assert load_result(res).track_ids() == [0, 5]
    out = tmp_path / "two.bvh"
    assert main(["export-bvh", str(res), str(out)]) == 0
    assert not out.exists()
    back0 = bvh_joints_in_camera(tmp_path / "two_track0.bvh")
    back5 = bvh_joints_in_camera(tmp_path / "two_track5.bvh")
    assert back0.shape[0] == n and back5.shape[0] == n - 10
    assert np.abs(back0 - X[0]).max() < 1e-3 and np.abs(back5 - X[5][10:]).max() < 1e-3
    one = tmp_path / "only5.bvh"
    assert main(["export-bvh", str(res), str(one), "--track", "5"]) == 0
    assert np.abs(bvh_joints_in_camera(one) - X[5][10:]).max() < 1e-3
    assert main(["export-bvh", str(res), str(one), "--track", "2"]) == 2
