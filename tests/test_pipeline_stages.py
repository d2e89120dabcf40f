"""Estimator and post-processing stages: PersPose geometry (known answers), tracking, torch warp,
random-weight plumbing, smoothing and IK stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perspose_rt.camera import CameraModel
from perspose_rt.geometry import project_points
from perspose_rt.models.output import PersPoseOutput
from perspose_rt.pipeline.people import PersonState
from perspose_rt.pipeline.perspose_stage import (
    NUM_JOINTS,
    PersPoseStage,
    box_from_joints,
    distorted_box,
    undistorted_box,
)
from perspose_rt.pipeline.post import IKStage, SmoothStage
from perspose_rt.pipeline.runner import Packet
from perspose_rt.types import Detection, Frame, Person, PoseResult

CAM = CameraModel.from_fov(60, (640, 480))


class FakeConfig:
    input_size = 256
    pr = True


class FakeBackend:
    """Returns a pose whose root sits on the rotated camera's optical axis at ``depth`` metres."""

    name = "fake"
    config = FakeConfig()

    def __init__(self, depth: float = 3.0) -> None:
        self.depth, self.inputs, self.closed = depth, [], False

    def infer(self, image, K_crop):
        self.inputs.append((np.asarray(image), np.asarray(K_crop)))
        B = image.shape[0]
        rel = np.zeros((B, NUM_JOINTS, 3), np.float32)
        rel[:, 1:, 1] = np.linspace(-0.8, 0.9, NUM_JOINTS - 1)  # a vertical 1.7 m "person"
        z = np.zeros((B, NUM_JOINTS, 1), np.float32)
        return PersPoseOutput(uv=np.zeros((B, NUM_JOINTS, 2), np.float32), depth=z,
                              rho0=np.ones((B, 1, 1), np.float32), twist=np.zeros((B, NUM_JOINTS, 3), np.float32),
                              beta=np.zeros((B, 11), np.float32), leaf_rot=np.zeros((B, 5, 3, 3), np.float32),
                              xyz=rel, xyz0=np.array([[[0.0, 0.0, self.depth]]] * B, np.float32))

    def close(self) -> None:
        self.closed = True


class FakeDetector:
    max_people = 1

    def __init__(self, box: np.ndarray | None) -> None:
        self.box, self.calls = box, 0

    def detect(self, image, timestamp_s=None):
        self.calls += 1
        return [] if self.box is None else [Detection(bbox_xyxy=self.box.copy(), score=1.0)]


def _only_pose(p: Packet) -> PoseResult:
    assert len(p.people) == 1 and p.people[0].track_id == 0
    return p.people[0].pose


def _packet(i: int = 0, image: np.ndarray | None = None) -> Packet:
    img = image if image is not None else np.random.default_rng(i).integers(0, 255, (480, 640, 3), np.uint8)
    return Packet(frame=Frame(i, i / 30, img, CAM, "test"), t_capture=0.0)


def test_perspose_stage_undoes_pr_rotation() -> None:
    """The root predicted on the rotated optical axis must project back onto the box centre."""
    box = np.array([400.0, 100, 520, 400])  # off-centre person: PR rotates noticeably
    det, backend = FakeDetector(box), FakeBackend(depth=4.0)
    stage = PersPoseStage(backend, det)
    p = stage(_packet())
    pose = _only_pose(p)
    assert pose.valid and pose.joint_format == "perspose25" and pose.joints_cam.shape == (25, 3)
    np.testing.assert_allclose(pose.joints_2d[0], (box[:2] + box[2:]) / 2, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pose.joints_cam[0]), 4.0, rtol=1e-6)
    np.testing.assert_allclose(pose.joints_rel[0], 0.0)
    img, K_crop = backend.inputs[0]
    assert img.shape == (1, 3, 256, 256) and img.dtype == np.float32
    np.testing.assert_allclose(K_crop[0, :2, 2], [128, 128], atol=1e-3)  # PR: principal point at the centre
    assert {"detect", "warp", "infer", "post"} <= set(p.timings)


def test_perspose_stage_gives_weights_trained_without_pr_the_box_crop() -> None:
    """``config.pr`` False (``train --encoding pe|none``): no rotation, the crop of the padded box
    with the original (off-centre) principal point, as the network was trained."""
    from perspose_rt.geometry import prepare_box_crop
    from perspose_rt.pipeline.perspose_stage import BOX_PAD

    class NoPR(FakeConfig):
        pr = False

    box = np.array([400.0, 100, 520, 400])
    backend = FakeBackend(depth=4.0)
    backend.config = NoPR()
    pose = _only_pose(PersPoseStage(backend, FakeDetector(box))(_packet()))
    _, K_crop = backend.inputs[0]
    expected = prepare_box_crop(np.asarray(CAM.K, np.float64), box, out_size=256, pad=BOX_PAD).K_crop
    np.testing.assert_allclose(K_crop[0], expected, rtol=1e-5)
    assert abs(K_crop[0, 0, 2] - 128) > 50  # the box is far right of the principal point
    np.testing.assert_allclose(pose.joints_cam[0], [0, 0, 4.0], atol=1e-6)  # R = I: nothing to undo


DISTORTED = CameraModel(K=CAM.K, resolution=CAM.resolution, dist=[-0.3, 0.1, 0.0, 0.0, 0.0])


def test_undistorted_box_bounds_the_undistorted_box_region() -> None:
    box = np.array([400.0, 100, 600, 400])
    np.testing.assert_array_equal(undistorted_box(CAM, box), box)  # no distortion: unchanged
    ub = undistorted_box(DISTORTED, box)
    assert not np.allclose(ub, box, atol=5)  # barrel distortion moves an off-centre box a lot
    gx, gy = np.meshgrid(np.linspace(box[0], box[2], 9), np.linspace(box[1], box[3], 9))
    inner = DISTORTED.undistort_points(np.stack([gx.ravel(), gy.ravel()], -1))
    assert np.all(inner >= ub[:2] - 0.5) and np.all(inner <= ub[2:] + 0.5)


def test_perspose_stage_works_in_undistorted_pixels_with_lens_distortion() -> None:
    """The crop is cut from the undistorted frame, so the detector box and the tracking box must be
    in its pixels: the root on the rotated axis lands on the undistorted box's centre."""
    box = np.array([400.0, 100, 600, 400])
    stage = PersPoseStage(FakeBackend(depth=4.0), FakeDetector(box))
    img = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    pose = _only_pose(stage(Packet(frame=Frame(0, 0.0, img, DISTORTED, "test"), t_capture=0.0)))
    ub = undistorted_box(DISTORTED, box)
    root_undistorted = DISTORTED.undistort_points(pose.joints_2d[:1])[0]
    np.testing.assert_allclose(root_undistorted, (ub[:2] + ub[2:]) / 2, atol=1e-3)
    np.testing.assert_allclose(stage.tracker.tracks[0].next_box,
                               box_from_joints(project_points(pose.joints_cam, DISTORTED.K)), atol=1e-9)
    # the stored box is in the frame's own (distorted) pixels, like joints_2d and the detector's box
    np.testing.assert_allclose(pose.bbox_xyxy, distorted_box(DISTORTED, ub), atol=1e-9)
    # it bounds the detector's box; the undistorted box is ~35 px off in these pixels
    assert np.all(pose.bbox_xyxy[:2] <= box[:2] + 1e-6) and np.all(pose.bbox_xyxy[2:] >= box[2:] - 1e-6)
    assert np.abs(pose.bbox_xyxy - box).max() < 15.0 and np.abs(ub - box).max() > 30.0


def test_distorted_box_inverts_undistorted_box() -> None:
    box = np.array([420.0, 60, 620, 420])
    ub = undistorted_box(DISTORTED, box)
    back = distorted_box(DISTORTED, ub)
    assert np.all(back[:2] <= box[:2] + 1e-6) and np.all(back[2:] >= box[2:] - 1e-6)  # it bounds the box
    # this lens is strong: the bent edges widen the bounds a little, far less than the undistortion moves them
    assert np.abs(back - box).max() < 0.5 * np.abs(ub - box).max()
    np.testing.assert_array_equal(distorted_box(CAM, box), box)


def test_perspose_stage_tracks_and_reacquires() -> None:
    det = FakeDetector(np.array([250.0, 60, 390, 420]))
    backend = FakeBackend()
    stage = PersPoseStage(backend, det)
    for i in range(4):
        p = stage(_packet(i))
        assert _only_pose(p).valid and p.people[0].new_segment == (i == 0)
    assert det.calls == 1  # only the first frame needed the detector
    backend.depth = -2.0  # the "person" jumps behind the camera: the track is lost
    assert stage(_packet(4)).people == []
    backend.depth = 3.0
    p = stage(_packet(5))
    assert _only_pose(p).valid and det.calls == 2
    assert p.people[0].new_segment  # same identity, but the temporal state starts again
    det.box = None
    for t in stage.tracker.tracks:
        t.next_box = None
    p = stage(_packet(6))
    assert p.people == [] and p.states == {} and det.calls == 3
    stage.close()
    assert backend.closed


def test_torch_warp_matches_cv2() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, ::8] = 255  # stripes: any misalignment shows
    img[100:300, 200:400, 1] = 180
    crops = {}
    for warp in ("cv2", "torch"):
        backend = FakeBackend()
        PersPoseStage(backend, FakeDetector(np.array([180.0, 80, 420, 330])), warp=warp, device="cpu")(
            _packet(image=img))
        crops[warp] = backend.inputs[0][0]
    diff = np.abs(crops["cv2"] - crops["torch"])
    assert np.median(diff) < 1e-3 and diff.mean() < 0.05


def test_random_weights_plumbing(tmp_path: Path, video_path: Path) -> None:
    """RANDOMLY INITIALISED w18s weights in our format: checks plumbing only, not pose quality."""
    import torch

    from perspose_rt.models import BACKBONES, NetConfig, PersPoseNet
    from perspose_rt.pipeline.build import EstimatorOptions, build_stages
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.sources import VideoFileSource

    torch.manual_seed(0)
    weights = tmp_path / "random_init_w18s.safetensors"
    PersPoseNet(NetConfig(backbone=BACKBONES["w18s"])).save_weights(weights)
    stages, meta = build_stages(EstimatorOptions(name="perspose", weights=weights))
    assert [s.name for s in stages] == ["perspose", "smooth", "ik"]
    assert meta["joint_format"] == "perspose25" and len(meta["weights_sha256"]) == 64
    with Pipeline(VideoFileSource(video_path, max_frames=3), stages) as pipe:
        out = list(pipe.results())
    assert len(out) == 3 and all(len(p.people) == 1 for p in out)  # the skater is found; the network runs
    assert all(np.all(np.isfinite(p.people[0].pose.joints_cam)) for p in out)
    # Untrained joints collapse to a point, so the tracker rightly drops them and re-detects
    # (tracking itself is tested with the fake backend above).
    assert stages[0].detector_runs == 3
    assert pipe.stats.summary()["stages_ms"]["perspose.infer"]["n"] == 3
    for p in out:  # SMPL IK ran on every frame (or flagged a failure; never NaN rotations)
        assert p.people[0].pose.rotations is None or np.all(np.isfinite(p.people[0].pose.rotations))
    assert sum(p.people[0].pose.rotations is not None for p in out) + stages[2].failures == 3


def _pose(i: int, valid: bool = True) -> PoseResult:
    X = np.random.default_rng(i).normal(0, 0.3, (17, 3)) + [0, 0, 4]
    return PoseResult(i, i / 30, valid, "h36m17", np.zeros(4), CAM.K, np.zeros((17, 2)), X, X - X[0], np.ones(17))


def _with(p: Packet, pose: PoseResult | None, state: PersonState, new_segment: bool = False) -> Packet:
    """The packet with one tracked person (``pose``), or nobody (``None``)."""
    if pose is not None and pose.valid:
        p.people = [Person(track_id=state.track_id, pose=pose, new_segment=new_segment)]
        p.states = {state.track_id: state}
    return p


def test_smooth_stage_keeps_raw_and_resets_on_loss() -> None:
    st = SmoothStage("kalman-cv", 17, fps=30)
    state = PersonState(track_id=0, box=np.zeros(4))
    outs = []
    for i, valid in enumerate([True, True, True, False, True]):
        pose = _pose(i, valid)
        raw = pose.joints_cam.copy()
        outs.append((st(_with(_packet(i), pose, state, new_segment=i in (0, 4))), raw))
    p1, raw1 = outs[1]
    person = p1.people[0]
    np.testing.assert_array_equal(person.joints_cam_raw, raw1)
    assert not np.allclose(person.pose.joints_cam, raw1)  # smoothed
    np.testing.assert_allclose(person.pose.joints_rel, person.pose.joints_cam - person.pose.joints_cam[0])
    assert outs[3][0].people == []
    assert st.resets == 1
    p4, raw4 = outs[4]
    np.testing.assert_allclose(p4.people[0].pose.joints_cam, raw4)  # restarted after the loss: no blending


def test_smooth_stage_keeps_people_apart() -> None:
    """Two people in one stream: each has their own filter (no blending between them)."""
    st = SmoothStage("kalman-cv", 17, fps=30)
    states = [PersonState(track_id=k, box=np.zeros(4)) for k in (0, 1)]
    for i in range(5):
        p = _packet(i)
        poses = [_pose(0), _pose(1)]
        poses[1].joints_cam = poses[1].joints_cam + [2.0, 0, 0]  # far apart, each standing still
        p.people = [Person(track_id=k, pose=poses[k], new_segment=i == 0) for k in (0, 1)]
        p.states = {k: states[k] for k in (0, 1)}
        out = st(p)
    for k in (0, 1):  # a still person's smoothed joints equal their raw joints
        np.testing.assert_allclose(out.people[k].pose.joints_cam, out.people[k].joints_cam_raw, atol=1e-9)
    assert states[0].smoother is not states[1].smoother


def test_ik_stage_gives_rotations(h36m_dir: Path) -> None:
    gt = np.load(h36m_dir / "poses_3d_17j.npz")["S9/Walking 1"][0].astype(np.float64)
    X = np.stack([gt[:, 0], -gt[:, 2], gt[:, 1]], 1)  # world (z up) → a camera-like frame (y down)
    X = X - X[0] + [0, 0, 4]
    state = PersonState(track_id=0, box=np.zeros(4))
    pose = PoseResult(0, 0.0, True, "h36m17", np.zeros(4), CAM.K, np.zeros((17, 2)), X, X - X[0], np.ones(17))
    R = IKStage()(_with(_packet(), pose, state, True)).people[0].pose.rotations
    assert R.shape == (17, 3, 3)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    assert IKStage()(_with(_packet(), _pose(1, valid=False), state)).people == []


def test_ik_stage_fits_a_skeleton_per_person(h36m_dir: Path) -> None:
    """A child-sized and an adult-sized person in the same frames: each track's fitted bone
    lengths follow their own body."""
    gt = np.load(h36m_dir / "poses_3d_17j.npz")["S9/Walking 1"][:40].astype(np.float64)
    X = np.stack([gt[..., 0], -gt[..., 2], gt[..., 1]], -1)
    X = X - X[:, :1] + [0, 0, 4]
    stage = IKStage(rigid=True, prior_frames=1)
    states = {k: PersonState(track_id=k, box=np.zeros(4)) for k in (0, 1)}
    for i in range(40):
        p = _packet(i)
        p.people = []
        for k, scale in ((0, 1.0), (1, 0.6)):
            Y = (X[i] - X[i, 0]) * scale + X[i, 0] + [k * 1.5, 0, 0]
            pose = PoseResult(i, i / 30, True, "h36m17", np.zeros(4), CAM.K, np.zeros((17, 2)), Y, Y - Y[0],
                              np.ones(17))
            p.people.append(Person(track_id=k, pose=pose, new_segment=i == 0))
        p.states = states
        stage(p)
    thigh = [states[k].skeleton.lengths[2] for k in (0, 1)]  # hip → knee
    np.testing.assert_allclose(thigh[1] / thigh[0], 0.6, rtol=0.05)


class _RecordingStream:
    def __init__(self) -> None:
        self.pushed, self.resets = [], 0

    def push(self, kp, K, conf):
        self.pushed.append(np.asarray(kp).copy())
        return np.c_[np.asarray(kp) / 1000.0, np.full(len(kp), 4.0)]

    def reset(self) -> None:
        self.resets += 1


class _FakeLifter:
    def stream(self) -> _RecordingStream:
        return _RecordingStream()


def test_lift_stage_keeps_one_stream_per_person() -> None:
    """The lifter's causal state is per track: each person's stream sees only their keypoints,
    and restarts at a new segment."""
    from perspose_rt.pipeline.lifter_stages import LiftStage
    from perspose_rt.types import Keypoints2D

    stage = LiftStage(_FakeLifter())
    states = {k: PersonState(track_id=k, box=np.zeros(4)) for k in (0, 1)}
    for i in range(3):
        p = _packet(i)
        p.people = [Person(track_id=k, new_segment=i == 0 or (k == 1 and i == 2),
                           keypoints=Keypoints2D(uv=np.full((17, 2), 100.0 * (k + 1)), uv_image=np.zeros((17, 2)),
                                                 confidence=np.ones(17), format="h36m17")) for k in (0, 1)]
        p.states = states
        out = stage(p)
        assert [q.pose.joints_cam[0, 0] for q in out.people] == [0.1, 0.2]
    s0, s1 = states[0].lifter_stream, states[1].lifter_stream
    assert s0 is not s1 and len(s0.pushed) == len(s1.pushed) == 3
    assert all((x == 100).all() for x in s0.pushed) and all((x == 200).all() for x in s1.pushed)
    assert (s0.resets, s1.resets) == (0, 1)


def _synthetic_smpl_model():
    """A tiny SMPL-format model (not the licensed one): 4 vertices per joint around a generic body."""
    from perspose_rt.kinematics import smpl24_generic_skeleton
    from perspose_rt.kinematics.smpl_model import model_from_arrays
    from perspose_rt.metrics.joints import SMPL24_PARENTS

    rng = np.random.default_rng(0)
    per, J = 4, 24
    V = per * J
    owner = np.repeat(np.arange(J), per)
    v = smpl24_generic_skeleton().rest_joints()[owner] + rng.normal(scale=0.03, size=(V, 3))
    jr = np.zeros((J, V))
    for j in range(J):
        jr[j, j * per:(j + 1) * per] = 1.0 / per
    weights = np.zeros((V, J))
    weights[np.arange(V), owner] = 1.0
    par = np.array(SMPL24_PARENTS)
    kintree = np.stack([np.where(par < 0, 4294967295, par), np.arange(J)]).astype(np.int64)
    return model_from_arrays({
        "v_template": v, "shapedirs": rng.normal(scale=0.01, size=(V, 3, 10)),
        "posedirs": np.zeros((V, 3, 207)), "J_regressor": jr, "weights": weights,
        "f": rng.integers(0, V, size=(30, 3)), "kintree_table": kintree}, source="synthetic")


def _smpl_pose() -> PoseResult:
    from perspose_rt.kinematics import smpl24_generic_skeleton

    rest = smpl24_generic_skeleton().rest_joints()  # y up (SMPL) → camera (y down), 3 m ahead
    X = np.concatenate([rest * [1, -1, -1] + [0, 0, 3.0], [[0, 0, 3.0]]])
    return PoseResult(0, 0.0, True, "perspose25", np.zeros(4), CAM.K, np.zeros((25, 2)), X, X - X[0],
                      np.ones(25), extras={"beta": np.zeros(11), "twist": np.zeros((25, 3)) + [1.0, 0, 0],
                                           "leaf_rot": np.tile(np.eye(3), (5, 1, 1))})


@pytest.mark.parametrize("with_model", [False, True])
def test_smpl_ik_stage(with_model: bool) -> None:
    from perspose_rt.pipeline.post import SMPLIKStage

    model = _synthetic_smpl_model() if with_model else None
    stage = SMPLIKStage(model)
    p = stage(_with(_packet(), _smpl_pose(), PersonState(track_id=0, box=np.zeros(4)), True))
    R = p.people[0].pose.rotations
    assert R.shape == (25, 3, 3)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-8)
    np.testing.assert_array_equal(R[24], np.eye(3))
    if with_model:
        verts = p.people[0].pose.extras["vertices"]
        assert verts.shape == (96, 3) and np.all(np.isfinite(verts))
        assert abs(verts[:, 2].mean() - 3.0) < 0.5  # the mesh is where the person is
        assert stage.faces.shape == (30, 3)
    else:
        assert "vertices" not in p.people[0].pose.extras and stage.faces is None


class FakeMultiDetector(FakeDetector):
    max_people = 3

    def __init__(self, boxes: list[np.ndarray]) -> None:
        super().__init__(None)
        self.boxes = boxes

    def detect(self, image, timestamp_s=None):
        self.calls += 1
        return [Detection(bbox_xyxy=b.copy(), score=1.0) for b in self.boxes]


def test_perspose_stage_batches_several_people_and_tracks_each() -> None:
    """Three people: one backend call per frame with a batch of three crops; each keeps an ID and
    is followed by its own 3D; a bad box (here: empty) loses only its own person."""
    boxes = [np.array([60.0, 100, 180, 400]), np.array([260.0, 90, 380, 420]), np.array([460.0, 120, 560, 380])]
    det, backend = FakeMultiDetector(boxes), FakeBackend(depth=4.0)
    stage = PersPoseStage(backend, det)
    ids = []
    for i in range(4):
        p = stage(_packet(i))
        assert len(backend.inputs) == i + 1 and backend.inputs[-1][0].shape == (3, 3, 256, 256)
        assert [q.track_id for q in p.people] == [0, 1, 2] and set(p.states) == {0, 1, 2}
        roots = np.array([q.pose.joints_2d[0, 0] for q in p.people])
        ids.append(np.argsort(roots))
        for q, b in zip(p.people, boxes, strict=True):  # each root projects into its own box
            assert b[0] < q.pose.joints_2d[0, 0] < b[2]
    assert det.calls == 1  # found once, then followed by their own joints
    assert all((x == ids[0]).all() for x in ids)
    # a person whose box collapses is dropped alone; the detector finds them again later
    stage.tracker.tracks[1].next_box = np.array([300.0, 200, 300, 200])
    p = stage(_packet(4))
    assert [q.track_id for q in p.people] == [0, 2] and backend.inputs[-1][0].shape == (2, 3, 256, 256)
    p = stage(_packet(5))  # fewer than max_people tracked: the detector runs after redetect_every frames
    for i in range(6, 6 + stage.redetect_every):
        p = stage(_packet(i))
    assert [q.track_id for q in p.people] == [0, 1, 2] and det.calls == 2  # person 1 keeps their ID
