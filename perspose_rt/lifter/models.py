"""Lifting networks: a residual MLP (single frame) and a causal dilated temporal convnet.

Both map the 54 encoded features of :mod:`perspose_rt.lifter.encoding` per frame to 49 outputs
(48 root-relative coordinates + ``q``). The temporal model follows VideoPose3D's design (Pavllo
et al. 2019) made causal: kernel 3 with dilations 1, 3, 9, … so ``3^L`` past frames, the last
being the target. Training uses the equivalent strided form (one output per window, 3–5× cheaper);
inference runs the dilated form over a whole sequence or a live ring buffer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from perspose_rt.lifter.encoding import N_FEATURES, N_OUTPUTS, VARIANTS


@dataclass(frozen=True)
class LifterConfig:
    """Everything needed to rebuild a network (saved as JSON beside the weights)."""

    kind: str = "single"  # "single" | "temporal"
    variant: str = "pepr"
    width: int = 1024
    blocks: int = 2  # residual blocks (single) or dilated layers after the first (temporal)
    dropout: float = 0.1
    #: temporal only: width of a single-frame residual MLP (``blocks`` = 2) whose output for the
    #: newest frame the convnet corrects (0 = none). Trained first, then frozen (``--init-base``).
    base_width: int = 0

    @property
    def window(self) -> int:
        return 1 if self.kind == "single" else 3 ** (self.blocks + 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LifterConfig:
        cfg = cls(**{k: d[k] for k in ("kind", "variant", "width", "blocks", "dropout", "base_width")
                     if k in d})
        if cfg.kind not in ("single", "temporal") or cfg.variant not in VARIANTS:
            raise ValueError(f"unsupported lifter config {d}")
        return cfg


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
        return FoldedMLP(self)


def _fold(layer: nn.Module, bn: nn.BatchNorm1d) -> tuple[np.ndarray, np.ndarray]:
    """``bn(layer(x))`` in eval mode as one affine map ``x @ W + b`` (numpy float32).

    ``layer`` is a Linear, or a Conv1d applied to one window whose input is flattened
    channel-major (``x[c_in * k + tap]``); a missing bias counts as zero.
    """
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    W = layer.weight.detach().reshape(layer.weight.shape[0], -1) * s[:, None]
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(bn.running_mean)
    b = (bias - bn.running_mean) * s + bn.bias.detach()
    return np.ascontiguousarray(W.T.numpy(), dtype=np.float32), b.numpy().astype(np.float32)


class FoldedMLP:
    """Inference form of :class:`ResidualMLP` for live, one-frame calls.

    The same function as the eval-mode module (dropout is the identity, BatchNorm an affine map
    folded into the preceding Linear), evaluated with numpy matrix-vector products: at batch 1 the
    per-call overhead of torch modules is most of the cost (``tests/test_lifter_models.py``
    checks equality with the module).
    """

    def __init__(self, mlp: ResidualMLP) -> None:
        self.inp = _fold(mlp.inp[0], mlp.inp[1])
        self.blocks = [(_fold(b.net[0], b.net[1]), _fold(b.net[4], b.net[5])) for b in mlp.blocks]
        self.out = (np.ascontiguousarray(mlp.out.weight.detach().T.numpy(), dtype=np.float32),
                    mlp.out.bias.detach().numpy().astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(B, 54) → (B, 49), float32."""
        W, b = self.inp
        h = np.maximum(np.asarray(x, dtype=np.float32) @ W + b, 0.0)
        for (W1, b1), (W2, b2) in self.blocks:
            t = np.maximum(h @ W1 + b1, 0.0)
            h = h + np.maximum(t @ W2 + b2, 0.0)
        W, b = self.out
        return h @ W + b


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
        return FoldedTemporal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < self.cfg.window:
            raise ValueError(f"need at least {self.cfg.window} frames, got {x.shape[1]}")
        return self._run(x, strided=False) + self._base(x)

    def forward_window(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.cfg.window:
            raise ValueError(f"training windows must have {self.cfg.window} frames, got {x.shape[1]}")
        return (self._run(x, strided=True) + self._base(x))[:, 0]


class FoldedTemporal:
    """Live form of :class:`TemporalConvNet`: one new frame in O(1), numpy float32.

    Each layer computes only its newest position and keeps the few past activations its dilated
    taps need (3 inputs, then ``2·d + 1`` per layer). ``state=None`` starts a stream whose past
    is the first frame repeated, exactly what :meth:`TemporalConvNet.forward` sees after the left
    padding of ``Lifter.predict`` (``tests/test_lifter_models.py`` checks the two agree).
    """

    def __init__(self, net: TemporalConvNet) -> None:
        self.expand = _fold(net.expand, net.expand_bn)
        self.layers = [(_fold(net.convs[i], net.convs_bn[i]), _fold(net.mix[i], net.mix_bn[i]), 3 ** (i + 1))
                       for i in range(net.cfg.blocks)]
        self.out = (np.ascontiguousarray(net.out.weight.detach()[:, :, 0].T.numpy(), dtype=np.float32),
                    net.out.bias.detach().numpy().astype(np.float32))
        self.base = net.base.folded() if net.base is not None else None

    def step(self, state: list | None, f: np.ndarray) -> tuple[list, np.ndarray]:
        """Features of one new frame ``f (54,)`` → (state, output (49,))."""
        from collections import deque

        f = np.asarray(f, dtype=np.float32)
        if state is None:
            state = [deque([f] * 3, maxlen=3)] + [deque(maxlen=2 * d + 1) for *_, d in self.layers]
            fill = True
        else:
            state[0].append(f)
            fill = False
        W, b = self.expand
        h = np.maximum(np.stack(state[0], -1).reshape(-1) @ W + b, 0.0)
        for ((Wc, bc), (Wm, bm), d), hist in zip(self.layers, state[1:], strict=True):
            hist.extend([h] * hist.maxlen if fill else [h])
            taps = np.stack([hist[-1 - 2 * d], hist[-1 - d], hist[-1]], -1).reshape(-1)
            y = np.maximum(taps @ Wc + bc, 0.0)
            h = hist[-1] + np.maximum(y @ Wm + bm, 0.0)
        W, b = self.out
        out = h @ W + b
        if self.base is not None:
            out = out + self.base(f[None])[0]
        return state, out


def build_model(cfg: LifterConfig) -> nn.Module:
    return ResidualMLP(cfg) if cfg.kind == "single" else TemporalConvNet(cfg)
