"""Import of the official PersPose checkpoints (design doc §2).

A release file is either ``{'model': state_dict, 'epoch': …, …}`` or a raw state_dict. It is read
with ``torch.load(weights_only=True)`` (no arbitrary unpickling), ``module.`` prefixes are stripped,
the 12 ``smpl.*`` tensors are dropped (the SMPL model is loaded separately by the IK), and every
remaining key must be one of the 1,967 network keys of the official W48 model, with its shape.
Our module names are the official ones, so the mapping is the identity on the remaining keys.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from perspose_rt.errors import WeightsError
from perspose_rt.models.config import NetConfig
from perspose_rt.models.weights import MAX_NAMES, StateDictReport, compare_state_dict, expected_shapes

log = logging.getLogger(__name__)

DROPPED_PREFIXES = ("smpl.",)


@dataclass
class ConversionInfo:
    """What the conversion did (for the import command's summary)."""

    kept: int
    dropped: list[str]
    stripped_module_prefix: bool
    wrapped_in_model_key: bool
    cast_to_float32: list[str]


class CheckpointMismatch(WeightsError):
    """The checkpoint's keys do not match the official network; ``report`` lists them all."""

    def __init__(self, message: str, report: StateDictReport):
        super().__init__(message)
        self.report = report


def read_official_checkpoint(path: str | os.PathLike[str]) -> Any:
    """``torch.load`` an official ``.pth`` safely (``weights_only=True``, on the CPU)."""
    from perspose_rt.checks import require_file
    from perspose_rt.errors import InputError

    try:
        require_file(path, "checkpoint")
    except InputError as exc:
        raise WeightsError(str(exc)) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} holds objects other than tensors and plain containers, refusing to "
                           f"unpickle it ({first})") from None
    except Exception as exc:  # noqa: BLE001 - a file we did not write: any failure means "not a checkpoint"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise WeightsError(f"cannot read {path} as a PyTorch checkpoint ({type(exc).__name__}"
                           f"{': ' + first if first else ''})") from None


def convert_official_state_dict(obj: Any) -> tuple[dict[str, torch.Tensor], ConversionInfo]:
    """Official checkpoint object → our W48 state_dict, refusing any mismatch.

    Raises:
        CheckpointMismatch: missing, unexpected or mis-shaped keys (all named in ``.report``).
        WeightsError: not a state_dict, or non-finite values.
    """
    wrapped = isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping)
    sd = obj["model"] if wrapped else obj
    if not isinstance(sd, Mapping) or not sd:
        raise WeightsError("the checkpoint is neither a state_dict nor a dict with a 'model' state_dict")
    not_names = [repr(k) for k in sd if not isinstance(k, str)]
    if not_names:
        raise WeightsError(f"the checkpoint's state_dict has keys that are not parameter names: "
                           f"{', '.join(not_names[:MAX_NAMES])}")
    not_tensors = [str(k) for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise WeightsError(f"the checkpoint's state_dict has non-tensor entries: "
                           f"{', '.join(not_tensors[:MAX_NAMES])}")
    stripped = any(str(k).startswith("module.") for k in sd)
    renamed = {k.removeprefix("module."): v for k, v in sd.items()}
    if len(renamed) != len(sd):
        raise WeightsError("the checkpoint has keys that collide once 'module.' is stripped")
    dropped = sorted(k for k in renamed if k.startswith(DROPPED_PREFIXES))
    tensors = {k: v for k, v in renamed.items() if not k.startswith(DROPPED_PREFIXES)}

    config = NetConfig.variant("w48")
    rep = compare_state_dict(expected_shapes(config), tensors)
    if not rep.ok:
        raise CheckpointMismatch(f"the checkpoint does not match the official PersPose network: "
                                 f"{rep.summary()}", rep)
    cast = []
    out: dict[str, torch.Tensor] = {}
    for k, v in tensors.items():
        v = v.detach().to("cpu")
        if v.is_floating_point():
            if v.dtype != torch.float32:
                cast.append(k)
            v = v.float()
            if not torch.isfinite(v).all():
                raise WeightsError(f"the checkpoint has non-finite values in {k}")
        elif k.endswith("num_batches_tracked"):
            v = v.long()
        else:
            raise WeightsError(f"the checkpoint's tensor {k} has dtype {v.dtype}, expected floating point")
        out[k] = v.contiguous()
    info = ConversionInfo(kept=len(out), dropped=dropped, stripped_module_prefix=stripped,
                          wrapped_in_model_key=wrapped, cast_to_float32=cast)
    return out, info


def load_official_state_dict(state_dict: Any, flip_test: bool = False) -> torch.nn.Module:
    """A ready W48 :class:`~perspose_rt.models.PersPoseNet` (eval mode) from an official state_dict
    (or the whole checkpoint dict)."""
    from perspose_rt.models.perspose import PersPoseNet

    tensors, _ = convert_official_state_dict(state_dict)
    net = PersPoseNet(NetConfig.variant("w48"), flip_test=flip_test)
    net.load_state_dict(tensors, strict=True)
    return net.eval()
