"""The trainer's output goes through ``build-engine`` and the video pipeline unchanged."""

from __future__ import annotations

import numpy as np
from train_fixtures import write_portable

from perspose_rt.cli import main
from perspose_rt.io.results import load_result


def test_trained_weights_build_an_engine_folder_and_run_the_video_pipeline(video_path, tmp_path, capsys):
    data = write_portable(tmp_path / "p", n=8)
    run = tmp_path / "RUN"
    assert main(["train", "--data", f"synth={data}", "--variant", "w18s", "--input-size", "64", "--steps", "2",
                 "--batch-size", "2", "--workers", "0", "--ckpt-every", "2", "--no-progress",
                 "--out", str(run)]) == 0
    best = run / "weights" / "best.json"
    assert best.exists() and (run / "weights" / "best.safetensors").exists()
    assert main(["build-engine", "--weights", str(best), "--out", str(tmp_path / "engine"), "--max-batch", "2"]) == 0
    assert (tmp_path / "engine" / "model.onnx").exists()
    out = tmp_path / "o.npz"
    assert main(["video", str(video_path), "--estimator", "perspose", "--weights", str(best), "--out", str(out),
                 "--max-frames", "4", "--no-progress"]) == 0
    res = load_result(out)
    assert len(res) == 4 and res.meta["estimator"] == "perspose"
    assert res["joints_cam"].shape[-2:] == (25, 3) and np.isfinite(res["joints_cam"]).all()
