"""``make-synthetic``: a portable-format set of rendered bodies driven by Human3.6M mocap.

Each sample: a Human3.6M pose (world metres) from the chosen subjects, a random virtual camera
from :func:`perspose_rt.data.virtual_camera.place_in_virtual_cameras` (horizontal FOV 30–120°,
root anywhere in the frame including its edges, depth 1.5–10 m, pitch ±30° and roll ±20°, random
image size and aspect), a body of ellipsoids of random build and colours over a random background
(:mod:`perspose_rt.synthetic.render`). Written: ``images/NNNNNN.jpg`` and ``index.npz`` with the
exact ``K``, ``joints_cam`` (H36M-17, camera frame, metres) and the tight box of the projected
body (``bbox``, not clipped to the image).

Held-out evaluation: render training sets from S1, S5, S6, S7, S8 (optionally with the CMU BVH
clips, ``--cmu``) and test sets from S9, S11.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perspose_rt.data.h36m import load_poses
from perspose_rt.data.portable import write_index
from perspose_rt.data.virtual_camera import place_in_virtual_cameras
from perspose_rt.synthetic.render import body_bbox, make_body, render


def pose_pool(h36m_dir: Path, subjects, stride: int = 10) -> np.ndarray:
    """(N, 17, 3) world poses: every ``stride``-th frame of the subjects' sequences."""
    poses = load_poses(h36m_dir, subjects)
    if not poses:
        raise ValueError(f"no poses of {subjects} in {h36m_dir}")
    return np.concatenate([p[::stride] for p in poses.values()]).astype(np.float64)


#: CMU BVH joint standing in for each H36M-17 joint (the clips of ``../shared/data/cmu_bvh``).
CMU_FOR_H36M17 = ("Hips", "RightHip", "RightKnee", "RightAnkle", "LeftHip", "LeftKnee", "LeftAnkle", "Chest",
                  "lowerneck", "Neck", "Head", "LeftShoulder", "LeftElbow", "LeftWrist", "RightShoulder",
                  "RightElbow", "RightWrist")
_Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])


def cmu_pose_pool(bvh_dir: Path, stride: int = 12) -> np.ndarray:
    """(N, 17, 3) world poses (z up, metres) from the ``scaled_*.bvh`` CMU clips (metres, y up):
    every ``stride``-th frame, joints mapped by :data:`CMU_FOR_H36M17`."""
    from perspose_rt.kinematics.bvh_reader import read_bvh

    files = sorted(Path(bvh_dir).glob("scaled_*.bvh"))
    if not files:
        raise ValueError(f"no scaled_*.bvh clips (metres) in {bvh_dir}")
    poses = []
    for f in files:
        m = read_bvh(f)
        P = m.joint_positions()[::stride][:, [m.index(n) for n in CMU_FOR_H36M17]]
        poses.append(P @ _Y_UP_TO_Z_UP.T)
    return np.concatenate(poses)


def generate(out: Path, n: int, h36m_dir: Path | None, subjects=("S1", "S5", "S6", "S7", "S8"), seed: int = 0,
             width_px=(160, 320), hfov_deg=(30.0, 120.0), depth_m=(1.5, 10.0), progress: bool = True,
             cmu_dir: Path | None = None) -> Path:
    """Render ``n`` samples into ``out``; returns the path of ``index.npz``. Poses come from the
    Human3.6M ``subjects`` (``h36m_dir``) and, with ``cmu_dir``, also from the CMU clips."""
    import cv2
    from tqdm import tqdm

    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    pools = ([pose_pool(h36m_dir, subjects)] if h36m_dir is not None else []) + \
        ([cmu_pose_pool(cmu_dir)] if cmu_dir is not None else [])
    if not pools:
        raise ValueError("no mocap source: give Human3.6M and/or CMU BVH poses")
    pool = np.concatenate(pools)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    pick = rng.integers(0, len(pool), n)
    X, _, K, wh = place_in_virtual_cameras(torch.from_numpy(pool[pick][:, None]), gen, hfov_deg=hfov_deg,
                                           depth_m=depth_m, pitch_deg=30.0, roll_deg=20.0,
                                           width_px=width_px, frame_frac=(0.0, 1.0))
    X, K, wh = X[:, 0].numpy(), K.numpy(), wh.numpy().astype(int)
    names, boxes = [], []
    for i in tqdm(range(n), disable=not progress, desc="render", dynamic_ncols=True):
        body = make_body(X[i], rng)
        img, _ = render(body, K[i], (int(wh[i, 0]), int(wh[i, 1])), rng)
        name = f"images/{i:06d}.jpg"
        cv2.imwrite(str(out / name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        names.append(name)
        boxes.append(body_bbox(body, K[i]))
    return write_index(out / "index.npz", names, K, np.array(boxes), X.astype(np.float32))
