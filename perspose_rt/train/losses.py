"""The training losses of the official code (design doc §5.4), with its masks and weights.

Every term is computed only from the labels the batch has (per-sample ``kind``, per-joint
``has``) and only on joints whose label lies inside the crop. ``mask_mean(x, w) = Σ x·w / (Σ w +
1e-7)`` over the batch. Depths and densities are normalised by the person's rest height ``h`` and
scaled by 1.8 (so that a 1.8 m person is unscaled), as in the official code.

Terms (name: official index, label kinds):

* ``uv`` (0): mean ‖uv − uv_gt‖ px, exact-3D kinds (``h36m17``, ``smpl24``); BEDLAM weighted 0.1.
* ``uv_coco`` (1): relu(‖uv − kp‖ − 5 px) on 8 COCO limb joints.
* ``uv_hp3d`` (2): relu(‖uv − uv_gt‖ − 5 px) on the 9 3DHP joints.
* ``depth`` (3): 1.8·100·|d − d_gt|/h, depths relative to SMPL joint 0, exact-3D kinds.
* ``depth_hp3d`` (4): 1.8·relu(|100(d_j − d_24)/h − 100(z_j − z_24)/h| − 4/1.8), 3DHP.
* ``density_root`` (5): 1.8·|1000ρ0/h − 1000·Z0/(f·h)|, exact-3D kinds.
* ``density_hp3d_root`` (6): 1.8·relu(|1000(d_24/f + ρ0) − 1000·z_24/f|/h − 0.05/1.8), 3DHP.

* ``twist`` (9), ``beta`` (10), ``leaf`` (11): the SMPL terms (:func:`smpl_terms`), on samples
  with SMPL labels (the official HumanMesh sets, through ``--smpl-dir``).

``xyz`` (7) and ``h`` (8) have weight 0 in every official config and are not computed.
"""

from __future__ import annotations

import torch

from perspose_rt.data.sample import KIND_CODES
from perspose_rt.data.smpl_labels import TWIST_JOINTS

TERMS = ("uv", "uv_coco", "uv_hp3d", "depth", "depth_hp3d", "density_root", "density_hp3d_root", "twist", "beta",
         "leaf")
_BASE = {"uv": 1.0, "uv_coco": 1.0, "uv_hp3d": 1.0, "twist": 0.1, "beta": 0.01, "leaf": 0.01}
#: Loss weights per official config: (depth, depth_hp3d, density_root, density_hp3d_root, twist).
_PER_CONFIG = {"w_be_3dhp": (1, 1, 1, 1, 0.1), "3dpw": (1, 0.5, 1, 0.5, 0.1), "3dhp": (0.5, 0.5, 0.5, 0.5, 0.1),
               "h36m": (1, 0.5, 1, 0.5, 10.0), "w_be_3dpw": (1, 0.5, 1, 0.5, 0.1)}
LOSS_CONFIGS = tuple(_PER_CONFIG)


def loss_weights(config: str = "w_be_3dhp") -> dict[str, float]:
    d, dh, dr, dhr, tw = _PER_CONFIG[config]
    return {**_BASE, "depth": d, "depth_hp3d": dh, "density_root": dr, "density_hp3d_root": dhr, "twist": tw}


def mask_mean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    w = w.to(x.dtype)
    return (x * w).sum() / (w.sum() + 1e-7)


def smpl_terms(pred: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The SMPL terms (§5.4 rows 9–11) on the samples with SMPL labels (``has_smpl``):

    * ``twist``: mean over the 17 :data:`~perspose_rt.data.smpl_labels.TWIST_JOINTS` of
      ‖n(t) − n(t_gt)‖ (n = unit vector);
    * ``beta``: mean |β − β_gt| over the 11 entries. The official β₀ is the IK's search value, so no
      gradient reaches the network's β₀: it is detached here (same gradient; the value differs
      from the official one by a constant);
    * ``leaf``: mean over the 5 leaves of the Frobenius norm of ``R − R_gt`` (3×3).
    """
    m = batch["has_smpl"].bool()
    tw = torch.nn.functional.normalize(pred["twist"].float()[:, list(TWIST_JOINTS)], dim=-1)
    tw_gt = torch.nn.functional.normalize(batch["twist"].float()[:, list(TWIST_JOINTS)], dim=-1)
    beta = pred["beta"].float()
    beta = torch.cat([beta[:, :1].detach(), beta[:, 1:]], 1)
    leaf = pred["leaf_rot"].float().flatten(-2) - batch["leaf"].float().flatten(-2)
    return {"twist": mask_mean((tw - tw_gt).norm(dim=-1), m[:, None].expand(-1, tw.shape[1])),
            "beta": mask_mean((beta - batch["beta"].float()).abs(), m[:, None].expand_as(beta)),
            "leaf": mask_mean(leaf.norm(dim=-1), m[:, None].expand(-1, leaf.shape[1]))}


def compute_losses(pred: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], size: int,
                   weights: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and every term (unweighted).

    Args:
        pred: ``uv`` (B,25,2), ``depth`` (B,25,1), ``rho0`` (B,1,1), and for the SMPL terms
            ``twist`` (B,25,3), ``beta`` (B,11), ``leaf_rot`` (B,5,3,3) of
            :meth:`PersPoseNet.predict_raw` (fp32).
        batch: ``K_crop`` (B,3,3), ``xyz`` (B,25,3), ``uv`` (B,25,2), ``has`` (B,25), ``kind`` (B,),
            ``height`` (B,), ``uv_weight`` (B,), ``twist``, ``leaf``, ``beta``, ``has_smpl`` of
            :func:`perspose_rt.data.sample.make_sample`.
        size: crop side in pixels (labels outside (0, size)² are masked out).
    """
    uv, d, rho0 = pred["uv"].float(), pred["depth"].float()[..., 0], pred["rho0"].float().reshape(-1)
    K, xyz, uv_gt = batch["K_crop"].float(), batch["xyz"].float(), batch["uv"].float()
    kind, h = batch["kind"], batch["height"].float()
    f = (K[:, 0, 0] + K[:, 1, 1]) / 2
    inside = ((uv_gt > 0) & (uv_gt < size)).all(-1) & batch["has"].bool()
    exact = (kind == KIND_CODES["h36m17"]) | (kind == KIND_CODES["smpl24"])
    hp3d, coco = kind == KIND_CODES["hp3d"], kind == KIND_CODES["coco"]
    dist = (uv - uv_gt).norm(dim=-1)  # (B,25)
    hh = h[:, None]
    t: dict[str, torch.Tensor] = {}
    valid = inside & exact[:, None]
    t["uv"] = mask_mean(dist, valid * batch["uv_weight"].float()[:, None])
    t["uv_coco"] = mask_mean(torch.relu(dist - 5.0), inside & coco[:, None])
    m3 = inside & hp3d[:, None]
    t["uv_hp3d"] = mask_mean(torch.relu(dist - 5.0), m3)
    d_gt = xyz[..., 2] - xyz[:, :1, 2]
    t["depth"] = 1.8 * mask_mean(100.0 * (d - d_gt).abs() / hh, valid)
    rel_pred = 100.0 * (d - d[:, 24:25]) / hh
    rel_gt = 100.0 * (xyz[..., 2] - xyz[:, 24:25, 2]) / hh
    t["depth_hp3d"] = 1.8 * mask_mean(torch.relu((rel_pred - rel_gt).abs() - 4.0 / 1.8), m3)
    Z0 = xyz[:, 0, 2]
    t["density_root"] = 1.8 * mask_mean((1000.0 * rho0 / h - 1000.0 * Z0 / (f * h)).abs(), exact)
    dens24 = 1000.0 * (d[:, 24] / f + rho0)
    gt24 = 1000.0 * xyz[:, 24, 2] / f
    t["density_hp3d_root"] = 1.8 * mask_mean(torch.relu((dens24 - gt24).abs() / h - 0.05 / 1.8), hp3d)
    if "twist" in pred and "has_smpl" in batch:
        t.update(smpl_terms(pred, batch))
    total = sum(weights[k] * v for k, v in t.items())
    return total, t
