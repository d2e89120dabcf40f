"""The lifter's live form in numpy: each BatchNorm folded into the layer before it, no torch.

:class:`FoldedMLP` and :class:`FoldedTemporal` compute the same functions as the eval-mode
:class:`~perspose_rt.lifter.models.ResidualMLP` and
:class:`~perspose_rt.lifter.models.TemporalConvNet` (dropout is the identity, BatchNorm an affine
map), one frame at a time with numpy matrix-vector products: at batch 1 the per-call overhead of
torch modules is most of the cost, and a default run then never imports torch (a 1-2 s start-up).
Both are built from a state dict of numpy arrays, the names those modules give their tensors
(``tests/test_lifter_models.py`` checks equality with the modules).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from perspose_rt.lifter.config import LifterConfig

#: ``torch.nn.BatchNorm1d``'s default epsilon (not part of a state dict; the modules keep it).
BN_EPS = 1e-5

State = Mapping[str, np.ndarray]


def fold(state: State, layer: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    """``bn(layer(x))`` in eval mode as one affine map ``x @ W + b`` (float32).

    ``layer`` names a Linear, or a Conv1d applied to one window whose input is flattened
    channel-major (``x[c_in * k + tap]``); a missing bias counts as zero.
    """
    w = np.asarray(state[f"{layer}.weight"], dtype=np.float64)
    mean = np.asarray(state[f"{bn}.running_mean"], dtype=np.float64)
    s = np.asarray(state[f"{bn}.weight"], dtype=np.float64) / np.sqrt(
        np.asarray(state[f"{bn}.running_var"], dtype=np.float64) + BN_EPS)
    W = w.reshape(w.shape[0], -1) * s[:, None]
    bias = np.asarray(state.get(f"{layer}.bias", np.zeros_like(mean)), dtype=np.float64)
    b = (bias - mean) * s + np.asarray(state[f"{bn}.bias"], dtype=np.float64)
    return np.ascontiguousarray(W.T, dtype=np.float32), b.astype(np.float32)


def _linear(state: State, name: str) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(state[f"{name}.weight"], dtype=np.float32)
    return np.ascontiguousarray(w.reshape(w.shape[0], -1).T), np.asarray(state[f"{name}.bias"], dtype=np.float32)


class FoldedMLP:
    """Inference form of :class:`~perspose_rt.lifter.models.ResidualMLP`: (B, 54) → (B, 49)."""

    def __init__(self, state: State, blocks: int, prefix: str = "") -> None:
        p = prefix
        self.inp = fold(state, f"{p}inp.0", f"{p}inp.1")
        self.blocks = [(fold(state, f"{p}blocks.{i}.net.0", f"{p}blocks.{i}.net.1"),
                        fold(state, f"{p}blocks.{i}.net.4", f"{p}blocks.{i}.net.5")) for i in range(blocks)]
        self.out = _linear(state, f"{p}out")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(B, 54) → (B, 49), float32."""
        W, b = self.inp
        h = np.maximum(np.asarray(x, dtype=np.float32) @ W + b, 0.0)
        for (W1, b1), (W2, b2) in self.blocks:
            t = np.maximum(h @ W1 + b1, 0.0)
            h = h + np.maximum(t @ W2 + b2, 0.0)
        W, b = self.out
        return h @ W + b


class FoldedTemporal:
    """Live form of :class:`~perspose_rt.lifter.models.TemporalConvNet`: one new frame in O(1).

    Each layer computes only its newest position and keeps the few past activations its dilated
    taps need (3 inputs, then ``2·d + 1`` per layer). ``state=None`` starts a stream whose past
    is the first frame repeated, exactly what ``TemporalConvNet.forward`` sees after the left
    padding of ``Lifter.predict``.
    """

    def __init__(self, state: State, cfg: LifterConfig) -> None:
        self.expand = fold(state, "expand", "expand_bn")
        self.layers = [(fold(state, f"convs.{i}", f"convs_bn.{i}"), fold(state, f"mix.{i}", f"mix_bn.{i}"),
                        3 ** (i + 1)) for i in range(cfg.blocks)]
        self.out = _linear(state, "out")
        self.base = FoldedMLP(state, 2, prefix="base.") if cfg.base_width else None

    def step(self, state: list | None, f: np.ndarray) -> tuple[list, np.ndarray]:
        """Features of one new frame ``f (54,)`` → (state, output (49,))."""
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


def folded_network(state: State, cfg: LifterConfig) -> FoldedMLP | FoldedTemporal:
    """The live network of a lifter's state dict (numpy arrays)."""
    return FoldedMLP(state, cfg.blocks) if cfg.kind == "single" else FoldedTemporal(state, cfg)
