"""Tiny training fixtures: the official layout (joblib) and the portable format, with real images.

Each sample is a random H36M-like skeleton in front of a random camera, drawn as bright discs on
a noisy background in an image of a few dozen pixels, so tests can train and evaluate in seconds.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# A standing H36M-17 skeleton (metres, x right, y down, z forward), pelvis at the origin.
TEMPLATE = np.array([
    [0, 0, 0], [-0.13, 0, 0], [-0.13, 0.45, 0], [-0.13, 0.88, 0], [0.13, 0, 0], [0.13, 0.45, 0],
    [0.13, 0.88, 0], [0, -0.23, 0], [0, -0.48, 0], [0, -0.58, -0.05], [0, -0.70, 0], [0.17, -0.45, 0],
    [0.42, -0.45, 0], [0.65, -0.45, 0], [-0.17, -0.45, 0], [-0.42, -0.45, 0], [-0.65, -0.45, 0]])


def random_samples(n: int, seed: int, wh=(96, 80)):
    """n samples: joints_cam (n,17,3), K (n,3,3), bbox xywh (n,4), images (n,H,W,3) uint8."""
    rng = np.random.default_rng(seed)
    W, H = wh
    joints, Ks, boxes, images = [], [], [], []
    for _ in range(n):
        a = rng.uniform(-np.pi, np.pi)
        R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        f = rng.uniform(60, 110)
        K = np.array([[f, 0, W / 2 + rng.uniform(-5, 5)], [0, f * rng.uniform(0.97, 1.03), H / 2], [0, 0, 1]])
        z = rng.uniform(3.5, 5.0)
        root = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), z])
        X = (TEMPLATE + rng.normal(0, 0.03, TEMPLATE.shape)) @ R.T + root
        uv = (X @ K.T)[:, :2] / (X @ K.T)[:, 2:]
        img = rng.integers(0, 60, (H, W, 3)).astype(np.uint8)
        for j, (u, v) in enumerate(uv):
            colour = tuple(int(c) for c in (80 + 10 * j, 255 - 8 * j, 120 + 5 * (j % 3)))
            cv2.circle(img, (round(float(u)), round(float(v))), 2, colour, -1)
        lo, hi = uv.min(0) - 4, uv.max(0) + 4
        joints.append(X)
        Ks.append(K)
        boxes.append([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
        images.append(img)
    return np.array(joints), np.array(Ks), np.array(boxes), images


def write_official_3dhp(root: Path, n_train: int = 24, n_test: int = 6, seed: int = 0) -> Path:
    """``root/3dhp/3dhp_{train_v2,test}.pt`` (joblib) + images, as the official layout has them."""
    import joblib

    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        J, K, B, imgs = random_samples(n, s)
        folder = root / "3dhp" / f"mpi_inf_3dhp_{split}_set"
        names = []
        for i, img in enumerate(imgs):
            name = f"S{1 + i % 8}/Seq1/imageFrames/video_0/frame_{i:06d}.jpg" if split == "train" \
                else f"TS1/imageSequence/img_{i:06d}.jpg"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / name), img)
            names.append(name)
        ann = {"3dhp_j17": J.astype(np.float32), "bbox": B.astype(np.float32), "file_name": np.array(names),
               "cam_intrinsics": K.astype(np.float32), "image_wh": np.tile([96, 80], (n, 1)),
               "id": np.arange(n), "frame_idx": np.arange(n), "video_name": np.array(["v"] * n)}
        joblib.dump(ann, root / "3dhp" / f"3dhp_{'train_v2' if split == 'train' else 'test'}.pt")
    return root


def write_portable(folder: Path, n: int = 16, seed: int = 5, name: str = "index.npz") -> Path:
    from perspose_rt.data.portable import write_index

    folder.mkdir(parents=True, exist_ok=True)
    J, K, B, imgs = random_samples(n, seed)
    paths = []
    for i, img in enumerate(imgs):
        p = f"img/{seed}_{i:04d}.png"
        (folder / p).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / p), img)
        paths.append(p)
    return write_index(folder / name, paths, K, B, J)
