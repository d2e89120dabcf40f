"""The 3D renderer, headless (Open3D offscreen under EGL): tubes and spheres where the view's
projection says, left/right colours, one hue per track; and the mesh builder on its own."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.metrics.joints import H36M17_NAMES, H36M17_PARENTS
from perspose_rt.viz.skeleton_mesh import palette, people_mesh, skeleton_mesh

# A standing person 3.5 m in front of the camera (OpenCV axes: y down), H36M-17 order.
PERSON = np.array([
    [0.0, 0.0, 3.5], [-0.13, 0.0, 3.5], [-0.14, 0.45, 3.52], [-0.15, 0.88, 3.55],  # hip, R leg
    [0.13, 0.0, 3.5], [0.14, 0.45, 3.52], [0.15, 0.88, 3.55],  # L leg
    [0.0, -0.25, 3.5], [0.0, -0.5, 3.5], [0.0, -0.6, 3.48], [0.0, -0.72, 3.5],  # spine … head
    [0.18, -0.48, 3.5], [0.32, -0.25, 3.5], [0.42, -0.02, 3.45],  # L arm
    [-0.18, -0.48, 3.5], [-0.32, -0.25, 3.5], [-0.42, -0.02, 3.45],  # R arm
])
K = np.array([[800.0, 0, 319.5], [0, 800.0, 239.5], [0, 0, 1]])


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World→view (4, 4) of a pinhole at ``eye`` looking at ``target``, image "up" = −y."""
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    E = np.eye(4)
    E[:3, :3], E[:3, 3] = R, -R @ eye
    return E


def _check_pixels(img: np.ndarray, uv: np.ndarray) -> None:
    """Each joint's sphere at its projection, blue on the left and red on the right; the skeleton's
    blue nowhere far from a joint or a bone."""
    from perspose_rt.viz.viewer3d import BACKGROUND

    bg = np.array(BACKGROUND[::-1]) * 255
    for j, name in enumerate(H36M17_NAMES):
        x, y = np.round(uv[j]).astype(int)
        patch = img[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(float)
        px = patch[np.argmax(np.abs(patch - bg).sum(1))]  # the most skeleton-like pixel there
        assert np.abs(px - bg).sum() > 60, f"{name} not drawn at its projection {uv[j]}"
        b, _g, r = px
        if name.startswith("L"):
            assert b > r + 40, f"{name} should be blue, got BGR {px}"
        elif name.startswith("R"):
            assert r > b + 40, f"{name} should be red, got BGR {px}"
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    near = np.zeros((h, w), bool)
    parents = [p for p in H36M17_PARENTS]
    for c, p in enumerate(parents):  # within 15 px of a bone segment
        if p < 0:
            continue
        a, b = uv[p], uv[c]
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-9), 0, 1)
        near |= (xx - a[0] - t * d[0]) ** 2 + (yy - a[1] - t * d[1]) ** 2 < 15 ** 2
    blue = (img[..., 0].astype(int) - img[..., 2] > 80) & (img[..., 1] > 80)
    assert blue[near].sum() > 50 and blue[~near].sum() == 0


def test_mesh_is_tubes_and_spheres_around_the_joints() -> None:
    v, n, t, c = skeleton_mesh(PERSON, "h36m17")
    assert v.shape == n.shape == c.shape and t.max() < len(v) and t.dtype == np.int32
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-9)
    # every vertex lies within a joint sphere or along a bone tube
    d = np.linalg.norm(v[:, None] - PERSON[None], axis=-1).min(1)
    assert d.max() < 0.5
    pal = palette(None)  # one person: the side colours
    assert np.allclose(pal["left"], [0.0, 140 / 255, 1.0]) and pal["right"][0] > 0.8  # blue left, red right
    v2, _, t2, c2 = people_mesh([PERSON, PERSON + [1.0, 0, 0]], "h36m17", [0, 7])
    assert len(v2) == 2 * len(v) and t2.max() == 2 * len(v) - 1
    assert not np.allclose(c2[: len(v)], c2[len(v):])  # each track its own colours
    with pytest.raises(ValueError, match=r"\(17, 3\)"):
        skeleton_mesh(PERSON[:5], "h36m17")


def test_render_puts_the_skeleton_where_its_projection_says() -> None:
    pytest.importorskip("open3d")
    from perspose_rt.viz.viewer3d import Viewer3D

    try:
        v = Viewer3D("h36m17", 480, 360, visible=False)
    except RuntimeError as exc:  # pragma: no cover - machines without EGL
        pytest.skip(f"no offscreen OpenGL: {exc}")
    try:
        v.set_camera(K, (640, 480))
        v.update_people([PERSON])  # one person: side colours
        framed = v.render(hud=[])
        # Through the real camera (K scaled to the 480x360 window) the render must match the
        # camera's own projection of the joints; then from an orbited viewpoint as well.
        Kv = np.diag([0.75, 0.75, 1.0]) @ K
        Kv[:2, 2] = [239.5, 179.5]
        E_orbit = _look_at(eye=np.array([1.8, -1.2, 0.8]), target=PERSON[0])  # right of and above the camera
        for E in (np.eye(4), E_orbit):
            v.set_view(Kv, E)
            img = v.render(hud=[])
            Xc = (E @ np.c_[PERSON, np.ones(len(PERSON))].T).T[:, :3]
            uv = (Kv @ Xc.T).T
            uv = uv[:, :2] / uv[:, 2:]
            h, w = img.shape[:2]
            assert np.all((uv >= 2) & (uv < [w - 2, h - 2])), "the person is in view"
            _check_pixels(img, uv)
        assert np.abs(framed.astype(int) - img).sum() > 0
        img = framed
        # the HUD goes on the render
        with_hud = v.render(hud=["29.9 fps  latency 33 ms", "camera: calibration"])
        assert np.abs(with_hud[10:40, 10:200].astype(int) - img[10:40, 10:200]).sum() > 0
    finally:
        v.close()


def test_view_follows_smoothly_and_keeps_the_users_orbit() -> None:
    pytest.importorskip("open3d")
    from perspose_rt.viz.viewer3d import Viewer3D

    try:
        v = Viewer3D("h36m17", 320, 240, visible=False)
    except RuntimeError as exc:  # pragma: no cover
        pytest.skip(f"no offscreen OpenGL: {exc}")
    try:
        v.update_people([PERSON])
        start = v._target.copy()
        ctl = v.vis.get_view_control()
        ctl.rotate(120.0, 0.0)  # the user orbits with the mouse
        _, E0 = v.camera_parameters()
        rng = np.random.default_rng(0)
        for _ in range(5):  # detection noise of ±2 cm: the view's centre moves far less
            v.update_people([PERSON + rng.normal(0, 0.02, 3)])
        assert np.linalg.norm(v._target - start) < 0.02
        _, E1 = v.camera_parameters()
        np.testing.assert_allclose(E1[:3, :3], E0[:3, :3], atol=1e-6)  # orbit kept
        for _ in range(40):  # the person walks 1 m to the right: the view follows
            v.update_people([PERSON + [1.0, 0, 0]])
        assert np.linalg.norm(v._target - (start + [1.0, 0, 0])) < 0.05
    finally:
        v.close()
