"""Several processes: ranks shard the mix, and DDP's averaged gradients equal one process on the batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed as dist
from train_fixtures import write_portable

from perspose_rt.data.mix import Mix, parse_mix
from perspose_rt.data.portable import PortableSource
from perspose_rt.data.sample import Draw, make_sample
from perspose_rt.errors import InputError
from perspose_rt.train.losses import compute_losses, loss_weights
from perspose_rt.train.net_trainer import TrainForward, _collate, wrap_ddp

S = 64


def test_mix_follows_the_ratios_and_ranks_shard_each_step():
    mix = Mix([10, 1000, 7], [0.2, 0.5, 0.3], epoch_size=1000, seed=1)
    drawn = [mix.slot(g)[0] for g in range(1000)]
    assert np.bincount(drawn).tolist() == [200, 500, 300]  # one epoch = exactly the ratios
    small = [mix.slot(g)[1] for g in range(3000) if mix.slot(g)[0] == 0]
    assert sorted(set(small)) == list(range(10))  # a small set is walked through and repeated
    two = mix.step_slots(5, 4, 0, 2) + mix.step_slots(5, 4, 1, 2)
    assert two == mix.step_slots(5, 8, 0, 1)  # 2 ranks × 4 = one process × 8, same samples
    with pytest.raises(InputError, match="sum to 0"):
        parse_mix("a=0,b=0", ("a", "b"))


def _net():
    from perspose_rt.models.config import NetConfig
    from perspose_rt.models.perspose import PersPoseNet

    torch.manual_seed(0)
    net = PersPoseNet(NetConfig(backbone=NetConfig.variant("w18s").backbone, input_size=S))
    return net.eval()  # BatchNorm on running statistics: per-rank batch statistics differ on the CPU


def _loss(fwd, b):
    pred = fwd(b["img"], b["K_crop"], b["pe_scale"], True)
    return compute_losses(pred, b, S, loss_weights())[0]


def _worker(rank: int, world: int, init: str, batch_path: str, out_path: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        b = torch.load(batch_path, weights_only=True)
        half = {k: v[rank * 2:(rank + 1) * 2] for k, v in b.items()}
        net = _net()
        fwd = wrap_ddp(TrainForward(net))  # as the trainer wraps it
        _loss(fwd, half).backward()
        if rank == 0:
            torch.save({n: p.grad for n, p in net.named_parameters() if p.grad is not None}, out_path)
    finally:
        dist.destroy_process_group()


def test_two_cpu_processes_average_to_the_single_process_gradient(tmp_path):
    index = write_portable(tmp_path / "p", n=4, seed=3)
    src = PortableSource("s", index)
    batch = _collate([make_sample(src.record(i), S, Draw()) for i in range(4)])
    torch.save(batch, tmp_path / "batch.pt")
    torch.multiprocessing.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "batch.pt"),
                                               str(tmp_path / "grads.pt")), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "grads.pt", weights_only=True)
    net = _net()
    _loss(TrainForward(net), batch).backward()
    single = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
    assert ddp.keys() == single.keys() and len(single) > 100
    scale = max(float(g.abs().max()) for g in single.values())
    for n, g in single.items():  # (hm_layer.bias: analytically 0 under the softmax, float noise only)
        torch.testing.assert_close(ddp[n], g, rtol=1e-3, atol=1e-6 * scale, msg=n)
