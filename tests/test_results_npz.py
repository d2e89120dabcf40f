"""The result npz: schema, round trip, invalid rows, atomic writes, loader errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perspose_rt.errors import InputError
from perspose_rt.io.results import FORMAT, ResultWriter, load_result
from perspose_rt.types import PoseResult

J = 17


def _pose(i: int, valid: bool = True, rotations: bool = False) -> PoseResult:
    rng = np.random.default_rng(i)
    cam = rng.normal(0, 0.3, (J, 3)) + [0, 0, 4]
    return PoseResult(
        frame_index=i, timestamp=i / 25, valid=valid, joint_format="h36m17",
        bbox_xyxy=np.array([10.0, 20, 200, 400]), K=np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]]),
        joints_2d=rng.uniform(0, 600, (J, 2)), joints_cam=cam, joints_rel=cam - cam[0],
        confidence=rng.uniform(0, 1, J), rotations=np.tile(np.eye(3), (J, 1, 1)) if rotations else None)


def test_round_trip_with_invalid_rows_and_metadata(tmp_path) -> None:
    w = ResultWriter(J, meta={"estimator": "lifter", "joint_format": "h36m17", "fps": 25.0})
    poses = [_pose(0), _pose(1, valid=False), _pose(2, rotations=True)]
    for p in poses:
        w.add(p, raw_joints_cam=p.joints_cam + 0.01)
    out = w.save(tmp_path / "r.npz", timings={"stages_ms": {"detect": {"p50": 1.0}}}, n_failed_frames=3)
    r = load_result(out)
    assert len(r) == 3
    np.testing.assert_array_equal(r["frame_index"], [0, 1, 2])
    np.testing.assert_array_equal(r["valid"], [True, False, True])
    np.testing.assert_allclose(r["joints_cam"][0], poses[0].joints_cam, atol=1e-6)
    np.testing.assert_allclose(r["joints_cam_raw"][2], poses[2].joints_cam + 0.01, atol=1e-6)
    np.testing.assert_allclose(r["joints_rel"][2], poses[2].joints_rel, atol=1e-6)
    # Nobody in frame 1: zeros, never NaN; K is still recorded.
    for name in ("bbox", "joints_2d", "joints_cam", "joints_rel", "confidence"):
        assert np.all(r[name][1] == 0), name
        assert np.all(np.isfinite(r[name])), name
    np.testing.assert_array_equal(r["K"][1], poses[1].K)
    assert r["rotations"].shape == (3, J, 3, 3)
    np.testing.assert_array_equal(r["rotations_valid"], [False, False, True])
    assert r.meta["format"] == FORMAT and r.meta["estimator"] == "lifter"
    assert r.meta["n_frames"] == 3 and r.meta["n_valid"] == 2 and r.meta["n_failed_frames"] == 3
    assert r.meta["timings"]["stages_ms"]["detect"]["p50"] == 1.0
    assert "numpy" in r.meta["versions"]
    assert r["joints_cam"].dtype == np.float32 and r["valid"].dtype == bool


def test_no_rotation_arrays_without_ik(tmp_path) -> None:
    w = ResultWriter(J)
    w.add(_pose(0))
    r = load_result(w.save(tmp_path / "r.npz"))
    assert "rotations" not in r.arrays


def test_empty_result_is_loadable(tmp_path) -> None:
    r = load_result(ResultWriter(J, meta={"estimator": "lifter"}).save(tmp_path / "e.npz"))
    assert len(r) == 0 and r["joints_cam"].shape == (0, J, 3)


def test_nan_in_valid_row_is_refused() -> None:
    p = _pose(0)
    p.joints_cam[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ResultWriter(J).add(p)


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch) -> None:
    target = tmp_path / "r.npz"
    w = ResultWriter(J)
    w.add(_pose(0))
    w.save(target)
    w.add(_pose(1))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        w.save(target)
    assert len(load_result(target)) == 1  # the previous complete file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]  # no temporary left behind


def test_loader_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_result(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable"):
        load_result(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(InputError, match="not a perspose-rt result"):
        load_result(tmp_path / "other.npz")
    np.savez(tmp_path / "newer.npz", meta=np.array(json.dumps({"format": FORMAT, "version": 99})))
    with pytest.raises(InputError, match="newer"):
        load_result(tmp_path / "newer.npz")


def test_periodic_saver(tmp_path) -> None:
    from perspose_rt.io.results import PeriodicSaver

    w = ResultWriter(J)
    saver = PeriodicSaver(w, tmp_path / "rec.npz", interval_s=10.0)
    w.add(_pose(0))
    assert saver.maybe_save(100.0) and len(load_result(tmp_path / "rec.npz")) == 1
    w.add(_pose(1))
    assert not saver.maybe_save(105.0) and len(load_result(tmp_path / "rec.npz")) == 1
    assert saver.maybe_save(111.0) and len(load_result(tmp_path / "rec.npz")) == 2


def _person(track_id: int, i: int, rotations: bool = True):
    from perspose_rt.types import Person

    pose = _pose(10 * track_id + i, rotations=rotations)
    pose.joints_2d_proj = pose.joints_2d + 1.5
    return Person(track_id=track_id, pose=pose, joints_cam_raw=pose.joints_cam + 0.02)


def _frame(i: int):
    from perspose_rt.camera import CameraModel
    from perspose_rt.types import Frame

    return Frame(i, i / 25, np.zeros((4, 4, 3), np.uint8), CameraModel.from_fov(60, (1280, 720)), "t")


def test_v1_round_trip_keeps_the_projection_apart(tmp_path) -> None:
    """max_people 1 writes version 1 (one person per row) with the projection of the final 3D
    under its own name; the v2 view of a v1 file has P = 1 and track 0 where valid."""
    w = ResultWriter(J, meta={"joint_format": "h36m17"})
    people = [[_person(0, 0)], [], [_person(0, 2)]]
    for i, pp in enumerate(people):
        w.add_frame(_frame(i), pp)
    r = load_result(w.save(tmp_path / "v1.npz"))
    assert r.version == 1 and "track_id" not in r.arrays and r["valid"].shape == (3,)
    np.testing.assert_allclose(r["joints_2d"][0], people[0][0].pose.joints_2d, atol=1e-4)
    np.testing.assert_allclose(r["joints_2d_proj"][0], people[0][0].pose.joints_2d_proj, atol=1e-4)
    np.testing.assert_allclose(r["joints_cam_raw"][2], people[2][0].joints_cam_raw, atol=1e-6)
    v = r.people()
    assert v["joints_cam"].shape == (3, 1, J, 3) and v["K"].shape == (3, 3, 3)
    np.testing.assert_array_equal(v["track_id"], [[0], [-1], [0]])
    assert r.track_ids() == [0]
    t = r.track(0)
    np.testing.assert_array_equal(t["valid"], [True, False, True])
    np.testing.assert_allclose(t["joints_cam"], r["joints_cam"])


def test_v2_round_trip_with_a_person_axis(tmp_path) -> None:
    w = ResultWriter(J, meta={"joint_format": "h36m17"}, max_people=3)
    frames = [[_person(4, 0), _person(1, 0)], [], [_person(4, 2, rotations=False)]]
    for i, pp in enumerate(frames):
        w.add_frame(_frame(i), pp)
    r = load_result(w.save(tmp_path / "v2.npz"))
    assert r.version == 2 and r.meta["max_people"] == 3 and r.meta["n_tracks"] == 2
    assert r.meta["n_frames"] == 3 and r.meta["n_valid"] == 2
    assert r["joints_cam"].shape == (3, 3, J, 3) and r["joints_2d"].shape == (3, 3, J, 2)
    assert r["bbox"].shape == (3, 3, 4) and r["rotations"].shape == (3, 3, J, 3, 3)
    assert r["K"].shape == (3, 3, 3) and r["frame_index"].shape == (3,)
    np.testing.assert_array_equal(r["track_id"], [[1, 4, -1], [-1, -1, -1], [4, -1, -1]])  # by track id
    np.testing.assert_array_equal(r["valid"], r["track_id"] >= 0)
    np.testing.assert_array_equal(r["rotations_valid"], [[True, True, False], [False] * 3, [False] * 3])
    np.testing.assert_allclose(r["joints_cam"][0, 1], frames[0][0].pose.joints_cam, atol=1e-6)
    np.testing.assert_allclose(r["joints_2d_proj"][2, 0], frames[2][0].pose.joints_2d_proj, atol=1e-4)
    for name in ("joints_cam", "bbox", "confidence", "joints_2d_proj"):  # empty slots: zeros, not NaN
        assert np.all(r[name][r["track_id"] < 0] == 0), name
    assert r.people() is not r.arrays and r.track_ids() == [1, 4]
    t4 = r.track(4)
    np.testing.assert_array_equal(t4["valid"], [True, False, True])
    np.testing.assert_allclose(t4["joints_cam"][2], frames[2][0].pose.joints_cam, atol=1e-6)
    assert np.all(t4["joints_cam"][1] == 0)
    with pytest.raises(InputError, match="no track 7"):
        r.track(7)


def test_v2_keeps_at_most_max_people(tmp_path) -> None:
    w = ResultWriter(J, max_people=2)
    w.add_frame(_frame(0), [_person(3, 0), _person(0, 0), _person(1, 0)])
    r = load_result(w.save(tmp_path / "cap.npz"))
    np.testing.assert_array_equal(r["track_id"], [[0, 1]])


def test_loader_checks_the_person_axis(tmp_path) -> None:
    w = ResultWriter(J, max_people=2)
    w.add_frame(_frame(0), [_person(0, 0)])
    path = w.save(tmp_path / "ok.npz")
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    data["valid"] = data["valid"][:, 0]  # a v2 file with a v1-shaped column
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(InputError, match="shape of a version 2 file"):
        load_result(tmp_path / "bad.npz")


def test_joint_in_view_says_which_joints_the_camera_saw(tmp_path) -> None:
    """Seen = confident (≥ SEEN_CONF) and inside the frame; stored per person, in v1 and v2."""
    from perspose_rt.types import SEEN_CONF

    q = _person(0, 0)
    q.pose.confidence = np.full(J, 0.9)
    q.pose.confidence[3] = SEEN_CONF - 0.01  # not confident
    q.pose.joints_2d[5] = [1279.0, 719.0]  # the last pixel: inside
    q.pose.joints_2d[6] = [640.0, 725.0]  # below the 1280x720 frame
    expected = np.ones(J, bool)
    expected[[3, 6]] = False
    for max_people in (1, 3):
        w = ResultWriter(J, meta={"joint_format": "h36m17"}, max_people=max_people)
        w.add_frame(_frame(0), [q])
        w.add_frame(_frame(1), [])
        r = load_result(w.save(tmp_path / f"v{max_people}.npz"))
        seen = r.people()["joint_in_view"]
        assert seen.dtype == bool and seen.shape == (2, max_people, J)
        np.testing.assert_array_equal(seen[0, 0], expected)
        assert not seen[1].any() and not seen[0, 1:].any()  # nobody there: nothing seen
