"""One skeleton per track (issue 11): bone lengths from the seen bones with population ratios for
the rest, frozen once settled, kept through new segments; ``export-bvh`` then reproduces the
result, read back by an independent BVH parser (tests/bvh_independent.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bvh_independent import bvh_h36m17_camera_joints
from test_rigid_skeleton import _bones, _poses

from perspose_rt.camera import CameraModel
from perspose_rt.kinematics.bone_prior import bone_seen, estimate_bone_lengths
from perspose_rt.kinematics.skeleton import H36M17_DEFAULT_LENGTHS
from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS, H36M17_PARENTS
from perspose_rt.pipeline.people import PersonState
from perspose_rt.pipeline.post import IKStage
from perspose_rt.pipeline.runner import Packet
from perspose_rt.pipeline.track_skeleton import TrackSkeleton
from perspose_rt.types import Frame, Person, PoseResult

POP = np.asarray(H36M17_DEFAULT_LENGTHS)
CAM = CameraModel.from_fov(60, (640, 480))
LEG_JOINTS = [2, 3, 5, 6]  # knees and ankles
LEG_BONES = [2, 3, 5, 6]  # thighs and shins (the bone ending at each)


def _shrink_legs(X: np.ndarray, factor: float) -> np.ndarray:
    """The lifter's guess of unseen legs: each thigh and shin ``factor`` times as long."""
    Y = X.copy()
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        Y[:, knee] = Y[:, hip] + factor * (X[:, knee] - X[:, hip])
        Y[:, ankle] = Y[:, knee] + factor * (X[:, ankle] - X[:, knee])
    return Y


# ---------------------------------------------------------------------------- the estimate
def test_bone_seen_needs_both_joints() -> None:
    seen = np.ones(17, bool)
    seen[3] = False  # right ankle
    b = bone_seen(seen, H36M17_PARENTS)
    assert not b[0] and not b[3] and b[2] and b[1]  # root: no bone; knee→ankle unseen; hip→knee seen
    seen[0] = False  # the pelvis: hips and spine go with it
    b = bone_seen(seen, H36M17_PARENTS)
    assert not b[1] and not b[4] and not b[7] and b[2] and b[8]


def test_unseen_legs_take_the_population_ratio_of_the_seen_bones() -> None:
    """A person 1.1 times the population size whose legs were never seen and that the lifter drew
    30 % short: the legs come out 1.1 times the population's, not shrunk."""
    X = _shrink_legs(_poses(np.random.default_rng(0), 20, POP * 1.1), 0.7)
    joint_seen = np.ones((20, 17), bool)
    joint_seen[:, LEG_JOINTS] = False
    est = estimate_bone_lengths(X, bone_seen(joint_seen, H36M17_PARENTS), H36M17_PARENTS, POP, 30,
                                H36M17_FLIP_PAIRS)
    assert est.scale == pytest.approx(1.1)
    np.testing.assert_allclose(est.lengths, POP * 1.1, atol=1e-9)
    assert np.all(est.counts[LEG_BONES] == 0) and np.all(est.measured[LEG_BONES] == 0)
    assert est.counts[1] == 40  # the hips, both sides pooled: 2 × 20 frames


def test_a_bone_seen_in_few_frames_blends_by_its_count() -> None:
    """Known answer: the right and left forearms seen in 5 frames between them, 20 % longer than the
    population ratio: length = (5 · 1.2 p + k · p) / (5 + k), p = 0.9 · population (the scale:
    every other bone is 0.9 times the population's)."""
    n, k = 10, 15
    lengths = POP * 0.9
    lengths[[13, 16]] *= 1.2
    X = _poses(np.random.default_rng(1), n, lengths)
    joint_seen = np.ones((n, 17), bool)
    joint_seen[:, [13, 16]] = False
    joint_seen[:3, 16] = True  # right wrist seen in 3 frames
    joint_seen[:2, 13] = True  # left wrist in 2
    est = estimate_bone_lengths(X, bone_seen(joint_seen, H36M17_PARENTS), H36M17_PARENTS, POP, k,
                                H36M17_FLIP_PAIRS)
    assert est.counts[13] == est.counts[16] == 5 and est.counts[2] == 2 * n and est.counts[7] == n
    assert est.scale == pytest.approx(0.9)
    expect = (5 * lengths[13] + k * 0.9 * POP[13]) / (5 + k)
    assert est.lengths[13] == pytest.approx(expect) and est.lengths[16] == pytest.approx(expect)
    np.testing.assert_allclose(est.lengths[2], lengths[2])  # measured = predicted


def test_scale_is_a_weighted_median_that_ignores_a_few_distorted_bones() -> None:
    """Hips drawn at 0.4 times their length (seen, with the pelvis at the frame's edge) and legs
    never seen: the scale, and so the legs, stay the person's (1.1 times the population)."""
    from perspose_rt.kinematics.bone_prior import weighted_median

    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])) == 2.0
    assert weighted_median(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 5.0])) == 3.0
    assert weighted_median(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == 1.0  # the lower one
    assert weighted_median(np.array([5.0, 1.0]), np.array([0.0, 2.0])) == 1.0  # zero weight ignored
    assert np.isnan(weighted_median(np.array([1.0]), np.array([0.0])))
    X = _poses(np.random.default_rng(11), 20, POP * 1.1)
    pelvis = X[:, :1]
    X[:, [1, 4]] = pelvis + 0.4 * (X[:, [1, 4]] - pelvis)
    joint_seen = np.ones((20, 17), bool)
    joint_seen[:, LEG_JOINTS] = False
    est = estimate_bone_lengths(X, bone_seen(joint_seen, H36M17_PARENTS), H36M17_PARENTS, POP, 30,
                                H36M17_FLIP_PAIRS)
    assert est.scale == pytest.approx(1.1)
    np.testing.assert_allclose(est.lengths[LEG_BONES], POP[LEG_BONES] * 1.1, atol=1e-9)


def test_nothing_seen_gives_no_scale() -> None:
    X = _poses(np.random.default_rng(2), 3, POP)
    est = estimate_bone_lengths(X, np.zeros((3, 17), bool), H36M17_PARENTS, POP, 30)
    assert np.isnan(est.scale) and np.all(est.counts == 0)


# ---------------------------------------------------------------------------- settling
def test_skeleton_settles_then_never_changes() -> None:
    fit = TrackSkeleton(POP, min_frames=15, settle_frames=10, settle_tol=0.005, max_frames=50)
    rng = np.random.default_rng(3)
    X = _poses(rng, 40, POP * 1.05)
    seen = np.ones(17, bool)
    for t in range(14):
        fit.update(X[t], seen)
        assert not fit.settled  # never before min_frames
    fit.update(X[14], seen)
    assert fit.settled and fit.frames == 15  # constant input: settled at min_frames
    frozen = fit.lengths.copy()
    np.testing.assert_allclose(frozen, POP * 1.05, atol=1e-9)
    for x in _poses(rng, 5, POP * 0.8):  # somebody else's size: ignored once settled
        np.testing.assert_array_equal(fit.update(x, seen), frozen)
    assert fit.frames == 15


def test_skeleton_settles_at_the_latest_after_max_frames() -> None:
    fit = TrackSkeleton(POP, min_frames=5, settle_frames=4, settle_tol=1e-6, max_frames=12)
    rng = np.random.default_rng(4)
    for t in range(12):  # every frame a different size: the lengths keep changing
        assert not fit.settled
        fit.update(_poses(rng, 1, POP * (1 + 0.05 * t))[0], np.ones(17, bool))
    assert fit.settled and fit.frames == 12


def _feed(stage: IKStage, X: np.ndarray, conf: np.ndarray, state: PersonState, new_segment_at=(0,)):
    out = []
    for i, x in enumerate(X):
        pose = PoseResult(i, i / 25, True, "h36m17", np.zeros(4), CAM.K, np.full((17, 2), 100.0), x.copy(),
                          x - x[0], conf[i])
        packet = Packet(frame=Frame(i, i / 25, np.zeros((4, 4, 3), np.uint8), CAM, "t"), t_capture=0.0)
        packet.people = [Person(track_id=0, pose=pose, new_segment=i in new_segment_at)]
        packet.states = {0: state}
        out.append(stage(packet).people[0].pose)
    return out


def test_rigid_stage_does_not_shrink_unseen_legs() -> None:
    """Legs never seen (confidence 0) and drawn 30 % short by the lifter: the track's skeleton has
    legs of the person's population proportions; the old fit (every joint) had them short."""
    X = _shrink_legs(_poses(np.random.default_rng(5), 30, POP * 1.1), 0.7)
    conf = np.ones((30, 17))
    conf[:, LEG_JOINTS] = 0.0
    out = _feed(IKStage(rigid=True), X, conf, PersonState(track_id=0, box=np.zeros(4)))
    np.testing.assert_allclose(out[-1].bone_lengths[LEG_BONES], POP[LEG_BONES] * 1.1, rtol=1e-6)
    np.testing.assert_allclose(_bones(out[-1].joints_cam)[np.array(LEG_BONES) - 1], POP[LEG_BONES] * 1.1, rtol=1e-6)
    assert out[-1].skeleton_settled


def test_track_keeps_its_skeleton_through_new_segments() -> None:
    """A lost-and-found person (new segments at frames 5 and 60; after the first 'cut' the lifter
    draws them 15 % smaller): before settling the history goes on, so the size moves only once the
    new frames outweigh the old (a median); after settling nothing changes, a new segment included."""
    rng = np.random.default_rng(6)
    X = np.concatenate([_poses(rng, 5, POP), _poses(rng, 85, POP * 0.85)])
    stage = IKStage(rigid=True, min_frames=15, settle_frames=10, max_frames=50)
    out = _feed(stage, X, np.ones((90, 17)), PersonState(track_id=0, box=np.zeros(4)), new_segment_at=(0, 5, 60))
    L = np.stack([p.bone_lengths for p in out])
    settled = np.array([p.skeleton_settled for p in out])
    first = int(np.argmax(settled))
    assert settled[first:].all() and 15 <= first <= 50
    # right after the cut the size has not jumped (the median of 5 old frames and 1 new one)
    np.testing.assert_allclose(L[5], POP, atol=1e-9)
    # once the new frames are the majority the size is theirs, with the same proportions
    np.testing.assert_allclose(L[first], POP * 0.85, atol=1e-9)
    np.testing.assert_array_equal(L[first:], np.broadcast_to(L[first], L[first:].shape))
    for p in out[first:]:  # every frame from the settled one on: forward kinematics of that skeleton
        np.testing.assert_allclose(_bones(p.joints_cam), L[first, 1:], atol=1e-9)


def test_skeleton_does_not_settle_while_its_latest_frames_disagree() -> None:
    """8 frames of one size, then the lifter draws the person 30 % smaller: at frame 15 the
    history's median is still the old size and has not moved for 10 frames, but the last 10 frames
    say otherwise, so the skeleton waits until the evidence agrees (the new size)."""
    rng = np.random.default_rng(10)
    X = np.concatenate([_poses(rng, 8, POP), _poses(rng, 42, POP * 0.7)])
    for scale_tol, size in ((0.1, 0.7), (10.0, 1.0)):  # with the check, and without it (old size)
        out = _feed(IKStage(rigid=True, scale_tol=scale_tol), X, np.ones((50, 17)),
                    PersonState(track_id=0, box=np.zeros(4)), new_segment_at=(0, 8))
        first = int(np.argmax([p.skeleton_settled for p in out]))
        np.testing.assert_allclose(out[first].bone_lengths, POP * size, atol=1e-9)
        assert (first > 15) == (scale_tol < 1)


# ---------------------------------------------------------------------------- BVH reproduces the result
def _bvh_errors_mm(npz: Path, bvh: Path, settled_only: bool = False) -> tuple[np.ndarray, int]:
    """Per-frame-and-joint distance (mm) between the BVH read back independently and the result's
    ``joints_cam``, and the index of the first settled frame."""
    from perspose_rt.io.results import load_result

    r = load_result(npz)
    settled = r["skeleton_settled"]
    first = int(np.argmax(settled))
    joints = r["joints_cam"].astype(np.float64)[first if settled_only else 0:]
    return 1000 * np.linalg.norm(bvh_h36m17_camera_joints(bvh) - joints, axis=-1), first


def test_repose_before_settled_known_answer() -> None:
    """Frames posed on a smaller skeleton before the settled one: their rotations on the settled
    skeleton, from their own pelvis; bone directions kept; later frames untouched."""
    from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton, solve_ik_h36m17
    from perspose_rt.kinematics.repose import repose_before_settled

    rng = np.random.default_rng(9)
    early, final = POP * 0.9, POP * 1.05
    X = np.concatenate([_poses(rng, 4, early), _poses(rng, 3, final)])
    L = np.concatenate([np.tile(early, (4, 1)), np.tile(final, (3, 1))])
    R = np.concatenate([solve_ik_h36m17(X[:4], h36m17_skeleton(early)).local_rotmats,
                        solve_ik_h36m17(X[4:], h36m17_skeleton(final)).local_rotmats])
    settled = np.array([False] * 4 + [True] * 3)
    posed = np.ones(7, bool)
    posed[1] = False  # e.g. a frame of another track or without rotations: left alone
    got, changed = repose_before_settled(X, R, posed, L, settled)
    np.testing.assert_array_equal(changed, [True, False, True, True, False, False, False])
    np.testing.assert_array_equal(got[~changed], X[~changed])
    expect = forward_kinematics(R[changed], h36m17_skeleton(final), None, X[changed, 0])
    np.testing.assert_allclose(got[changed], expect, atol=1e-12)
    np.testing.assert_allclose(_bones(got[changed]), np.broadcast_to(final[1:], (3, 16)), atol=1e-9)
    par = np.asarray(H36M17_PARENTS)[1:]
    d_in, d_out = X[changed][:, 1:] - X[changed][:, par], got[changed][:, 1:] - got[changed][:, par]
    np.testing.assert_allclose(np.einsum("nbk,nbk->nb", d_in, d_out)
                               / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1), 1.0, atol=1e-9)
    same, none = repose_before_settled(X, R, posed, L, np.zeros(7, bool))  # never settled: untouched
    np.testing.assert_array_equal(same, X)
    assert not none.any()


def test_bvh_reproduces_a_synthetic_rigid_track(tmp_path: Path) -> None:
    """A noisy synthetic track through the rigid stage and the result file (which re-poses the
    frames before the skeleton settled): export-bvh, read back with the independent parser, gives
    the result's joints within 1 mm in every frame."""
    from perspose_rt.cli import main
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.metrics.joints import H36M17_NAMES

    rng = np.random.default_rng(7)
    n = 80
    X = _poses(rng, n, POP) + rng.normal(scale=0.01, size=(n, 17, 3))
    conf = np.ones((n, 17))
    out = _feed(IKStage(rigid=True), X, conf, PersonState(track_id=0, box=np.zeros(4)))
    writer = ResultWriter(17, {"joint_format": "h36m17", "joint_names": list(H36M17_NAMES), "fps": 25.0})
    for p in out:
        writer.add(p)
    npz, bvh = writer.save(tmp_path / "r.npz"), tmp_path / "r.bvh"
    assert main(["export-bvh", str(npz), str(bvh)]) == 0
    err, first = _bvh_errors_mm(npz, bvh)
    assert 0 < first < n
    from perspose_rt.io.results import load_result

    assert load_result(npz).meta["skeleton_reposed_frames"] == first
    assert np.percentile(err, 95) < 1.0 and err.max() < 1.0
    assert main(["export-bvh", str(npz), str(tmp_path / "s.bvh"), "--settled-only"]) == 0
    err_s, _ = _bvh_errors_mm(npz, tmp_path / "s.bvh", settled_only=True)
    assert err_s.shape[0] == n - first and err_s.max() < 1.0


@pytest.fixture(scope="module")
def skating80(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from perspose_rt.cli import main

    npz = tmp_path_factory.mktemp("skating80") / "r.npz"
    assert main(["video", str(video_path), "--out", str(npz), "--max-frames", "80", "--no-progress"]) == 0
    return npz


def test_bvh_reproduces_the_real_video_result(skating80: Path, tmp_path: Path) -> None:
    """80 frames of the shared skating video, as a user runs it: the skeleton settles (at the latest
    at frame 49), and in every frame the BVH's joints are the result's within 1 mm (p95 and max),
    the frames before settling re-posed by the result writer; the --settled-only file holds only
    the frames from the settled one."""
    from perspose_rt.cli import main

    bvh = tmp_path / "r.bvh"
    assert main(["export-bvh", str(skating80), str(bvh)]) == 0
    err, first = _bvh_errors_mm(skating80, bvh)
    assert err.shape == (80, 17) and first <= 49
    assert np.percentile(err, 95) < 1.0 and err.max() < 1.0
    assert main(["export-bvh", str(skating80), str(tmp_path / "s.bvh"), "--settled-only"]) == 0
    err_s, _ = _bvh_errors_mm(skating80, tmp_path / "s.bvh", settled_only=True)
    assert err_s.shape == (80 - first, 17) and err_s.max() < 1.0


def test_settled_only_needs_a_settled_skeleton(tmp_path: Path, capsys) -> None:
    """A result without a rigid skeleton (--no-rigid): --settled-only is refused in one line."""
    from perspose_rt.cli import main
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.metrics.joints import H36M17_NAMES

    X = _poses(np.random.default_rng(8), 5, POP)
    out = _feed(IKStage(rigid=False), X, np.ones((5, 17)), PersonState(track_id=0, box=np.zeros(4)))
    assert all(p.bone_lengths is None for p in out)
    writer = ResultWriter(17, {"joint_format": "h36m17", "joint_names": list(H36M17_NAMES), "fps": 25.0})
    for p in out:
        writer.add(p)
    npz = writer.save(tmp_path / "free.npz")
    assert main(["export-bvh", str(npz), str(tmp_path / "f.bvh"), "--settled-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no settled rigid skeleton" in err[0]
    assert main(["export-bvh", str(npz), str(tmp_path / "f.bvh")]) == 0  # without it: the fitted skeleton


@pytest.mark.parametrize("max_people", [1, 2])
def test_writer_reposes_each_track_on_its_own_skeleton(max_people: int) -> None:
    """Two tracks of different sizes (side by side in a version-2 file; one after the other in a
    version-1 file, which stores no track ids): each track's frames before its skeleton settled
    are re-posed on that track's settled skeleton, and every frame of a track in the file is the
    forward kinematics of one skeleton."""
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.metrics.joints import H36M17_NAMES

    rng = np.random.default_rng(12)
    n = 40
    sizes = {0: 1.0, 1: 0.8}
    tracks = {k: _poses(rng, n, POP * s) + rng.normal(scale=0.01, size=(n, 17, 3)) for k, s in sizes.items()}
    from perspose_rt.pipeline.post import ProjectStage

    stage, project = IKStage(rigid=True), ProjectStage()
    states = {k: PersonState(track_id=k, box=np.zeros(4)) for k in sizes}
    writer = ResultWriter(17, {"joint_format": "h36m17", "joint_names": list(H36M17_NAMES)}, max_people=max_people)
    schedule = ([[(0, i), (1, i)] for i in range(n)] if max_people == 2
                else [[(0, i)] for i in range(n)] + [[(1, i)] for i in range(n)])
    for t, people in enumerate(schedule):
        packet = Packet(frame=Frame(t, t / 25, np.zeros((4, 4, 3), np.uint8), CAM, "t"), t_capture=0.0)
        packet.people = []
        for k, i in people:
            x = tracks[k][i]
            pose = PoseResult(t, t / 25, True, "h36m17", np.zeros(4), CAM.K, np.full((17, 2), 100.0), x.copy(),
                              x - x[0], np.ones(17))
            packet.people.append(Person(track_id=k, pose=pose, new_segment=i == 0))
        packet.states = {k: states[k] for k, _ in people}
        out = project(stage(packet))
        writer.add_frame(out.frame, out.people)
    a = writer.arrays()
    tid = a["track_id"] if max_people == 2 else np.repeat([0, 1], n)[:, None]
    add_axis = (lambda v: v) if max_people == 2 else (lambda v: v[:, None])
    joints, lengths, settled = add_axis(a["joints_cam"]), add_axis(a["bone_lengths"]), add_axis(a["skeleton_settled"])
    reposed = 0
    for k, size in sizes.items():
        rows, slots = np.nonzero(tid == k)
        assert len(rows) == n
        first = int(np.argmax(settled[rows, slots]))
        reposed += first
        final = lengths[rows[first], slots[first]].astype(np.float64)
        np.testing.assert_allclose(lengths[rows, slots], np.broadcast_to(final, (n, 17)))
        np.testing.assert_allclose(_bones(joints[rows, slots].astype(np.float64)), np.broadcast_to(final[1:], (n, 16)),
                                   atol=1e-5)  # float32 storage
        assert abs(final[2] / POP[2] - size) < 0.03
    assert 0 < writer.reposed_rows == reposed
    proj = add_axis(a["joints_2d_proj"])[tid >= 0]  # re-posed frames re-projected too
    np.testing.assert_allclose(proj, CAM.project(add_axis(a["joints_cam"])[tid >= 0].astype(np.float64)), atol=1e-3)
