"""Training samples: Human3.6M poses seen by real and random virtual cameras, with detector-like noise.

Every call to :meth:`PoseSampler.sample` draws fresh samples from a ``torch.Generator``, so a
training run seeded per step is reproducible and resumable. Shapes: ``B`` samples of ``T``
consecutive frames (the last one is the target; ``T = 1`` for the single-frame model).

Virtual cameras (the default 75 % of samples; drawn by
:func:`perspose_rt.data.virtual_camera.place_in_virtual_cameras`):

* horizontal FOV uniform in 30°–110°, image 640–1920 px wide with aspect 16:9, 4:3, 1:1, 3:4
  or 9:16, principal point within ~1 % of the centre;
* the person turned by a random yaw, the camera pitched by ±30° and rolled by ±15°;
* the root anywhere in the frame (5 %–95 % of each side, so limbs may leave the image) at a
  depth log-uniform in 2–10 m (farther when the person would not fit in the frame);
* pinhole projection.

Real cameras (25 %): the four calibrated Human3.6M cameras of the pose's subject, projected with
their lens distortion.

2D noise shaped like detector errors (per sample): 30 % of samples are clean; the others get
Gaussian noise of σ = U(0,1)²·0.15·(RMS spread of the keypoints), 2 % of joints become outliers
(σ = 0.5·spread, confidence < 0.4), 2 % are dropped (confidence 0) and the Neck/Nose joint is
dropped in 10 % more frames (the SH detector and BlazePose do not have it). Confidences of normal
joints are U(0.6, 1), or exactly 1 in half of the clean samples. Optionally (``bias_scale``), noisy
samples also get per-joint offsets N(0, bias_scale·spread) constant over the window, the way a
detector's joint definitions differ from Human3.6M's. The 0.15 above is ``noise_scale``.
This is the ``"light"`` noise profile.

The ``"detector"`` profile follows the error taxonomy of Ruggero Ronchi & Perona (ICCV 2017,
"Benchmarking and error diagnosis in multi-instance pose estimation"): jitter, misses,
inversions (left/right swaps) and gross errors. Its jitter is heavier and its gross errors do
not always announce themselves through the confidence, as with detectors that give no scores:

* 30 % clean samples, as above;
* jitter σ = U(0,1)·``noise_scale``·spread per sample (mean ½ instead of ⅓ of the scale), times a
  per-joint factor log-uniform in [0.7, 1.4];
* 6 % of joints are gross errors (σ = 0.4·spread); half of them keep a normal confidence;
* each left/right limb pair (hips, knees, feet, shoulders, elbows, wrists) is swapped in 1 % of
  frames, with normal confidences;
* 2 % of joints dropped and Neck/Nose dropped in 10 % more frames, as above.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from perspose_rt.data.h36m import H36M_NECK_NOSE, H36MCamera, project_h36m
from perspose_rt.data.virtual_camera import place_in_virtual_cameras
from perspose_rt.data.virtual_camera import uniform as _u
from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS

NOISE_PROFILES = ("light", "detector")


class PoseSampler:
    """Draws (2D keypoints, K, confidence, camera-space 3D) training samples.

    Args:
        poses: ``{"S1/Directions": (N, 17, 3) world metres}``.
        cameras: ``{subject: {camera id: H36MCamera}}`` for the subjects of ``poses``.
        p_real: probability of a real Human3.6M camera instead of a virtual one.
        hfov_deg: range of the virtual horizontal field of view.
        depth_m: range of the virtual root depth.
        pitch_deg, roll_deg: half-ranges of the virtual camera's tilt.
        noise: ``False`` for clean 2D and unit confidences (tests, evaluation).
        noise_profile: ``"light"`` or ``"detector"`` (see the module docstring).
    """

    def __init__(self, poses: dict[str, np.ndarray], cameras: dict[str, dict[str, H36MCamera]],
                 p_real: float = 0.25, hfov_deg=(30.0, 110.0), depth_m=(2.0, 10.0),
                 pitch_deg: float = 30.0, roll_deg: float = 15.0, noise: bool = True,
                 noise_scale: float = 0.15, bias_scale: float = 0.0,
                 noise_profile: str = "light") -> None:
        if noise_profile not in NOISE_PROFILES:
            raise ValueError(f"unknown noise profile {noise_profile!r}; expected one of {NOISE_PROFILES}")
        keys = sorted(poses)
        if not keys:
            raise ValueError("no poses to sample from")
        subjects = sorted({k.split("/")[0] for k in keys})
        self.X = torch.from_numpy(np.concatenate([poses[k] for k in keys])).double()
        lengths = [len(poses[k]) for k in keys]
        starts = np.repeat(np.cumsum([0] + lengths[:-1]), lengths)
        self.seq_start = torch.from_numpy(starts).long()
        self.subject = torch.from_numpy(
            np.repeat([subjects.index(k.split("/")[0]) for k in keys], lengths)).long()
        cams = [[cameras[s][cid] for cid in sorted(cameras[s])] for s in subjects]
        self.n_cams = len(cams[0])

        def stack(fn):
            return torch.tensor(np.array([[fn(c) for c in row] for row in cams]), dtype=torch.float64)

        self.cam_R, self.cam_C = stack(lambda c: c.R), stack(lambda c: c.center)
        self.cam_f, self.cam_c = stack(lambda c: c.f), stack(lambda c: c.c)
        self.cam_k, self.cam_p = stack(lambda c: c.k), stack(lambda c: c.p)
        self.cam_K = stack(lambda c: c.K)
        self.p_real, self.hfov, self.depth = p_real, hfov_deg, depth_m
        self.pitch_deg, self.roll_deg, self.noise = pitch_deg, roll_deg, noise
        self.noise_scale, self.bias_scale = noise_scale, bias_scale
        self.noise_profile = noise_profile

    def __len__(self) -> int:
        return self.X.shape[0]

    def sample(self, B: int, T: int = 1, gen: torch.Generator | None = None, strides=(1, 2)):
        """Draw ``B`` windows of ``T`` frames.

        Returns:
            keypoints (B,T,17,2) px float64, K (B,3,3) float64, confidence (B,T,17) float64,
            joints_cam (B,T,17,3) metres float64.
        """
        gen = gen or torch.Generator().manual_seed(0)
        M = len(self)
        i = torch.randint(M, (B,), generator=gen)
        st = torch.tensor(strides)[torch.randint(len(strides), (B,), generator=gen)]
        offs = torch.arange(T - 1, -1, -1)
        idx = torch.maximum(i[:, None] - st[:, None] * offs, self.seq_start[i][:, None])
        Xw = self.X[idx]  # (B,T,17,3)

        real = _u(gen, (B,)) < self.p_real
        ci = torch.randint(self.n_cams, (B,), generator=gen)
        X = torch.empty(Xw.shape, dtype=torch.float64)
        uv = torch.empty(Xw.shape[:-1] + (2,), dtype=torch.float64)
        K = torch.empty(B, 3, 3, dtype=torch.float64)
        r, v = real.nonzero()[:, 0], (~real).nonzero()[:, 0]
        if len(r):  # real cameras, with distortion
            s, c = self.subject[i[r]], ci[r]
            Xr = torch.einsum("bij,btkj->btki", self.cam_R[s, c], Xw[r] - self.cam_C[s, c][:, None, None])
            e = (slice(None), None, None)
            uv[r] = project_h36m(Xr, self.cam_f[s, c][e], self.cam_c[s, c][e], self.cam_k[s, c][e],
                                 self.cam_p[s, c][e])
            X[r], K[r] = Xr, self.cam_K[s, c]
        if len(v):
            X[v], uv[v], K[v] = self._virtual(Xw[v], gen)
        uv, conf = self._corrupt(uv, gen) if self.noise else (uv, torch.ones(uv.shape[:-1], dtype=uv.dtype))
        return uv, K, conf, X

    def _virtual(self, Xw: torch.Tensor, gen: torch.Generator):
        X, uv, K, _ = place_in_virtual_cameras(Xw, gen, hfov_deg=self.hfov, depth_m=self.depth,
                                               pitch_deg=self.pitch_deg, roll_deg=self.roll_deg)
        return X, uv, K

    def _corrupt(self, uv: torch.Tensor, gen: torch.Generator):
        B, T, J, _ = uv.shape
        detector = self.noise_profile == "detector"
        last = uv[:, -1]
        spread = ((last - last.mean(-2, keepdim=True)) ** 2).sum(-1).mean(-1).sqrt()  # (B,)
        clean = _u(gen, (B,)) < 0.3
        level = _u(gen, (B,)) if detector else _u(gen, (B,)) ** 2
        sigma = torch.where(clean, torch.zeros_like(spread), level * self.noise_scale * spread)
        sigma = sigma[:, None, None, None]
        if detector:  # some joints are harder to place than others, differently per sample
            sigma = sigma * torch.exp(_u(gen, (B, 1, J, 1), math.log(0.7), math.log(1.4)))
        uv = uv + torch.randn(uv.shape, generator=gen, dtype=uv.dtype) * sigma
        if self.bias_scale > 0:  # a detector's own joint definitions: per-joint offsets fixed in time
            b = torch.randn((B, 1, J, 2), generator=gen, dtype=uv.dtype) * (self.bias_scale * spread)[:, None, None, None]
            uv = uv + torch.where(clean[:, None, None, None], torch.zeros_like(b), b)
        conf = _u(gen, (B, T, J), 0.6, 1.0)
        ones = clean & (_u(gen, (B,)) < 0.5)
        conf = torch.where(ones[:, None, None], torch.ones_like(conf), conf)
        noisy = ~clean[:, None, None]
        rate, size = (0.06, 0.4) if detector else (0.02, 0.5)
        outlier = (_u(gen, (B, T, J)) < rate) & noisy
        jump = torch.randn(uv.shape, generator=gen, dtype=uv.dtype) * size * spread[:, None, None, None]
        uv = torch.where(outlier[..., None], uv + jump, uv)
        flagged = outlier & (_u(gen, (B, T, J)) < 0.5) if detector else outlier
        conf = torch.where(flagged, _u(gen, (B, T, J), 0.0, 0.4), conf)
        if detector:  # left/right inversions
            for a, b in H36M17_FLIP_PAIRS:
                swap = ((_u(gen, (B, T)) < 0.01) & noisy[..., 0])[..., None]
                ua, ub = uv[:, :, a], uv[:, :, b]
                uv[:, :, a], uv[:, :, b] = torch.where(swap, ub, ua), torch.where(swap, ua, ub)
        drop = (_u(gen, (B, T, J)) < 0.02) & noisy
        drop[..., H36M_NECK_NOSE] |= _u(gen, (B, T)) < 0.1
        conf = torch.where(drop, torch.zeros_like(conf), conf)
        return uv, conf
