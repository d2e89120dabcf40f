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

Cut-off bodies (``p_truncate`` of the samples, 0 by default): the frame shows only part of the
person, as a desk webcam does (cut at the hips) or a broadcast close-up. Joints out of the frame
get confidence 0, so the lifter learns to keep the visible part right and to place the rest at
the population's proportions (the targets are always the whole 3D pose). Two mechanisms:

* a virtual truncated sample is a close-up: the camera 0.6–4 m away without the full-body fit,
  the root anywhere from 5 % to 120 % of each side of the frame (below the bottom edge at a
  desk), and the joints outside the image are out of view; a close-up that shows fewer than
  :data:`MIN_VISIBLE` joints, or puts a joint within 0.2 m of the camera's plane or behind it,
  is drawn again as an ordinary view;
* in half of the truncated samples (real and virtual cameras), a frame edge crosses the body: a
  line tilted by up to ±15° from the bottom (55 %), left, right or top edge, 30 %–95 % of the way
  across the keypoints' extent, removes everything beyond it, for every frame of the window.

A frame edge that would leave fewer than :data:`MIN_VISIBLE` joints in view in the newest frame
is not applied. :meth:`PoseSampler.sample` returns the visibility as part of the confidence (0).

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
from perspose_rt.geometry.camera_math import in_frame
from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS

NOISE_PROFILES = ("light", "detector")
#: a cut-off sample keeps at least this many joints in view (newest frame).
MIN_VISIBLE = 6
#: the depth at which the virtual cameras clamp joints that would fall behind them, metres.
_MIN_Z = 0.1
_EDGES = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
_EDGE_P = torch.tensor([0.55, 0.15, 0.15, 0.15])


def _in_image(uv: torch.Tensor, wh: torch.Tensor) -> torch.Tensor:
    """(B, T, J, 2) px inside images of sizes ``wh`` (B, 2) → (B, T, J) bool."""
    return in_frame(uv, wh[:, 0, None, None], wh[:, 1, None, None])


def half_plane_cut(uv: torch.Tensor, gen: torch.Generator, lo: float = 0.3, hi: float = 0.95) -> torch.Tensor:
    """A random frame edge across each window of keypoints: (B, T, J, 2) px → (B, T, J) in view.

    The edge's normal is the bottom (55 %), left, right or top direction tilted by up to ±15°; it
    sits ``lo``–``hi`` of the way across the newest frame's keypoints along that normal, and the
    same line cuts every frame of the window.
    """
    B = uv.shape[0]
    edge = torch.multinomial(_EDGE_P, B, replacement=True, generator=gen)
    a = _u(gen, (B,), -math.radians(15), math.radians(15))
    c, s_ = a.cos(), a.sin()
    base = _EDGES[edge]
    n = torch.stack([c * base[:, 0] - s_ * base[:, 1], s_ * base[:, 0] + c * base[:, 1]], -1)  # (B,2)
    proj = (uv * n[:, None, None]).sum(-1)  # (B,T,J)
    last = proj[:, -1]
    lo_, hi_ = last.min(-1).values, last.max(-1).values
    thr = lo_ + _u(gen, (B,), lo, hi) * (hi_ - lo_)
    return proj <= thr[:, None, None]


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
        p_truncate: share of cut-off samples (see the module docstring); 0 draws exactly the
            samples of a sampler without it.
        near_depth_m: depth range of the close-up virtual cameras of cut-off samples.
    """

    def __init__(self, poses: dict[str, np.ndarray], cameras: dict[str, dict[str, H36MCamera]],
                 p_real: float = 0.25, hfov_deg=(30.0, 110.0), depth_m=(2.0, 10.0),
                 pitch_deg: float = 30.0, roll_deg: float = 15.0, noise: bool = True,
                 noise_scale: float = 0.15, bias_scale: float = 0.0,
                 noise_profile: str = "light", p_truncate: float = 0.0,
                 near_depth_m=(0.6, 4.0)) -> None:
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
        if not 0.0 <= p_truncate <= 1.0:
            raise ValueError(f"p_truncate must be in [0, 1], got {p_truncate}")
        self.p_truncate, self.near_depth = float(p_truncate), near_depth_m

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
        trunc = _u(gen, (B,)) < self.p_truncate if self.p_truncate > 0 else torch.zeros(B, dtype=torch.bool)
        in_view = torch.ones(Xw.shape[:-1], dtype=torch.bool)
        r = real.nonzero()[:, 0]
        v, vn = ((~real) & (~trunc)).nonzero()[:, 0], ((~real) & trunc).nonzero()[:, 0]
        if len(r):  # real cameras, with distortion
            s, c = self.subject[i[r]], ci[r]
            Xr = torch.einsum("bij,btkj->btki", self.cam_R[s, c], Xw[r] - self.cam_C[s, c][:, None, None])
            e = (slice(None), None, None)
            uv[r] = project_h36m(Xr, self.cam_f[s, c][e], self.cam_c[s, c][e], self.cam_k[s, c][e],
                                 self.cam_p[s, c][e])
            X[r], K[r] = Xr, self.cam_K[s, c]
        if len(v):
            X[v], uv[v], K[v], wh = self._virtual(Xw[v], gen)
            if self.p_truncate > 0:  # limbs that leave the frame are out of view, as at run time
                in_view[v] = _in_image(uv[v], wh)
        if len(vn):  # close-ups: the frame's own edges cut the body
            X[vn], uv[vn], K[vn], wh = place_in_virtual_cameras(
                Xw[vn], gen, hfov_deg=self.hfov, depth_m=self.near_depth, pitch_deg=self.pitch_deg,
                roll_deg=self.roll_deg, frame_frac=(0.05, 1.2), fit=False)
            in_view[vn] = _in_image(uv[vn], wh)
            # a close-up that shows too little of the person, or puts a joint at or behind the
            # camera (where the sampler clamps its depth: a body no camera could see), is drawn
            # again as an ordinary view
            behind = (X[vn][..., 2] <= 2 * _MIN_Z).flatten(1).any(-1)
            redo = vn[(in_view[vn][:, -1].sum(-1) < MIN_VISIBLE) | behind]
            if len(redo):
                X[redo], uv[redo], K[redo], wh = self._virtual(Xw[redo], gen)
                in_view[redo] = _in_image(uv[redo], wh)
        if self.p_truncate > 0:
            cut = trunc & (_u(gen, (B,)) < 0.5)
            framed = in_view  # what the frame's own edges leave in view
            in_view = torch.where(cut[:, None, None], in_view & half_plane_cut(uv, gen), in_view)
            # an edge that leaves too little is not applied; the frame's own edges still are
            # (setting everything in view here once gave close-ups' far off-image joints a
            # confidence, and their features values of several hundred)
            too_few = in_view[:, -1].sum(-1) < MIN_VISIBLE
            in_view = torch.where(too_few[:, None, None], framed, in_view)
        uv, conf = self._corrupt(uv, gen) if self.noise else (uv, torch.ones(uv.shape[:-1], dtype=uv.dtype))
        if self.p_truncate > 0:
            conf = torch.where(in_view, conf, torch.zeros_like(conf))
        return uv, K, conf, X

    def _virtual(self, Xw: torch.Tensor, gen: torch.Generator):
        return place_in_virtual_cameras(Xw, gen, hfov_deg=self.hfov, depth_m=self.depth,
                                        pitch_deg=self.pitch_deg, roll_deg=self.roll_deg)

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
