"""Training of the lifters on the shared loop of :mod:`perspose_rt.train.loop` (resumable,
reproducible per step, CSV log and progress bar).

Samples come from :class:`perspose_rt.lifter.augment.PoseSampler` (S1, S5, S6, S7, S8 under
random virtual and real cameras). Step ``k`` draws its batch from a generator seeded with
``(seed, k)``, so a resumed run sees exactly the samples an uninterrupted one would. The
learning rate is a pure function of the step (linear warm-up, cosine decay to 1 %).

Files in ``out``: ``checkpoint.pt`` (model + optimiser + step, written atomically every
``ckpt_every`` steps and on Ctrl-C), ``log.csv`` (one row per ``log_every`` steps),
``val.csv`` (MPJPE on a fixed S9 slice with ground-truth 2D at every checkpoint) and, at the
end, ``lifter.safetensors`` + ``lifter.json`` (the shipped format).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from perspose_rt.data.h36m import TRAIN_SUBJECTS, load_cameras, load_poses
from perspose_rt.lifter.augment import PoseSampler
from perspose_rt.lifter.encoding import encode, targets
from perspose_rt.lifter.models import LifterConfig, build_model
from perspose_rt.lifter.weights import load_weights, save_weights
from perspose_rt.metrics.pose import mpjpe as mpjpe_metric
from perspose_rt.train.loop import LoopOptions, append_csv, run_loop

_Q_WEIGHT = 0.2


@dataclass
class TrainOptions:
    data: Path
    out: Path
    config: LifterConfig = field(default_factory=LifterConfig)
    steps: int = 4000
    batch: int = 1024
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 200
    seed: int = 0
    p_real: float = 0.25
    noise_scale: float = 0.15
    bias_scale: float = 0.0
    noise_profile: str = "light"
    ckpt_every: int = 500
    log_every: int = 50
    threads: int = 2
    subjects: tuple[str, ...] = TRAIN_SUBJECTS
    command: str = ""
    progress: bool = True
    #: temporal with ``config.base_width``: the single-frame lifter (JSON) used as frozen base.
    init_base: Path | None = None
    #: share of cut-off samples (:class:`~perspose_rt.lifter.augment.PoseSampler`).
    p_truncate: float = 0.0
    #: a trained lifter (JSON) of the same configuration to start from (fine-tuning).
    init: Path | None = None
    #: loss weight of out-of-view joints (confidence 0) relative to the seen ones.
    unseen_weight: float = 1.0


def lr_at(step: int, opts: TrainOptions) -> float:
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    t = (step - opts.warmup) / max(1, opts.steps - opts.warmup)
    return opts.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def batch_loss(model, cfg: LifterConfig, sampler: PoseSampler, batch: int, gen: torch.Generator,
               unseen_weight: float = 1.0):
    """One batch: returns (loss, mpjpe in metres, |Δq|) as tensors. ``unseen_weight`` weighs the
    position error of joints with confidence 0 (out of view) in the loss."""
    T = cfg.window
    uv, K, conf, X = sampler.sample(batch, T, gen)
    enc_last = encode(uv[:, -1], K, conf[:, -1], cfg.variant)
    y = targets(X[:, -1], enc_last)
    if cfg.kind == "single":
        pred = model(enc_last.features)
    else:
        enc = encode(uv, K[:, None].expand(-1, T, 3, 3), conf, cfg.variant)
        pred = model.forward_window(enc.features.reshape(batch, T, -1))
    root = torch.zeros(batch, 1, 3, dtype=pred.dtype)  # the root's error is 0 by construction
    p3 = torch.cat([root, pred[:, :48].reshape(batch, 16, 3)], 1)
    g3 = torch.cat([root, y[:, :48].reshape(batch, 16, 3).to(pred.dtype)], 1)
    mpjpe = mpjpe_metric(p3, g3).mean()
    q_err = (pred[:, 48] - y[:, 48]).abs().mean()
    if unseen_weight == 1.0:
        return mpjpe + _Q_WEIGHT * q_err, mpjpe, q_err
    # out-of-view joints (confidence 0) can only be guessed: weigh them less so that the
    # visible part, which the input determines, keeps its accuracy
    w = torch.where(conf[:, -1] > 0, 1.0, unseen_weight).to(pred.dtype)
    weighted = ((p3 - g3).norm(dim=-1) * w).sum(-1) / w.sum(-1)
    return weighted.mean() + _Q_WEIGHT * q_err, mpjpe, q_err


def train(opts: TrainOptions, validate=None) -> dict:
    """Train (or resume) and export. ``validate(model, cfg) -> float mm`` is called at checkpoints.

    Returns the summary written into ``lifter.json`` under ``training``.
    """
    torch.set_num_threads(opts.threads)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = opts.config
    cams = load_cameras(opts.data)
    sampler = PoseSampler(load_poses(opts.data, opts.subjects), cams, p_real=opts.p_real,
                          noise_scale=opts.noise_scale, bias_scale=opts.bias_scale,
                          noise_profile=opts.noise_profile, p_truncate=opts.p_truncate)
    torch.manual_seed(opts.seed)
    model = build_model(cfg)
    ckpt_path = out / "checkpoint.pt"
    if opts.init is not None:  # fine-tuning; a resumed checkpoint then replaces these weights
        init_model, init_cfg, _ = load_weights(opts.init)
        if init_cfg != cfg:
            raise ValueError(f"--init {opts.init} is a {init_cfg.to_dict()} lifter, not {cfg.to_dict()}")
        model.load_state_dict(init_model.state_dict())
    if getattr(model, "base", None) is not None:
        if opts.init_base is None:  # also when resuming: the exported model refers to this file
            raise ValueError("a temporal model with a base needs --init-base (a single-frame lifter JSON)")
        base, base_cfg, _ = load_weights(opts.init_base)
        if (base_cfg.kind, base_cfg.variant, base_cfg.width, base_cfg.blocks) != (
                "single", cfg.variant, cfg.base_width, 2):
            raise ValueError(f"{opts.init_base} ({base_cfg}) does not fit base_width={cfg.base_width}, "
                             f"variant={cfg.variant}")
        model.base.load_state_dict(base.state_dict())
        model.freeze_base()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=opts.lr,
                            weight_decay=opts.weight_decay)

    def check_resume(ck: dict) -> None:
        if LifterConfig.from_dict(ck["config"]) != cfg:
            raise ValueError(f"{ckpt_path} was trained with {ck['config']}, not {cfg.to_dict()}; "
                             "use another --out or the same settings")
        if getattr(model, "base", None) is not None:
            same = all(torch.equal(v, ck["model"][f"base.{k}"]) for k, v in model.base.state_dict().items())
            if not same:
                raise ValueError(f"{ckpt_path} was trained on another base than {opts.init_base}")

    def step_loss(step: int, gen: torch.Generator):
        loss, mpjpe, q_err = batch_loss(model, cfg, sampler, opts.batch, gen, opts.unseen_weight)
        return loss, {"mpjpe_mm": 1000 * mpjpe.item(), "q_abs_err": q_err.item()}, opts.batch

    last_val = float("nan")

    def on_checkpoint(step: int) -> None:
        nonlocal last_val
        if validate is not None:
            last_val = float(validate(model, cfg))
            append_csv(out / "val.csv", {"step": step, "val_mpjpe_mm": f"{last_val:.2f}"})

    loop = LoopOptions(out=out, steps=opts.steps, seed=opts.seed, ckpt_every=opts.ckpt_every,
                       log_every=opts.log_every, clip_norm=5.0, progress=opts.progress,
                       desc=f"train {cfg.kind}/{cfg.variant}", rate_name="samples_per_s")
    run_loop(model, opt, step_loss, lambda step: lr_at(step, opts), loop, check_resume=check_resume,
             on_checkpoint=on_checkpoint, extra_state=lambda: {"config": cfg.to_dict()})
    summary = {"steps": opts.steps, "batch": opts.batch, "lr": opts.lr, "seed": opts.seed,
               "p_real": opts.p_real, "noise_scale": opts.noise_scale, "bias_scale": opts.bias_scale,
               "noise_profile": opts.noise_profile,
               "subjects": list(opts.subjects), "command": opts.command,
               "init_base": str(opts.init_base) if opts.init_base else None,
               "init": str(opts.init) if opts.init else None, "p_truncate": opts.p_truncate,
               "unseen_weight": opts.unseen_weight,
               "final_val_mpjpe_mm_s9_slice": last_val}
    model.eval()
    save_weights(out / "lifter", model, cfg, {"training": summary},
                 base=opts.init_base if getattr(model, "base", None) is not None else None)
    return summary
