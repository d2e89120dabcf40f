"""``Lifter``: H36M-17 2D keypoints + intrinsics → camera-space 3D joints (metres).

>>> lifter = Lifter.load_default()                       # shipped single-frame weights
>>> joints = lifter.predict(keypoints, K, confidence)    # (N,17,2) px, (N,3,3)|(3,3) → (N,17,3)
>>> stream = Lifter.load_default(temporal=True).stream() # live: one frame at a time, causal
>>> joints_t = stream.push(keypoints_t, K_t, conf_t)     # (17,2), (3,3), (17,) → (17,3)

Keypoints are undistorted pixels in the H36M-17 order (``perspose_rt.detect.blazepose_to_h36m``
maps MediaPipe's landmarks). The temporal model reads the frames of ``predict`` as one sequence in
time order; each output sees only its frame and the frames before it (the first frame is
repeated to fill the window at the start), exactly as :meth:`Lifter.stream` does live.

Loading reads the tensors as numpy arrays and :meth:`Lifter.stream` runs the BatchNorm-folded
numpy network, so live use never imports torch; the torch module is built on first use of
:attr:`Lifter.model` (:meth:`Lifter.predict`, training, evaluation).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perspose_rt.errors import InputError, WeightsError
from perspose_rt.lifter.config import LifterConfig
from perspose_rt.lifter.encoding import DROP_CONF, N_JOINTS, decode, encode
from perspose_rt.lifter.files import DEFAULT_SINGLE, DEFAULT_TEMPORAL, read_lifter
from perspose_rt.lifter.folded import folded_network

if TYPE_CHECKING:
    import torch

_CHUNK = 65536


class Lifter:
    """A trained lifting network and its encoding (see ``docs/LIFTER.md``)."""

    def __init__(self, model: torch.nn.Module | None, config: LifterConfig, metadata: dict | None = None,
                 state: dict[str, np.ndarray] | None = None, path: Path | None = None) -> None:
        if model is None and state is None:
            raise ValueError("a Lifter needs a torch model or a state dict of numpy arrays")
        self._model = model.eval() if model is not None else None
        self._state = state
        self._folded: Any = None
        self.config = config
        self.metadata = metadata or {}
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> Lifter:
        """Load ``NAME.json`` (+ ``NAME.safetensors``) written by ``perspose-rt train-lifter``;
        ``path`` may also be the ``.safetensors`` file or the stem ``NAME``. No torch needed."""
        lf = read_lifter(path)
        return cls(None, lf.config, lf.doc, state=lf.state, path=lf.path)

    @property
    def model(self) -> torch.nn.Module:
        """The torch module (eval mode), built from the loaded tensors on first use."""
        if self._model is None:
            import torch

            from perspose_rt.lifter.models import build_model

            model = build_model(self.config)
            try:
                model.load_state_dict({k: torch.from_numpy(v) for k, v in self._state.items()})
            except RuntimeError as exc:
                raise WeightsError(f"{self.path or 'lifter'} is not a usable lifter ({exc})") from exc
            self._model = model.eval()
        return self._model

    def folded(self) -> Any:
        """The numpy live network (:mod:`perspose_rt.lifter.folded`). Loaded weights are folded
        once (15–40 ms) and the network shared by every stream: it keeps no per-stream state."""
        if self._model is not None:
            return self._model.folded()
        if self._folded is None:
            self._folded = folded_network(self._state, self.config)
        return self._folded

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

    def predict(self, keypoints_2d, K, confidence=None) -> np.ndarray:
        """Lift ``(N, 17, 2)`` px with ``K`` ``(N, 3, 3)`` or ``(3, 3)`` → ``(N, 17, 3)`` metres.

        Camera-space joints in the original camera (OpenCV axes), absolute (root included).
        For the temporal model the N frames are one sequence in time order.
        """
        kp, Km, conf = self._check(keypoints_2d, K, confidence)
        N = kp.shape[0]
        if N == 0:
            return np.zeros((0, N_JOINTS, 3))
        import torch

        enc = encode(kp, Km, conf, self.config.variant)
        x = torch.from_numpy(enc.features)
        model = self.model
        with torch.no_grad():
            if self.temporal:
                pad = x[:1].expand(self.window - 1, -1)
                out = model(torch.cat([pad, x])[None])[0]
            else:
                out = torch.cat([model(x[i:i + _CHUNK]) for i in range(0, N, _CHUNK)])
        return decode(out.numpy(), enc)

    @staticmethod
    def in_view(confidence, n_frames: int | None = None) -> np.ndarray:
        """The lifter's per-joint ``in_view`` flag: ``(N, 17)`` bool, True where the joint reached
        the network (confidence above :data:`~perspose_rt.lifter.encoding.DROP_CONF`). The other
        joints of :meth:`predict`'s output were not seen (out of the frame or dropped): the network
        places them at the population's proportions, and they must be shown as guesses.

        ``confidence``: ``(N, 17)`` as given to :meth:`predict`, or ``None`` (every joint seen;
        then ``n_frames`` gives N).
        """
        if confidence is None:
            if n_frames is None:
                raise ValueError("in_view(None) needs n_frames")
            return np.ones((int(n_frames), N_JOINTS), dtype=bool)
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.ndim != 2 or conf.shape[1] != N_JOINTS:
            raise InputError(f"confidence must be (N, 17), got {conf.shape}")
        return conf > DROP_CONF

    def stream(self) -> LifterStream:
        """A causal live predictor holding the last ``window`` frames (one per person)."""
        return LifterStream(self)


class LifterStream:
    """Frame-by-frame lifting for live use; the temporal model keeps a causal window."""

    def __init__(self, lifter: Lifter) -> None:
        self.lifter = lifter
        self._state: list | None = None
        # One frame per call: the BN-folded numpy form of the network (same function).
        self._folded = lifter.folded()

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
