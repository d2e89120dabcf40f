"""``eval-net``: the §5.5 protocol on the network's own 3D joints, with flip test.

For every sample: PR crop (no augmentation; the box crop for weights trained without PR), the
network with flip test (plain and mirrored pass averaged), absolute joints ``xyz + xyz0`` taken
back to the original camera (``Rᵀ·X``) and compared with the ground truth there.

* H36M-17 ground truth (3DHP, our ``h36m17`` data): all 17 joints through
  :data:`~perspose_rt.data.records.NET_FROM_H36M17`, pelvis-centred (the official 3DHP protocol
  uses all 17 too).
* SMPL-24 ground truth: the 24 SMPL joints, pelvis-centred. **Deviation**: the official numbers
  regress H36M-17 joints from the mesh after IK and score 14 of them; this version scores the
  network's joints directly (no IK, no H36M regressor).

Metrics (means over samples, not of batch means): MPJPE, PA-MPJPE (similarity Procrustes per
sample), root error (absolute pelvis position), PCK@150 mm and AUC (0–150 mm), and, for the PE/PR
ablation, the root-depth error ``|Z₀ − Z₀ᵍᵗ|`` and the relative-depth error (mean over joints of
``|(Z_j − Z₀) − (Z_j − Z₀)ᵍᵗ|``), Z along the original camera's optical axis. A sample whose
Procrustes has no solution (a collapsed pose) is counted in ``pa_failures`` and left out of
PA-MPJPE, which is ``null`` when every sample failed: nothing is made up.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from perspose_rt.data.records import NET_FROM_H36M17
from perspose_rt.data.sample import Draw, make_sample
from perspose_rt.metrics.pose import auc, mpjpe, pa_mpjpe, pck


def score(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray | int]:
    """Per-sample metrics of absolute joints (N, J, 3) metres, joint 0 = the pelvis (root).

    ``root_depth``: |Z₀ − Z₀ᵍᵗ|; ``rel_depth``: the mean over joints of |(Z_j − Z₀) − (Z_j − Z₀)ᵍᵗ|,
    Z along the optical axis of the frame given (:func:`evaluate` passes the original camera's).
    """
    root_err = np.linalg.norm(pred[:, 0] - gt[:, 0], axis=-1)
    p, g = pred - pred[:, :1], gt - gt[:, :1]
    pa = np.full(len(p), np.nan)
    failures = 0
    for i in range(len(p)):
        try:
            pa[i] = pa_mpjpe(p[i], g[i])
        except (ValueError, np.linalg.LinAlgError):
            failures += 1
    return {"mpjpe": mpjpe(p, g), "pa_mpjpe": pa, "root": root_err, "pck150": pck(p, g, 0.15),
            "auc": auc(p, g), "pa_failures": failures,
            "root_depth": np.abs(pred[:, 0, 2] - gt[:, 0, 2]),
            "rel_depth": np.abs(p[..., 2] - g[..., 2]).mean(-1)}


def summarise(parts: list[dict]) -> dict:
    cat = {k: np.concatenate([p[k] for p in parts])
           for k in ("mpjpe", "pa_mpjpe", "root", "pck150", "auc", "root_depth", "rel_depth")}
    fails = int(sum(p["pa_failures"] for p in parts))
    ok = cat["pa_mpjpe"][~np.isnan(cat["pa_mpjpe"])]
    return {"n": len(cat["mpjpe"]), "mpjpe_mm": float(1000 * cat["mpjpe"].mean()),
            "pa_mpjpe_mm": float(1000 * ok.mean()) if len(ok) else None, "pa_failures": fails,
            "root_error_mm": float(1000 * cat["root"].mean()), "pck150": float(cat["pck150"].mean()),
            "root_depth_error_mm": float(1000 * cat["root_depth"].mean()),
            "rel_depth_error_mm": float(1000 * cat["rel_depth"].mean()),
            "auc": float(cat["auc"].mean())}


def _gt_and_pred(rec, geom_R: np.ndarray, xyz_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and ground truth in the **original** camera (PR undone: ``X = Rᵀ X_rot``), so that
    the depths of networks with and without PR are measured along the same axis (every other
    metric is the same in either frame)."""
    gt = np.asarray(rec.joints_cam, np.float64)
    xyz_abs = xyz_abs @ np.asarray(geom_R, np.float64)
    if gt.shape[0] == 17:
        return xyz_abs[list(NET_FROM_H36M17)], gt
    return xyz_abs[:24], gt


@torch.no_grad()
def evaluate(net, source, size: int, batch_size: int = 16, device: str = "cpu", flip_test: bool = True,
             progress: bool = False, limit: int | None = None) -> dict:
    """Score ``net`` on every sample of ``source`` (a set with 3D labels)."""
    from tqdm import tqdm

    if source.kind == "coco":
        raise ValueError("COCO has no 3D labels to evaluate")
    n = len(source) if limit is None else min(limit, len(source))
    was_training = net.training
    net.eval()
    parts = []
    for s in tqdm(range(0, n, batch_size), total=math.ceil(n / batch_size), disable=not progress,
                  desc=f"eval {source.name}", dynamic_ncols=True):
        recs = [source.record(i) for i in range(s, min(n, s + batch_size))]
        samples = [make_sample(r, size, Draw(), pr=net.config.pr) for r in recs]
        img = torch.from_numpy(np.stack([x["img"] for x in samples])).to(device)
        K = torch.from_numpy(np.stack([x["K_crop"] for x in samples])).to(device)
        out = net(img, K, flip_test=flip_test)
        xyz_abs = (out.xyz + out.xyz0).double().cpu().numpy()
        pairs = [_gt_and_pred(r, samples[i]["R"], xyz_abs[i]) for i, r in enumerate(recs)]
        parts.append(score(np.stack([p for p, _ in pairs]), np.stack([g for _, g in pairs])))
    if was_training:
        net.train()
    return {**summarise(parts), "joints": "h36m17" if source.kind in ("hp3d", "h36m17") else "smpl24",
            "flip_test": flip_test}
