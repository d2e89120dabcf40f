"""``perspose-rt train``: PersPoseNet on the official layouts and/or our portable sets.

Optimisation follows design doc §5.1: AdamW (weight decay 5e-4, none on biases and 1-D tensors),
warm-up over the first epoch (``lr·(e + 0.01)``) then ``lr·γ^⌊(e−1)/P⌋`` (γ 0.75, P 3) on the
fractional epoch ``e``, AMP with a GradScaler on CUDA, gradient clipping at total norm 100, the
whole batch mirrored with p = 0.5 (inside the network, outputs mapped back), seed 7.

Files in ``RUN``: ``checkpoint.pt`` (resumable), ``log.csv`` (``step, loss``, every loss term,
``lr``, ``imgs_per_s``), ``val.csv``, ``weights/last.{json,safetensors}`` at every checkpoint and
``weights/best.{json,safetensors}``, the checkpoint with the lowest validation MPJPE (on the
held-out validation split, never on a test set), and ``run.json`` (options and results).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from perspose_rt.data.mix import Mix
from perspose_rt.data.sample import AugmentOptions, draw, make_sample
from perspose_rt.errors import UserError
from perspose_rt.io.atomic import atomic_write_text
from perspose_rt.models.config import ENCODINGS
from perspose_rt.train.loop import LoopOptions, append_csv, is_main_process, run_loop
from perspose_rt.train.losses import compute_losses, loss_weights

log = logging.getLogger(__name__)
OFFICIAL_EPOCH = 300_000


@dataclass
class NetTrainOptions:
    out: Path
    variant: str = "w48"
    input_size: int = 256
    data_root: Path | None = None
    mix: str | None = None
    data: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    val_fraction: float = 0.02
    val_limit: int = 500
    smpl_dir: Path | None = None
    init: Path | None = None
    init_backbone: Path | None = None
    steps: int | None = None
    epochs: float | None = None
    epoch_size: int | None = None
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 5e-4
    lr_gamma: float = 0.75
    lr_period: float = 3.0
    clip_norm: float = 100.0
    workers: int = 2
    amp: bool | None = None
    device: str | None = None
    seed: int = 7
    loss_config: str = "w_be_3dhp"
    encoding: str = "pepr"
    augment: bool = True
    aim_jitter: float = 0.1
    ckpt_every: int = 1000
    log_every: int = 10
    resume: bool = False
    progress: bool = True
    command: str = ""


def _collate(samples: list[dict]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}


class StepBatches(torch.utils.data.Dataset):
    """Item ``step`` = this rank's batch of that step (a pure function of seed, step and rank)."""

    def __init__(self, sources, mix: Mix, batch: int, rank: int, world: int, size: int,
                 aug: AugmentOptions, seed: int, pr: bool = True) -> None:
        self.sources, self.mix, self.batch, self.rank, self.world = sources, mix, batch, rank, world
        self.size, self.aug, self.seed, self.pr = size, aug, seed, pr

    def __len__(self) -> int:  # indexed by step; the sampler says which
        return 2**62

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        out = []
        for i, (d, j) in enumerate(self.mix.step_slots(step, self.batch, self.rank, self.world)):
            rng = np.random.default_rng([self.seed, step, self.rank, i])
            out.append(make_sample(self.sources[d].record(j), self.size, draw(rng, self.aug), rng, pr=self.pr))
        return _collate(out)


#: The outputs the losses use.
TRAINED_OUTPUTS = ("uv", "depth", "rho0", "twist", "beta", "leaf_rot")


class TrainForward(torch.nn.Module):
    """``forward`` = :meth:`PersPoseNet.predict_raw` (what DistributedDataParallel wraps)."""

    def __init__(self, net) -> None:
        super().__init__()
        self.net = net

    def forward(self, img, K_crop, pe_scale, flip: bool):
        out = self.net.predict_raw(img, K_crop, flip=flip, pe_scale=pe_scale)
        return {k: out[k] for k in TRAINED_OUTPUTS}


def wrap_ddp(fwd: TrainForward, device: str = "cpu") -> torch.nn.Module:
    """DistributedDataParallel around the training forward. Every output takes part in the loss
    (the SMPL terms are exact zeros, with a graph, on batches without SMPL labels), so every
    parameter gets a gradient; ``find_unused_parameters`` is kept so that a future loss that skips
    an output cannot stall the ranks (it only costs one graph traversal per step)."""
    return torch.nn.parallel.DistributedDataParallel(
        fwd, device_ids=[torch.device(device).index] if device.startswith("cuda") else None,
        find_unused_parameters=True)


def param_groups(net: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: no weight decay on biases and 1-D tensors (as the official code). The official
    code makes one group per tensor with the same settings; two groups are the same optimiser
    and step several times faster on the CPU (one fused update per group)."""
    params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    flat = [p for n, p in params if p.ndim <= 1 or n.endswith(".bias")]
    rest = [p for n, p in params if not (p.ndim <= 1 or n.endswith(".bias"))]
    return [{"params": rest, "weight_decay": weight_decay}, {"params": flat, "weight_decay": 0.0}]


def lr_at(step: int, lr: float, imgs_per_step: int, epoch_size: int, gamma: float, period: float) -> float:
    e = step * imgs_per_step / epoch_size
    if e < 1:
        return lr * (e + 0.01)
    return lr * gamma ** math.floor((e - 1) / period)


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def plan_steps(opts: NetTrainOptions, world: int) -> tuple[int, int]:
    """(total steps, epoch size). Without ``--epoch-size``, a run given in ``--steps`` uses an
    epoch of ~1/10 of the run (at most the official 300 000 samples) so that the warm-up and the
    decay of §5.1 happen within it."""
    per_step = opts.batch_size * world
    if (opts.steps is None) == (opts.epochs is None):
        raise UserError("give exactly one of --steps and --epochs")
    if opts.epochs is not None:
        epoch = opts.epoch_size or OFFICIAL_EPOCH
        return max(1, math.ceil(opts.epochs * epoch / per_step)), epoch
    if opts.steps < 1:
        raise UserError("--steps must be ≥ 1")
    return opts.steps, opts.epoch_size or max(per_step, min(OFFICIAL_EPOCH, opts.steps * per_step // 10))


def train_net(opts: NetTrainOptions, say=print) -> dict:
    """Open and check the data, build the network, train (or resume) and write the run folder."""
    from perspose_rt.models.weights import save_weights
    from perspose_rt.train.evaluate import evaluate
    from perspose_rt.train.init import build_network
    from perspose_rt.train.sources import open_training_sets

    rank, world = _dist()
    main = is_main_process()
    say = say if main else (lambda *_: None)
    if opts.batch_size < 1 or opts.lr <= 0 or opts.workers < 0:
        raise UserError("--batch-size must be ≥ 1, --lr > 0 and --workers ≥ 0")
    if opts.encoding not in ENCODINGS:
        raise UserError(f"unknown --encoding {opts.encoding}; choose one of {', '.join(ENCODINGS)}")
    if opts.loss_config not in ("w_be_3dhp", "3dpw", "3dhp", "h36m", "w_be_3dpw"):
        raise UserError(f"unknown --loss-config {opts.loss_config}")
    out = Path(opts.out)
    ckpt = out / "checkpoint.pt"
    if ckpt.exists() and not opts.resume:
        raise UserError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    if opts.resume and not ckpt.exists():
        raise UserError(f"--resume: no checkpoint in {out}")
    sets = open_training_sets(opts.data_root, opts.mix, opts.data, opts.val, opts.smpl_dir, opts.val_fraction)
    total, epoch_size = plan_steps(opts, world)
    device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and world > 1:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    amp = device.startswith("cuda") if opts.amp is None else opts.amp
    torch.manual_seed(opts.seed)
    net, how = build_network(opts.variant, opts.input_size, opts.init, opts.init_backbone, opts.encoding)
    say(f"resuming {ckpt}" if opts.resume else how)
    say("data: " + ", ".join(f"{n} ({len(s)} samples, ratio {r:g})" for n, s, r in
                             zip(sets.names, sets.train, sets.ratios, strict=True))
        + "; validation: " + (", ".join(f"{v.name} ({len(v)})" for v in sets.val) or "none"))
    net = net.to(device)
    if world > 1 and device.startswith("cuda"):
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    fwd = TrainForward(net)
    if world > 1:
        fwd = wrap_ddp(fwd, device)
    opt = torch.optim.AdamW(param_groups(net, opts.weight_decay), lr=opts.lr)
    mix = Mix([len(s) for s in sets.train], sets.ratios, epoch_size, opts.seed)
    aug = AugmentOptions(enabled=opts.augment, aim_jitter=opts.aim_jitter)
    batches = StepBatches(sets.train, mix, opts.batch_size, rank, world, opts.input_size, aug, opts.seed,
                          pr=net.config.pr)
    weights = loss_weights(opts.loss_config)
    S = opts.input_size
    state = {"best": math.inf, "best_step": None, "it": None}
    fields = {"variant": opts.variant, "input_size": opts.input_size, "batch_size": opts.batch_size,
              "world": world, "mix": list(zip(sets.names, sets.ratios, strict=True)), "seed": opts.seed,
              "epoch_size": epoch_size, "encoding": opts.encoding}  # the schedule: extend a --steps run with an explicit --epoch-size

    def loader_from(step: int):
        sampler = list(range(step, total))
        return iter(torch.utils.data.DataLoader(batches, sampler=sampler, batch_size=None,
                                                num_workers=opts.workers,
                                                persistent_workers=False, prefetch_factor=2 if opts.workers else None))

    def batch_loss(step: int, gen: torch.Generator):
        if state["it"] is None:
            state["it"] = loader_from(step)
        b = {k: v.to(device, non_blocking=True) for k, v in next(state["it"]).items()}
        flip = bool(torch.rand(1, generator=gen).item() < 0.5)
        pred = fwd(b["img"], b["K_crop"], b["pe_scale"], flip)
        loss, terms = compute_losses(pred, b, S, weights)
        return loss, {k: v.item() for k, v in terms.items()}, opts.batch_size * world

    def on_checkpoint(step: int) -> None:
        if not main:
            return
        (out / "weights").mkdir(parents=True, exist_ok=True)
        save_weights(net, out / "weights" / "last")
        if sets.val:
            res = [evaluate(net, v, S, batch_size=max(1, opts.batch_size), device=device, limit=opts.val_limit)
                   for v in sets.val]
            val = float(np.average([r["mpjpe_mm"] for r in res], weights=[r["n"] for r in res]))
            append_csv(out / "val.csv", {"step": step, "val_mpjpe_mm": f"{val:.2f}",
                                         "val_root_error_mm": f"{np.mean([r['root_error_mm'] for r in res]):.2f}"})
            if val < state["best"]:
                state["best"], state["best_step"] = val, step
                for ext in (".safetensors", ".json"):
                    shutil.copyfile(out / "weights" / f"last{ext}", out / "weights" / f"best{ext}.tmp")
                    os.replace(out / "weights" / f"best{ext}.tmp", out / "weights" / f"best{ext}")

    def check_resume(ck: dict) -> None:
        old = dict(ck.get("fields") or {})
        old.setdefault("encoding", "pepr")  # checkpoints written before --encoding existed
        if old != fields:
            raise UserError(f"{ckpt} was trained with {ck.get('fields')}, not {fields}; resume with the "
                            "same options or choose another --out")
        state["best"], state["best_step"] = ck.get("best", math.inf), ck.get("best_step")

    loop = LoopOptions(out=out, steps=total, seed=opts.seed, ckpt_every=opts.ckpt_every,
                       log_every=opts.log_every, clip_norm=opts.clip_norm, amp=amp, device=device,
                       progress=opts.progress, desc=f"train {opts.variant}", rate_name="imgs_per_s")
    step = run_loop(fwd, opt, batch_loss,
                    lambda s: lr_at(s, opts.lr, opts.batch_size * world, epoch_size, opts.lr_gamma, opts.lr_period),
                    loop, check_resume=check_resume, on_checkpoint=on_checkpoint,
                    extra_state=lambda: {"fields": fields, "best": state["best"], "best_step": state["best_step"]})
    summary = {"steps": step, "epoch_size": epoch_size, "initialisation": how, "device": device, "amp": amp,
               "best_val_mpjpe_mm": None if math.isinf(state["best"]) else state["best"],
               "best_step": state["best_step"], "world_size": world,
               "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}}
    if main:
        atomic_write_text(out / "run.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary
