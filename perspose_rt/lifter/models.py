"""Lifting networks: a residual MLP (single frame) and a causal dilated temporal convnet.

Both map the 54 encoded features of :mod:`perspose_rt.lifter.encoding` per frame to 49 outputs
(48 root-relative coordinates + ``q``). The temporal model follows VideoPose3D's design (Pavllo
et al. 2019) made causal: kernel 3 with dilations 1, 3, 9, … so ``3^L`` past frames, the last
being the target. Training uses the equivalent strided form (one output per window, 3–5× cheaper);
inference runs the dilated form over a whole sequence or a live ring buffer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from perspose_rt.lifter.config import LifterConfig
from perspose_rt.lifter.encoding import N_FEATURES, N_OUTPUTS
from perspose_rt.lifter.folded import FoldedMLP, FoldedTemporal

__all__ = ["FoldedMLP", "FoldedTemporal", "LifterConfig", "ResidualMLP", "TemporalConvNet", "build_model"]


class _ResBlock(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ResidualMLP(nn.Module):
    """Martinez et al. (2017)'s residual MLP: (B, 54) → (B, 49)."""

    def __init__(self, cfg: LifterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Sequential(nn.Linear(N_FEATURES, cfg.width), nn.BatchNorm1d(cfg.width),
                                 nn.ReLU(inplace=True), nn.Dropout(cfg.dropout))
        self.blocks = nn.Sequential(*[_ResBlock(cfg.width, cfg.dropout) for _ in range(cfg.blocks)])
        self.out = nn.Linear(cfg.width, N_OUTPUTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(x)))

    def folded(self) -> FoldedMLP:
        """The eval-mode network with each BatchNorm folded into its Linear, in numpy float32."""
        return FoldedMLP(numpy_state(self), self.cfg.blocks)


class TemporalConvNet(nn.Module):
    """Causal dilated convnet over ``window = 3^(blocks+1)`` frames.

    ``forward(x (B, T, 54))`` runs the dilated form and returns (B, T - window + 1, 49): output
    ``i`` belongs to input frame ``i + window - 1`` and sees only frames up to it.
    ``forward_window(x (B, window, 54))`` is the strided training form → (B, 49), equal to
    the dilated form's single output on that window.

    With ``cfg.base_width > 0`` the output is ``base(newest frame) + convnet(window)``: a frozen
    single-frame model gives the estimate and the causal convnet (whose last layer starts at zero)
    learns a temporal correction, so training starts from the single-frame accuracy.
    """

    def __init__(self, cfg: LifterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        C = cfg.width
        self.expand = nn.Conv1d(N_FEATURES, C, 3, bias=False)
        self.expand_bn = nn.BatchNorm1d(C)
        self.convs = nn.ModuleList(nn.Conv1d(C, C, 3, bias=False) for _ in range(cfg.blocks))
        self.convs_bn = nn.ModuleList(nn.BatchNorm1d(C) for _ in range(cfg.blocks))
        self.mix = nn.ModuleList(nn.Conv1d(C, C, 1, bias=False) for _ in range(cfg.blocks))
        self.mix_bn = nn.ModuleList(nn.BatchNorm1d(C) for _ in range(cfg.blocks))
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Conv1d(C, N_OUTPUTS, 1)
        self.base = None
        if cfg.base_width:
            self.base = ResidualMLP(LifterConfig("single", cfg.variant, cfg.base_width, 2, cfg.dropout))
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def freeze_base(self) -> None:
        """Fix the base model's weights and BatchNorm statistics (``train()`` keeps it in eval)."""
        if self.base is not None:
            self.base.requires_grad_(False)
            self.base.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.base is not None and not any(p.requires_grad for p in self.base.parameters()):
            self.base.eval()
        return self

    def _base(self, x: torch.Tensor) -> torch.Tensor | int:
        """Base output for frames ``window-1 …`` of x (B, T, 54) → (B, T-window+1, 49)."""
        if self.base is None:
            return 0
        newest = x[:, self.cfg.window - 1:]
        return self.base(newest.reshape(-1, newest.shape[-1])).reshape(*newest.shape[:2], N_OUTPUTS)

    def _run(self, x: torch.Tensor, strided: bool) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, 54, T)
        act = nn.functional.relu
        if strided:
            h = nn.functional.conv1d(x, self.expand.weight, stride=3)
        else:
            h = self.expand(x)
        h = self.drop(act(self.expand_bn(h)))
        for i in range(self.cfg.blocks):
            d = 3 ** (i + 1)
            if strided:
                res = h[:, :, 2::3]
                y = nn.functional.conv1d(h, self.convs[i].weight, stride=3)
            else:
                res = h[:, :, 2 * d:]
                y = nn.functional.conv1d(h, self.convs[i].weight, dilation=d)
            y = self.drop(act(self.convs_bn[i](y)))
            y = self.drop(act(self.mix_bn[i](self.mix[i](y))))
            h = res + y
        return self.out(h).transpose(1, 2)

    def folded(self) -> FoldedTemporal:
        """The live, one-frame-at-a-time form (numpy float32, BatchNorm folded)."""
        return FoldedTemporal(numpy_state(self), self.cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < self.cfg.window:
            raise ValueError(f"need at least {self.cfg.window} frames, got {x.shape[1]}")
        return self._run(x, strided=False) + self._base(x)

    def forward_window(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.cfg.window:
            raise ValueError(f"training windows must have {self.cfg.window} frames, got {x.shape[1]}")
        return (self._run(x, strided=True) + self._base(x))[:, 0]


def numpy_state(module: nn.Module) -> dict[str, np.ndarray]:
    """A module's state dict as float32 numpy arrays (what :mod:`perspose_rt.lifter.folded` reads)."""
    return {k: v.detach().cpu().float().numpy() for k, v in module.state_dict().items()}


def build_model(cfg: LifterConfig) -> nn.Module:
    return ResidualMLP(cfg) if cfg.kind == "single" else TemporalConvNet(cfg)
