"""PersPoseNet: HRNet + Perspective Encoding + the official heads and lifting (design doc §1).

``net(img, K_crop)`` takes the normalised crop (B, 3, 256, 256) and its intrinsics (B, 3, 3) and
returns a :class:`~perspose_rt.models.output.PersPoseOutput`. The PE map is computed inside from
``K_crop`` (closed-form inverse of the upper-triangular K, so the graph exports to ONNX), hence a
compiled engine takes exactly these two inputs.

Parameter names equal the official ones (``backbone.*``, ``hm_layer``, ``depth_layer_global``,
``rho0_layer``, ``twist_layer``, ``shape_layer``, ``leaf_rot_layer``, ``cam_layer``); the official
``smpl.*`` buffers are not part of this module (IK lives in ``perspose_rt.kinematics``).

Mixed precision: each stage runs in the dtype of its own weights, so ``net.backbone.half()`` and
``net.cam_layer.half()`` give an FP16 backbone while the heads, soft-argmax and lifting stay FP32.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from perspose_rt.geometry import lift_uvd, pe_map_torch, rot6d_to_matrix
from perspose_rt.models.config import NetConfig
from perspose_rt.models.hrnet import HRNetBackbone
from perspose_rt.models.output import PersPoseOutput

#: SMPL joints whose relative rotations ``leaf_rot`` predicts, in output order.
LEAF_JOINTS = (22, 23, 10, 11, 15)
#: Where each leaf goes after a horizontal flip (22↔23, 10↔11, 15 stays).
LEAF_FLIP_ORDER = (1, 0, 3, 2, 4)
DEPTH_RANGE_M = 1.1
RHO0_MID = 7e-3
RHO0_LOG_RANGE = 1.5


class PersPoseNet(nn.Module):
    """The PersPose image network.

    Args:
        config: architecture (default: the official W48).
        flip_test: default for :meth:`forward`'s ``flip_test`` (average the plain and the
            horizontally flipped pass, as the official evaluation does).
    """

    def __init__(self, config: NetConfig | None = None, flip_test: bool = False):
        super().__init__()
        self.config = config = config or NetConfig()
        self.flip_test = flip_test
        spec, J = config.backbone, config.num_joints
        self.backbone = HRNetBackbone(spec)
        self.hm_layer = nn.Conv2d(spec.widths[0], J, 1)
        self.depth_layer_global = nn.Linear(spec.feat_dim, J)
        self.rho0_layer = nn.Linear(spec.feat_dim, 1)
        self.twist_layer = nn.Linear(spec.feat_dim, 3 * J)
        self.shape_layer = nn.Linear(spec.feat_dim, config.num_betas)
        self.leaf_rot_layer = nn.Linear(spec.feat_dim, 6 * config.num_leaf)
        self.cam_layer = nn.Conv2d(2, self.backbone.pe_channels, 1, bias=False)
        nn.init.normal_(self.cam_layer.weight, std=0.01)
        # flip-test constants (not part of the state_dict)
        k_scale, k_shift = torch.ones(3, 3), torch.zeros(3, 3)
        k_scale[0, 2], k_shift[0, 2] = -1.0, float(config.input_size)
        self.register_buffer("_flip_k_scale", k_scale, persistent=False)
        self.register_buffer("_flip_k_shift", k_shift, persistent=False)
        self.register_buffer("_flip_sign", torch.tensor([-1.0, 1.0, 1.0]), persistent=False)
        self.register_buffer("_flip_perm", torch.tensor(_flip_permutation(J)), persistent=False)
        self.register_buffer("_leaf_flip_order", torch.tensor(LEAF_FLIP_ORDER), persistent=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_weights(cls, path: str | os.PathLike[str], flip_test: bool = False) -> PersPoseNet:
        """Build the network described by a weights file's config and load the weights (eval mode)."""
        from perspose_rt.models.weights import load_weights

        return load_weights(path, flip_test=flip_test)

    def save_weights(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``path`` (``.safetensors``) and its ``.json`` config atomically; returns both paths."""
        from perspose_rt.models.weights import save_weights

        return save_weights(self, path)

    # ------------------------------------------------------------------ forward
    def encode(self, img: torch.Tensor, K_crop: torch.Tensor,
               pe_scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone with PE: (B, widths[0], 64, 64) features and the (B, feat_dim) global feature.

        ``pe_scale`` (B,): optional per-sample PE multiplier (training: 0 for samples without
        intrinsics, e.g. COCO, as in the official code). With ``config.pe`` off the map is all
        zeros for every sample.
        """
        cfg = self.config
        pe = pe_map_torch(K_crop.float(), size=cfg.heatmap_size, stride=cfg.heatmap_stride)
        if not cfg.pe:  # the ablation without PE: an all-zero map (same tensors, no camera input)
            pe = torch.zeros_like(pe)
        elif pe_scale is not None:
            pe = pe * pe_scale.to(pe.dtype).reshape(-1, 1, 1, 1)
        cam_info = self.cam_layer(pe.to(self.cam_layer.weight.dtype))
        dtype = self.backbone.conv1.weight.dtype
        return self.backbone(img.to(dtype), cam_info.to(dtype))

    def heads(self, hrn_feat: torch.Tensor, global_feat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The official heads (design doc §1.4), in FP32. Returns uv, depth, rho0, twist, beta, leaf_rot."""
        cfg = self.config
        B, J = hrn_feat.shape[0], cfg.num_joints
        hm = self.hm_layer(hrn_feat.to(self.hm_layer.weight.dtype)).float()
        h, w = hm.shape[-2:]
        prob = torch.softmax(hm.reshape(B, J, h * w), dim=-1).reshape(B, J, h, w)
        cols = (torch.arange(w, device=hm.device, dtype=hm.dtype) + 0.5) * (cfg.input_size / w)
        rows = (torch.arange(h, device=hm.device, dtype=hm.dtype) + 0.5) * (cfg.input_size / h)
        u = (prob.sum(dim=2) * cols).sum(dim=-1)
        v = (prob.sum(dim=3) * rows).sum(dim=-1)
        uv = torch.stack([u, v], dim=-1)

        g = global_feat.float()
        d = (torch.sigmoid(self.depth_layer_global(g)) - 0.5) * (2.0 * DEPTH_RANGE_M)
        depth = torch.cat([torch.zeros_like(d[:, :1]), d[:, 1:]], dim=1).unsqueeze(-1)
        r = torch.sigmoid(self.rho0_layer(g)).unsqueeze(-1)
        rho0 = RHO0_MID * torch.exp((r - 0.5) * (2.0 * RHO0_LOG_RANGE))
        twist = self.twist_layer(g).reshape(B, J, 3)
        beta = self.shape_layer(g)
        leaf_rot = rot6d_to_matrix(self.leaf_rot_layer(g).reshape(B, cfg.num_leaf, 6))
        return {"uv": uv, "depth": depth, "rho0": rho0, "twist": twist, "beta": beta, "leaf_rot": leaf_rot}

    def predict_raw(self, img: torch.Tensor, K_crop: torch.Tensor, flip: bool = False,
                    pe_scale: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One pass; with ``flip`` the crop is mirrored and the outputs are mapped back (§1.6)."""
        if not flip:
            return self.heads(*self.encode(img, K_crop, pe_scale))
        W = float(self.config.input_size)
        # cx ← W − cx (mirrored crop) as arithmetic on constant buffers: no tensor is built from
        # host data inside the forward, so it traces to plain ONNX ops and is CUDA-graph safe.
        K_f = K_crop * self._flip_k_scale + self._flip_k_shift
        out = self.heads(*self.encode(img.flip(-1), K_f, pe_scale))
        perm = self._flip_perm
        uv = out["uv"].index_select(1, perm)
        F = torch.diag(self._flip_sign)
        return {
            "uv": torch.stack([W - uv[..., 0], uv[..., 1]], dim=-1),
            "depth": out["depth"].index_select(1, perm),
            "rho0": out["rho0"],
            "twist": out["twist"].index_select(1, perm) * self._flip_sign,
            "beta": out["beta"],
            "leaf_rot": (F @ out["leaf_rot"] @ F).index_select(1, self._leaf_flip_order),
        }

    def forward(self, img: torch.Tensor, K_crop: torch.Tensor, flip_test: bool | None = None) -> PersPoseOutput:
        """Args:
            img: (B, 3, S, S) ImageNet-normalised RGB crop (S = ``config.input_size``).
            K_crop: (B, 3, 3) crop intrinsics (upper triangular).
            flip_test: average with the mirrored pass (default: ``self.flip_test``); ``leaf_rot``
                comes from the plain pass, as in the official evaluation.

        Returns:
            :class:`PersPoseOutput` (float32).
        """
        if not torch.jit.is_tracing():
            _check_inputs(img, K_crop, self.config.input_size)
        K_crop = K_crop.float()
        out = self.predict_raw(img, K_crop)
        if self.flip_test if flip_test is None else flip_test:
            flipped = self.predict_raw(img, K_crop, flip=True)
            for k in ("uv", "depth", "rho0", "twist", "beta"):
                out[k] = (out[k] + flipped[k]) * 0.5
        xyz, xyz0 = lift_uvd(out["uv"], out["depth"], out["rho0"], K_crop)
        return PersPoseOutput(xyz=xyz, xyz0=xyz0, **out)


def _flip_permutation(num_joints: int) -> list[int]:
    from perspose_rt.metrics.joints import PERSPOSE25_FLIP_PAIRS

    perm = list(range(num_joints))
    for a, b in PERSPOSE25_FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


def _check_inputs(img: torch.Tensor, K_crop: torch.Tensor, size: int) -> None:
    if img.ndim != 4 or tuple(img.shape[1:]) != (3, size, size):
        raise ValueError(f"img must be (B, 3, {size}, {size}), got {tuple(img.shape)}")
    if K_crop.shape != (img.shape[0], 3, 3):
        raise ValueError(f"K_crop must be ({img.shape[0]}, 3, 3), got {tuple(K_crop.shape)}")
