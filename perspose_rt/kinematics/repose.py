"""Re-pose a track's frames from before its skeleton settled onto the settled skeleton.

The rigid IK stage (docs/KINEMATICS.md, "One skeleton per track") outputs, until a track's bone
lengths settle, the forward kinematics of the skeleton as it is being fitted; those frames are
already on their way to the sinks when it settles. A recording can do better once it is written:
each such frame keeps its own joint rotations and pelvis position and is posed again on the
settled skeleton, so every frame of the track in the file is the forward kinematics of one
skeleton (and a BVH of that skeleton reproduces all of them). Only bone lengths change: the rest
directions of the H36M-17 skeleton do not depend on its lengths, so every bone keeps its direction.
"""

from __future__ import annotations

import numpy as np

from perspose_rt.kinematics.fk import forward_kinematics
from perspose_rt.kinematics.skeleton import h36m17_skeleton


def repose_before_settled(joints: np.ndarray, rotations: np.ndarray, posed: np.ndarray,
                          bone_lengths: np.ndarray, settled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One track's H36M-17 frames in time order → (joints, re-posed mask).

    Args:
        joints: (N, 17, 3) the rigid stage's joints (camera frame, metres).
        rotations: (N, 17, 3, 3) their local rotations (row 0: the root's orientation in the camera).
        posed: (N,) bool: the frame is the track's, with rotations and a rigid skeleton.
        bone_lengths: (N, 17) the skeleton of each frame.
        settled: (N,) bool: that skeleton had settled.

    Returns:
        joints (N, 17, 3): the frames before the first settled one that are ``posed`` and whose
        bones differ from the settled skeleton's are the forward kinematics of their rotations on
        the settled skeleton, rooted at their own pelvis; every other frame as given. And the
        (N,) bool mask of the frames changed.
    """
    x = np.array(joints, dtype=np.float64)
    changed = np.zeros(x.shape[0], dtype=bool)
    ok = np.asarray(posed, dtype=bool) & np.asarray(settled, dtype=bool)
    if not ok.any():
        return x, changed
    first = int(np.argmax(ok))
    final = np.asarray(bone_lengths, dtype=np.float64)[first]
    before = np.zeros_like(changed)
    before[:first] = np.asarray(posed, dtype=bool)[:first]
    before &= np.any(np.asarray(bone_lengths, dtype=np.float64) != final, axis=-1)
    if before.any():
        R = np.asarray(rotations, dtype=np.float64)[before]
        x[before] = forward_kinematics(R, h36m17_skeleton(final), None, x[before, 0])
        changed = before
    return x, changed


def repose_tracks(people: dict[str, np.ndarray], track_ids: np.ndarray, cameras, K: np.ndarray) -> int:
    """Re-pose every track of a result's arrays in place (:func:`repose_before_settled` per track).

    Args:
        people: float64 arrays with a person axis ``(N, P, …)``: ``valid``, ``joints_cam``,
            ``joints_rel``, ``joints_2d_proj``, ``rotations``, ``rotations_valid``,
            ``bone_lengths``, ``skeleton_settled``; the changed frames get the re-posed joints,
            their root-relative joints, their projection and the settled bone lengths.
        track_ids: (N, P) int, −1 for an empty slot.
        cameras: N cameras (``project(X)`` with lens distortion), or None where only ``K`` is known.
        K: (N, 3, 3) intrinsics, for frames without a camera (pinhole projection).

    Returns:
        the number of person-frames re-posed.
    """
    total = 0
    for tid in np.unique(track_ids[track_ids >= 0]):
        rows, slots = np.nonzero(track_ids == tid)
        lengths = people["bone_lengths"][rows, slots]
        settled = people["skeleton_settled"][rows, slots] > 0
        posed = (people["valid"][rows, slots] > 0) & (people["rotations_valid"][rows, slots] > 0) \
            & np.any(lengths > 0, axis=-1)
        joints, changed = repose_before_settled(people["joints_cam"][rows, slots], people["rotations"][rows, slots],
                                                posed, lengths, settled)
        if not changed.any():
            continue
        final = lengths[int(np.argmax(posed & settled))]
        for i in np.flatnonzero(changed):
            t, k, x = rows[i], slots[i], joints[i]
            people["joints_cam"][t, k] = x
            people["joints_rel"][t, k] = x - x[0]
            people["bone_lengths"][t, k] = final
            if cameras[t] is not None:
                people["joints_2d_proj"][t, k] = cameras[t].project(x)
            else:
                uvw = x @ np.asarray(K[t], dtype=np.float64).T
                people["joints_2d_proj"][t, k] = uvw[:, :2] / uvw[:, 2:3]
        total += int(changed.sum())
    return total
