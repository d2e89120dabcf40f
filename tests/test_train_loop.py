"""The shared training loop: an interrupted run resumes to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import csv

import pytest
import torch

from perspose_rt.train.loop import LoopOptions, load_checkpoint, run_loop


def _setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    return model, opt


def _run(tmp, steps, stop_at=None):
    model, opt = _setup()

    def batch_loss(step, gen):
        if step == stop_at:
            raise KeyboardInterrupt
        x = torch.randn(16, 3, generator=gen)
        loss = ((model(x)[:, 0] - x.sum(-1)) ** 2).mean()
        return loss, {"mse": loss.item()}, 16

    opts = LoopOptions(out=tmp, steps=steps, seed=3, ckpt_every=4, log_every=1, clip_norm=1.0, progress=False)
    run_loop(model, opt, batch_loss, lambda s: 1e-2 * 0.9**s, opts)
    return model


def test_ctrl_c_writes_a_checkpoint_and_the_resumed_run_is_exact(tmp_path):
    straight = _run(tmp_path / "a", 10)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", 10, stop_at=6)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 6
    resumed = _run(tmp_path / "b", 10)
    for p, q in zip(straight.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    with open(tmp_path / "b" / "log.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == list(range(1, 11))
    assert list(rows[0]) == ["step", "loss", "mse", "lr", "samples_per_s", "elapsed_s"]
