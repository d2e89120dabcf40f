"""Evaluation of lifters on Human3.6M S9/S11 (protocols #1 and #2) and on virtual cameras.

* ``gt2d``: every test sequence through each of its 4 real cameras, 2D projected from the
  ground truth with the lens distortion, confidence 1;
* ``sh``: the Stacked-Hourglass detections (16 joints; the missing Neck/Nose gets confidence 0,
  see :func:`perspose_rt.data.h36m.sh16_to_h36m17`);
* ``virtual``: the test poses seen by random wide-FOV (70°–110°), off-centre virtual cameras
  (root anywhere in 5–95 % of the frame, 2–10 m, pitch ±30°, roll ±15°), clean 2D.

* ``truncated``: the ``gt2d`` views with the frame's bottom edge at the knees, hips or waist
  (:func:`truncate_sequences`): the joints below it get confidence 0, as out of view.

MPJPE is root-relative (pelvis), PA-MPJPE after a similarity Procrustes alignment, and the
acceleration error (jitter) of the root-relative joints in mm/frame²; all on 17 joints,
averaged over every frame (``mean``) and as the mean of the per-action means
(``action_mean``, the usual table entry). Depth errors (virtual cameras): ``root_depth`` =
|z_root − ẑ_root|, ``rel_depth`` = mean over joints of |(z_j − z_root) − (ẑ_j − ẑ_root)|, mm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from perspose_rt.data.h36m import (
    TEST_SUBJECTS,
    load_cameras,
    load_poses,
    load_sh_detections,
    sh16_to_h36m17,
)
from perspose_rt.lifter.api import Lifter
from perspose_rt.lifter.augment import PoseSampler
from perspose_rt.metrics import acceleration_error, mpjpe, pa_mpjpe


@dataclass
class TestSequence:
    """One sequence through one camera: 2D input and camera-space ground truth."""

    key: str  # "S9/Directions 1/54138969"
    keypoints: np.ndarray  # (N,17,2) px
    confidence: np.ndarray  # (N,17)
    K: np.ndarray  # (3,3)
    joints_cam: np.ndarray  # (N,17,3) metres

    @property
    def action(self) -> str:
        return self.key.split("/")[1].split(" ")[0]


def gt2d_sequences(data: str | Path, subjects=TEST_SUBJECTS, max_frames: int | None = None,
                   max_sequences: int | None = None) -> list[TestSequence]:
    """Ground-truth 2D of every (sequence, camera) of ``subjects`` (projected with distortion)."""
    cams = load_cameras(data)
    poses = load_poses(data, subjects)
    out = []
    for key in sorted(poses)[:max_sequences]:
        X = poses[key][:max_frames].astype(np.float64)
        for cid, cam in sorted(cams[key.split("/")[0]].items()):
            Xc = cam.world_to_camera(X)
            uv = cam.project(Xc)
            out.append(TestSequence(f"{key}/{cid}", uv, np.ones(uv.shape[:2]), cam.K, Xc))
    return out


def sh_sequences(data: str | Path) -> list[TestSequence]:
    """The SH detections with their camera-space ground truth (lengths cut to the shorter)."""
    cams = load_cameras(data)
    poses = load_poses(data, TEST_SUBJECTS)
    out = []
    for key, det in sorted(load_sh_detections(data).items()):
        subject, action, cid = key.split("/")
        seq = f"{subject}/{action}"
        if seq not in poses:
            continue
        n = min(len(det), len(poses[seq]))
        cam = cams[subject][cid]
        kp, conf = sh16_to_h36m17(det[:n].astype(np.float64))
        out.append(TestSequence(key, kp, conf.astype(np.float64), cam.K,
                                cam.world_to_camera(poses[seq][:n].astype(np.float64))))
    return out


def _summary(per_frame: dict[str, list[np.ndarray]], actions: list[np.ndarray]) -> dict:
    act = np.concatenate(actions)
    res = {}
    for name, chunks in per_frame.items():
        v = np.concatenate(chunks) * 1000.0
        per_action = {a: float(v[act == a].mean()) for a in sorted(set(act))}
        res[name] = {"mean": float(v.mean()), "action_mean": float(np.mean(list(per_action.values()))),
                     "per_action": per_action}
    res["frames"] = len(act)
    return res


def evaluate_sequences(lifter: Lifter, seqs: list[TestSequence], use_confidence: bool = True) -> dict:
    """MPJPE / PA-MPJPE (mm) of ``lifter`` over ``seqs`` (temporal models see whole sequences),
    and ``accel``: the acceleration error of the root-relative joints (mm/frame², 50 fps), which
    measures jitter."""
    errs: dict[str, list[np.ndarray]] = defaultdict(list)
    accel: list[np.ndarray] = []
    actions, accel_actions = [], []
    for s in seqs:
        pred = lifter.predict(s.keypoints, s.K, s.confidence if use_confidence else None)
        p = pred - pred[:, :1]
        g = s.joints_cam - s.joints_cam[:, :1]
        errs["mpjpe"].append(mpjpe(p, g))
        errs["pa_mpjpe"].append(pa_mpjpe(p, g))
        actions.append(np.full(len(p), s.action))
        if len(p) >= 3:
            accel.append(acceleration_error(p, g))
            accel_actions.append(np.full(len(p) - 2, s.action))
    res = _summary(errs, actions)
    if accel_actions:
        res["accel"] = _summary({"accel": accel}, accel_actions)["accel"]
    return res


def virtual_camera_set(data: str | Path, n: int = 20000, seed: int = 1234):
    """Fixed random wide-FOV, off-centre views of S9/S11 poses → (kp, K, conf, joints_cam)."""
    sampler = PoseSampler(load_poses(data, TEST_SUBJECTS), load_cameras(data), p_real=0.0,
                          hfov_deg=(70.0, 110.0), noise=False)
    uv, K, conf, X = sampler.sample(n, 1, torch.Generator().manual_seed(seed), strides=(1,))
    return uv[:, 0].numpy(), K.numpy(), conf[:, 0].numpy(), X[:, 0].numpy()


def evaluate_virtual(lifter: Lifter, vset) -> dict:
    """MPJPE, root-depth and relative-depth errors (mm) of a single-frame lifter on ``vset``."""
    kp, K, conf, X = vset
    pred = lifter.predict(kp, K, conf)
    rel_p, rel_g = pred - pred[:, :1], X - X[:, :1]
    return {
        "mpjpe": float(mpjpe(rel_p, rel_g).mean() * 1000),
        "root_depth": float(np.abs(pred[:, 0, 2] - X[:, 0, 2]).mean() * 1000),
        "rel_depth": float(np.abs(rel_p[..., 2] - rel_g[..., 2]).mean() * 1000),
        "frames": len(kp),
    }


#: where the frame's bottom edge sits: just below the lowest of these joints (H36M-17 indices).
CUTS = {"knees": (2, 5), "hips": (1, 4), "waist": (7,)}
#: the upper body: thorax, neck/nose, head, shoulders, elbows, wrists.
UPPER_BODY = (8, 9, 10, 11, 12, 13, 14, 15, 16)
THORAX = 8
#: leg bones (parent, child) whose lengths the cut-off evaluation checks.
LEG_BONES = {"thigh": ((1, 2), (4, 5)), "shin": ((2, 3), (5, 6))}


def truncate_sequences(seqs: list[TestSequence], cut: str) -> list[TestSequence]:
    """The same views with the frame cut below the ``cut`` joints (``"knees"``, ``"hips"``,
    ``"waist"``): per frame, every joint lower in the image than the lowest of those joints gets
    confidence 0 (the named joints stay in view, on the frame's edge)."""
    idx = list(CUTS[cut])
    out = []
    for s in seqs:
        edge = s.keypoints[:, idx, 1].max(1, keepdims=True)
        conf = np.where(s.keypoints[..., 1] > edge + 1e-6, 0.0, s.confidence)
        out.append(TestSequence(s.key, s.keypoints, conf, s.K, s.joints_cam))
    return out


def evaluate_truncated(lifter: Lifter, seqs: list[TestSequence]) -> dict:
    """Cut-off views: the upper body's MPJPE aligned at the thorax (mm), the thorax's depth error
    (% of its depth), the thorax's 3D error (mm), and the predicted / true length of the leg bones
    that are out of view (the lifter must not shrink them: 1 is right)."""
    upper, depth, thorax, frames = [], [], [], 0
    ratios: dict[str, list[np.ndarray]] = defaultdict(list)
    for s in seqs:
        pred = lifter.predict(s.keypoints, s.K, s.confidence)
        g = s.joints_cam
        u = list(UPPER_BODY)
        upper.append(mpjpe(pred[:, u] - pred[:, THORAX:THORAX + 1], g[:, u] - g[:, THORAX:THORAX + 1]))
        depth.append(np.abs(pred[:, THORAX, 2] - g[:, THORAX, 2]) / g[:, THORAX, 2])
        thorax.append(np.linalg.norm(pred[:, THORAX] - g[:, THORAX], axis=-1))
        unseen = s.confidence <= 0.0
        for name, bones in LEG_BONES.items():
            for a, b in bones:
                sel = unseen[:, b]
                if sel.any():
                    lp = np.linalg.norm(pred[sel, b] - pred[sel, a], axis=-1)
                    lg = np.linalg.norm(g[sel, b] - g[sel, a], axis=-1)
                    ratios[name].append(lp / lg)
        frames += len(pred)
    res = {"upper_mpjpe_mm": float(np.concatenate(upper).mean() * 1000),
           "thorax_depth_err_pct": float(np.concatenate(depth).mean() * 100),
           "thorax_err_mm": float(np.concatenate(thorax).mean() * 1000), "frames": frames}
    for name, chunks in ratios.items():
        r = np.concatenate(chunks)
        res[f"unseen_{name}_ratio"] = {"median": float(np.median(r)), "p5": float(np.percentile(r, 5)),
                                       "p95": float(np.percentile(r, 95)), "n": int(r.size)}
    return res


def s9_slice(data: str | Path) -> list[TestSequence]:
    """The small fixed validation slice: first 500 frames of 4 S9 sequences × 4 cameras."""
    return gt2d_sequences(data, subjects=("S9",), max_frames=500, max_sequences=4)
