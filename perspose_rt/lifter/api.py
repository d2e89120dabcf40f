"""``Lifter``: H36M-17 2D keypoints + intrinsics → camera-space 3D joints (metres).

>>> lifter = Lifter.load_default()                       # shipped single-frame weights
>>> joints = lifter.predict(keypoints, K, confidence)    # (N,17,2) px, (N,3,3)|(3,3) → (N,17,3)
>>> stream = Lifter.load_default(temporal=True).stream() # live: one frame at a time, causal
>>> joints_t = stream.push(keypoints_t, K_t, conf_t)     # (17,2), (3,3), (17,) → (17,3)

Keypoints are undistorted pixels in the H36M-17 order (``perspose_rt.detect.blazepose_to_h36m``
maps MediaPipe's landmarks). The temporal model reads the frames of ``predict`` as one sequence in
time order; each output sees only its frame and the frames before it (the first frame is
repeated to fill the window at the start), exactly as :meth:`Lifter.stream` does live.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perspose_rt.errors import InputError
from perspose_rt.lifter.encoding import N_JOINTS, decode, encode
from perspose_rt.lifter.models import LifterConfig
from perspose_rt.lifter.weights import DEFAULT_SINGLE, DEFAULT_TEMPORAL, load_weights

_CHUNK = 65536


class Lifter:
    """A trained lifting network and its encoding (see ``docs/LIFTER.md``)."""

    def __init__(self, model: torch.nn.Module, config: LifterConfig, metadata: dict | None = None) -> None:
        self.model = model.eval()
        self.config = config
        self.metadata = metadata or {}

    @classmethod
    def load(cls, path: str | Path) -> Lifter:
        """Load ``NAME.json`` (+ ``NAME.safetensors``) written by ``perspose-rt train-lifter``."""
        model, cfg, meta = load_weights(path)
        return cls(model, cfg, meta)

    @classmethod
    def load_default(cls, temporal: bool = False) -> Lifter:
        """The weights shipped inside the package (single-frame, or the causal temporal model)."""
        return cls.load(DEFAULT_TEMPORAL if temporal else DEFAULT_SINGLE)

    @property
    def temporal(self) -> bool:
        return self.config.kind == "temporal"

    @property
    def window(self) -> int:
        """Frames the model sees (1 for the single-frame model)."""
        return self.config.window

    def _check(self, keypoints, K, confidence):
        kp = np.asarray(keypoints, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[1:] != (N_JOINTS, 2):
            raise InputError(f"keypoints must be (N, 17, 2) pixels in the H36M-17 order, got {kp.shape}")
        Km = np.asarray(K, dtype=np.float64)
        if Km.shape not in ((3, 3), (kp.shape[0], 3, 3)):
            raise InputError(f"K must be (3, 3) or ({kp.shape[0]}, 3, 3), got {Km.shape}")
        if Km.ndim == 2:
            Km = np.repeat(Km[None], kp.shape[0], 0)
        conf = None
        if confidence is not None:
            conf = np.asarray(confidence, dtype=np.float64)
            if conf.shape != kp.shape[:2]:
                raise InputError(f"confidence must be ({kp.shape[0]}, 17), got {conf.shape}")
        if not (np.isfinite(kp).all() and np.isfinite(Km).all()):
            raise InputError("keypoints and K must be finite (flag missing joints with confidence 0)")
        return kp, Km, conf

    @torch.no_grad()
    def predict(self, keypoints_2d, K, confidence=None) -> np.ndarray:
        """Lift ``(N, 17, 2)`` px with ``K`` ``(N, 3, 3)`` or ``(3, 3)`` → ``(N, 17, 3)`` metres.

        Camera-space joints in the original camera (OpenCV axes), absolute (root included).
        For the temporal model the N frames are one sequence in time order.
        """
        kp, Km, conf = self._check(keypoints_2d, K, confidence)
        N = kp.shape[0]
        if N == 0:
            return np.zeros((0, N_JOINTS, 3))
        enc = encode(kp, Km, conf, self.config.variant)
        x = torch.from_numpy(enc.features)
        if self.temporal:
            pad = x[:1].expand(self.window - 1, -1)
            out = self.model(torch.cat([pad, x])[None])[0]
        else:
            out = torch.cat([self.model(x[i:i + _CHUNK]) for i in range(0, N, _CHUNK)])
        return decode(out.numpy(), enc)

    def stream(self) -> LifterStream:
        """A causal live predictor holding the last ``window`` frames (one per person)."""
        return LifterStream(self)


class LifterStream:
    """Frame-by-frame lifting for live use; the temporal model keeps a causal window."""

    def __init__(self, lifter: Lifter) -> None:
        self.lifter = lifter
        self._state: list | None = None
        # One frame per call: the BN-folded numpy form of the network (same function).
        self._folded = lifter.model.folded()

    def reset(self) -> None:
        """Forget the past (call when the person is lost or the source jumps)."""
        self._state = None

    def push(self, keypoints, K, confidence=None) -> np.ndarray:
        """One frame ``(17, 2)`` px, ``K (3, 3)``, ``confidence (17,)`` → ``(17, 3)`` metres."""
        kp = np.asarray(keypoints, dtype=np.float64)[None]
        conf = None if confidence is None else np.asarray(confidence, dtype=np.float64)[None]
        kp, Km, conf = self.lifter._check(kp, np.asarray(K, dtype=np.float64), conf)
        enc = encode(kp, Km, conf, self.lifter.config.variant)  # numpy: no per-op torch overhead
        if self.lifter.temporal:
            self._state, out = self._folded.step(self._state, enc.features[0])
            out = out[None]
        else:
            out = self._folded(enc.features)
        return decode(out, enc)[0]
