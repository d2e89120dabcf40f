"""``perspose-rt bench ik``: cost of the closed-form IK per person-frame on this CPU.

Rows: H36M-17 IK (numpy and torch) for one person-frame per call and batched; the peer in the
same run: the same rotations computed the way the official and HybrIK code do, one 3×3 SVD
(Kabsch) per rotation per frame; SMPL-24 twist-and-swing IK with the 40-candidate β0 search
(an SMPL-sized model with random arrays: only J(β) enters the IK, so its cost does not depend on
the mesh) and without a model.
"""

from __future__ import annotations

import argparse

from perspose_rt.cli.validate import positive_int

HELP = "time the closed-form IK (H36M-17, SMPL-24 with β0 search) per person-frame against a per-frame SVD peer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=positive_int, default=1000, help="timed single-frame calls per row (default: %(default)s)")
    parser.add_argument("--batch", type=positive_int, default=256, help="batch size of the batched rows (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch/BLAS threads (default: %(default)s)")
    parser.add_argument("--accuracy", action="store_true",
                        help="also measure the IK on the Human3.6M test subjects (../shared/data/h36m): "
                             "rigid-torso residuals, frame-to-frame smoothness, BVH fidelity")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")



def svd_peer(joints, rest):
    """Per-frame, per-joint SVD (Kabsch) rotations aligning [bone, hint] of the rest skeleton with
    the input: the structure of the official/HybrIK solvers, for timing only."""
    import numpy as np

    from perspose_rt.kinematics.ik_h36m import _REST_HINT
    from perspose_rt.metrics.joints import H36M17_PARENTS

    def kabsch(A, B):
        U, _, Vt = np.linalg.svd(B.T @ A)
        d = np.sign(np.linalg.det(U @ Vt))
        return U @ np.diag([1.0, 1.0, d]) @ Vt

    order = (1, 4, 7, 2, 5, 8, 9, 11, 14, 12, 15)
    child = {1: 2, 4: 5, 7: 8, 2: 3, 5: 6, 8: 9, 9: 10, 11: 12, 14: 15, 12: 13, 15: 16}
    out = []
    for P in joints:
        G = {0: kabsch(np.stack([rest.offsets[7], rest.offsets[4] - rest.offsets[1]]),
                       np.stack([P[7] - P[0], P[4] - P[1]]))}
        for j in order:
            c = child[j]
            Gp = G[H36M17_PARENTS[j]]
            b = Gp.T @ (P[c] - P[j])
            h = np.cross(b, Gp.T @ (P[min(c + 1, 16)] - P[c]))
            G[j] = Gp @ kabsch(np.stack([rest.offsets[c], np.asarray(_REST_HINT[j])]), np.stack([b, h]))
        out.append(G)
    return out


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from perspose_rt.bench.report import Stats, markdown_table, time_calls, write_section
    from perspose_rt.geometry import axis_angle_to_matrix
    from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton, solve_ik_h36m17
    from perspose_rt.kinematics.ik_smpl import solve_ik_smpl24
    from perspose_rt.kinematics.skeleton import smpl24_generic_skeleton
    from perspose_rt.kinematics.smpl_model import SMPLModel

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    sk = h36m17_skeleton()
    n, B = args.frames, args.batch
    L = axis_angle_to_matrix(rng.normal(scale=0.5, size=(max(n, B), 17, 3)))
    X = forward_kinematics(L, sk, None, rng.normal(size=(max(n, B), 3)) + [0, 0, 4])
    Xt = torch.from_numpy(X)
    rows = []

    def single(fn, data, label):
        it = iter(range(10**12))
        st = Stats.of(time_calls(lambda: fn(data[next(it) % n][None]), n))
        rows.append([label, *st.row()])
        print(f"{label}: p50 {st.p50:.3f} ms p95 {st.p95:.3f} ms", flush=True)

    def batched(fn, data, label, calls=30):
        st = Stats.of(t / B for t in time_calls(lambda: fn(data[:B]), calls, warmup=3))
        rows.append([f"{label}, batch {B}, per person-frame", f"{st.p50:.4f}", f"{st.p95:.4f}",
                     f"{st.mean:.4f}", f"{calls} calls"])
        print(f"{label} batch {B}: p50 {st.p50:.4f} ms/person-frame", flush=True)

    single(lambda x: solve_ik_h36m17(x, sk), X, "H36M-17 IK, numpy float64, 1 person-frame per call")
    batched(lambda x: solve_ik_h36m17(x, sk), X, "H36M-17 IK, numpy float64")
    single(lambda x: solve_ik_h36m17(x, sk), Xt, "H36M-17 IK, torch CPU float64, 1 person-frame per call")
    batched(lambda x: solve_ik_h36m17(x, sk), Xt, "H36M-17 IK, torch CPU float64")
    single(lambda x: svd_peer(x, sk), X, "peer: per-frame 3×3 SVD (Kabsch) per rotation, numpy, 1 person-frame")
    batched(lambda x: svd_peer(x, sk), X, "peer: per-frame 3×3 SVD (Kabsch) per rotation, numpy", calls=5)

    theta = axis_angle_to_matrix(rng.normal(scale=0.3, size=(max(n, B), 24, 3)))
    J = forward_kinematics(theta, smpl24_generic_skeleton(), None, rng.normal(size=(max(n, B), 3)) + [0, 0, 4])
    tw = rng.normal(size=J.shape)
    V = 6890
    model = SMPLModel(rng.normal(size=(V, 3)), rng.normal(scale=0.01, size=(V, 3, 300)), np.zeros((V, 3, 207)),
                      np.full((24, V), 1.0 / V), np.full((V, 24), 1.0 / 24), np.zeros((1, 3), np.int64))
    betas = rng.normal(size=(max(n, B), 11))
    m = min(n, 200)
    it = iter(range(10**12))
    st = Stats.of(time_calls(lambda: solve_ik_smpl24(J[next(it) % m][None], tw[:1], None, model, betas[:1]), m, warmup=5))
    rows.append(["SMPL-24 twist-and-swing IK + 40-candidate β0 search, numpy, 1 person-frame per call", *st.row()])
    print(f"SMPL-24 with β0 search: p50 {st.p50:.3f} ms", flush=True)
    batched(lambda x: solve_ik_smpl24(x, tw[:B], None, model, betas[:B]), J,
            "SMPL-24 IK + β0 search, numpy", calls=5)
    batched(lambda x: solve_ik_smpl24(torch.from_numpy(x), torch.from_numpy(tw[:B]), None, model,
                                      torch.from_numpy(betas[:B])), J, "SMPL-24 IK + β0 search, torch CPU", calls=5)
    it2 = iter(range(10**12))
    st = Stats.of(time_calls(lambda: solve_ik_smpl24(J[next(it2) % m][None], tw[:1]), m, warmup=5))
    rows.append(["SMPL-24 IK, generic skeleton (no SMPL file), numpy, 1 person-frame per call", *st.row()])
    batched(lambda x: solve_ik_smpl24(x, tw[:B]), J, "SMPL-24 IK, generic skeleton, numpy", calls=10)

    if args.accuracy:
        acc = h36m_accuracy()
        print(acc)
        if not args.no_write:
            write_section("ik-accuracy", "Inverse kinematics on Human3.6M (S9, S11)", acc)
    table = markdown_table(["case", "p50 ms", "p95 ms", "mean ms", "samples"], rows)
    print(table)
    if not args.no_write:
        body = (table + "\nThe issue's target is ≤ 1 ms per person-frame. Batched rows divide the time of "
                "one call by the batch size. The peer computes the same H36M-17 rotations with one 3×3 "
                "SVD per rotation per frame (the structure of the official and HybrIK solvers).\n")
        path = write_section("ik", "Inverse kinematics (closed form, batched)", body)
        print(f"wrote {path}")
    return 0


def h36m_accuracy() -> str:
    """Markdown: what the H36M-17 IK does with real mocap (S9 and S11, every sequence, 50 fps).

    Rest skeleton fitted per sequence. Residual = distance between the skeleton's joints and the
    mocap joints; smoothness = geodesic change of each local rotation between consecutive frames.
    """
    import tempfile
    from pathlib import Path

    import numpy as np

    from perspose_rt.bench.report import markdown_table
    from perspose_rt.errors import InputError
    from perspose_rt.kinematics import solve_ik_h36m17
    from perspose_rt.kinematics.bvh import export_bvh
    from perspose_rt.paths import shared_data_dir

    path = shared_data_dir() / "h36m" / "poses_3d_17j.npz"
    if not path.is_file():
        raise InputError(f"{path} is absent (research data is not shipped); --accuracy needs it")
    res, steps, p999 = [], [], []
    with np.load(path) as d:
        keys = sorted(k for k in d.files if k.startswith(("S9/", "S11/")))
        seqs = {k: d[k].astype(np.float64) for k in keys}
    for P in seqs.values():
        r = solve_ik_h36m17(P, "fit")
        res.append(1000.0 * np.linalg.norm(r.joints - P, axis=-1))
        R = r.local_rotmats
        rel = np.swapaxes(R[:-1], -1, -2) @ R[1:]
        cos = np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
        step = np.degrees(np.arccos(cos))
        steps.append(step.max())
        p999.append(np.percentile(step, 99.9))
    E = np.concatenate(res)
    rows = []
    for name, idx in (("pelvis, spine, thorax, neck, head", [0, 7, 8, 9, 10]), ("hips (and legs)", [1, 4]),
                      ("shoulders (and arms)", [11, 14])):
        e = E[:, idx].ravel()
        rows.append([name, f"{np.median(e):.1f}", f"{np.percentile(e, 95):.1f}", f"{e.max():.1f}"])
    out = (f"{len(seqs)} sequences, {E.shape[0]} frames, rest skeleton fitted per sequence.\n\n"
           "Distance of the IK skeleton's joints to the mocap joints (mm); every limb keeps its shape "
           "relative to its hip or shoulder, so its joints carry the same residual:\n\n"
           + markdown_table(["joints", "median", "p95", "max"], rows)
           + f"\nFrame-to-frame change of the local rotations at 50 fps: 99.9th percentile "
           f"{np.median(p999):.1f}° (median over sequences), largest {max(steps):.1f}°.\n\n")
    rng = np.random.default_rng(0)
    P = seqs["S9/Walking 1"][::2] @ np.diag([1.0, -1.0, -1.0]) + [0.0, 0.0, 5.0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for noise in (0.0, 0.01):
            X = P + noise * rng.normal(size=P.shape)
            for att in (True, False):
                e = 1000.0 * export_bvh(Path(tmp) / "x.bvh", X, None, 25.0, attachments=att).fit_error_m
                rows.append([f"{noise * 100:.0f} cm", "attachment joints" if att else "--rigid-torso",
                             f"{np.median(e):.1f}", f"{np.percentile(e, 95):.1f}"])
    out += ("BVH export of S9 Walking 1 (every 2nd frame): distance of the file's joints to the input "
            "(mm), on the mocap and with Gaussian noise per coordinate:\n\n"
            + markdown_table(["noise", "hierarchy", "median", "p95"], rows))
    return out
