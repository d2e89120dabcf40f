"""The resumable training loop shared by the lifter and the image-network trainers.

The caller supplies the model, its optimiser and a *batch-loss callable*
``batch_loss(step, gen) -> (loss, terms, n_items)``: ``gen`` is a ``torch.Generator`` seeded
with ``(seed, step)``, so step ``k`` sees the same batch whether or not the run was interrupted
before it; ``terms`` (name → float) go to the CSV log; ``n_items`` counts the samples (for the
throughput column). The loop does the rest:

* the learning rate of every step from ``lr_at(step)`` (a pure function of the step);
* optional AMP (``torch.autocast`` + a ``GradScaler`` on CUDA) and gradient-norm clipping;
* ``checkpoint.pt`` (model, optimiser, scaler, step, torch/numpy/python RNG states and the
  caller's ``extra_state``), written atomically every ``ckpt_every`` steps, at the end and on
  Ctrl-C; with it, a second call resumes exactly where the first stopped;
* ``log.csv``: ``step, loss, <terms…>, lr, <rate_name>, elapsed_s`` every ``log_every`` steps;
* a tqdm progress bar; ``on_checkpoint(step)`` after each checkpoint (validation, best model).

With ``torch.distributed`` initialised, only rank 0 writes files and the bar; every rank loads
the same checkpoint when resuming.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from perspose_rt.io import atomic_path

BatchLoss = Callable[[int, torch.Generator], tuple[torch.Tensor, dict[str, float], int]]
CHECKPOINT = "checkpoint.pt"


@dataclass
class LoopOptions:
    """Options of :func:`run_loop`.

    Attributes:
        out: run folder (``checkpoint.pt``, ``log.csv``).
        steps: total number of optimiser steps (a resumed run continues up to this).
        seed: base seed of the per-step generators.
        ckpt_every, log_every: periods in steps.
        clip_norm: gradient total-norm clip (``None``: none).
        amp: mixed precision (fp16 + GradScaler on CUDA, bf16 autocast on the CPU).
        device: where the batch-loss callable runs (only used for autocast).
        progress: show the tqdm bar.
        desc: the bar's label.
        rate_name: CSV column of the throughput (items per second).
    """

    out: Path
    steps: int
    seed: int = 0
    ckpt_every: int = 500
    log_every: int = 50
    clip_norm: float | None = None
    amp: bool = False
    device: str = "cpu"
    progress: bool = True
    desc: str = "train"
    rate_name: str = "samples_per_s"


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of step ``step``: a pure function of (seed, step)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def is_main_process() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def append_csv(path: Path, row: dict) -> None:
    """Append one row (writing the header first for a new file)."""
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
        fh.flush()


def _rng_state() -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "gauss": float(gauss)},
            "python": list(random.getstate()[1]), "python_version": random.getstate()[0]}


def _set_rng_state(rng: dict) -> None:
    torch.set_rng_state(rng["torch"])
    n = rng["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    random.setstate((rng["python_version"], tuple(rng["python"]), None))


def save_checkpoint(path: Path, model: torch.nn.Module, opt, step: int, scaler=None,
                    extra_state: dict | None = None) -> None:
    """Atomically write everything :func:`run_loop` needs to resume (rank 0 only)."""
    if not is_main_process():
        return
    module = getattr(model, "module", model)  # DDP: save the plain module's names
    state = {"model": module.state_dict(), "opt": opt.state_dict(), "step": int(step),
             "scaler": scaler.state_dict() if scaler is not None else None, "rng": _rng_state(),
             **(extra_state or {})}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint in ``path`` or ``None``. Our own file, but still read with weights_only=True
    (RNG states are stored as tensors and plain numbers). A corrupt or foreign file is a
    ``ValueError`` of one line that says what to do."""
    if not Path(path).exists():
        return None
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ck, dict) or not {"model", "opt", "step"} <= ck.keys():
            raise ValueError("not a training checkpoint of perspose-rt")
        int(ck["step"])
    except Exception as exc:  # noqa: BLE001 - any failure to read it means the same to the user
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else "corrupt"
        raise ValueError(f"{path} cannot be resumed ({type(exc).__name__}: {why}); delete it to start "
                         "again, or choose another --out") from None
    return ck


def run_loop(model: torch.nn.Module, opt: torch.optim.Optimizer, batch_loss: BatchLoss,
             lr_at: Callable[[int], float], opts: LoopOptions,
             check_resume: Callable[[dict], None] | None = None,
             on_checkpoint: Callable[[int], None] | None = None,
             extra_state: Callable[[], dict] | None = None) -> int:
    """Train from the last checkpoint in ``opts.out`` (or from scratch) up to ``opts.steps``.

    Args:
        check_resume: called with the loaded checkpoint before it is applied; raise to refuse it
            (e.g. another config).
        on_checkpoint: called with the step number after each checkpoint is written.
        extra_state: returns caller state stored in the checkpoint (e.g. the best validation).

    Returns:
        the step reached. Ctrl-C writes a checkpoint at the last completed step, then re-raises.
    """
    from tqdm import tqdm

    out = Path(opts.out)
    main = is_main_process()
    if main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT
    cuda = str(opts.device).startswith("cuda")
    scaler = torch.amp.GradScaler("cuda") if (opts.amp and cuda) else None
    start = 0
    ck = load_checkpoint(ckpt_path)
    if ck is not None:
        if check_resume is not None:
            check_resume(ck)
        getattr(model, "module", model).load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if scaler is not None and ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        if ck.get("rng"):
            _set_rng_state(ck["rng"])
        start = int(ck["step"])
    t0, seen = time.perf_counter(), 0
    bar = tqdm(range(start, opts.steps), initial=start, total=opts.steps,
               disable=not (opts.progress and main), desc=opts.desc, dynamic_ncols=True)
    autocast_dtype = torch.float16 if cuda else torch.bfloat16
    model.train()
    done = start
    extra = extra_state or dict

    def checkpoint(step: int) -> None:
        save_checkpoint(ckpt_path, model, opt, step, scaler, extra())

    try:
        for step in bar:
            lr = lr_at(step)
            for g in opt.param_groups:
                g["lr"] = lr * g.get("lr_scale", 1.0)
            gen = step_generator(opts.seed, step)
            with torch.autocast("cuda" if cuda else "cpu", dtype=autocast_dtype, enabled=opts.amp):
                loss, terms, n = batch_loss(step, gen)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if opts.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip_norm)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            done = step + 1
            seen += n
            if done % opts.log_every == 0 and main:
                el = time.perf_counter() - t0
                append_csv(out / "log.csv", {"step": done, "loss": f"{loss.item():.5f}",
                                             **{k: _fmt(v) for k, v in terms.items()},
                                             "lr": f"{lr:.3e}", opts.rate_name: f"{seen / el:.1f}",
                                             "elapsed_s": f"{el:.0f}"})
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if done % opts.ckpt_every == 0 or done == opts.steps:
                checkpoint(done)
                if on_checkpoint is not None:
                    on_checkpoint(done)
                    model.train()
    except KeyboardInterrupt:
        checkpoint(done)
        raise
    finally:
        bar.close()
    return done


def _fmt(v: float) -> str:
    return f"{float(v):.5g}"
