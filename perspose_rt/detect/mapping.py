"""BlazePose-33 landmarks → the 17 Human3.6M joints of ``../shared/data/h36m``.

BlazePose (MediaPipe Pose) landmarks, by index: 0 nose, 1–3 left eye (inner, centre, outer),
4–6 right eye, 7 left ear, 8 right ear, 9 mouth left, 10 mouth right, 11/12 left/right shoulder,
13/14 elbows, 15/16 wrists, 17–22 hand points, 23/24 left/right hip, 25/26 knees, 27/28 ankles,
29/30 heels, 31/32 foot tips. "Left" is the person's left.

H36M-17 joint  | from BlazePose                                  | note
---------------|-------------------------------------------------|---------------------------------
0 Hip (pelvis) | mid(23, 24)                                     | H36M's pelvis is the mid-hips too
1/4 R/L Hip    | 24 / 23                                         | BlazePose hips sit slightly higher/wider
2/5 R/L Knee   | 26 / 25                                         |
3/6 R/L Foot   | 28 / 27 (ankles)                                | H36M's "foot" joint is the ankle
7 Spine        | mid(pelvis, thorax)                             | approximation: no spine landmark
8 Thorax       | mid(11, 12)                                     |
9 Neck/Nose    | thorax + 0.5·(nose − thorax)                    | approximation: H36M's joint sits
               |                                                 | between the neck and the chin
10 Head        | mid(7, 8) (ears)                                | approximation: H36M's head joint is
               |                                                 | ~0.19 m above the thorax, about ear
               |                                                 | level, not the crown
11/14 L/R Shoulder | 11 / 12                                     |
12/15 L/R Elbow    | 13 / 14                                     |
13/16 L/R Wrist    | 15 / 16                                     |

Confidences: a copied joint keeps its landmark's visibility; a combined joint takes the minimum
of the visibilities it uses (a joint is only as reliable as its weakest part).
"""

from __future__ import annotations

import numpy as np

BLAZEPOSE33_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)

#: Each H36M-17 joint as a weighted sum of BlazePose landmarks: (landmark indices, weights).
#: Spine and Neck/Nose are written in landmarks directly (e.g. spine = ¼ of each hip and shoulder).
_RECIPE: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...] = (
    ((23, 24), (0.5, 0.5)),  # 0 Hip
    ((24,), (1.0,)),  # 1 RHip
    ((26,), (1.0,)),  # 2 RKnee
    ((28,), (1.0,)),  # 3 RFoot (ankle)
    ((23,), (1.0,)),  # 4 LHip
    ((25,), (1.0,)),  # 5 LKnee
    ((27,), (1.0,)),  # 6 LFoot (ankle)
    ((11, 12, 23, 24), (0.25, 0.25, 0.25, 0.25)),  # 7 Spine = mid(pelvis, thorax)
    ((11, 12), (0.5, 0.5)),  # 8 Thorax
    ((0, 11, 12), (0.5, 0.25, 0.25)),  # 9 Neck/Nose = thorax + 0.5 (nose - thorax)
    ((7, 8), (0.5, 0.5)),  # 10 Head (ears)
    ((11,), (1.0,)),  # 11 LShoulder
    ((13,), (1.0,)),  # 12 LElbow
    ((15,), (1.0,)),  # 13 LWrist
    ((12,), (1.0,)),  # 14 RShoulder
    ((14,), (1.0,)),  # 15 RElbow
    ((16,), (1.0,)),  # 16 RWrist
)


def _mapping_matrix() -> np.ndarray:
    M = np.zeros((17, 33))
    for j, (idx, w) in enumerate(_RECIPE):
        M[j, list(idx)] = w
    return M


#: (17, 33) linear map: ``h36m = M @ blazepose`` for the coordinates.
BLAZEPOSE33_TO_H36M17 = _mapping_matrix()

#: (17, 4) the landmarks of each joint, the first repeated to fill the row: the minimum over a
#: row is the minimum over the joint's landmarks (one gather instead of 17 a frame).
_CONF_INDEX = np.array([idx + (idx[0],) * (4 - len(idx)) for idx, _ in _RECIPE])


def blazepose_to_h36m(keypoints, conf) -> tuple[np.ndarray, np.ndarray]:
    """Map BlazePose-33 landmarks to the H36M-17 joints.

    Args:
        keypoints: (..., 33, 2) (or (..., 33, D)) landmark coordinates, e.g. pixels.
        conf: (..., 33) visibilities in [0, 1].

    Returns:
        (keypoints (..., 17, D), conf (..., 17)) in the H36M-17 order, same dtype as the inputs.
    """
    kp = np.asarray(keypoints)
    c = np.asarray(conf)
    if kp.shape[-2] != 33 or c.shape != kp.shape[:-1]:
        raise ValueError(f"expected (..., 33, D) landmarks and (..., 33) visibilities, got {kp.shape}, {c.shape}")
    out_kp = np.einsum("jk,...kd->...jd", BLAZEPOSE33_TO_H36M17.astype(kp.dtype), kp)
    out_c = c[..., _CONF_INDEX].min(-1).astype(c.dtype)
    return out_kp, out_c
