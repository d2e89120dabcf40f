"""The SMPL loss terms (design doc §5.4 rows 9–11) and the HumanMesh path with a synthetic SMPL model."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from test_smpl_model import synthetic_smpl_arrays, write_chumpy_pickle

from perspose_rt.cli import main
from perspose_rt.data.smpl_labels import TWIST_JOINTS, ortho_twists
from perspose_rt.geometry import axis_angle_to_matrix, project_points
from perspose_rt.kinematics.ik_smpl import BETA0_GRID, LEAF_JOINTS, solve_ik_smpl24
from perspose_rt.kinematics.smpl_convert import convert_smpl_pickle
from perspose_rt.kinematics.smpl_model import find_smpl_model, load_smpl_model
from perspose_rt.train.losses import smpl_terms


@pytest.fixture(scope="module")
def smpl_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("smpl")
    pkl = d / "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"
    write_chumpy_pickle(pkl, synthetic_smpl_arrays())
    convert_smpl_pickle(pkl)
    pkl.unlink()
    return d


def _bodies(n: int, seed: int):
    rng = np.random.default_rng(seed)
    theta = rng.normal(scale=0.3, size=(n, 24, 3))
    theta[:, 0] = [np.pi, 0, 0] + rng.normal(scale=0.2, size=(n, 3))  # upright in OpenCV axes
    beta = rng.normal(scale=0.8, size=(n, 10))
    beta[:, 0] = BETA0_GRID[rng.integers(0, 40, n)]  # on the IK's β₀ search grid, so that it is exact
    return theta, beta, rng.normal(scale=0.2, size=(n, 3)) + [0, 0, 4.0]


def test_ortho_twist_labels_are_what_the_ik_inverts(smpl_dir):
    """Joints of the posed mesh + the twist labels + the leaf labels → the IK gives back θ."""
    model = load_smpl_model(find_smpl_model(smpl_dir))
    theta, beta, transl = _bodies(4, 1)
    R = axis_angle_to_matrix(theta)
    joints = model.mesh(beta, R, transl)[1].numpy()
    twist = ortho_twists(model.rest_joints(beta), R)
    np.testing.assert_allclose(np.linalg.norm(twist[:, 1:], axis=-1), 1.0, atol=1e-12)
    res = solve_ik_smpl24(joints, twist, R[:, list(LEAF_JOINTS)], model=model, betas=beta)
    cos = (np.trace(np.swapaxes(res.local_rotmats, -1, -2) @ R, axis1=-2, axis2=-1) - 1) / 2
    assert np.arccos(np.clip(cos, -1, 1)).max() < 1e-4


def test_smpl_terms_known_answers():
    rng = np.random.default_rng(0)
    tw = torch.tensor(rng.normal(size=(2, 25, 3)), dtype=torch.float32)
    beta = torch.tensor(rng.normal(size=(2, 11)), dtype=torch.float32)
    leaf = torch.tensor(axis_angle_to_matrix(rng.normal(size=(2, 5, 3))), dtype=torch.float32)
    batch = {"twist": tw, "beta": beta, "leaf": leaf, "has_smpl": torch.tensor([True, False])}
    j = TWIST_JOINTS[3]
    p_tw = tw.clone() * 3.0  # any length: only directions count
    p_tw[0, j] = torch.linalg.cross(tw[0, j], torch.tensor(rng.normal(size=3), dtype=torch.float32))  # ⟂: √2
    p_tw[1] = -p_tw[1]  # the sample without SMPL labels counts for nothing
    p_beta = (beta + 0.5).requires_grad_(True)
    p_beta_0 = p_beta.detach().clone()
    p_beta_0[0, 0] += 2.5  # β₀ 3 off: counts in the value, gives no gradient
    p_beta_0.requires_grad_(True)
    Rz = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    p_leaf = leaf.clone()
    p_leaf[0, 2] = Rz @ leaf[0, 2]  # Frobenius ‖(Rz − I)·L‖ = ‖Rz − I‖ = 2
    t = smpl_terms({"twist": p_tw, "beta": p_beta_0, "leaf_rot": p_leaf}, batch)
    assert abs(t["twist"].item() - np.sqrt(2) / 17) < 1e-5
    assert abs(t["beta"].item() - (3.0 + 10 * 0.5) / 11) < 1e-5
    assert abs(t["leaf"].item() - 2.0 / 5) < 1e-5
    t["beta"].backward()
    assert p_beta_0.grad[0, 0] == 0 and torch.all(p_beta_0.grad[0, 1:] > 0) and torch.all(p_beta_0.grad[1] == 0)


def _write_3dpw(root, model, n: int = 6):
    """``root/3dpw/densepose_train.pt`` (joblib, the official keys) + images of the projected joints."""
    import joblib

    theta, beta, transl = _bodies(n, 2)
    joints = model.mesh(beta, axis_angle_to_matrix(theta), transl)[1].numpy()
    K = np.array([[120.0, 0, 60], [0, 120, 50], [0, 0, 1]])
    names, boxes = [], []
    for i in range(n):
        uv = project_points(joints[i], K)
        img = np.full((100, 120, 3), 30, np.uint8)
        for u, v in uv:
            cv2.circle(img, (round(float(u)), round(float(v))), 2, (200, 220, 90), -1)
        name = f"imageFiles/seq/image_{i:05d}.jpg"
        (root / "3dpw" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "3dpw" / name), img)
        lo, hi = uv.min(0) - 5, uv.max(0) + 5
        names.append(name)
        boxes.append([*lo, *(hi - lo)])
    joblib.dump({"file_name": np.array(names), "bbox": np.array(boxes, np.float32),
                 "cam_intrinsics": np.tile(K, (n, 1, 1)).astype(np.float32), "smpl_theta": theta.astype(np.float32),
                 "smpl_beta": beta.astype(np.float32), "smpl_transl": transl.astype(np.float32),
                 "gender": np.array(["neutral"] * n)}, root / "3dpw" / "densepose_train.pt")
    return root


def test_humanmesh_training_needs_smpl_and_trains_the_smpl_heads_with_it(smpl_dir, tmp_path, capsys):
    root = _write_3dpw(tmp_path / "data", load_smpl_model(find_smpl_model(smpl_dir)))
    args = ["train", "--data-root", str(root), "--mix", "3dpw=1", "--variant", "w18s", "--input-size", "64",
            "--workers", "0", "--no-progress", "--steps", "2", "--batch-size", "2", "--log-every", "1", "--val-fraction", "0"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--smpl-dir" in err[0] and not (tmp_path / "refused" / "checkpoint.pt").exists()
    run = tmp_path / "run"
    assert main([*args, "--smpl-dir", str(smpl_dir), "--out", str(run)]) == 0
    rows = (run / "log.csv").read_text(encoding="utf-8").splitlines()
    head = rows[0].split(",")
    last = dict(zip(head, rows[-1].split(","), strict=True))
    assert {"twist", "beta", "leaf"} <= set(head) and float(last["twist"]) > 0 and float(last["leaf"]) > 0
    assert np.isfinite(float(last["loss"])) and json.loads((run / "run.json").read_text())["steps"] == 2
