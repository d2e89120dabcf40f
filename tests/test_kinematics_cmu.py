"""FK → IK → the same rotations on real motion capture (CMU subject 131, ../shared/data/cmu_bvh).

The CMU skeleton (31 joints, arms-down rest) is mapped onto ours: every joint of ours takes the
global rotation of its CMU counterpart, corrected by the rest-pose difference of its bone, then
the rotations the 17 joints cannot see are set the way the IK defines them (twist-free spine
and neck, knee and elbow bent about their hinge by the CMU flexion angle, identity leaves). The
hips', shoulders', thorax and pelvis rotations stay exactly the captured ones.
"""

from __future__ import annotations

import numpy as np

from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton, solve_ik_h36m17
from perspose_rt.kinematics._rot import swing
from perspose_rt.kinematics.bvh_reader import read_bvh
from perspose_rt.kinematics.skeleton import H36M17_HINGE_AXES

# ours → (CMU joint whose global rotation it takes, CMU joint at the end of its primary bone)
CMU_MAP = {0: ("Hips", None), 1: ("RightHip", "RightKnee"), 4: ("LeftHip", "LeftKnee"),
           8: ("Chest2", "Neck"), 11: ("LeftShoulder", "LeftElbow"),
           14: ("RightShoulder", "RightElbow")}
# ours → (CMU start, middle, end) of the limb whose flexion drives our hinge
HINGES = {2: ("RightHip", "RightKnee", "RightAnkle"), 5: ("LeftHip", "LeftKnee", "LeftAnkle"),
          12: ("LeftShoulder", "LeftElbow", "LeftWrist"), 15: ("RightShoulder", "RightElbow", "RightWrist")}
# ours → CMU joints spanning its (twist-free) primary bone
FREE = {7: ("lowerback", "lowerneck"), 9: ("lowerneck", "Head")}


def cmu_to_ours(path, step: int = 4) -> tuple[np.ndarray, np.ndarray]:
    m = read_bvh(path)
    P = m.joint_positions()[::step]
    rot = m.rotations[::step]
    n = P.shape[0]
    G = np.empty_like(rot)
    for j, p in enumerate(m.parents):
        G[:, j] = rot[:, j] if p < 0 else G[:, p] @ rot[:, j]
    sk = h36m17_skeleton()
    ours_G = {}
    for j, (name, end) in CMU_MAP.items():
        k = m.index(name)
        if end is None:
            ours_G[j] = G[:, k]
            continue
        cmu_rest = m.offsets[m.index(end)]
        our_rest = sk.offsets[sk.children(j)[0]]
        A = swing(our_rest, cmu_rest)  # our rest bone onto CMU's rest bone
        ours_G[j] = G[:, k] @ A
    L = np.tile(np.eye(3), (n, 17, 1, 1))
    glob = {0: ours_G[0]}
    order = [1, 2, 4, 5, 7, 8, 9, 11, 12, 14, 15]
    for j in order:
        p = sk.parents[j]
        if j in ours_G:
            L[:, j] = np.swapaxes(glob[p], -1, -2) @ ours_G[j]
        elif j in HINGES:
            a, b, c = (P[:, m.index(x)] for x in HINGES[j])
            u, v = b - a, c - b
            flex = np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), (u * v).sum(-1))
            L[:, j] = axis_angle_to_matrix(flex[:, None] * np.asarray(H36M17_HINGE_AXES[j]))
        else:
            s, e = FREE[j]
            d = P[:, m.index(e)] - P[:, m.index(s)]
            r = sk.offsets[sk.children(j)[0]]
            d_loc = (np.swapaxes(glob[p], -1, -2) @ d[..., None])[..., 0]
            L[:, j] = swing(np.broadcast_to(r, d_loc.shape), d_loc)
        glob[j] = glob[p] @ L[:, j]
    L[:, 0] = ours_G[0]
    return L, P


def test_fk_ik_recovers_cmu_rotations(cmu_bvh_dir):
    sk = h36m17_skeleton()
    to_cam = np.diag([1.0, -1.0, -1.0])
    checked = 0
    for name in ("scaled_131_01.bvh", "scaled_131_03.bvh"):
        L, _ = cmu_to_ours(cmu_bvh_dir / name)
        L[:, 0] = to_cam @ L[:, 0]
        n = L.shape[0]
        X = forward_kinematics(L, sk, None, np.tile([0.0, 0.0, 4.0], (n, 1)))
        r = solve_ik_h36m17(X, sk)
        np.testing.assert_allclose(r.joints, X, atol=1e-9)  # positions: always
        err = np.degrees(np.arccos(np.clip((np.trace(np.swapaxes(r.local_rotmats, -1, -2) @ L,
                                                         axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
        # rotations: wherever the limb plane fixes the hip/shoulder twist (flexion ≥ 20°);
        # hinge joints below a determined parent; every other joint in every frame
        det = r.twist_determined
        mask = np.ones_like(err, dtype=bool)
        for root, hinge in ((1, 2), (4, 5), (11, 12), (14, 15)):
            mask[:, root] = mask[:, hinge] = det[:, root] == 1
        assert mask[:, [1, 4, 11, 14]].mean() > 0.3, "the motion should bend its limbs"
        assert np.radians(err[mask]).max() < 1e-4
        checked += int(mask.sum())
    assert checked > 5000
