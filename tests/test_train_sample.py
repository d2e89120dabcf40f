"""Training crops: every label lands on its pixel in the warped image, for every augmentation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from perspose_rt.data.records import NET_FROM_H36M17, Record
from perspose_rt.data.sample import AugmentOptions, Draw, crop_geometry, draw, labels, make_sample
from perspose_rt.geometry import apply_homography, project_points, warp_crop

S = 128
K = np.array([[150.0, 0, 96.0], [0, 156.0, 40.0], [0, 0, 1]])  # off-centre principal point, fx ≠ fy


def _joints():
    rng = np.random.default_rng(0)
    J = rng.uniform([-0.5, -0.6, -0.3], [0.5, 0.6, 0.3], (17, 3)) + [0.35, 0.3, 3.0]
    return J


def _blob_image(uv: np.ndarray, shape=(120, 160), sigma=1.5) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(np.float64)
    img = np.zeros(shape, np.float32)
    for u, v in uv:
        img += np.exp(-((xx - u) ** 2 + (yy - v) ** 2) / (2 * sigma**2)).astype(np.float32)
    return img


def _centroid(img: np.ndarray, uv: np.ndarray, r: int = 6) -> np.ndarray:
    u0, v0 = np.round(uv).astype(int)
    ys, xs = slice(v0 - r, v0 + r + 1), slice(u0 - r, u0 + r + 1)
    w = img[ys, xs].astype(np.float64)
    yy, xx = np.mgrid[ys, xs]
    return np.array([(w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()])


GEOMETRIC = {"jitter": {"aim_offset": (0.1, -0.08)}, "roll": {"roll": np.radians(25.0)},
             "zoom": {"zoom": 0.8}}


@pytest.mark.parametrize("combo", [c for n in range(4) for c in itertools.combinations(GEOMETRIC, n)],
                         ids=lambda c: "+".join(c) or "none")
@pytest.mark.parametrize("pr", [True, False], ids=["pr", "box-crop"])
def test_projected_3d_labels_land_on_the_warped_pixels(combo, pr):
    """For the PR crop and the ablation's box crop without PR (``pr=False``) alike."""
    X = _joints()
    uv_src = project_points(X, K)
    sel = list(range(17))
    box = np.concatenate([uv_src.min(0) - 8, uv_src.max(0) + 8])
    rec = Record(image=None, K=K, bbox_xyxy=box, kind="h36m17", joints_cam=X)
    d = Draw(**{k: v for name in combo for k, v in GEOMETRIC[name].items()})
    geom, _ = crop_geometry(rec, S, d, pr)
    lab = labels(rec, geom, S)
    net = [NET_FROM_H36M17[j] for j in sel]
    # 3D labels (rotated frame) projected with K_crop = the 2D labels = the 2D projection mapped by H
    np.testing.assert_allclose(project_points(lab["xyz"][net].astype(np.float64), geom.K_crop),
                               lab["uv"][net], atol=1e-3)
    np.testing.assert_allclose(apply_homography(geom.H, uv_src[sel]), lab["uv"][net], atol=1e-3)
    checked = 0
    for j, uv in zip(sel, lab["uv"][net], strict=True):
        if 8 <= uv.min() and uv.max() < S - 8:  # one blob per image: neighbours would bias the centroid
            warped = warp_crop(_blob_image(uv_src[[j]]), geom.H, S)
            err = np.linalg.norm(_centroid(warped, uv) - uv)
            checked += 1
            assert err < 0.5, f"joint {j}: label {uv} is {err:.2f} px from its pixel ({combo})"
    assert checked >= 12
    assert abs(geom.K_crop[0, 0] - geom.K_crop[1, 1]) < 1e-9  # square pixels in both crops
    if pr:  # the roll is part of R: the crop's camera stays centred
        assert np.allclose(geom.K_crop[:2, 2], S / 2)
    else:  # no rotation but the roll about the optical axis; the box is centred (+ the jitter's shift)
        assert np.allclose(geom.R[2], [0, 0, 1]) and not np.allclose(geom.K_crop[:2, 2], S / 2)
        if "jitter" not in combo:
            np.testing.assert_allclose(apply_homography(geom.H, ((box[:2] + box[2:]) / 2)[None])[0], S / 2,
                                       atol=1e-6 if "roll" not in combo else 5.0)


def test_pixel_augmentations_move_no_label(tmp_path):
    import cv2

    X = _joints()
    uv = project_points(X, K)
    img = (np.random.default_rng(1).uniform(0, 255, (120, 160, 3))).astype(np.uint8)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img)
    rec = Record(image=path, K=K, bbox_xyxy=np.concatenate([uv.min(0) - 5, uv.max(0) + 5]), kind="h36m17",
                 joints_cam=X)
    base = Draw(roll=0.3, zoom=0.9)
    plain = make_sample(rec, 64, base)
    every = Draw(roll=0.3, zoom=0.9, cutout=True, blur=True, noise=True, contrast=True, hue=True, channel=True)
    for seed in range(4):
        aug = make_sample(rec, 64, every, np.random.default_rng(seed))
        for k in ("xyz", "uv", "has", "K_crop", "R"):
            np.testing.assert_array_equal(aug[k], plain[k])
        assert aug["img"].shape == (3, 64, 64) and np.isfinite(aug["img"]).all()
        assert not np.array_equal(aug["img"], plain["img"])


def test_draw_follows_the_official_probabilities():
    rng = np.random.default_rng(0)
    draws = [draw(rng, AugmentOptions()) for _ in range(4000)]
    rot = np.mean([d.roll != 0 for d in draws])
    zoom = np.mean([d.zoom != 1 for d in draws])
    cut = np.mean([d.cutout for d in draws])
    assert abs(rot - 0.8 * 0.5) < 0.03 and abs(zoom - 0.8 * 0.2) < 0.03 and abs(cut - 0.8 * 0.4) < 0.03
    assert max(abs(d.roll) for d in draws) <= np.radians(30) and min(d.zoom for d in draws) >= 0.7
    assert all(d == Draw() for d in (draw(rng, AugmentOptions(enabled=False)) for _ in range(10)))
