"""The torch IK has no SVD and no data-dependent branch: it exports to ONNX and runs in
onnxruntime (the official solver's CPU ``torch.svd`` blocks that)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton, solve_ik_h36m17


def test_h36m_ik_exports_to_onnx_and_matches_numpy(tmp_path):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    torch.set_num_threads(1)
    sk = h36m17_skeleton()

    class IK(torch.nn.Module):
        def forward(self, joints):
            r = solve_ik_h36m17(joints, sk)
            return r.local_rotmats, r.root_orient, r.joints

    rng = np.random.default_rng(0)
    L = axis_angle_to_matrix(rng.normal(scale=0.6, size=(64, 17, 3)))
    L[:8, [2, 5, 12, 15]] = np.eye(3)  # straight limbs: the fading zone
    X = forward_kinematics(L, sk, None, rng.normal(size=(64, 3)) + [0, 0, 4])
    X += 0.005 * rng.normal(size=X.shape)
    path = tmp_path / "ik.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(IK(), (torch.from_numpy(X[:4]).float(),), str(path), dynamo=False, opset_version=17,
                          input_names=["joints"], output_names=["local_rotmats", "root_orient", "joints_fk"],
                          dynamic_axes={"joints": {0: "n"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    local, root, fk = sess.run(None, {"joints": X.astype(np.float32)})  # another batch size
    ref = solve_ik_h36m17(X, sk)
    assert np.isfinite(local).all()
    np.testing.assert_allclose(local, ref.local_rotmats, atol=2e-5)
    np.testing.assert_allclose(root, ref.root_orient, atol=2e-5)
    np.testing.assert_allclose(fk, ref.joints, atol=2e-5)
