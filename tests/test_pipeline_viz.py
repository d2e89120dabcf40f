"""2D overlay drawing and the Open3D viewer rendered offscreen."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.types import PoseResult
from perspose_rt.viz.overlay import draw_hud, draw_pose, draw_skeleton, hud_lines, skeleton_edges
from perspose_rt.viz.viewer3d import frustum_lines, grid_lines

K = np.array([[800.0, 0, 319.5], [0, 800, 239.5], [0, 0, 1]])


def _pose(valid: bool = True, fmt: str = "h36m17") -> PoseResult:
    J = 17 if fmt == "h36m17" else 25
    X = np.zeros((J, 3))
    X[:, 1] = np.linspace(-0.9, 0.9, J)
    X[:, 0] = np.sin(np.arange(J)) * 0.2
    X[:, 2] = 3.0
    uv = X[:, :2] / X[:, 2:] * 800 + [319.5, 239.5]
    return PoseResult(0, 0.0, valid, fmt, np.r_[uv.min(0), uv.max(0)], K, uv, X, X - X[0], np.ones(J))


def test_skeleton_edges_are_trees() -> None:
    assert len(skeleton_edges("h36m17")) == 16 and len(skeleton_edges("perspose25")) == 24


def test_overlay_draws_where_the_joints_are() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    pose = _pose()
    draw_pose(img, pose)
    u, v = np.round(pose.joints_2d[5]).astype(int)
    assert img[v - 2:v + 3, u - 2:u + 3].max() == 255  # a white joint dot
    assert img[:, :100].max() == 0 or img.sum() > 0
    blank = np.zeros_like(img)
    draw_pose(blank, _pose(valid=False))
    assert blank.max() == 0  # nothing drawn for an invalid row


def test_overlay_draws_the_projection_of_the_3d_when_there_is_one() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    pose = _pose()
    pose.joints_2d_proj = pose.joints_2d + [40.0, 0.0]  # the smoothed 3D projects elsewhere
    draw_pose(img, pose, show_box=False)
    u, v = np.round(pose.joints_2d_proj[5]).astype(int)
    assert img[v - 2:v + 3, u - 2:u + 3].min(axis=(0, 1)).max() == 255  # a white dot at the projection
    u0, v0 = np.round(pose.joints_2d[5]).astype(int)
    assert img[v0 - 1:v0 + 2, u0 - 1:u0 + 2].max() < 255  # none at the detector's point


def test_people_are_drawn_in_their_track_colours() -> None:
    from perspose_rt.types import Person
    from perspose_rt.viz.overlay import draw_people, track_color

    img = np.zeros((480, 640, 3), np.uint8)
    a, b = _pose(), _pose()
    b.joints_2d = b.joints_2d + [200.0, 0]
    b.bbox_xyxy = b.bbox_xyxy + [200.0, 0, 200.0, 0]
    draw_people(img, [Person(track_id=0, pose=a), Person(track_id=3, pose=b)])
    for pose, tid in ((a, 0), (b, 3)):
        _, y0, x1, _ = np.round(pose.bbox_xyxy).astype(int)
        edge = img[y0 + 20, x1 - 1:x1 + 2].max(0)  # the box's right edge (anti-aliased), below the label
        np.testing.assert_allclose(edge, track_color(tid), atol=25)
    assert track_color(0) != track_color(3)


def test_low_confidence_joints_are_drawn_grey_only() -> None:
    """Unseen joints (issue 11: grey, not hidden): no side colour anywhere, only grey."""
    img = np.zeros((480, 640, 3), np.uint8)
    pose = _pose()
    draw_skeleton(img, pose.joints_2d, "h36m17", confidence=np.zeros(17))
    drawn = img.reshape(-1, 3)[img.reshape(-1, 3).max(1) > 0].astype(int)
    assert len(drawn) > 0
    assert (drawn.max(1) - drawn.min(1)).max() == 0  # every drawn pixel is a shade of grey


def test_hud() -> None:
    img = np.full((480, 640, 3), 200, np.uint8)
    lines = hud_lines(fps=29.7, latency_ms=41.2, dropped=3, estimator="lifter", valid=True,
                      recording=True, depth_m=3.1)
    assert lines[0].startswith(" 29.7 fps") and "REC" in lines[-1]
    draw_hud(img, lines)
    assert img[15:40, 15:200].min() < 100  # the dark panel is there


def test_frustum_and_grid_geometry() -> None:
    pts, edges = frustum_lines(K, (640, 480), depth=0.5)
    assert pts.shape == (5, 3) and edges.shape == (8, 2)
    np.testing.assert_allclose(pts[1:, 2], 0.5)
    np.testing.assert_allclose(pts[2, 0] / pts[2, 2], (639.5 - 319.5) / 800)  # right edge of the image
    g, e = grid_lines((0.0, 4.0), 1.0, half=1.0, step=0.5)
    assert np.all(g[:, 1] == 1.0) and e.max() < len(g)


@pytest.mark.parametrize("fmt", ["h36m17", "perspose25"])
def test_viewer_renders_offscreen(fmt: str) -> None:
    pytest.importorskip("open3d")
    from perspose_rt.viz.viewer3d import Viewer3D

    try:
        v = Viewer3D(fmt, 320, 240, visible=False)
    except RuntimeError as exc:  # pragma: no cover - machines without EGL
        pytest.skip(f"no offscreen OpenGL: {exc}")
    try:
        empty = v.render()
        v.update(_pose(fmt=fmt), (640, 480))
        img = v.render()
        assert img.shape == (240, 320, 3) and img.dtype == np.uint8
        assert np.abs(img.astype(int) - empty.astype(int)).sum(-1).astype(bool).mean() > 0.01
        v.update(_pose(valid=False, fmt=fmt), (640, 480))
        _alive, keys = v.poll()  # offscreen: no window to close, no keys pressed
        assert keys == []
    finally:
        v.close()


def test_viewer_draws_mesh_when_given() -> None:
    pytest.importorskip("open3d")
    from perspose_rt.viz.viewer3d import Viewer3D

    try:
        v = Viewer3D("h36m17", 320, 240, visible=False, mesh_faces=np.array([[0, 1, 2], [0, 2, 3]]))
    except RuntimeError as exc:  # pragma: no cover
        pytest.skip(f"no offscreen OpenGL: {exc}")
    try:
        pose = _pose()
        v.update(pose, (640, 480))
        without = v.render()
        pose.extras["vertices"] = np.array([[-0.5, -0.5, 3.0], [0.5, -0.5, 3.0], [0.5, 0.5, 3.0], [-0.5, 0.5, 3.0]])
        v.update(pose, (640, 480))
        with_mesh = v.render()
        assert np.abs(with_mesh.astype(int) - without.astype(int)).sum() > 0
        assert len(v.mesh.triangles) == 2
    finally:
        v.close()


def test_viewer_draws_every_person_in_their_track_colour() -> None:
    pytest.importorskip("open3d")
    from perspose_rt.types import Person
    from perspose_rt.viz.overlay import track_color
    from perspose_rt.viz.viewer3d import Viewer3D

    try:
        v = Viewer3D("h36m17", 320, 240, visible=False, track_colors=True)
    except RuntimeError as exc:  # pragma: no cover
        pytest.skip(f"no offscreen OpenGL: {exc}")
    try:
        a, b = _pose(), _pose()
        b.joints_cam = b.joints_cam + [0.8, 0, 0]
        v.show_people([Person(track_id=1, pose=a), Person(track_id=4, pose=b)], (640, 480))
        img = v.render()
        hue = _hues(img)
        for tid in (1, 4):  # both tracks' hues (the overlay's track colours) are on screen
            assert (np.abs(hue - _hue(track_color(tid))) < 0.03).sum() > 20, tid
        assert len(v.labels.triangles) > 20  # "ID 1" and "ID 4" above them
        v.show_people([Person(track_id=1, pose=a)], (640, 480))  # one left: the other is hidden
        hue = _hues(v.render())
        assert (np.abs(hue - _hue(track_color(4))) < 0.03).sum() == 0
        assert (np.abs(hue - _hue(track_color(1))) < 0.03).sum() > 20
        one_label = len(v.labels.triangles)
        v.show_people([Person(track_id=1, pose=a), Person(track_id=4, pose=b)], (640, 480))
        assert len(v.labels.triangles) > one_label > 1
    finally:
        v.close()


def _hue(bgr) -> float:
    import colorsys

    b, g, r = (float(x) / 255 for x in bgr)
    return colorsys.rgb_to_hsv(r, g, b)[0]


def _hues(img: np.ndarray) -> np.ndarray:
    """Hue in [0, 1) of every saturated pixel of a BGR image (NaN elsewhere)."""
    import cv2

    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL).astype(float)
    return np.where(hsv[..., 1] > 60, hsv[..., 0] / 256.0, np.nan)


def test_unseen_joints_are_drawn_grey() -> None:
    from perspose_rt.viz.overlay import LEFT, UNSEEN, draw_skeleton

    uv = np.array([[200, 200], [180, 200], [180, 280], [180, 360], [220, 200], [220, 280], [220, 360],
                   [200, 150], [200, 100], [200, 80], [200, 60], [240, 100], [280, 130], [320, 160],
                   [160, 100], [120, 130], [80, 160]], dtype=np.float64)  # a standing H36M-17 figure
    conf = np.ones(17)
    conf[[5, 6]] = 0.0  # the left knee and foot were out of view
    img = draw_skeleton(np.zeros((400, 400, 3), np.uint8), uv, "h36m17", conf)
    knee, foot = np.round(uv[[5, 6]]).astype(int)
    mid = (knee + foot) // 2  # on the shin, an unseen bone

    def grey(px) -> bool:  # anti-aliased thin grey line: equal channels, clearly drawn
        return px[0] == px[1] == px[2] and 60 < px[0] <= UNSEEN[0]

    assert grey(img[mid[1], mid[0]])
    hip, = np.round(uv[[4]]).astype(int)
    thigh_mid = (hip + knee) // 2  # hip seen, knee not: grey too
    assert grey(img[thigh_mid[1], thigh_mid[0]])
    arm = np.round((uv[11] + uv[12]) / 2).astype(int)  # left upper arm, seen: the left colour
    assert np.abs(img[arm[1], arm[0]].astype(int) - LEFT).max() < 30
