"""``perspose-rt train`` / ``eval-net`` on tiny fixtures in the official layout and the portable format."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from train_fixtures import write_official_3dhp, write_portable

from perspose_rt.cli import main

FAST = ["--variant", "w18s", "--input-size", "64", "--workers", "0", "--no-progress"]


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_the_exact_interface_of_the_issue(tmp_path, capsys):
    """The command lines of the issue, verbatim: train on 3DHP (official layout), then eval-net."""
    root = write_official_3dhp(tmp_path / "root", n_train=40, n_test=6)
    run = tmp_path / "RUN"
    rc = main(["train", "--data-root", str(root), "--mix", "3dhp=1", "--variant", "w18s", "--steps", "60",
               "--batch-size", "4", "--lr", "1e-3", "--out", str(run)])
    assert rc == 0
    from perspose_rt.models.perspose import PersPoseNet

    net = PersPoseNet.from_weights(run / "weights" / "last.json")
    assert net.config.backbone.name == "w18s"
    with open(run / "log.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"step", "loss", "uv_hp3d", "depth_hp3d", "lr", "imgs_per_s"} <= set(rows[0])
    assert [int(r["step"]) for r in rows] == list(range(10, 61, 10))
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    assert (run / "weights" / "best.json").exists()  # selected on the held-out 3dhp tail, not on 3dhp_test
    out = tmp_path / "OUT.json"
    rc = main(["eval-net", "--weights", str(run / "weights" / "last.json"), "--data-root", str(root),
               "--set", "3dhp_test", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["n"] == 6 and res["joints"] == "h36m17" and res["flip_test"] is True
    for k in ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc", "root_error_mm"):
        assert np.isfinite(res[k]), k


def test_resume_continues_exactly_and_an_existing_run_is_not_overwritten(tmp_path):
    data = write_portable(tmp_path / "p", n=12)
    common = ["train", "--data", f"synth={data}", *FAST, "--batch-size", "3", "--lr", "1e-3",
              "--ckpt-every", "2", "--log-every", "1"]
    assert main([*common, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--steps", "2", "--out", str(tmp_path / "b")]) == 0
    assert main([*common, "--steps", "4", "--out", str(tmp_path / "b")]) == 2  # no --resume: refused
    assert main([*common, "--steps", "4", "--out", str(tmp_path / "b"), "--resume"]) == 0
    a, b = _tensors(tmp_path / "a/weights/last.safetensors"), _tensors(tmp_path / "b/weights/last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
    with open(tmp_path / "b/log.csv", encoding="utf-8") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [1, 2, 3, 4]


def _bad_lengths(tmp_path):
    good = write_portable(tmp_path / "p", n=4)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["K"] = arrays["K"][:3]
    bad = tmp_path / "p" / "bad.npz"
    np.savez(bad, **arrays)
    return ["--data", f"s={bad}"], "unequal lengths"


def _missing_image(tmp_path):
    good = write_portable(tmp_path / "p", n=4)
    next((tmp_path / "p" / "img").iterdir()).unlink()
    return ["--data", f"s={good}"], "not found"


def _root(tmp_path):
    return write_official_3dhp(tmp_path / "root", n_train=4, n_test=2)


BAD = {
    "missing image": _missing_image,
    "unequal lengths": _bad_lengths,
    "unknown set": lambda t: (["--data-root", str(_root(t)), "--mix", "3dhp=1,mpii=1"], "unknown set name"),
    "ratios sum to 0": lambda t: (["--data-root", str(_root(t)), "--mix", "3dhp=0"], "sum to 0"),
    "absent from root": lambda t: (["--data-root", str(_root(t)), "--mix", "3dhp=1,coco=1"], "not in the data root"),
    "HumanMesh without SMPL": lambda t: (["--data-root", str(_root(t)), "--mix", "3dpw=1"], "--smpl-dir"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2_before_training(case, tmp_path, capsys):
    args, words = BAD[case](tmp_path)
    rc = main(["train", *args, *FAST, "--steps", "2", "--out", str(tmp_path / "RUN")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "RUN" / "checkpoint.pt").exists()
