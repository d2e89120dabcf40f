"""SMPL path with a synthetic SMPL-format model: a chumpy-style pickle (built here without chumpy),
``convert-smpl``, the loader, smplx's LBS, and the twist-and-swing IK with the β0 search."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest

from perspose_rt.errors import InputError
from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics.ik_smpl import (
    BETA0_GRID,
    CHILDREN,
    LEAF_JOINTS,
    ortho_twist_rest,
    solve_ik_smpl24,
)
from perspose_rt.kinematics.skeleton import smpl24_generic_skeleton
from perspose_rt.kinematics.smpl_convert import RestrictedUnpickler, convert_smpl_pickle, read_smpl_pickle
from perspose_rt.kinematics.smpl_model import find_smpl_model, load_smpl_model
from perspose_rt.metrics.joints import SMPL24_PARENTS

PER_JOINT = 6
V = 24 * PER_JOINT


def synthetic_smpl_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Random SMPL-format arrays with the real 24-joint tree: vertices clustered around the
    joints of a generic body, a regressor over each cluster, skinning weights shared with the
    parent, random shape (300 components) and pose (207) blend shapes."""
    rng = np.random.default_rng(seed)
    joints = smpl24_generic_skeleton().rest_joints() * rng.uniform(0.9, 1.1)
    owner = np.repeat(np.arange(24), PER_JOINT)
    v = joints[owner] + rng.normal(scale=0.03, size=(V, 3))
    jr = np.zeros((24, V))
    for j in range(24):
        w = rng.uniform(0.5, 1.0, PER_JOINT)
        jr[j, j * PER_JOINT:(j + 1) * PER_JOINT] = w / w.sum()
    weights = np.zeros((V, 24))
    weights[np.arange(V), owner] = 0.8
    par = np.array(SMPL24_PARENTS)
    weights[np.arange(V), np.where(par[owner] < 0, owner, par[owner])] += 0.2
    shapedirs = rng.normal(scale=0.002, size=(V, 3, 300))
    shapedirs[:, :, :10] = rng.normal(scale=0.02, size=(V, 3, 10))
    shapedirs[:, 1, 0] += 0.05 * v[:, 1]  # β0 stretches the body vertically, as in SMPL
    kintree = np.stack([np.where(par < 0, 4294967295, par), np.arange(24)]).astype(np.int64)
    return {
        "v_template": v, "shapedirs": shapedirs, "posedirs": rng.normal(scale=1e-3, size=(V, 3, 207)),
        "J_regressor": jr, "weights": weights, "f": rng.integers(0, V, size=(40, 3)).astype(np.uint32),
        "kintree_table": kintree, "bs_style": "lbs", "bs_type": "lrotmin",
    }


def write_chumpy_pickle(path, arrays: dict[str, np.ndarray]) -> None:
    """Pickle like the licensed files: chumpy ``Ch`` objects (state with ``x`` and a set),
    a scipy CSC regressor, protocol 2. A stand-in ``chumpy.ch`` module exists only while
    pickling."""
    import scipy.sparse as sp

    class Ch:
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set(), "_itr": None, "_depends_on_deps": {},
                    "_make_dense": False, "_make_sparse": False}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    mods = {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": types.ModuleType("chumpy.ch")}
    mods["chumpy.ch"].Ch = Ch
    data = dict(arrays)
    for key in ("v_template", "shapedirs"):
        data[key] = Ch(arrays[key])
    data["J_regressor"] = sp.csc_matrix(arrays["J_regressor"])
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        path.write_bytes(pickle.dumps(data, protocol=2))
    finally:
        for k, m in saved.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m


@pytest.fixture(scope="module")
def smpl_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("smpl")
    write_chumpy_pickle(d / "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl", synthetic_smpl_arrays())
    return d


def test_convert_smpl_cli_and_loader(smpl_dir):
    from perspose_rt.cli import main

    with pytest.raises(InputError, match="convert-smpl"):
        find_smpl_model(smpl_dir)
    assert "chumpy" not in sys.modules
    assert main(["convert-smpl", str(smpl_dir)]) == 0
    assert "chumpy" not in sys.modules  # converted without chumpy
    path = find_smpl_model(smpl_dir)
    assert path.name == "SMPL_NEUTRAL.npz"
    model = load_smpl_model(path)
    ref = synthetic_smpl_arrays()
    for key, attr in (("v_template", "v_template"), ("shapedirs", "shapedirs"), ("J_regressor", "J_regressor"),
                      ("weights", "weights"), ("posedirs", "posedirs")):
        np.testing.assert_array_equal(getattr(model, attr), ref[key])
    np.testing.assert_array_equal(model.faces, ref["f"].astype(np.int64))
    assert model.num_betas == 300 and model.gender == "neutral"
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert str(z["format"]) == "perspose-rt/smpl-model"
    assert main(["convert-smpl", str(smpl_dir)]) == 2  # refuses to overwrite without --force
    assert main(["convert-smpl", str(smpl_dir), "--force"]) == 0


def test_loader_rejects_pickles_and_foreign_files(tmp_path, smpl_dir):
    with pytest.raises(InputError, match="convert"):
        load_smpl_model(next(smpl_dir.glob("*.pkl")))
    bad = dict(synthetic_smpl_arrays())
    bad["kintree_table"] = bad["kintree_table"].copy()
    bad["kintree_table"][0, 5] = 3  # not SMPL's tree
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **{k: v for k, v in bad.items() if k not in ("bs_style", "bs_type")})
    with pytest.raises(InputError, match="kinematic tree"):
        load_smpl_model(tmp_path / "SMPL_NEUTRAL.npz")
    with pytest.raises(InputError):
        find_smpl_model(tmp_path / "nowhere")


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_restricted_unpickler_refuses_code(tmp_path, capsys):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"v_template": _Exploit()}, protocol=2))
    with pytest.raises(InputError, match=r"refusing to load \w+\.print"):
        read_smpl_pickle(evil)
    assert "never run" not in capsys.readouterr().out
    for payload in (b"cos\nsystem\n(S'echo pwned'\ntR.", pickle.dumps(np.load, protocol=2)):
        with pytest.raises(pickle.UnpicklingError):
            import io

            RestrictedUnpickler(io.BytesIO(payload)).load()
    with pytest.raises(InputError):
        convert_smpl_pickle(evil, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def _pose_with_smplx(model, betas, theta, transl):
    verts, joints = model.mesh(betas, theta, transl)
    return verts.numpy(), joints.numpy()


def _gt_twist(model, betas, theta):
    """Ground-truth ortho-twist (design doc §5.4): global rotation of the parent times the rest
    ortho-twist of the bone."""
    rest = model.rest_joints(betas)
    G = [theta[:, 0]]
    for i in range(1, 24):
        G.append(G[SMPL24_PARENTS[i]] @ theta[:, i])
    G = np.stack(G, 1)
    tw = np.zeros_like(rest)
    for j in range(1, 24):
        p = SMPL24_PARENTS[j]
        tw[:, j] = (G[:, p] @ ortho_twist_rest(rest[:, j] - rest[:, p])[..., None])[..., 0]
    return tw


def test_ik_with_the_model_recovers_pose_shape_and_mesh(smpl_dir):
    model = load_smpl_model(find_smpl_model(smpl_dir))
    rng = np.random.default_rng(7)
    n = 6
    betas = rng.normal(scale=0.8, size=(n, 11))
    betas[:, 0] = BETA0_GRID[rng.integers(0, 40, n)]
    theta = axis_angle_to_matrix(rng.normal(scale=0.35, size=(n, 24, 3)))
    theta[:, 0] = axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0]) + rng.normal(scale=0.3, size=(n, 3)))
    transl = rng.normal(scale=0.3, size=(n, 3)) + [0, 0, 3.0]
    verts, joints = _pose_with_smplx(model, betas, theta, transl)
    twist = _gt_twist(model, betas, theta) * rng.uniform(0.5, 2.0, (n, 24, 1))  # any length
    leaves = theta[:, list(LEAF_JOINTS)]
    noisy_betas = betas.copy()
    noisy_betas[:, 0] = 5.0  # the network's β0 is dead: the search replaces it
    r = solve_ik_smpl24(joints, twist, leaves, model=model, betas=noisy_betas)
    np.testing.assert_allclose(r.betas[:, 0], betas[:, 0], atol=1e-9)
    ang = np.arccos(np.clip((np.trace(np.swapaxes(r.local_rotmats, -1, -2) @ theta, axis1=-2, axis2=-1) - 1) / 2,
                            -1, 1))
    assert ang.max() < 1e-4
    np.testing.assert_allclose(r.joints, joints, atol=1e-6)
    v2, j2 = _pose_with_smplx(model, r.betas, r.local_rotmats, r.smpl_transl)
    np.testing.assert_allclose(v2, verts, atol=1e-5)
    np.testing.assert_allclose(j2, joints, atol=1e-6)


def test_ik_torch_twin_matches_numpy(smpl_dir):
    torch = pytest.importorskip("torch")
    model = load_smpl_model(find_smpl_model(smpl_dir))
    rng = np.random.default_rng(8)
    betas = rng.normal(scale=0.5, size=(3, 11))
    theta = axis_angle_to_matrix(rng.normal(scale=0.3, size=(3, 24, 3)))
    _, joints = _pose_with_smplx(model, betas, theta, np.zeros((3, 3)))
    twist = _gt_twist(model, betas, theta)
    a = solve_ik_smpl24(joints, twist, None, model=model, betas=betas)
    b = solve_ik_smpl24(torch.from_numpy(joints), torch.from_numpy(twist), None, model=model,
                        betas=torch.from_numpy(betas))
    np.testing.assert_allclose(b.local_rotmats.numpy(), a.local_rotmats, atol=1e-9)
    np.testing.assert_allclose(b.betas.numpy(), a.betas, atol=1e-12)
    c = solve_ik_smpl24(joints, twist, None, model=model)  # no betas: 11 zeros, β0 searched
    assert c.betas.shape == (3, 11) and np.all(c.betas[:, 1:] == 0)


def test_ik_without_model_uses_the_generic_skeleton_and_keeps_joints():
    rng = np.random.default_rng(9)
    sk = smpl24_generic_skeleton()
    n = 8
    theta = axis_angle_to_matrix(rng.normal(scale=0.3, size=(n, 24, 3)))
    from perspose_rt.kinematics import forward_kinematics

    X = forward_kinematics(theta, sk, None, rng.normal(size=(n, 3)))
    rest = np.broadcast_to(sk.rest_joints(), (n, 24, 3))
    G = [theta[:, 0]]
    for i in range(1, 24):
        G.append(G[SMPL24_PARENTS[i]] @ theta[:, i])
    twist = np.stack([np.zeros((n, 3))] + [
        (G[SMPL24_PARENTS[j]] @ ortho_twist_rest(rest[:, j] - rest[:, SMPL24_PARENTS[j]])[..., None])[..., 0]
        for j in range(1, 24)], 1)
    r = solve_ik_smpl24(X, twist, theta[:, list(LEAF_JOINTS)])
    assert r.betas is None
    np.testing.assert_allclose(r.joints, X, atol=1e-9)
    ang = np.arccos(np.clip((np.trace(np.swapaxes(r.local_rotmats, -1, -2) @ theta, axis1=-2, axis2=-1) - 1) / 2,
                            -1, 1))
    assert ang.max() < 1e-4
    # without twist predictions: joints still land, rotations are twist-free swings
    r2 = solve_ik_smpl24(X)
    np.testing.assert_allclose(r2.joints, X, atol=1e-9)
    assert all(c == -1 or c > i for i, c in enumerate(CHILDREN))


def test_ik_with_beta_search_exports_to_onnx(smpl_dir, tmp_path):
    """No SVD, no data-dependent branch: the whole SMPL IK, β0 search included, runs in ONNX."""
    import warnings

    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    model = load_smpl_model(find_smpl_model(smpl_dir))
    rng = np.random.default_rng(10)
    n = 6
    betas = rng.normal(scale=0.5, size=(n, 11))
    theta = axis_angle_to_matrix(rng.normal(scale=0.3, size=(n, 24, 3)))
    _, joints = _pose_with_smplx(model, betas, theta, np.zeros((n, 3)))
    twist = _gt_twist(model, betas, theta)

    class IK(torch.nn.Module):
        def forward(self, j, t, b):
            r = solve_ik_smpl24(j, t, None, model, b)
            return r.local_rotmats, r.betas, r.joints

    path = tmp_path / "smpl_ik.onnx"
    dyn = {name: {0: "n"} for name in ("joints", "twist", "betas")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(IK(), tuple(torch.from_numpy(a[:2]).float() for a in (joints, twist, betas)), str(path),
                          dynamo=False, opset_version=17, input_names=["joints", "twist", "betas"],
                          dynamic_axes=dyn)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theta_o, betas_o, joints_o = sess.run(None, {"joints": joints.astype(np.float32),
                                                 "twist": twist.astype(np.float32),
                                                 "betas": betas.astype(np.float32)})
    ref = solve_ik_smpl24(joints, twist, None, model, betas)
    np.testing.assert_allclose(betas_o, ref.betas, atol=1e-6)
    np.testing.assert_allclose(theta_o, ref.local_rotmats, atol=2e-5)
    np.testing.assert_allclose(joints_o, ref.joints, atol=2e-5)
