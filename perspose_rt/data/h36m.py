"""Human3.6M as found in ``../shared/data/h36m``: 3D poses, cameras with distortion, SH detections.

Research-only data: read from the shared folder, never copied into the project. Poses are in
metres in the world frame (z up), 50 fps, H36M-17 order (see ``docs/LIFTER.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.errors import InputError

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")

#: MPII order of ``detections_sh16_S9_S11.npz`` → H36M-17 index of each of its 16 joints.
SH16_NAMES = ("RFoot", "RKnee", "RHip", "LHip", "LKnee", "LFoot", "Hip", "Spine", "Thorax", "Head",
              "RWrist", "RElbow", "RShoulder", "LShoulder", "LElbow", "LWrist")
SH16_TO_H36M17 = (3, 2, 1, 4, 5, 6, 0, 7, 8, 10, 16, 15, 14, 11, 12, 13)
H36M_NECK_NOSE = 9
H36M_SPINE = 7


@dataclass(frozen=True)
class H36MCamera:
    """One calibrated Human3.6M camera (the convention of ``cameras.json``)."""

    subject: str
    cam_id: str
    R: np.ndarray  # (3,3) world → camera
    center: np.ndarray  # (3,) camera centre in the world, metres
    f: np.ndarray  # (2,) px
    c: np.ndarray  # (2,) px
    k: np.ndarray  # (3,) radial
    p: np.ndarray  # (2,) tangential
    resolution: tuple[int, int]

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.f[0], 0, self.c[0]], [0, self.f[1], self.c[1]], [0, 0, 1]], np.float64)

    def world_to_camera(self, X: np.ndarray) -> np.ndarray:
        """(..., 3) world metres → (..., 3) camera metres (OpenCV axes)."""
        return (X - self.center) @ self.R.T

    def project(self, X_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera metres → (..., 2) pixels with the H36M distortion model."""
        return project_h36m(X_cam, self.f, self.c, self.k, self.p)


def project_h36m(X_cam, f, c, k, p):
    """The distortion model spelled out in ``cameras.json`` (numpy or torch, broadcasting).

    ``x = X[:2]/X[2]; r² = |x|²; x_d = x·(1 + k1 r² + k2 r⁴ + k3 r⁶ + p1·x[1] + p2·x[0])
    + [p2, p1]·r²; uv = f·x_d + c``. ``f, c, k, p`` broadcast against ``X_cam[..., 0]``'s
    leading shape with their last axis of length 2, 2, 3, 2.
    """
    x = X_cam[..., :2] / X_cam[..., 2:3]
    r2 = (x**2).sum(-1, keepdims=True) if isinstance(x, np.ndarray) else (x**2).sum(-1, keepdim=True)
    radial = 1 + k[..., 0:1] * r2 + k[..., 1:2] * r2**2 + k[..., 2:3] * r2**3
    tan = p[..., 0:1] * x[..., 1:2] + p[..., 1:2] * x[..., 0:1]
    pp = p[..., [1, 0]]
    xd = x * (radial + tan) + pp * r2
    return f * xd + c


def _require(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"{path} not found: point --data at the Human3.6M folder of ../shared/data "
                         "(poses_3d_17j.npz, cameras.json)")
    return path


def load_cameras(data_dir: str | Path) -> dict[str, dict[str, H36MCamera]]:
    """``{subject: {camera id: H36MCamera}}`` from ``cameras.json``."""
    raw = json.loads(_require(Path(data_dir) / "cameras.json").read_text(encoding="utf-8"))["cameras"]
    out: dict[str, dict[str, H36MCamera]] = {}
    for subject, cams in raw.items():
        out[subject] = {
            cid: H36MCamera(subject, cid, np.asarray(v["R_world_to_cam"], np.float64),
                            np.asarray(v["center_world_m"], np.float64), np.asarray(v["f"], np.float64),
                            np.asarray(v["c"], np.float64), np.asarray(v["k"], np.float64),
                            np.asarray(v["p"], np.float64), tuple(int(x) for x in v["resolution_wh"]))
            for cid, v in cams.items()
        }
    return out


def load_poses(data_dir: str | Path, subjects) -> dict[str, np.ndarray]:
    """``{"S9/Directions 1": (N, 17, 3) float32 world metres}`` for the given subjects."""
    path = _require(Path(data_dir) / "poses_3d_17j.npz")
    subjects = set(subjects)
    with np.load(path) as z:
        return {k: z[k] for k in sorted(z.files) if k.split("/")[0] in subjects}


def load_sh_detections(data_dir: str | Path) -> dict[str, np.ndarray]:
    """``{"S9/Directions 1/54138969": (N, 16, 2) px}`` (MPII order, :data:`SH16_NAMES`)."""
    path = _require(Path(data_dir) / "detections_sh16_S9_S11.npz")
    with np.load(path) as z:
        names = tuple(str(n) for n in z["joint_names"])
        if names != SH16_NAMES:
            raise InputError(f"{path}: unexpected joint order {names}")
        return {k: z[k] for k in z.files if k != "joint_names"}


#: Confidence given to every SH joint: the file has no scores, and 1.0 would tell the lifter
#: "ground-truth-clean 2D"; 0.8 is the mean confidence of its noisy training samples.
SH_CONFIDENCE = 0.8


def sh16_to_h36m17(det: np.ndarray, confidence: float = SH_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """SH 16-joint detections (..., 16, 2) → H36M-17 keypoints and confidences.

    The SH set has no Neck/Nose joint: it is given confidence 0 (the lifter treats it as a
    missing joint, as it learned from training samples with dropped joints) and placed, for
    drawing only, halfway between Thorax and Head. The SH joints follow MPII's definitions: its
    "Spine" lies next to the thorax (0.94 of the way from pelvis to thorax, 46 px median from
    H36M's Spine), so Spine is replaced by the midpoint of SH Hip and Thorax, where H36M's Spine
    lies in the training poses (0.50); its "Head" is MPII's head top, above H36M's Head joint,
    and is kept as is. The other joints get ``confidence``.
    """
    kp = np.zeros(det.shape[:-2] + (17, 2), det.dtype)
    kp[..., list(SH16_TO_H36M17), :] = det
    kp[..., H36M_NECK_NOSE, :] = 0.5 * (kp[..., 8, :] + kp[..., 10, :])
    kp[..., H36M_SPINE, :] = 0.5 * (kp[..., 0, :] + kp[..., 8, :])
    conf = np.full(det.shape[:-2] + (17,), confidence, np.float32)
    conf[..., H36M_NECK_NOSE] = 0.0
    return kp, conf
