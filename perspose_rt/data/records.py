"""One training/evaluation sample before cropping, whatever file it came from.

Label kinds (``Record.kind``):

* ``"hp3d"``: H36M-17 joints from MPI-INF-3DHP (official layout): supervised by the official
  3DHP terms (9 joints, with margins; design doc §5.4 rows 2, 4, 6).
* ``"h36m17"``: exact H36M-17 joints (our portable format, synthetic renders): all 17 joints are
  supervised through :data:`NET_FROM_H36M17` with the HumanMesh-style terms (rows 0, 3, 5).
* ``"smpl24"``: SMPL-24 joints (portable format, or official HumanMesh sets through an SMPL
  model): rows 0, 3, 5 on joints 0–23 (joint 24, the H36M-regressor pelvis, is not labelled).
* ``"coco"``: 2D keypoints only (row 1); no intrinsics, so an all-zero PE map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = ("hp3d", "h36m17", "smpl24", "coco")

#: Network joint (PersPose-25) that carries each H36M-17 joint, for ``h36m17`` labels and for
#: evaluation against H36M-17 ground truth: Hip→h36m_pelvis (24), RHip→2, RKnee→5, RFoot→8,
#: LHip→1, LKnee→4, LFoot→7, Spine→spine2 (6), Thorax→spine3 (9), Neck/Nose→neck (12),
#: Head→head (15), LShoulder→16, LElbow→18, LWrist→20, RShoulder→17, RElbow→19, RWrist→21.
NET_FROM_H36M17: tuple[int, ...] = (24, 2, 5, 8, 1, 4, 7, 6, 9, 12, 15, 16, 18, 20, 17, 19, 21)

#: The official 3DHP terms: H36M-17 joints [0,2,3,5,6,12,13,15,16] → network [24,5,8,4,7,18,20,19,21].
HP3D_H36M_JOINTS: tuple[int, ...] = (0, 2, 3, 5, 6, 12, 13, 15, 16)
HP3D_NET_JOINTS: tuple[int, ...] = (24, 5, 8, 4, 7, 18, 20, 19, 21)

#: COCO keypoints 7,8,9,10,13,14,15,16 (elbows, wrists, knees, ankles) → SMPL 18,19,20,21,4,5,7,8.
COCO_KP: tuple[int, ...] = (7, 8, 9, 10, 13, 14, 15, 16)
COCO_NET_JOINTS: tuple[int, ...] = (18, 19, 20, 21, 4, 5, 7, 8)

#: 3DHP training subjects' rest heights S1–S8 (design doc §6); other samples use 1.8 m.
HP3D_HEIGHTS = (1.7994, 1.8039, 1.7621, 1.6546, 1.6756, 1.6977, 1.7823, 1.7548)
DEFAULT_HEIGHT = 1.8


@dataclass
class Record:
    """A sample in its original image.

    Attributes:
        image: path of the image file.
        K: (3, 3) intrinsics, or ``None`` (COCO).
        bbox_xyxy: (4,) person box in original pixels.
        kind: one of :data:`KINDS`.
        joints_cam: (J, 3) metres in the camera frame (J = 17 or 24), ``None`` for COCO.
        kp2d: (17, 3) COCO keypoints [u, v, visibility], ``None`` otherwise.
        height: rest height of the person in metres (the loss normaliser ``h``).
        dataset: name of the set it came from (``bedlam`` samples are weighted 0.1 in the uv loss).
        smpl_theta, smpl_beta, smpl_twist: SMPL labels of the official HumanMesh sets (the SMPL
            loss terms): (24, 3) axis-angle θ (camera frame), (B,) β, (24, 3) ortho-twists
            (camera frame, from the SMPL model); ``None`` elsewhere.
    """

    image: Path
    K: np.ndarray | None
    bbox_xyxy: np.ndarray
    kind: str
    joints_cam: np.ndarray | None = None
    kp2d: np.ndarray | None = None
    height: float = DEFAULT_HEIGHT
    dataset: str = ""
    smpl_theta: np.ndarray | None = None
    smpl_beta: np.ndarray | None = None
    smpl_twist: np.ndarray | None = None


def xywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, np.float64)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:4]], -1)
