"""Synthetic renders: exact perspective, joints on the silhouette, a loadable portable set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train_fixtures import TEMPLATE

from perspose_rt.data.portable import PortableSource
from perspose_rt.data.virtual_camera import place_in_virtual_cameras
from perspose_rt.synthetic.render import body_bbox, hits_body, make_body, render


def _world_poses(n: int, rng) -> np.ndarray:
    """TEMPLATE (camera axes, y down) turned into world axes (z up) with random limb wiggle."""
    cam_to_world = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
    return (TEMPLATE + rng.normal(0, 0.05, (n, 17, 3))) @ cam_to_world.T


def test_every_projected_joint_falls_inside_the_rendered_silhouette():
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    X, uv, K, wh = place_in_virtual_cameras(torch.from_numpy(_world_poses(12, rng)[:, None]), gen,
                                            hfov_deg=(30, 120), depth_m=(1.5, 10), width_px=(96, 160),
                                            frame_frac=(0.0, 1.0), roll_deg=20)
    X, uv, K, wh = X[:, 0].numpy(), uv[:, 0].numpy(), K.numpy(), wh.numpy().astype(int)
    inside_image = 0
    for i in range(len(X)):
        body = make_body(X[i], rng)
        img, mask = render(body, K[i], tuple(wh[i]), rng)
        assert img.shape == (wh[i, 1], wh[i, 0], 3) and img.dtype == np.uint8
        assert hits_body(body, K[i], uv[i]).all(), "every joint's ray hits the body (exact, sub-pixel)"
        W, H = wh[i]
        for u, v in uv[i]:
            if 1 <= u < W - 1 and 1 <= v < H - 1:
                inside_image += 1
                r, c = round(float(v)), round(float(u))
                assert mask[r - 1:r + 2, c - 1:c + 2].any(), "the rendered silhouette covers the joint"
        x, y, w, h = body_bbox(body, K[i])
        assert (uv[i] >= [x - 1e-6, y - 1e-6]).all() and (uv[i] <= [x + w + 1e-6, y + h + 1e-6]).all()
        ys, xs = np.nonzero(mask)
        if len(xs):  # the rendered silhouette lies in the box (to within its pixel sampling)
            assert xs.min() >= x - 1 and xs.max() <= x + w + 1 and ys.min() >= y - 1 and ys.max() <= y + h + 1
    assert inside_image > 100


def test_the_render_is_a_true_pinhole_projection():
    """A sphere's image under a wide FOV far off-axis is an ellipse elongated towards the edge: the
    ray cast reproduces the exact cone-plane conic, not a circle."""
    from perspose_rt.synthetic.render import Body

    K = np.array([[100.0, 0, 100], [0, 100.0, 100], [0, 0, 1]])  # 90° FOV on 200 px
    c = np.array([1.4, 0.0, 2.0])  # far to the right (35° off-axis), still inside the image
    body = Body(c[None], np.eye(3)[None], np.array([[0.3, 0.3, 0.3]]), np.array([[255.0, 255, 255]]))
    _, mask = render(body, K, (200, 200), np.random.default_rng(0))
    ys, xs = np.nonzero(mask)
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    # exact extents of the conic: horizontal angles atan(cx/cz) ± asin(r/|c|) etc.
    d, r = np.linalg.norm(c), 0.3
    a0, da = np.arctan2(c[0], c[2]), np.arcsin(r / d)
    exact_w = 100 * (np.tan(a0 + da) - np.tan(a0 - da))
    exact_h = 2 * 100 * np.sin(da) / np.sqrt(np.cos(a0) ** 2 - np.sin(da) ** 2)  # the conic's minor axis
    assert abs(width - exact_w) <= 2 and abs(height - exact_h) <= 2 and width > 1.15 * height


@pytest.mark.usefixtures("h36m_dir")
def test_make_synthetic_writes_a_portable_set(h36m_dir, tmp_path):
    from perspose_rt.cli import main

    assert main(["make-synthetic", "--out", str(tmp_path / "s"), "--n", "4", "--h36m", str(h36m_dir),
                 "--subjects", "S9", "--width", "96,128", "--no-progress"]) == 0
    src = PortableSource("syn", tmp_path / "s" / "index.npz")
    assert len(src) == 4 and src.kind == "h36m17"
    rec = src.record(0)
    assert rec.image.exists() and rec.joints_cam.shape == (17, 3) and (rec.joints_cam[:, 2] > 0).all()


def test_cmu_clips_pose_bodies_too(cmu_bvh_dir, tmp_path):
    from perspose_rt.metrics.joints import H36M17_PARENTS
    from perspose_rt.synthetic.generate import cmu_pose_pool, generate

    pool = cmu_pose_pool(cmu_bvh_dir)
    bones = np.linalg.norm(pool[:, 1:] - pool[:, list(H36M17_PARENTS[1:])], axis=-1)
    assert pool.shape[1:] == (17, 3) and 0.2 < bones.max(1).mean() < 0.7  # metres, human-sized
    assert (pool[:, 10, 2] > pool[:, 3, 2]).mean() > 0.9  # z up: the head above the feet
    index = generate(tmp_path / "c", 2, None, (), width_px=(96, 128), progress=False, cmu_dir=cmu_bvh_dir)
    assert len(PortableSource("c", index)) == 2
