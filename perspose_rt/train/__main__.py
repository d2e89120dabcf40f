"""``python -m perspose_rt.train ...`` = ``perspose-rt train ...``, for ``torchrun``.

``torchrun --nproc-per-node N -m perspose_rt.train --data ... --out RUN`` starts N processes; each
joins the process group (NCCL with CUDA, gloo on the CPU), converts BatchNorm to SyncBatchNorm on
CUDA, and trains on its own shard of every step's samples; rank 0 writes the run folder.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from perspose_rt.cli import train_cmd
    from perspose_rt.errors import UserError

    parser = argparse.ArgumentParser(prog="python -m perspose_rt.train", description=train_cmd.HELP)
    train_cmd.add_arguments(parser)
    args = parser.parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dist = None
    if world > 1:
        import torch
        import torch.distributed as dist

        cuda = (args.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
        args.no_progress = args.no_progress or dist.get_rank() != 0
    try:
        return train_cmd.run(args)
    except UserError as exc:
        print(f"perspose-rt: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perspose-rt: interrupted (a resumable checkpoint was written)", file=sys.stderr)
        return 130
    finally:
        if dist is not None and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
